"""`iscsiprf mof check|classes`: compile MOF files and report, as a user sees the compiler."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..mof import MofClass
from ..mof.model import Method, Property, Qualifiers
from . import mof_check


def _qualifiers_json(q: Qualifiers) -> dict[str, Any]:
    return {x.name: x.value for x in q.values()}


def _property_json(p: Property) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": p.name,
        "type": p.type,
        "array": p.array,
        "qualifiers": _qualifiers_json(p.qualifiers),
    }
    if p.array_size is not None:
        out["array_size"] = p.array_size
    if p.ref_class:
        out["ref_class"] = p.ref_class
    if p.default is not None:
        out["default"] = p.default
    out["class_origin"] = p.class_origin
    return out


def _method_json(m: Method) -> dict[str, Any]:
    return {
        "name": m.name,
        "return_type": m.return_type,
        "qualifiers": _qualifiers_json(m.qualifiers),
        "parameters": [
            {
                "name": prm.name,
                "type": prm.type,
                "array": prm.array,
                "qualifiers": _qualifiers_json(prm.qualifiers),
            }
            for prm in m.parameters
        ],
    }


def class_json(c: MofClass) -> dict[str, Any]:
    return {
        "name": c.name,
        "superclass": c.superclass,
        "namespace": c.namespace,
        "qualifiers": _qualifiers_json(c.qualifiers),
        "properties": [_property_json(p) for p in c.properties.values()],
        "methods": [_method_json(m) for m in c.methods.values()],
    }


F = TypeVar("F", bound=Callable[..., Any])

# Subcommands of other modules, imported only when asked for: `mof check` stays light.
_LAZY_SUBCOMMANDS = {"header": "codegen_cmds", "layout": "codegen_cmds"}


class _MofGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_LAZY_SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _LAZY_SUBCOMMANDS:
            module = importlib.import_module(f"{__package__}.{_LAZY_SUBCOMMANDS[cmd_name]}")
            module.add_to_mof(self)
        return self.commands.get(cmd_name)


def _compile_options(f: F) -> F:
    """FILE... -I DIR --strict: what every command that compiles takes."""
    f = click.option(
        "--strict",
        is_flag=True,
        help="Treat warnings (joined literals, unknown names, missing superclasses) as errors.",
    )(f)
    f = click.option(
        "-I", "include_dirs", multiple=True, type=click.Path(),
        help="Add an include directory.",
    )(f)  # fmt: skip
    return click.argument("files", nargs=-1, required=True, type=click.Path())(f)


@click.group("mof", cls=_MofGroup)
def mof_group() -> None:
    """Compile WMI/DMTF MOF: check files, list classes, generate headers and layouts."""


@mof_group.command("check")
@_compile_options
def check_cmd(files: tuple[str, ...], include_dirs: tuple[str, ...], strict: bool) -> None:
    """Compile FILE... and report problems as FILE:LINE:COL: error|warning: MESSAGE."""
    sys.exit(mof_check.status(mof_check.report(files, include_dirs, strict)))


@mof_group.command("classes")
@_compile_options
@click.option("--json", "as_json", is_flag=True, help="Print the compiled classes as JSON.")
def classes_cmd(
    files: tuple[str, ...], include_dirs: tuple[str, ...], as_json: bool, strict: bool
) -> None:
    """List the classes FILE... define (with --json: properties, qualifiers, methods).

    A FILE may be a binary MOF: wmimofck's rules are then warnings, as reading is lenient."""
    result = mof_check.report(files, include_dirs, strict, bmf_strict=False)
    if result.errors:
        sys.exit(1)
    _print_classes(result.user_classes(), as_json)


def _print_classes(classes: list[MofClass], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([class_json(c) for c in classes], indent=2, ensure_ascii=False))
        return
    for c in classes:
        items = c.data_items()
        sup = f" : {c.superclass}" if c.superclass else ""
        guid = f" {{{str(c.guid).upper()}}}" if c.guid else ""
        extra = f", {len(items)} data items" if items else ""
        click.echo(f"{c.namespace}:{c.name}{sup}{guid} ({len(c.properties)} properties{extra})")


@mof_group.command("decode")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o", "output", type=click.Path(), help="Output file (one input) or directory (several)."
)
def decode_cmd(files: tuple[str, ...], output: str | None) -> None:
    """Write binary MOF FILE... as MOF text that compiles back to the same classes."""
    from . import bmf_cmds

    bmf_cmds.decode(files, output)


@mof_group.command("encode")
@click.argument("file", type=click.Path())
@click.option(
    "-I", "include_dirs", multiple=True, type=click.Path(),
    help="Add an include directory.",
)  # fmt: skip
@click.option("--wmi", is_flag=True, help="Also apply wmimofck's checks, as mofcomp -WMI does.")
@click.option(
    "-o", "output", required=True, type=click.Path(dir_okay=False), help="The .bmf to write."
)
def encode_cmd(file: str, include_dirs: tuple[str, ...], wmi: bool, output: str) -> None:
    """Write FILE as a binary MOF, as `mofcomp -B:OUT` does (`--wmi`: `mofcomp -WMI -B:OUT`)."""
    from . import bmf_cmds

    bmf_cmds.encode(file, include_dirs, wmi, output)


@mof_group.command("acpi")
@click.option(
    "--root", default="/", show_default=True, type=click.Path(file_okay=False),
    help="Root of the tree that holds sys/bus/wmi/devices.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the classes as JSON.")
def acpi_cmd(root: str, as_json: bool) -> None:
    """List the firmware's WMI classes: every bmof under ROOT/sys/bus/wmi/devices/*/."""
    from . import bmf_cmds

    classes, bad = bmf_cmds.acpi_classes(root)
    _print_classes(classes, as_json)
    if bad:
        sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(mof_group)


__all__ = ["class_json", "register"]
