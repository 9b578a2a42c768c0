"""The `iscsiprf` command: one click group; each layer's commands live in their own module."""

from __future__ import annotations

import click

from . import codegen_cmds, lab_cmds, mof_cmds, query_cmds, serve_cmds, wnode_cmds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="iscsiprf")
def cli() -> None:
    """MSiSCSI_MMIPSECStats on Linux: MOF, data blocks, WMI runtime, live IKE counters."""


for _module in (mof_cmds, codegen_cmds, wnode_cmds, query_cmds, lab_cmds, serve_cmds):
    _module.register(cli)


def main() -> None:
    cli(prog_name="iscsiprf")
