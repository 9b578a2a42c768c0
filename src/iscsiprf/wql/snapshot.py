"""Snapshot files: a JSON list of instance objects, as ``iscsiprf query --format json`` writes.

Each object holds ``InstanceName``, ``Active`` and data items (JSON integers for the uint64
counters); an object is an instance of ``MSiSCSI_MMIPSECStats`` unless it carries ``"__CLASS"``.
A property that is missing or ``null`` is NULL. Property names are matched case-insensitively and
stored in the schema's spelling; other system properties (``__PATH`` …) are ignored on reading.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from typing import Any

from ..mof.model import INTEGER_RANGES, Property, Schema
from .compiler import display_order
from .sources import ListSource

DEFAULT_CLASS = "MSiSCSI_MMIPSECStats"


class SnapshotError(Exception):
    """A snapshot that is not valid JSON or does not match the schema."""

    def __init__(self, path: str, message: str, line: int = 0, col: int = 0) -> None:
        where = f"{path}:{line}:{col}" if line else path
        super().__init__(f"{where}: error: {message}")
        self.path = path
        self.message = message
        self.line = line
        self.col = col


# The most a snapshot file may hold: one instance takes about 900 bytes, so this is room for
# some 70,000 (an HBA has a few); the bound keeps `/dev/zero` and runaway files out.
MAX_SNAPSHOT_BYTES = 64 << 20
# An integer in a snapshot has at most this many digits (2**64 - 1 has 20): longer ones are
# refused before Python converts them, which takes time quadratic in the digits.
_MAX_DIGITS = 20


class _OversizedInteger(Exception):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _parse_int(literal: str) -> int:
    if len(literal) > _MAX_DIGITS + 1 and len(literal.lstrip("-")) > _MAX_DIGITS:
        raise _OversizedInteger(literal)
    return int(literal)


# JSON strings and numbers, to find an oversized integer's place (only on that error).
_JSON_NUMBER_RE = re.compile(r'"(?:[^"\\]|\\.)*+"|(-?\d+)(\.\d+)?([eE][+-]?\d+)?')


def _integer_place(text: str, literal: str) -> tuple[int, int]:
    for m in _JSON_NUMBER_RE.finditer(text):
        if m.group(1) == literal and m.group(2) is None and m.group(3) is None:
            offset = m.start()
            return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
    return 0, 0


def read_snapshot_text(path: str) -> tuple[str, tuple[int, int]]:
    """A snapshot file's text and its (mtime_ns, size) stamp. Only a regular file of at most
    MAX_SNAPSHOT_BYTES is read; anything else is a SnapshotError naming the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SnapshotError(path, "cannot read: not a regular file")
            if st.st_size > MAX_SNAPSHOT_BYTES:
                raise SnapshotError(path, _too_large())
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read(MAX_SNAPSHOT_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SnapshotError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_SNAPSHOT_BYTES:  # grew meanwhile
        raise SnapshotError(path, _too_large())
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(path, f"not UTF-8 text ({exc.reason})") from None
    return text, (st.st_mtime_ns, st.st_size)


def _too_large() -> str:
    return f"larger than {MAX_SNAPSHOT_BYTES >> 20} MiB, the most a snapshot may be"


def parse_snapshot(
    text: str, schema: Schema, path: str = "<snapshot>", default_class: str = DEFAULT_CLASS
) -> list[dict[str, Any]]:
    """Decode and validate a snapshot; return instance dicts carrying ``__CLASS``."""
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise SnapshotError(path, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise SnapshotError(path, "not valid JSON: nested too deeply") from None
    except _OversizedInteger as exc:
        line, col = _integer_place(text, exc.literal)
        raise SnapshotError(
            path,
            f"integer of {len(exc.literal.lstrip('-')):,} digits: no CIM integer has more "
            f"than {_MAX_DIGITS}",
            line,
            col,
        ) from None
    if not isinstance(data, list):
        raise SnapshotError(path, f"expected a JSON list of instances, found {_json_kind(data)}")
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    keys: dict[str, list[str]] = {}  # class -> key property names, computed once per class
    for index, item in enumerate(data):
        inst = _instance(item, index, schema, path, default_class, keys)
        cname = inst["__CLASS"]
        key = (cname.casefold(), tuple(_fold(inst.get(k)) for k in keys[cname]))
        if key in seen:
            raise SnapshotError(
                path, f"{_where(index, inst)}: a second {cname} instance with the same key"
            )
        seen.add(key)
        out.append(inst)
    return out


def _lone_surrogate(value: Any) -> str | None:
    """The first string in ``value`` (a JSON value; keys too) holding a lone surrogate: such a
    string cannot be written as UTF-8, so no answer that includes it could be sent."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if not v.isascii() and _SURROGATE_RE.search(v):
                return v
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _where(index: int, inst: Mapping[str, Any] | None = None) -> str:
    name = inst.get("InstanceName") if inst is not None else None
    return f"instance [{index}]" + (f" ({name})" if isinstance(name, str) else "")


def _instance(
    item: Any,
    index: int,
    schema: Schema,
    path: str,
    default_class: str,
    keys: dict[str, list[str]],
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SnapshotError(
            path, f"instance [{index}]: expected a JSON object, found {_json_kind(item)}"
        )
    bad = _lone_surrogate(item)
    if bad is not None:
        shown = ascii(bad if len(bad) <= 40 else bad[:40] + "...")
        raise SnapshotError(
            path,
            f"{_where(index)}: the string {shown} holds a lone surrogate "
            "(a \\uD800-\\uDFFF escape without its pair), which is no character",
        )
    class_value = next((v for k, v in item.items() if k.lower() == "__class"), default_class)
    if not isinstance(class_value, str):
        raise SnapshotError(path, f"instance [{index}]: __CLASS must be a string")
    cls = schema.get(class_value)
    if cls is None:
        raise SnapshotError(path, f"instance [{index}]: unknown class {class_value!r}")
    if cls.qualifiers.has("abstract"):
        raise SnapshotError(
            path, f"instance [{index}]: {cls.name} is abstract and has no instances"
        )
    inst: dict[str, Any] = {"__CLASS": cls.name}
    for key, value in item.items():
        if not isinstance(key, str) or key.startswith("__"):
            continue
        prop = cls.prop(key)
        if prop is None:
            raise SnapshotError(path, f"{_where(index, item)}: {cls.name} has no property {key!r}")
        if prop.name in inst:
            raise SnapshotError(path, f"{_where(index, item)}: {prop.name} given twice")
        if value is None:
            continue
        problem = _type_problem(prop, value, schema)
        if problem:
            raise SnapshotError(path, f"{_where(index, item)}: {prop.name} {problem}")
        inst[prop.name] = value
    key_names = keys.get(cls.name)
    if key_names is None:
        key_names = keys[cls.name] = [k.name for k in cls.keys()]
    for key_name in key_names:
        if inst.get(key_name) is None:
            raise SnapshotError(path, f"{_where(index, item)}: the key {key_name} is missing")
    return inst


def _type_problem(prop: Property, value: Any, schema: Schema) -> str | None:
    """Why ``value`` cannot be a value of ``prop`` (None when it can)."""
    if prop.array:
        if not isinstance(value, list):
            return f"is an array of {prop.type}, found {_json_kind(value)}"
        for i, element in enumerate(value):
            problem = _scalar_problem(prop.type, element, schema)
            if problem:
                return f"[{i}] {problem}"
        return None
    return _scalar_problem(prop.type, value, schema)


def _scalar_problem(cim_type: str, value: Any, schema: Schema) -> str | None:
    t = cim_type.lower()
    if t in INTEGER_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a JSON integer ({t}), found {_json_kind(value)}"
        lo, hi = INTEGER_RANGES[t]
        if not lo <= value <= hi:
            return f"= {value} is outside the range of {t} ({lo}..{hi})"
        return None
    if t in ("real32", "real64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a JSON number ({t}), found {_json_kind(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        return None
    if t == "boolean":
        return (
            None if isinstance(value, bool) else f"must be true or false, found {_json_kind(value)}"
        )
    if t in ("string", "datetime", "ref"):
        return (
            None if isinstance(value, str) else f"must be a JSON string, found {_json_kind(value)}"
        )
    if t == "char16":
        if isinstance(value, str) and len(value) == 1:
            return None
        return "must be a one-character string"
    if not isinstance(value, dict):  # embedded object
        return f"must be a JSON object ({cim_type}), found {_json_kind(value)}"
    return None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def snapshot_objects(
    rows: Iterable[Mapping[str, Any]], schema: Schema, default_class: str = DEFAULT_CLASS
) -> list[dict[str, Any]]:
    """Instance dicts as snapshot objects: ``__CLASS`` only when not the default class, then
    InstanceName, Active, data items in WmiDataId order, other properties; NULLs left out."""
    out: list[dict[str, Any]] = []
    orders: dict[str, tuple[str, list[str]]] = {}  # class -> (schema spelling, property order)
    for row in rows:
        cname = str(row.get("__CLASS") or default_class)
        known = orders.get(cname)
        if known is None:
            cls = schema.get(cname)
            known = orders[cname] = (cls.name, display_order(cls)) if cls else (cname, [])
        obj: dict[str, Any] = {}
        if cname.casefold() != default_class.casefold():
            obj["__CLASS"] = known[0]
        for name in known[1]:
            value = row.get(name)
            if value is not None:
                obj[name] = value
        for name, value in row.items():
            if name not in obj and name != "__CLASS" and value is not None:
                obj[name] = value
        out.append(obj)
    return out


def dump_snapshot(objects: list[dict[str, Any]]) -> str:
    return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"


class SnapshotFileSource:
    """A snapshot file as an instance source; re-read when the file changes between samples."""

    def __init__(self, path: str, schema: Schema, default_class: str = DEFAULT_CLASS) -> None:
        self.path = path
        self.schema = schema
        self.default_class = default_class
        self._stamp: tuple[int, int] | None = None
        self._source: ListSource | None = None
        self.mtime_ns = 0
        self._load()

    def _load(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise SnapshotError(self.path, f"cannot read: {exc.strerror or exc}") from None
        if (st.st_mtime_ns, st.st_size) == self._stamp and self._source is not None:
            return
        text, stamp = read_snapshot_text(self.path)
        instances = parse_snapshot(text, self.schema, self.path, self.default_class)
        self._source = ListSource(self.schema, instances)
        self._stamp = stamp
        self.mtime_ns = stamp[0]

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        self._load()
        assert self._source is not None
        return [dict(i) for i in self._source.enumerate(class_name)]
