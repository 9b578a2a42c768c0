"""`iscsiprf wnode encode|decode`: WNODE buffers (wmistr.h, x64) from and to JSON instances.

encode: a JSON list of objects holding a class's data items (and optional ``InstanceName``)
-> one WNODE_ALL_DATA on stdout. decode: a WNODE file -> JSON with guid, flags, instance_count
and the instances. The class comes from the project's MOF (or ``--mof FILE``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import click

from ..codegen.layout import ClassLayout, LayoutError, class_layout
from ..mof import compile_files, load_builtin_schema
from ..mof.model import MofClass, Schema
from ..wmi import wnode as wn
from ..wmi.naming import InstanceNameError, pdo_instance_names
from .errors import fail
from .inputs import read_input

# Keys an instance object may carry besides the data items (written by `query --format json`).
SYSTEM_KEYS = {"instancename", "active", "__class"}


_fail = fail


def _schema(mof_files: tuple[str, ...]) -> Schema:
    if not mof_files:
        return load_builtin_schema()
    result = compile_files(list(mof_files))
    if result.errors:
        _fail(str(result.errors[0]))
    return result.schema


def _class(schema: Schema, name: str) -> tuple[MofClass, ClassLayout]:
    cls = schema.get(name)
    if cls is None:
        known = ", ".join(c.name for c in schema if c.guid is not None)
        _fail(f"no class {name!r} (classes with a guid: {known})")
    if cls.guid is None:
        _fail(f"class {cls.name} has no guid qualifier, so it has no WNODE")
    try:
        return cls, class_layout(cls, schema)
    except LayoutError as e:
        _fail(str(e))


def _read_instances(path: str) -> list[dict[str, Any]]:
    try:
        text = read_input(path, "JSON").decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(f"{path}: offset {e.start}: error: not UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        _fail(f"{path}:{e.lineno}:{e.colno}: error: not valid JSON: {e.msg}")
    except RecursionError:
        _fail(f"{path}: error: JSON nested too deeply")
    except ValueError as e:  # an integer past Python's digit limit
        _fail(f"{path}: error: {e}")
    if isinstance(data, dict) and "instances" in data:  # the output of `wnode decode`
        data = data["instances"]
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        _fail(f"{path}: expected a JSON list of instance objects (or `wnode decode` output)")
    return data


def _item_values(
    path: str, index: int, obj: Mapping[str, Any], cls: MofClass, items: list[str]
) -> dict[str, Any]:
    canon = {n.lower(): n for n in items}
    values: dict[str, Any] = {}
    for key, value in obj.items():
        k = key.lower()
        if k in SYSTEM_KEYS:
            continue
        if k not in canon:
            if cls.prop(key) is not None:
                # A property that is not in the data block (Win32_PerfRawData's clock and
                # names, as `query --format json` writes them): WMI adds it, WNODEs hold none.
                continue
            _fail(f"{path}: instance {index}: {cls.name} has no data item {key!r}")
        values[canon[k]] = value
    missing = [n for n in items if n not in values]
    if missing:
        _fail(f"{path}: instance {index}: missing data item {missing[0]}")
    other = obj.get("__CLASS")
    if other is not None and str(other).lower() != cls.name.lower():
        _fail(f"{path}: instance {index}: __CLASS is {other!r}, not {cls.name}")
    return values


def _instance_names(
    path: str, objs: list[dict[str, Any]], pdo: str | None
) -> tuple[list[str], int]:
    given = [o.get("InstanceName") for o in objs]
    if pdo is not None:
        try:
            names = pdo_instance_names(pdo, len(objs))
        except InstanceNameError as e:
            _fail(f"--pdo: {e}")
        for i, (g, n) in enumerate(zip(given, names, strict=True)):
            if g is not None and g != n:
                _fail(f"{path}: instance {i}: InstanceName {g!r} is not the PDO name {n!r}")
        flags = wn.WNODE_FLAG_STATIC_INSTANCE_NAMES | wn.WNODE_FLAG_PDO_INSTANCE_NAMES
        return _utf16_names("--pdo", names), flags
    for i, g in enumerate(given):
        if not isinstance(g, str) or not g:
            _fail(
                f"{path}: instance {i} has no InstanceName; give --pdo PATH for PDO names "
                "or an InstanceName in every object"
            )
    return _utf16_names(path, [str(g) for g in given]), 0


def _utf16_names(path: str, names: list[str]) -> list[str]:
    for i, name in enumerate(names):
        try:
            name.encode("utf-16-le")  # WNODE names are UTF-16: a lone surrogate has no form
        except UnicodeEncodeError:
            _fail(f"{path}: instance {i}: InstanceName {name!r} is not valid Unicode text")
    return names


@click.group("wnode")
def wnode_group() -> None:
    """Encode and decode WMI WNODE buffers (wmistr.h layout, x64)."""


@wnode_group.command("encode")
@click.option(
    "--class", "class_name", required=True, help="The WMI class (e.g. MSiSCSI_MMIPSECStats)."
)
@click.option(
    "--instances",
    "instances_path",
    required=True,
    type=click.Path(allow_dash=True),
    help="JSON list of objects with the class's data items and optional InstanceName.",
)
@click.option("--pdo", default=None, metavar="PATH", help="Name instances <PATH>_<n> (PDO names).")
@click.option(
    "-o", "--output", default="-", type=click.Path(dir_okay=False, allow_dash=True),
    help="Write here instead of stdout.",
)  # fmt: skip
@click.option("--mof", "mof_files", multiple=True, type=click.Path(), help="Take classes from this MOF instead of the built-in one.")  # fmt: skip
def encode_cmd(
    class_name: str, instances_path: str, pdo: str | None, output: str, mof_files: tuple[str, ...]
) -> None:
    """Write a WNODE_ALL_DATA holding the instances of FILE.json.

    FILE.json is a list of objects with the class's data items (InstanceName, Active and __CLASS
    may be present; Active is the broker's and is not encoded), or the output of `wnode decode`.
    With --pdo, instances get PDO names <PATH>_0, <PATH>_1, ... (static names); otherwise every
    object needs an InstanceName (dynamic names).
    """
    cls, layout = _class(_schema(mof_files), class_name)
    objs = _read_instances(instances_path)
    items = [it.name for it in layout.items]
    names, flags = _instance_names(instances_path, objs, pdo)
    blocks = []
    for i, obj in enumerate(objs):
        values = _item_values(instances_path, i, obj, cls, items)
        try:
            blocks.append(layout.pack(values))
        except LayoutError as e:
            _fail(f"{instances_path}: instance {i}: {e.message}")
    assert cls.guid is not None
    try:
        buf = wn.encode_all_data(cls.guid, blocks, names, flags=flags)
    except wn.WnodeError as e:
        _fail(str(e))
    if output == "-":
        if sys.stdout.isatty():
            _fail("refusing to write a binary WNODE to a terminal; redirect stdout or use -o FILE")
        sys.stdout.flush()
        sys.stdout.buffer.write(buf)
        sys.stdout.buffer.flush()
    else:
        try:
            with open(output, "wb") as f:
                f.write(buf)
        except OSError as e:
            _fail(f"{output}: {e.strerror or e}")


def _instance_json(name: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"InstanceName": name, **values}


def _node_json(node: wn.Wnode, schema: Schema, class_name: str | None) -> dict[str, Any]:
    head: dict[str, Any] = {"guid": str(node.header.guid), "flags": node.header.flags}
    if isinstance(node, wn.TooSmall):
        return {**head, "size_needed": node.size_needed}
    if class_name is not None:
        cls, layout = _class(schema, class_name)
    else:
        found = schema.by_guid(node.header.guid)
        if found is None:
            _fail(f"GUID {node.header.guid} is not a class of the schema; give --class NAME")
        cls, layout = _class(schema, found.name)
    out: list[dict[str, Any]] = []
    try:
        if isinstance(node, wn.AllData):
            names: list[str | None] = (
                list(node.names) if node.names is not None else [None] * node.instance_count
            )
            for name, off, ln in zip(names, node.offsets, node.lengths, strict=True):
                values = layout.unpack(node.buffer[off : off + ln])
                out.append(_instance_json(name, values))
        elif isinstance(node, wn.SingleInstance):
            out.append(_instance_json(node.instance_name, layout.unpack(node.data)))
        else:
            _fail(f"a {type(node).__name__} WNODE holds no instances to print")
    except LayoutError as e:
        _fail(f"{cls.name}: {e.message}")
    return {**head, "instance_count": len(out), "instances": out}


@wnode_group.command("decode")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--class", "class_name", default=None, help="Decode as this class instead of the one the GUID names.")  # fmt: skip
@click.option("--mof", "mof_files", multiple=True, type=click.Path(), help="Take classes from this MOF instead of the built-in one.")  # fmt: skip
def decode_cmd(file: str, class_name: str | None, mof_files: tuple[str, ...]) -> None:
    """Print the WNODE in FILE as JSON (a list when FILE is a Linkage chain)."""
    buf = read_input(file, "WNODE")
    schema = _schema(mof_files)
    try:
        nodes = wn.decode_chain(buf)
    except wn.WnodeError as e:  # binary input: the place is the byte offset
        _fail(f"{file}: offset {e.offset}: error: {e}" if e.offset is not None else f"{file}: {e}")
    result = [_node_json(n, schema, class_name) for n in nodes]
    doc: Any = result[0] if len(result) == 1 else result
    click.echo(json.dumps(doc, indent=2, default=str))


def register(cli: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    cli.add_command(wnode_group)
