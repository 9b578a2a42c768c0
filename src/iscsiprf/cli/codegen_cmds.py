"""`iscsiprf mof header` (wmimofck -h, -x, -c) and `iscsiprf mof layout` (data-block layouts)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..codegen.driver_template import render_driver_template, template_blocks
from ..codegen.header import HeaderOptions, header_classes, render_header
from ..codegen.hexdump import render_hexdump
from ..codegen.layout import ClassLayout, class_layout
from ..codegen.members import LayoutError
from ..mof import MofClass, MofError, Schema, compile_files, compile_text
from .errors import fail
from .inputs import read_input

_fail = fail


def _compile(
    file: Path, include_dirs: tuple[Path, ...], data: bytes | None = None
) -> tuple[Schema, list[MofClass]]:
    """Compile FILE (or `data`, FILE's bytes already read); print diagnostics; stop on errors.
    Returns the schema and FILE's classes."""
    dirs = [file.parent, *include_dirs]
    try:
        if data is None:
            result = compile_files([file], include_dirs=dirs)
        else:
            result = compile_text(data, str(file), include_dirs=dirs)
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
@click.option(
    "-x",
    "hex_output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the binary MOF as C byte-array text here (wmimofck -x).",
)
@click.option(
    "-c",
    "template_output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the driver source template here (wmimofck -c).",
)
@click.option("-m", "methods", is_flag=True, help="Also write method _IN/_OUT structures.")
@click.option("-u", "unconditional", is_flag=True, help="Write a structure for every data block.")
@click.option("--lf", is_flag=True, help="End lines with LF instead of wmimofck's CRLF.")
def header_cmd(
    file: Path,
    include_dirs: tuple[Path, ...],
    output: Path | None,
    hex_output: Path | None,
    template_output: Path | None,
    methods: bool,
    unconditional: bool,
    lf: bool,
) -> None:
    """Write the C header `wmimofck -h` writes for FILE (MOF text or a binary MOF).

    -o, -x and -c each write their own file; with none of them the header goes to stdout.
    """
    outputs = [p.resolve() for p in (output, hex_output, template_output) if p is not None]
    if len(set(outputs)) < len(outputs):
        fail("-o, -x and -c must name different files", 2)
    nl = "\n" if lf else "\r\n"
    data = _read_input(file)
    writes: list[tuple[Path | None, bytes]] = []  # everything is made before anything is written
    wants_header = output is not None or (hex_output is None and template_output is None)
    schema: Schema | None = None
    if wants_header or template_output is not None:
        schema, classes = _header_classes(file, data, include_dirs)
        if wants_header:
            opts = HeaderOptions(methods=methods, unconditional=unconditional, newline=nl)
            try:
                text = render_header(schema, (output or file).stem, opts, classes)
            except LayoutError as exc:
                _fail(str(exc))
            writes.append((output, text.encode("utf-8")))
        if template_output is not None:
            _warn_unreproduced(classes)
            x_base = None if hex_output is None else hex_output.stem
            text = render_driver_template(
                template_blocks(classes), template_output.stem, x_base, nl
            )
            writes.append((template_output, text.encode("utf-8")))
    if hex_output is not None:
        text = render_hexdump(bmf_bytes_for(file, data, include_dirs, schema), nl)
        writes.append((hex_output, text.encode("ascii")))
    for path, payload in writes:
        _write(path, payload)


# A binary MOF is recognised by its first four bytes, never by its file name.
_BMF_SIGNATURE = b"FOMB"
# Bound on an input read whole: far above any real MOF file or binary MOF (the DMTF CIM schema
# 2.49, every class in one BMF, is about 1 MiB compressed), so only a wrong file is refused.


def _read_input(file: Path) -> bytes:
    """FILE's bytes, read once (FILE may be a pipe), bounded (cli/inputs.py)."""
    return read_input(str(file), "MOF or binary MOF")


def _mof_function(name: str) -> Any:
    """`iscsiprf.mof.<name>` if this build has it (the BMF codec), else None."""
    return getattr(importlib.import_module("iscsiprf.mof"), name, None)


def _schema_of(
    file: Path, data: bytes, include_dirs: tuple[Path, ...]
) -> tuple[Schema, list[MofClass]]:
    """The schema of FILE and FILE's own classes, from MOF text or a binary MOF."""
    if not data.startswith(_BMF_SIGNATURE):
        return _compile(file, include_dirs, data)
    decode = _mof_function("decode_bmf")
    if decode is None:
        _fail(f"{file}: reading a binary MOF needs the BMF decoder, which this build lacks")
    decoded = decode(data, str(file), strict=True)  # wmimofck's rules are errors here
    for d in getattr(decoded, "diagnostics", ()):
        click.echo(str(d), err=True)
    if getattr(decoded, "errors", None):
        sys.exit(1)
    schema = decoded if isinstance(decoded, Schema) else getattr(decoded, "schema", None)
    if not isinstance(schema, Schema):
        _fail(f"{file}: the BMF decoder gave no schema")
    return schema, [c for c in schema if not c.builtin]


def _header_classes(
    file: Path, data: bytes, include_dirs: tuple[Path, ...]
) -> tuple[Schema, list[MofClass]]:
    """The schema and the classes wmimofck writes a header (and a template) for: FILE's own."""
    schema, own = _schema_of(file, data, include_dirs)
    own_names = {c.name.lower() for c in own}
    try:
        classes = [c for c in header_classes(schema) if c.name.lower() in own_names]
    except LayoutError as exc:
        _fail(str(exc))
    if not classes:
        _fail(f"{file}: no class with the WMI qualifier and a guid to write a header for")
    return schema, classes


def bmf_bytes_for(
    file: Path, data: bytes, include_dirs: tuple[Path, ...], schema: Schema | None = None
) -> bytes:
    """The binary MOF that `wmimofck -x` dumps: FILE's bytes (`data`) when FILE is one; for
    MOF text, what the BMF encoder (`mofcomp -B`) makes of it. `schema`: FILE's, when the caller
    has it already."""
    if data.startswith(_BMF_SIGNATURE):
        if schema is None and _mof_function("decode_bmf") is not None:
            _schema_of(file, data, include_dirs)  # wmimofck reads its input whole, for -x too
        return data
    encode = _mof_function("encode_bmf")
    if encode is None:
        _fail(
            f"{file}: -x of MOF text needs the BMF encoder, which this build lacks; "
            "give the binary MOF (mofcomp -B output) instead"
        )
    if schema is None:
        schema, _own = _compile(file, include_dirs, data)
    encoded = encode(schema)
    if not isinstance(encoded, bytes):
        _fail(f"{file}: the BMF encoder gave no bytes")
    return encoded


def _warn_unreproduced(classes: list[MofClass]) -> None:
    """Say where the template may differ from wmimofck's: no reference output shows what the
    tool writes for writable data items (its Set callbacks), so none is written."""
    for cls in classes:
        for p in cls.data_items():
            if p.qualifiers.has("write"):
                click.echo(
                    f"iscsiprf: warning: {cls.name}.{p.name} is writable; the template has "
                    "no SetWmiDataBlock/SetWmiDataItem callbacks for it",
                    err=True,
                )
                return


def _write(path: Path | None, payload: bytes) -> None:
    if path is None:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
        return
    try:
        path.write_bytes(payload)
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")


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
    schema, own = _schema_of(file, _read_input(file), include_dirs)
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
