"""Write the objects of a BMF payload as MOF text that compiles back to the same schema.

What mofcomp adds and the MOF implies is left out: the CIMTYPE qualifier (it is the type), MAX
(the fixed array size), the parameters' ID (their order) and the __PARAMETERS objects (the
parameter list). Each line written remembers the payload offset it came from, so problems found
when compiling the text can name the place in the binary file.
"""

from __future__ import annotations

import re

from .bmf_container import BmfError
from .bmf_objects import (
    CIM_CHAR16,
    FLAVOR_AMENDED,
    FLAVOR_DISABLE_OVERRIDE,
    FLAVOR_TO_INSTANCE,
    FLAVOR_TO_SUBCLASS,
    OBJ_CLASS,
    VT_ARRAY,
    VT_TYPE,
    RawObject,
    RawProperty,
    RawQualifier,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Qualifiers mofcomp adds with these flavors: written back implicitly, so left out.
_IMPLIED = {"cimtype", "max", "id"}
_CLASSFLAG_NAMES = {0x1: "updateonly", 0x2: "createonly", 0x20: "safeupdate", 0x40: "forceupdate"}
# What a string literal cannot hold as it is: quote, backslash, controls, lone surrogates.
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\ud800-\udfff]')
_ESC = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def flavor_names(bits: int) -> list[str]:
    out = []
    if bits & FLAVOR_TO_INSTANCE:
        out.append("ToInstance")
    if bits & FLAVOR_TO_SUBCLASS:
        out.append("ToSubclass")
    if bits & FLAVOR_DISABLE_OVERRIDE:
        out.append("DisableOverride")
    if bits & FLAVOR_AMENDED:
        out.append("Amended")
    return out


def mof_string(s: str) -> str:
    # One regex pass: a schema's strings are megabytes, and most need no escape at all.
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    return _ESC.get(ch) or f"\\x{ord(ch):04X}"


def mof_char(code: int) -> str:
    """A char16 value as a MOF char literal (the payload holds its UTF-16 code unit)."""
    ch = chr(code)
    if ch in ("'", "\\"):
        return f"'\\{ch}'"
    if ch < " " or "\ud800" <= ch <= "\udfff" or ch == "\x7f":
        return f"'\\x{code:04X}'"
    return f"'{ch}'"


def typed_value(char16: bool, v: Any) -> str:
    """A property's or instance value's literal: char16 code units as char literals."""
    if char16:
        if isinstance(v, int) and not isinstance(v, bool):
            return mof_char(v)
        if isinstance(v, list) and all(isinstance(x, int) for x in v):
            return "{" + ", ".join(mof_char(x) for x in v) + "}"
    return mof_value(v)


