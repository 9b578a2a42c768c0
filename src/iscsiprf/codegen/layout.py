"""The binary layout of a WMI data block, and packing/unpacking blocks from and to dicts.

A data block is the C struct wmimofck generates, laid out as MSVC `/Zp8` does on x64: each item
at its natural alignment (embedded classes at their largest member's), little-endian, the struct
padded to its alignment. Items come in WmiDataId order. What varies in size (counted strings,
WmiSizeIs arrays, embedded classes that contain them) makes the class variable-size: the items
after it follow at natural alignment from wherever it ended.

`class_layout(cls, schema)` is the entry point; layouts are cached per class object.
"""

from __future__ import annotations

import operator
import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..mof.model import INTEGER_RANGES, MofClass, Schema
from .ctypes_map import DATETIME_CHARS, SCALARS, WCHAR_SIZE, ScalarType
from .members import Kind, LayoutError, Member, class_members, struct_name
from .wmidatetime import DatetimeFormatError, format_cim_datetime, parse_cim_datetime

__all__ = ["ClassLayout", "ItemLayout", "LayoutError", "ShortBufferError", "class_layout"]

_U16 = struct.Struct("<H")
_DATETIME_BYTES = DATETIME_CHARS * WCHAR_SIZE


class ShortBufferError(LayoutError):
    """The buffer ends before the data block does; `needed` is the byte count the block needs."""

    def __init__(self, class_name: str, needed: int, available: int) -> None:
        super().__init__(
            f"{class_name}: data block too short: {needed} bytes needed, {available} available"
        )
        self.needed = needed
        self.available = available


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass(slots=True)
class ItemLayout:
    """One data item: where it sits and how big it is (None where the data decides)."""

    name: str
    id: int
    ctype: str  # C element type: ULONGLONG, WCHAR[25], WCHAR[17], counted WCHAR, a struct name
    offset: int | None  # None after a variable-size item
    size: int | None  # whole item; None when variable
    align: int
    count: int | None  # elements: 1 for a scalar, N for a fixed array, None for WmiSizeIs arrays
    kind: Kind
    member: Member
    element_size: int | None
    scalar: ScalarType | None = None
    embedded: ClassLayout | None = None

    @property
    def size_is(self) -> str | None:
        return self.member.size_is

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "ctype": self.ctype,
            "offset": self.offset,
            "size": self.size,
            "align": self.align,
            "count": self.count,
            "kind": self.kind.value,
        }
        if self.member.size_is:
            out["size_is"] = self.member.size_is
        if self.member.max_len:
            out["max_len"] = self.member.max_len
        return out


