"""The `iscsiprf` click group; each layer's commands live in their own module.

Modules are imported only when one of their commands runs, so `iscsiprf mof check` does not pay
for the HTTP server, rich or the lab (start-up time counts in the compile benchmark).
"""

from __future__ import annotations

import importlib

import click

# Top-level command -> the modules whose `register(cli)` adds it (in order).
_COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "mof": ("mof_cmds",),  # `mof header|layout` come from codegen_cmds, loaded on demand
    "wnode": ("wnode_cmds",),
    "query": ("query_cmds",),
    "counters": ("query_cmds",),
    "lab": ("lab_cmds",),
    "serve": ("serve_cmds",),
    "watch": ("serve_cmds",),
}


class _LazyGroup(click.Group):
    _loaded: set[str]

    def _load(self, modules: tuple[str, ...]) -> None:
        for name in modules:
            if name in self._loaded:
                continue
            self._loaded.add(name)
            module = importlib.import_module(f"{__package__}.{name}")
            module.register(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        modules = _COMMAND_MODULES.get(cmd_name)
        if modules is None:
            return None
        self._load(modules)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="iscsiprf")
def cli() -> None:
    """MSiSCSI_MMIPSECStats on Linux: MOF, data blocks, WMI runtime, live IKE counters."""


cli._loaded = set()