def mof_value(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return mof_string(v)
    if isinstance(v, float):
        text = repr(v)  # MOF wants a dot in a real: 1e-05 -> 1.0e-05
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "{" + ", ".join(mof_value(x) for x in v) + "}"
    if v is None:
        return "NULL"
    raise ValueError(type(v).__name__)


class MofWriter:
    """Collects lines of MOF text and the payload offset each came from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.offsets: list[int] = []  # per line
        self.warnings: list[tuple[int, str]] = []  # payload offset, message
        self.namespace: str | None = None
        self.classflags = 0

    def line(self, text: str, offset: int) -> None:
        self.lines.append(text)
        self.offsets.append(offset)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def objects(self, objs: list[RawObject]) -> None:
        for o in objs:
            ns = o.system.get("__NAMESPACE")
            if isinstance(ns, str) and ns != self.namespace:
                self.line(f"#pragma namespace({mof_string(ns)})", o.offset)
                self.namespace = ns
            flags = o.system.get("__CLASSFLAGS", 0)
            flags = flags if isinstance(flags, int) and not isinstance(flags, bool) else 0
            if flags != self.classflags:  # a pragma stays in force for the objects after it
                names = [n for bit, n in _CLASSFLAG_NAMES.items() if flags & bit]
                known = sum(bit for bit in _CLASSFLAG_NAMES if flags & bit) == flags
                arg = ", ".join(mof_string(n) for n in names) if flags and known else str(flags)
                self.line(f"#pragma classflags({arg})", o.offset)
                self.classflags = flags
            if o.kind == OBJ_CLASS:
                self.klass(o)
            else:
                self.instance(o)
            self.line("", o.offset)

    def qualifiers(self, quals: list[RawQualifier], skip: set[str] = _IMPLIED) -> str:
        parts = []
        for q in quals:
            if q.name.lower() in skip:
                continue
            if q.value is True:
                text = q.name
            elif isinstance(q.value, list):
                text = q.name + mof_value(q.value)
            else:
                text = f"{q.name}({mof_value(q.value)})"
            fl = flavor_names(q.flavor)
            if fl:
                text += ": " + " ".join(fl)
            parts.append(text)
        return "[" + ", ".join(parts) + "] " if parts else ""

    def klass(self, o: RawObject) -> None:
        sup = o.system.get("__SUPERCLASS")
        head = f"class {o.name}" + (f" : {sup}" if isinstance(sup, str) and sup else "")
        q = self.qualifiers(o.qualifiers)
        if q:
            self.line(q.rstrip(), o.offset)
        self.line(head + " {", o.offset)
        for p in o.properties:
            self.prop(p)
        for m in o.methods:
            self.method(m)
        self.line("};", o.offset)

    def type_of(self, p: RawProperty) -> tuple[str, str]:
        """(type as MOF writes it, array suffix)."""
        cimtype = p.qualifier("CIMTYPE")
        base_vt = p.vt & ~VT_ARRAY
        t = VT_TYPE.get(base_vt, "")
        if cimtype is not None and isinstance(cimtype.value, str):
            ct = cimtype.value
            low = ct.lower()
            if low.startswith("object:"):
                t = ct[7:]
            elif low.startswith("ref:"):
                t = ct[4:] + " ref"
            elif low == "object":
                t = "object"
            else:
                t = ct
        if not t:
            raise BmfError(p.offset, f"property {p.name} has unknown type {p.vt:#x}", "payload")
        suffix = ""
        if p.vt & VT_ARRAY:
            mx = p.qualifier("MAX")
            size = mx.value if mx is not None and isinstance(mx.value, int) else None
            suffix = f"[{size}]" if size is not None and size > 0 else "[]"
        return t, suffix

    def prop(self, p: RawProperty) -> None:
        t, suffix = self.type_of(p)
        default = ""
        if p.has_value and p.value is not None:
            if isinstance(p.value, RawObject) or (
                isinstance(p.value, list) and any(isinstance(x, RawObject) for x in p.value)
            ):
                self.warnings.append((p.offset, f"embedded instance default of {p.name} left out"))
            else:
                char16 = t == "char16" or p.vt & ~VT_ARRAY == CIM_CHAR16  # a VT_I2 + CIMTYPE
                default = " = " + typed_value(char16, p.value)
        self.line(f"  {self.qualifiers(p.qualifiers)}{t} {p.name}{suffix}{default};", p.offset)

    def method(self, m: RawProperty) -> None:
        params: dict[int, tuple[RawProperty, list[RawQualifier]]] = {}
        rtype = "void"
        objs = m.value if isinstance(m.value, list) else []
        for po in objs:
            if not isinstance(po, RawObject):
                continue
            for p in po.properties:
                if p.name.lower() == "returnvalue":
                    rtype = self.type_of(p)[0]
                    continue
                idq = p.qualifier("ID")
                pid = (
                    idq.value
                    if idq is not None and isinstance(idq.value, int)
                    else 1000 + len(params)
                )
                if pid in params:  # the same parameter, in and out: one list of qualifiers
                    params[pid] = (params[pid][0], _merge_in_out(params[pid][1], p.qualifiers))
                else:
                    params[pid] = (p, list(p.qualifiers))
        plist = []
        for pid in sorted(params):
            p, quals = params[pid]
            t, suffix = self.type_of(p)
            plist.append(f"{self.qualifiers(quals)}{t} {p.name}{suffix}")
        q = self.qualifiers(m.qualifiers)
        self.line(f"  {q}{rtype} {m.name}({', '.join(plist)});", m.offset)

    def instance(self, o: RawObject) -> None:
        q = self.qualifiers(o.qualifiers)
        self.line(f"{q}instance of {o.name} {{", o.offset)
        for p in o.properties:
            if not p.has_value:  # set to NULL in the MOF (mofcomp writes only what was set)
                self.line(f"  {p.name} = NULL;", p.offset)
                continue
            if isinstance(p.value, RawObject) or (
                isinstance(p.value, list) and any(isinstance(x, RawObject) for x in p.value)
            ):
                self.warnings.append((p.offset, f"embedded instance value of {p.name} left out"))
                continue
            char16 = p.vt & ~VT_ARRAY == CIM_CHAR16
            self.line(f"  {p.name} = {typed_value(char16, p.value)};", p.offset)
        self.line("};", o.offset)


def _merge_in_out(first: list[RawQualifier], second: list[RawQualifier]) -> list[RawQualifier]:
    """The qualifier list of an [in, out] parameter from its two copies: mofcomp writes the
    list without `out` in the in-parameters object and without `in` in the out-parameters one.
    The qualifiers the second copy adds go back where they stood (`in` before `out` when the
    copies cannot tell)."""
    names = {q.name.lower() for q in first}
    out = list(first)
    anchor = next((i for i, q in enumerate(first) if q.name.lower() in ("in", "out")), len(first))
    for j, q in enumerate(second):
        if q.name.lower() in names:
            continue
        at = j if j < anchor else j + 1
        out.insert(min(at, len(out)), q)
        names.add(q.name.lower())
    return out


def objects_to_mof(objs: list[RawObject]) -> MofWriter:
    w = MofWriter()
    w.objects(objs)
    return w