class ClassLayout:
    """The data block of one class: items with offsets, size, alignment; pack and unpack.

    `pack(values) -> bytes`: the block for item name -> value; missing items are 0/empty, keys
    that name no data item (InstanceName, Active, ...) are ignored; bad values raise LayoutError
    naming the property. `unpack(buf, offset=0) -> dict`: the item values of the block at
    `offset`; a short buffer raises ShortBufferError saying how many bytes the block needs.
    For a class of fixed scalars both are one precompiled `struct.Struct` call.
    """

    pack: Callable[[Mapping[str, Any]], bytes]
    unpack: Callable[..., dict[str, Any]]

    def __init__(
        self,
        cls: MofClass,
        items: list[ItemLayout],
        alignment: int,
        size: int | None,
        data_size: int | None,
        size_rule: str | None,
    ) -> None:
        self.name = cls.name
        self.struct_name = struct_name(cls)
        self.guid: uuid.UUID | None = cls.guid
        self.items = items
        self.alignment = alignment
        self.size = size  # sizeof(struct), tail padding included; None when variable
        self.data_size = data_size  # <Struct>_SIZE: end of the last item
        self.size_rule = size_rule
        self.location = cls.location
        self._names = [it.name for it in items]
        self._by_name = {it.name: it for it in items}
        self._by_lower = {it.name.lower(): it for it in items}
        self.pack = self._pack_general
        self.unpack = self._unpack_general
        self._build_fast_path()

    # -- description -------------------------------------------------------------------------

    @property
    def is_fixed(self) -> bool:
        return self.size is not None

    def item(self, name: str) -> ItemLayout:
        it = self._by_name.get(name) or self._by_lower.get(name.lower())
        if it is None:
            raise KeyError(name)
        return it

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "guid": str(self.guid) if self.guid else None,
            "size": self.size,
            "alignment": self.alignment,
            "items": [it.to_json() for it in self.items],
            "struct": self.struct_name,
            "data_size": self.data_size,
        }
        if self.size_rule:
            out["size_rule"] = self.size_rule
        return out

    def __repr__(self) -> str:
        return f"<ClassLayout {self.name} size={self.size} align={self.alignment}>"

    # -- fast path: every item a fixed scalar ------------------------------------------------

    def _build_fast_path(self) -> None:
        if self.size is None or not self.items:
            return
        if any(it.scalar is None or it.count != 1 for it in self.items):
            return
        fmt, pos = ["<"], 0
        for it in self.items:
            assert it.offset is not None and it.scalar is not None
            if it.offset > pos:
                fmt.append(f"{it.offset - pos}x")
            fmt.append(it.scalar.code)
            pos = it.offset + it.scalar.size
        unpack_from = struct.Struct("".join(fmt)).unpack_from
        tail = self.size - pos
        pack_struct = struct.Struct("".join(fmt) + (f"{tail}x" if tail else "")).pack
        names = tuple(self._names)
        getter: Callable[[Any], Any]
        if len(names) == 1:
            only = names[0]
            getter = lambda v: (v[only],)  # noqa: E731
        else:
            getter = operator.itemgetter(*names)
        general_pack, needed = self._pack_general, self.size - tail

        def pack(values: Mapping[str, Any]) -> bytes:
            try:
                return pack_struct(*getter(values))
            except (KeyError, struct.error, TypeError):
                # a missing item or a bad value: the general path fills in or names it
                return general_pack(values)

        def unpack(buf: bytes | bytearray | memoryview, offset: int = 0) -> dict[str, Any]:
            if offset < 0:
                raise LayoutError(f"{self.name}: negative offset {offset}")
            try:
                return dict(zip(names, unpack_from(buf, offset)))  # noqa: B905
            except struct.error:
                raise ShortBufferError(self.name, needed, max(len(buf) - offset, 0)) from None

        self.pack = pack
        self.unpack = unpack

    # -- pack --------------------------------------------------------------------------------

    def _pack_general(self, values: Mapping[str, Any]) -> bytes:
        out = bytearray()
        self._pack_into(out, values)
        out += bytes(-len(out) % self.alignment)
        return bytes(out)

    def _pack_into(self, out: bytearray, values: Mapping[str, Any]) -> None:
        if not isinstance(values, Mapping):
            raise LayoutError(f"{self.name}: values must be a mapping, got {type(values).__name__}")
        counts = self._array_counts(values)
        for it in self.items:
            out += bytes(-len(out) % it.align)
            if it.size_is is not None:
                v = values.get(it.name)
                seq = self._sequence(it, v)
                n = counts[it.name]
                if len(seq) != n:
                    raise LayoutError(
                        f"{self.name}.{it.name}: {len(seq)} elements given but {it.size_is} = {n}",
                        it.member.location,
                        it.name,
                    )
                for elem in seq:
                    self._pack_element(out, it, elem)
                continue
            v = values.get(it.name)
            if it.name in counts and v is None:
                v = counts[it.name]  # the count of a WmiSizeIs array, derived from the array
            if it.count == 1 and not it.member.is_array:
                self._pack_element(out, it, v)
            else:
                assert it.count is not None
                seq = self._sequence(it, v)
                if len(seq) > it.count:
                    raise LayoutError(
                        f"{self.name}.{it.name}: {len(seq)} elements given, the array holds "
                        f"{it.count}",
                        it.member.location,
                        it.name,
                    )
                for elem in seq:
                    self._pack_element(out, it, elem)
                for _ in range(it.count - len(seq)):
                    self._pack_element(out, it, None)

    def _array_counts(self, values: Mapping[str, Any]) -> dict[str, int]:
        """Element counts of WmiSizeIs arrays, keyed by array name and by count item name."""
        counts: dict[str, int] = {}
        for it in self.items:
            if it.size_is is None:
                continue
            size_item = self.item(it.size_is)
            given = values.get(size_item.name)
            if given is None:
                n = len(self._sequence(it, values.get(it.name)))
            elif isinstance(given, int) and not isinstance(given, bool):
                n = given
            else:
                raise LayoutError(
                    f"{self.name}.{size_item.name}: must be an integer, got {given!r}",
                    size_item.member.location,
                    size_item.name,
                )
            counts[it.name] = n
            counts[size_item.name] = n
        return counts

    def _sequence(self, it: ItemLayout, v: Any) -> Sequence[Any]:
        if v is None:
            return ()
        if isinstance(v, (bytes, bytearray)) and it.scalar is not None and it.scalar.size == 1:
            return list(v)
        if isinstance(v, (list, tuple)):
            return v
        raise LayoutError(
            f"{self.name}.{it.name}: an array item takes a list, got {type(v).__name__}",
            it.member.location,
            it.name,
        )

    def _pack_element(self, out: bytearray, it: ItemLayout, v: Any) -> None:
        out += bytes(-len(out) % it.align)
        kind = it.kind
        if kind is Kind.SCALAR:
            assert it.scalar is not None
            out += struct.pack("<" + it.scalar.code, self._check_scalar(it, v))
        elif kind is Kind.DATETIME:
            out += self._datetime_bytes(it, v)
        elif kind is Kind.FIXED_STRING:
            assert it.member.max_len is not None
            data = self._utf16(it, v)
            if len(data) > it.member.max_len * WCHAR_SIZE:
                raise LayoutError(
                    f"{self.name}.{it.name}: string of {len(data) // 2} characters is longer "
                    f"than MaxLen({it.member.max_len})",
                    it.member.location,
                    it.name,
                )
            out += _U16.pack(len(data)) + data
            out += bytes((it.member.max_len * WCHAR_SIZE) - len(data))
        elif kind is Kind.STRING:
            data = self._utf16(it, v)
            if len(data) > 0xFFFF:
                raise LayoutError(
                    f"{self.name}.{it.name}: string of {len(data)} bytes exceeds the USHORT count",
                    it.member.location,
                    it.name,
                )
            out += _U16.pack(len(data)) + data
        else:
            emb = it.embedded
            assert emb is not None
            if v is None:
                v = {}
            if not isinstance(v, Mapping):
                raise LayoutError(
                    f"{self.name}.{it.name}: an embedded {emb.name} takes a dict, "
                    f"got {type(v).__name__}",
                    it.member.location,
                    it.name,
                )
            emb._pack_into(out, v)
            out += bytes(-len(out) % emb.alignment)

    def _check_scalar(self, it: ItemLayout, v: Any) -> int | bool:
        assert it.scalar is not None
        if it.scalar.mof == "boolean":
            if v is None:
                return False
            if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
                return bool(v)
            raise LayoutError(
                f"{self.name}.{it.name}: boolean value expected, got {v!r}",
                it.member.location,
                it.name,
            )
        if v is None:
            return 0
        if not isinstance(v, int):
            raise LayoutError(
                f"{self.name}.{it.name}: {it.scalar.mof} value must be an integer, got {v!r}",
                it.member.location,
                it.name,
            )
        lo, hi = INTEGER_RANGES[it.scalar.mof]
        if not lo <= v <= hi:
            raise LayoutError(
                f"{self.name}.{it.name}: {v} is out of range for {it.scalar.mof} ({lo}..{hi})",
                it.member.location,
                it.name,
            )
        return int(v)

    def _utf16(self, it: ItemLayout, v: Any) -> bytes:
        if v is None:
            return b""
        if not isinstance(v, str):
            raise LayoutError(
                f"{self.name}.{it.name}: string value expected, got {type(v).__name__}",
                it.member.location,
                it.name,
            )
        try:
            return v.encode("utf-16-le")
        except UnicodeEncodeError as exc:
            raise LayoutError(
                f"{self.name}.{it.name}: cannot encode as UTF-16: {exc.reason}",
                it.member.location,
                it.name,
            ) from None

    def _datetime_bytes(self, it: ItemLayout, v: Any) -> bytes:
        if v is None:
            return bytes(_DATETIME_BYTES)
        try:
            text = format_cim_datetime(v)
        except DatetimeFormatError as exc:
            raise LayoutError(
                f"{self.name}.{it.name}: {exc}", it.member.location, it.name
            ) from None
        data = text.encode("utf-16-le", errors="replace")
        if len(data) != _DATETIME_BYTES:
            raise LayoutError(
                f"{self.name}.{it.name}: datetime text must be 25 UTF-16 units: {text!r}",
                it.member.location,
                it.name,
            )
        return data

    # -- unpack ------------------------------------------------------------------------------

    def _unpack_general(
        self, buf: bytes | bytearray | memoryview, offset: int = 0
    ) -> dict[str, Any]:
        if offset < 0:
            raise LayoutError(f"{self.name}: negative offset {offset}")
        mv = memoryview(buf).cast("B") if not isinstance(buf, bytes) else buf
        if self.data_size is not None and len(mv) - offset < self.data_size:
            raise ShortBufferError(self.name, self.data_size, max(len(mv) - offset, 0))
        values, _ = self._unpack_from(mv, offset, offset)
        return values

    def _unpack_from(self, buf: Any, pos: int, base: int) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        for it in self.items:
            pos = _align_up(pos - base, it.align) + base
            if it.size_is is not None:
                n = out.get(self.item(it.size_is).name)
                if not isinstance(n, int) or n < 0:
                    n = 0
                if it.element_size is not None:
                    self._need(buf, pos + n * it.element_size, base)
                elems = []
                for _ in range(n):
                    v, pos = self._unpack_element(buf, it, pos, base)
                    elems.append(v)
                out[it.name] = elems
            elif it.count == 1 and not it.member.is_array:
                out[it.name], pos = self._unpack_element(buf, it, pos, base)
            else:
                assert it.count is not None
                elems = []
                for _ in range(it.count):
                    v, pos = self._unpack_element(buf, it, pos, base)
                    elems.append(v)
                out[it.name] = elems
        return out, pos

    def _need(self, buf: Any, end: int, base: int) -> None:
        if end > len(buf):
            raise ShortBufferError(self.name, end - base, max(len(buf) - base, 0))

    def _unpack_element(self, buf: Any, it: ItemLayout, pos: int, base: int) -> tuple[Any, int]:
        pos = _align_up(pos - base, it.align) + base
        kind = it.kind
        if kind is Kind.SCALAR:
            sc = it.scalar
            assert sc is not None
            self._need(buf, pos + sc.size, base)
            (v,) = struct.unpack_from("<" + sc.code, buf, pos)
            return v, pos + sc.size
        if kind is Kind.DATETIME:
            self._need(buf, pos + _DATETIME_BYTES, base)
            text = bytes(buf[pos : pos + _DATETIME_BYTES]).decode("utf-16-le", errors="replace")
            end = pos + _DATETIME_BYTES
            if text.strip("\x00") == "":
                return None, end
            return parse_cim_datetime(text), end
        if kind is Kind.FIXED_STRING:
            assert it.member.max_len is not None
            cap = it.member.max_len * WCHAR_SIZE
            self._need(buf, pos + 2 + cap, base)
            (n,) = _U16.unpack_from(buf, pos)
            n = min(n, cap)
            raw = bytes(buf[pos + 2 : pos + 2 + n])
            return raw.decode("utf-16-le", errors="replace").rstrip("\x00"), pos + 2 + cap
        if kind is Kind.STRING:
            self._need(buf, pos + 2, base)
            (n,) = _U16.unpack_from(buf, pos)
            self._need(buf, pos + 2 + n, base)
            raw = bytes(buf[pos + 2 : pos + 2 + n])
            return raw.decode("utf-16-le", errors="replace").rstrip("\x00"), pos + 2 + n
        emb = it.embedded
        assert emb is not None
        if emb.data_size is not None:
            self._need(buf, pos + emb.data_size, base)
        v, end = emb._unpack_from(buf, pos, base)
        return v, _align_up(end - base, emb.alignment) + base


