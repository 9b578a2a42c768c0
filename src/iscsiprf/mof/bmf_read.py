"""Read an uncompressed BMF payload into RawObjects (bmf_objects.py), checking every length.

Every record starts with its own length; a record must fit inside the one that holds it, so
reading always moves forward and nesting is bounded: no loops, no reads past the end. A problem
raises BmfError with the payload offset where it was found.
"""

from __future__ import annotations

import struct
import sys
from array import array

from .bmf_container import BmfError
from .bmf_objects import (
    CIM_CHAR16,
    CIM_DATETIME,
    CIM_REFERENCE,
    FLAVOR_MAGIC,
    OBJ_CLASS,
    OBJ_INSTANCE,
    VT_ARRAY,
    VT_BOOL,
    VT_BSTR,
    VT_I1,
    VT_I2,
    VT_I4,
    VT_I8,
    VT_R4,
    VT_R8,
    VT_UI1,
    VT_UI2,
    VT_UI4,
    VT_UI8,
    VT_UNKNOWN,
    RawObject,
    RawProperty,
    RawQualifier,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_U32 = struct.Struct("<I")
_HDR5 = struct.Struct("<5I")
_HDR4 = struct.Struct("<4I")
_HDR2 = struct.Struct("<2I")
_FIXED = {
    VT_I1: struct.Struct("<b"), VT_UI1: struct.Struct("<B"), VT_I2: struct.Struct("<h"),
    VT_UI2: struct.Struct("<H"), VT_I4: struct.Struct("<i"), VT_UI4: struct.Struct("<I"),
    VT_I8: struct.Struct("<q"), VT_UI8: struct.Struct("<Q"), VT_R4: struct.Struct("<f"),
    VT_R8: struct.Struct("<d"), CIM_CHAR16: struct.Struct("<H"),
}  # fmt: skip
_STRINGS = (VT_BSTR, CIM_DATETIME, CIM_REFERENCE)
NO_VALUE = 0xFFFFFFFF
MAX_DEPTH = 16  # objects nested in values (method parameters, embedded instances)


def read_payload(data: bytes) -> tuple[list[RawObject], list[tuple[int, str]]]:
    """The objects of a payload, and warnings (payload offset, message)."""
    r = _Reader(data)
    return r.objects(), r.warnings


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.d = data
        self.words = array("H", data[: len(data) & ~1])
        if sys.byteorder == "big":
            self.words.byteswap()
        self.cache: dict[bytes, str] = {}
        self.spans: dict[bytes, str] = {}  # a field's bytes (string, NUL, padding) -> string
        self.flavors: dict[int, int] = {}
        self.warnings: list[tuple[int, str]] = []

    def fail(self, offset: int, message: str) -> BmfError:
        return BmfError(offset, message, "payload")

    def u32(self, at: int, end: int) -> int:
        if at + 4 > end:
            raise self.fail(at, "record ends early")
        return int(_U32.unpack_from(self.d, at)[0])

    def objects(self) -> list[RawObject]:
        d = self.d
        if len(d) < 20 or d[:4] != b"FOMB":
            raise self.fail(0, "payload does not start with FOMB and its length")
        part = self.u32(4, len(d))
        if part < 20 or part > len(d):
            raise self.fail(4, f"object part length {part} is outside the payload ({len(d)})")
        self.read_flavors(part)
        one, one2, count = struct.unpack_from("<3I", d, 8)
        if (one, one2) != (1, 1):
            self.warnings.append((8, f"root starts {one}, {one2} (mofcomp writes 1, 1)"))
        out: list[RawObject] = []
        at = 20
        for i in range(count):
            if at >= part:
                raise self.fail(at, f"object {i + 1} of {count} starts past the object part")
            n = self.u32(at, part)
            if n < 20 or at + n > part:
                raise self.fail(at, f"object length {n} does not fit in the object part")
            out.append(self.object(at, at + n, 0))
            at += n
        if at != part:
            self.warnings.append((at, f"{part - at} bytes after the last object ignored"))
        return out

    def read_flavors(self, part: int) -> None:
        d = self.d
        if part == len(d):
            return
        if d[part : part + 16] != FLAVOR_MAGIC or part + 20 > len(d):
            raise self.fail(part, "no BMOFQUALFLAVOR11 table after the objects")
        count = self.u32(part + 16, len(d))
        if part + 20 + 8 * count != len(d):
            raise self.fail(part + 16, f"flavor table of {count} entries does not fill the payload")
        for i in range(count):
            off, flavor = struct.unpack_from("<II", d, part + 20 + 8 * i)
            self.flavors[off] = flavor

    def object(self, at: int, end: int, depth: int) -> RawObject:
        """A class or instance record at `at`, which must end at `end`."""
        if depth > MAX_DEPTH:
            raise self.fail(at, f"objects nested more than {MAX_DEPTH} deep")
        if at + 20 > end:
            raise self.fail(at, "object header ends early")
        _n, _mark, qlen, dlen, kind = _HDR5.unpack_from(self.d, at)
        if kind not in (OBJ_CLASS, OBJ_INSTANCE):
            raise self.fail(at + 16, f"object kind {kind} is neither class (0) nor instance (1)")
        obj = RawObject(kind, at)
        q = at + 20
        if dlen > end - q or qlen > dlen:
            raise self.fail(at + 12, f"object data length {dlen} does not fit in the object")
        data_end = q + dlen
        if qlen:
            obj.qualifiers = self.qualifier_set(q, q + qlen, depth)
        p = q + qlen
        plen = self.u32(p, data_end)
        if plen < 8 or p + plen > data_end:
            raise self.fail(p, f"property set length {plen} does not fit in the object")
        count = self.u32(p + 4, data_end)
        pe = p + plen
        at2 = p + 8
        for _ in range(count):
            at2 = self.property(at2, pe, obj, depth)
        while at2 < data_end:  # system properties may follow the counted set
            at2 = self.property(at2, data_end, obj, depth)
        if at2 != data_end:
            raise self.fail(at2, "property set overruns the object data")
        if data_end < end:
            mlen = self.u32(data_end, end)
            if mlen < 8 or data_end + mlen > end:
                raise self.fail(data_end, f"method set length {mlen} does not fit in the object")
            mcount = self.u32(data_end + 4, end)
            m = data_end + 8
            for _ in range(mcount):
                m = self.method(m, data_end + mlen, obj, depth)
        return obj

    def _record(self, at: int, end: int, what: str) -> tuple[int, int, int, int]:
        n = self.u32(at, end)
        if n < 20 or at + n > end:
            raise self.fail(at, f"{what} length {n} does not fit in its set")
        _n, vt, _flags, a, b = _HDR5.unpack_from(self.d, at)
        return n, vt, a, b

    def property(self, at: int, end: int, obj: RawObject, depth: int) -> int:
        n, vt, a, b = self._record(at, end, "property")
        rend = at + n
        start = at + 20
        if b == NO_VALUE:  # a system property: name, then its value, no qualifiers
            if a > n - 20:
                raise self.fail(at + 12, "system property name overruns the record")
            name = self.string(start, start + a)
            obj.system[name] = self.value(vt, start + a, rend, depth)
            return rend
        if b > n - 20 or (a != NO_VALUE and a > b):
            raise self.fail(at + 16, "property name and value overrun the record")
        has_value = a != NO_VALUE
        name_end = start + (a if has_value else b)
        name = self.string(start, name_end)
        value = self.value(vt, name_end, start + b, depth) if has_value else None
        quals = self.qualifier_set(start + b, rend, depth)
        obj.properties.append(RawProperty(name, vt, value, has_value, quals, at))
        return rend

    def method(self, at: int, end: int, obj: RawObject, depth: int) -> int:
        n, vt, a, b = self._record(at, end, "method")
        start = at + 20
        if b > n - 20 or (a != NO_VALUE and a > b):
            raise self.fail(at + 16, "method name and parameters overrun the record")
        has_value = a != NO_VALUE
        name_end = start + (a if has_value else b)
        name = self.string(start, name_end)
        value = self.value(vt, name_end, start + b, depth) if has_value else None
        quals = self.qualifier_set(start + b, at + n, depth)
        obj.methods.append(RawProperty(name, vt, value, has_value, quals, at))
        return at + n

    def qualifier_set(self, at: int, end: int, depth: int) -> list[RawQualifier]:
        if at + 8 > end:
            raise self.fail(at, "qualifier set ends early")
        slen, count = _HDR2.unpack_from(self.d, at)
        if slen < 8 or at + slen != end:
            raise self.fail(at, f"qualifier set length {slen} does not match its record")
        out: list[RawQualifier] = []
        append = out.append
        flavors = self.flavors
        unpack = _HDR4.unpack_from
        d = self.d
        string_at = self.string_at
        spans = self.spans
        q = at + 8
        for _ in range(count):
            if q + 16 > end:
                raise self.fail(q, "qualifier header ends early")
            n, vt, _flags, nlen = unpack(d, q)
            if n < 16 or q + n > end:
                raise self.fail(q, f"qualifier length {n} does not fit in its set")
            if nlen > n - 16:
                raise self.fail(q + 12, "qualifier name overruns the qualifier")
            v = q + 16 + nlen
            # A field's whole span decides its string: spans that repeat are decoded once.
            raw = d[q + 16 : v]
            name = spans.get(raw)
            if name is None:
                name = spans[raw] = string_at(q + 16, v)[0]
            if vt == VT_BSTR:  # most qualifiers: a string value
                raw = d[v : q + n]
                value: Any = spans.get(raw)
                if value is None:
                    value = spans[raw] = string_at(v, q + n)[0]
            elif vt == VT_BOOL and v + 2 <= q + n:
                value = d[v] | d[v + 1] != 0
            else:
                value = self.value(vt, v, q + n, depth)
            append(RawQualifier(name, vt, value, flavors.get(q, 0), q))
            q += n
        if q != end:
            raise self.fail(q, "qualifier set holds more than its count")
        return out

    def string(self, at: int, end: int) -> str:
        return self.string_at(at, end)[0]

    def string_at(self, at: int, end: int) -> tuple[str, int]:
        """A NUL-terminated UTF-16LE string that must lie in [at, end), and the offset after
        its NUL. Every field of a payload has an even length, so strings start at even
        offsets: the payload is searched as 16-bit words, and names that repeat (qualifier
        names, types) are decoded once."""
        if at & 1:
            raise self.fail(at, "string at an odd offset")
        try:
            i = self.words.index(0, at >> 1, end >> 1)
        except ValueError:
            raise self.fail(at, "string without its NUL") from None
        raw = self.d[at : 2 * i]
        s = self.cache.get(raw)
        if s is None:
            s = self.cache[raw] = raw.decode("utf-16-le", "surrogatepass")
        return s, 2 * i + 2

    def value(self, vt: int, at: int, end: int, depth: int) -> Any:
        if vt & VT_ARRAY:
            return self.array(vt & ~VT_ARRAY, at, end, depth)
        return self.scalar(vt, at, end, depth)[0]

    def scalar(self, vt: int, at: int, end: int, depth: int) -> tuple[Any, int]:
        """A value and the offset after it."""
        if vt in _STRINGS:
            return self.string_at(at, end)
        if vt == VT_BOOL:
            if at + 2 > end:
                raise self.fail(at, "boolean value ends early")
            v = self.d[at] | self.d[at + 1] << 8
            return v != 0, at + 2
        if vt == VT_UNKNOWN:
            n = self.u32(at, end)
            if n < 20 or at + n > end:
                raise self.fail(at, f"embedded object length {n} does not fit in its value")
            return self.object(at, at + n, depth + 1), at + n
        st = _FIXED.get(vt)
        if st is None:
            raise self.fail(at, f"unknown value type {vt:#x}")
        if at + st.size > end:
            raise self.fail(at, "value ends early")
        return st.unpack_from(self.d, at)[0], at + st.size

    def array(self, vt: int, at: int, end: int, depth: int) -> list[Any]:
        if at + 16 > end:
            raise self.fail(at, "array value ends early")
        total, _dims, count, ilen = _HDR4.unpack_from(self.d, at)
        if total > end - at or ilen > total:
            raise self.fail(at, f"array length {total} does not fit in its value")
        a_end = at + total
        out: list[Any] = []
        p = at + 16
        for _ in range(count):
            if p >= a_end:
                raise self.fail(p, f"array of {count} items ends early")
            v, p = self.scalar(vt, p, a_end, depth)
            out.append(v)
        return out
