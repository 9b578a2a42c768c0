"""`iscsiprf mof header` (wmimofck -h) and `iscsiprf mof layout` (data-block layouts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..codegen.header import HeaderOptions, header_classes, render_header
from ..codegen.layout import ClassLayout, class_layout
from ..codegen.members import LayoutError
from ..mof import MofClass, MofError, Schema, compile_files
from .errors import fail

_fail = fail


def _compile(file: Path, include_dirs: tuple[Path, ...]) -> tuple[Schema, list[MofClass]]:
    """Compile FILE; print diagnostics; stop on errors. Returns the schema and FILE's classes."""
    try:
        result = compile_files([file], include_dirs=[file.parent, *include_dirs])
    except MofError as exc:
        _fail(str(exc))
    for d in result.warnings:
        click.echo(str(d), err=True)
    if result.errors:
        for d in result.errors:
            click.echo(str(d), err=True)
        sys.exit(1)
    return result.schema, result.user_classes()


_include_option = click.option(
    "-I",
    "include_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Directory searched for #include files (FILE's own directory is searched first).",
)


@click.command("header")
@click.argument("file", type=click.Path(path_type=Path))
@_include_option
@click.option(
    "-o", "output", type=click.Path(dir_okay=False, path_type=Path), help="Write the header here."
)
@click.option("-m", "methods", is_flag=True, help="Also write method _IN/_OUT structures.")
@click.option("-u", "unconditional", is_flag=True, help="Write a structure for every data block.")
@click.option("--lf", is_flag=True, help="End lines with LF instead of wmimofck's CRLF.")
def header_cmd(
    file: Path,
    include_dirs: tuple[Path, ...],
    output: Path | None,
    methods: bool,
    unconditional: bool,
    lf: bool,
) -> None:
    """Write the C header `wmimofck -h` writes for FILE."""
    schema, own = _compile(file, include_dirs)
    own_names = {c.name.lower() for c in own}
    opts = HeaderOptions(
        methods=methods, unconditional=unconditional, newline="\n" if lf else "\r\n"
    )
    try:
        classes = [c for c in header_classes(schema) if c.name.lower() in own_names]
        if not classes:
            _fail(f"{file}: no class with the WMI qualifier and a guid to write a header for")
        base = (output or file).stem
        text = render_header(schema, base, opts, classes)
    except LayoutError as exc:
        _fail(str(exc))
    data = text.encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")


def _layouts(schema: Schema, classes: list[MofClass]) -> tuple[list[ClassLayout], list[str]]:
    layouts: list[ClassLayout] = []
    errors: list[str] = []
    for cls in classes:
        if not cls.data_items():
            continue
        try:
            layouts.append(class_layout(cls, schema))
        except LayoutError as exc:
            errors.append(str(exc) if exc.location else f"iscsiprf: error: {exc}")
    return layouts, errors


def _text_table(lay: ClassLayout) -> str:
    size = lay.size if lay.size is not None else "variable"
    lines = [f"{lay.name} ({lay.struct_name}) guid={lay.guid} size={size} align={lay.alignment}"]
    if lay.size_rule:
        lines.append(f"  {lay.size_rule}")
    for it in lay.items:
        off = "?" if it.offset is None else str(it.offset)
        sz = "var" if it.size is None else str(it.size)
        cnt = "var" if it.count is None else str(it.count)
        lines.append(
            f"  {it.id:>3} {it.name:<32} {it.ctype:<16} off={off:>5} size={sz:>5} "
            f"align={it.align} count={cnt}"
        )
    return "\n".join(lines)


@click.command("layout")
@click.argument("file", type=click.Path(path_type=Path))
@_include_option
@click.option("--class", "class_name", help="Only this class (case-insensitive).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def layout_cmd(
    file: Path, include_dirs: tuple[Path, ...], class_name: str | None, as_json: bool
) -> None:
    """Print the WMI data-block layout of FILE's classes that have data items."""
    schema, own = _compile(file, include_dirs)
    if class_name is not None:
        cls = schema.get(class_name)
        if cls is None or not any(c is cls for c in own):
            names = ", ".join(c.name for c in own) or "(none)"
            _fail(f"no class {class_name} in {file}; its classes are: {names}")
        if not cls.data_items():
            _fail(f"class {cls.name} has no data items (no property with WmiDataId)")
        classes = [cls]
    else:
        classes = own
    layouts, errors = _layouts(schema, classes)
    if as_json:
        doc: Any = [lay.to_json() for lay in layouts]
        if class_name is not None and layouts:
            doc = doc[0]
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo("\n\n".join(_text_table(lay) for lay in layouts))
    for e in errors:
        click.echo(e, err=True)
    if errors:
        sys.exit(1)


def add_to_mof(group: click.Group) -> None:
    """Add `header` and `layout` to the `mof` group (mof_cmds calls this on first use)."""
    group.add_command(header_cmd)
    group.add_command(layout_cmd)


def register(cli: click.Group) -> None:
    """Add `header` and `layout` to the `mof` group of a top-level group."""
    group = cli.commands.get("mof")
    if not isinstance(group, click.Group):
        group = click.Group("mof", help="MOF compiler, headers and layouts.")
        cli.add_command(group)
    add_to_mof(group)