# -- computing layouts --------------------------------------------------------------------------

_CACHE_ATTR = "_codegen_layout_cache"


def _schema_cache(schema: Schema) -> dict[int, tuple[MofClass, ClassLayout]]:
    """Layouts live as long as their schema: cached on it, keyed by class identity."""
    cache: dict[int, tuple[MofClass, ClassLayout]] | None = getattr(schema, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(schema, _CACHE_ATTR, cache)
    return cache


def class_layout(cls: MofClass, schema: Schema) -> ClassLayout:
    """The data-block layout of `cls` (embedded classes looked up in `schema`)."""
    return _layout(cls, schema, ())


def _layout(cls: MofClass, schema: Schema, stack: tuple[str, ...]) -> ClassLayout:
    cache = _schema_cache(schema)
    hit = cache.get(id(cls))
    if hit is not None and hit[0] is cls:
        return hit[1]
    lay = _compute(cls, schema, stack)
    cache[id(cls)] = (cls, lay)
    return lay


def _compute(cls: MofClass, schema: Schema, stack: tuple[str, ...]) -> ClassLayout:
    if cls.name.lower() in stack:
        chain = " -> ".join([*stack, cls.name.lower()])
        raise LayoutError(f"{cls.name}: class embeds itself ({chain})", cls.location)
    members = class_members(cls, schema)
    _check_size_is(cls, members)
    items: list[ItemLayout] = []
    offset, fixed, alignment = 0, True, 1
    rules: list[str] = []
    for m in members:
        scalar: ScalarType | None = None
        emb: ClassLayout | None = None
        if m.kind is Kind.SCALAR:
            scalar = SCALARS[m.mof_type.lower()]
            elem_size, align, ctype = scalar.size, scalar.align, scalar.ctype
        elif m.kind is Kind.DATETIME:
            elem_size, align, ctype = _DATETIME_BYTES, WCHAR_SIZE, f"WCHAR[{DATETIME_CHARS}]"
        elif m.kind is Kind.FIXED_STRING:
            assert m.max_len is not None
            elem_size, align = (m.max_len + 1) * WCHAR_SIZE, WCHAR_SIZE
            ctype = f"WCHAR[{m.max_len + 1}]"
        elif m.kind is Kind.STRING:
            elem_size, align, ctype = None, WCHAR_SIZE, "counted WCHAR"
        else:
            assert m.embedded is not None
            emb = _layout(m.embedded, schema, (*stack, cls.name.lower()))
            elem_size, align, ctype = emb.size, emb.alignment, emb.struct_name
        count: int | None = 1
        if m.is_array:
            count = m.fixed_count
        size = elem_size * count if (elem_size is not None and count is not None) else None
        item_offset: int | None = None
        if fixed:
            offset = _align_up(offset, align)
            item_offset = offset
        if size is None:
            if fixed:
                rules.append(f"the items after {m.name} follow it at natural alignment")
            fixed = False
            rules.append(_variable_rule(m, elem_size))
        elif fixed:
            offset += size
        alignment = max(alignment, align)
        items.append(
            ItemLayout(
                name=m.name,
                id=m.id,
                ctype=ctype,
                offset=item_offset,
                size=size,
                align=align,
                count=count,
                kind=m.kind,
                member=m,
                element_size=elem_size,
                scalar=scalar,
                embedded=emb,
            )
        )
    if fixed:
        return ClassLayout(cls, items, alignment, _align_up(offset, alignment), offset, None)
    rule = "variable size: " + "; ".join(rules) + f"; the block is padded to {alignment}"
    return ClassLayout(cls, items, alignment, None, None, rule)


def _variable_rule(m: Member, elem_size: int | None) -> str:
    if m.size_is is not None:
        each = f"{elem_size} bytes each" if elem_size is not None else "each of variable size"
        return f"{m.name} holds {m.size_is} elements, {each}"
    if m.kind is Kind.STRING:
        return f"{m.name} is a USHORT byte count followed by that many bytes of UTF-16LE"
    return f"{m.name} is an embedded {m.mof_type} of variable size"


def _check_size_is(cls: MofClass, members: list[Member]) -> None:
    by_name = {m.name.lower(): m for m in members}
    for m in members:
        if not m.is_array or m.fixed_count is not None:
            continue
        if m.size_is is None:
            raise LayoutError(
                f"{cls.name}.{m.name}: variable-length array has no WmiSizeIs qualifier "
                '(give it a fixed size or WmiSizeIs("CountProperty"))',
                m.location,
                m.name,
            )
        chain = [m.name]
        cur = m
        while cur.size_is is not None:
            target = by_name.get(cur.size_is.lower())
            if target is None:
                raise LayoutError(
                    f'{cls.name}.{cur.name}: WmiSizeIs("{cur.size_is}") names no data item '
                    f"of {cls.name}",
                    cur.location,
                    cur.name,
                )
            if target.name in chain:
                loop = " -> ".join([*chain, target.name])
                raise LayoutError(
                    f"{cls.name}.{m.name}: WmiSizeIs loop: {loop}", m.location, m.name
                )
            chain.append(target.name)
            cur = target
        target = by_name[m.size_is.lower()]
        if target.kind is not Kind.SCALAR or target.is_array or target.mof_type == "boolean":
            raise LayoutError(
                f'{cls.name}.{m.name}: WmiSizeIs("{m.size_is}") must name an integer item, '
                f"{target.name} is {target.mof_type}{'[]' if target.is_array else ''}",
                m.location,
                m.name,
            )
        if target.id >= m.id:
            raise LayoutError(
                f'{cls.name}.{m.name}: WmiSizeIs("{m.size_is}") names an item that comes '
                f"after the array (WmiDataId {target.id} >= {m.id})",
                m.location,
                m.name,
            )
