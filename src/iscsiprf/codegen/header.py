"""The C header `wmimofck -h` writes for a compiled MOF schema, byte for byte.

wmimofck ends its own lines with CRLF and copies `cpp_quote` text verbatim (its `\\n` stay LF);
`newline` selects the line end of the tool's own lines ("\\r\\n" as the tool, or "\\n").
Per class, in schema (file) order: a comment naming class and struct, the class Description,
the class cpp_quote, the GUID initializer macro and DEFINE_GUID, the method ids (with `-m` the
`_IN`/`_OUT` parameter structs), then the struct of the data items in WmiDataId order with
`_SIZE`/`_ID` defines and the `<Struct>_SIZE` macro.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..mof.model import Method, MofClass, Schema
from .layout import class_layout
from .members import Kind, LayoutError, Member, class_members, classify, element_id, struct_name

__all__ = [
    "HeaderOptions",
    "generates_header",
    "guard_name",
    "guid_macro",
    "header_classes",
    "render_header",
    "wmi_methods",
]


@dataclass(frozen=True, slots=True)
class HeaderOptions:
    methods: bool = False  # -m: _IN/_OUT structs for method parameters
    unconditional: bool = False  # -u: a struct for every data block, even one with no items
    newline: str = "\r\n"


def guard_name(base: str) -> str:
    """`_<base>_h_`, the include guard wmimofck derives from the output file's base name."""
    return f"_{base}_h_"


def generates_header(cls: MofClass) -> bool:
    v = cls.qualifiers.get_value("WmiGenerateHeader", True)
    if isinstance(v, str):
        return v.strip().upper() not in ("FALSE", "0")
    return v is not False and v != 0


def _own_guid(cls: MofClass) -> uuid.UUID | None:
    q = cls.qualifiers.get("guid")
    if q is None or q.propagated:
        return None
    return cls.guid


def header_classes(schema: Schema) -> list[MofClass]:
    """The classes wmimofck writes: WMI with a guid, not WmiGenerateHeader(FALSE), file order.

    A WMI class without a usable guid, and an embedded class (neither Dynamic nor Static) that
    declares InstanceName or Active, are errors as wmimofck reports them.
    """
    out: list[MofClass] = []
    for cls in schema:
        q = cls.qualifiers.get("wmi")
        if q is None or q.propagated or not cls.qualifiers.has("WMI"):
            continue
        _check_embedded(cls)
        if not generates_header(cls):
            continue
        if _own_guid(cls) is None:
            gq = cls.qualifiers.get("guid")
            why = "an invalid guid" if gq is not None and not gq.propagated else "no guid"
            raise LayoutError(
                f"class {cls.name} has the WMI qualifier but {why}; "
                'wmimofck needs guid("{...}") to write its header',
                cls.location,
            )
        out.append(cls)
    return out


def _check_embedded(cls: MofClass) -> None:
    """wmimofck: a WMI class with neither Dynamic nor Static is embedded-only, and an embedded
    class has no InstanceName or Active (WMI supplies those for data blocks only)."""
    if not cls.is_embedded_wmi:
        return
    for name in ("InstanceName", "Active"):
        p = cls.prop(name)
        if p is not None:
            raise LayoutError(
                f"embedded class {cls.name} (WMI without Dynamic or Static) must not "
                f"declare {p.name}",
                p.location or cls.location,
                p.name,
            )


def _guid_initializer(g: uuid.UUID) -> str:
    f = g.fields
    tail = ",".join(f"0x{b:02x}" for b in g.bytes[8:])
    return f"{{ 0x{f[0]:08x},0x{f[1]:04x},0x{f[2]:04x}, {{ {tail} }} }}"


def _guid_args(g: uuid.UUID) -> str:
    f = g.fields
    tail = ",".join(f"0x{b:02x}" for b in g.bytes[8:])
    return f"0x{f[0]:08x},0x{f[1]:04x},0x{f[2]:04x},{tail}"


def _quote(text: str) -> str:
    """A cpp_quote as wmimofck copies it: on lines of its own, text untouched."""
    return "\n" + text + "\n"


def _member_decl(m: Member) -> tuple[str, str | None]:
    """The member declaration and the sizeof() operand of its _SIZE define (None: no define)."""
    if m.is_variable_array:
        if m.kind is Kind.STRING:
            return "CHAR VariableData[1];", None
        ctype = "WCHAR" if m.kind in (Kind.DATETIME, Kind.FIXED_STRING) else m.ctype
        return f"{ctype} {m.name}[1];", None
    dims = f"[{m.fixed_count}]" if m.is_array else ""
    if m.kind is Kind.STRING:
        return "CHAR VariableData[1];", None
    if m.kind is Kind.DATETIME:
        return f"WCHAR {m.name}{dims}[25];", f"WCHAR{dims}[25]"
    if m.kind is Kind.FIXED_STRING:
        return f"WCHAR {m.name}{dims}[{m.max_len} + 1];", None
    return f"{m.ctype} {m.name}{dims};", f"{m.ctype}{dims}"


def _struct(sname: str, members: list[Member], nl: str) -> str:
    parts = [f"typedef struct _{sname}{nl}{{{nl}"]
    commented = False  # members after a variable-size one have no fixed place in C
    last_sized = False
    for m in members:
        if m.cpp_quote is not None:
            parts.append(_quote(m.cpp_quote))
        if m.defines:
            parts.append(nl)
            for comment, name, value in m.defines:
                parts.append(f"// {comment}{nl}#define {name} {value}{nl}")
            parts.append(nl)
        parts.append(f"    // {m.description or ''}{nl}")
        decl, size_of = _member_decl(m)
        parts.append(f"//  {decl}{nl}" if commented else f"    {decl}{nl}")
        last_sized = size_of is not None and not commented
        if last_sized:
            parts.append(f"    #define {sname}_{m.name}_SIZE sizeof({size_of}){nl}")
        parts.append(f"    #define {sname}_{m.name}_ID {m.id}{nl}{nl}")
        if m.is_variable:
            commented = True
    parts.append(f"}} {sname}, *P{sname};{nl}{nl}")
    if members and last_sized:
        last = members[-1].name
        parts.append(
            f"#define {sname}_SIZE (FIELD_OFFSET({sname}, {last}) + {sname}_{last}_SIZE){nl}{nl}"
        )
    return "".join(parts)


def wmi_methods(cls: MofClass) -> list[Method]:
    """The methods with a WmiMethodId, in the class's order: those the header numbers."""
    return [m for m in cls.methods.values() if m.method_id is not None]


def guid_macro(cls: MofClass) -> str:
    """The name of the header's GUID initializer macro: GuidName1, else `<class>Guid`."""
    gname = cls.qualifiers.get_value("GuidName1")
    return gname if isinstance(gname, str) and gname else f"{cls.name}Guid"


def _param_structs(cls: MofClass, method: Method, schema: Schema, nl: str) -> str:
    ins: list[Member] = []
    outs: list[Member] = []
    for pos, p in enumerate(method.parameters, start=1):
        pid = element_id(p) or pos
        member = classify(p, cls, schema, pid)
        if p.qualifiers.has("in"):
            ins.append(member)
        if p.qualifiers.has("out"):
            outs.append(member)
    text = ""
    for suffix, members in (("_IN", ins), ("_OUT", outs)):
        if members:
            members.sort(key=lambda x: x.id)
            text += _struct(method.name + suffix, members, nl)
    return text


def _class_block(cls: MofClass, schema: Schema, opts: HeaderOptions) -> str:
    nl = opts.newline
    guid = _own_guid(cls)
    assert guid is not None
    sname = struct_name(cls)
    parts = [f"// {cls.name} - {sname}{nl}"]
    if cls.description is not None:
        parts.append(f"// {cls.description}{nl}")
    cq = cls.qualifiers.get_value("cpp_quote")
    if isinstance(cq, str):
        parts.append(_quote(cq))
    parts.append(f"#define {guid_macro(cls)} \\{nl}    {_guid_initializer(guid)}{nl}{nl}")
    parts.append(f"#if ! (defined(MIDL_PASS)){nl}")
    parts.append(f"DEFINE_GUID({cls.name}_GUID, \\{nl}            {_guid_args(guid)});{nl}")
    parts.append(f"#endif{nl}{nl}")
    methods = wmi_methods(cls)
    if methods:
        parts.append(f"//{nl}// Method id definitions for {cls.name}{nl}")
        for m in methods:
            mq = m.qualifiers.get_value("cpp_quote")
            if isinstance(mq, str):
                parts.append(_quote(mq))
            parts.append(f"#define {m.name}     {m.method_id}{nl}")
            if opts.methods:
                parts.append(_param_structs(cls, m, schema, nl))
    parts.append(nl)
    members = class_members(cls, schema)
    if members:
        class_layout(cls, schema)  # WmiSizeIs and embedding errors, as the tool reports them
        parts.append(_struct(sname, members, nl))
    elif opts.unconditional:
        parts.append(
            f"// Warning: Header for class {cls.name} cannot be created{nl}"
            f"typedef struct _{sname}{nl}{{{nl}    char VariableData[1];{nl}{nl}"
            f"}} {sname}, *P{sname};{nl}{nl}"
        )
    return "".join(parts)


def render_header(
    schema: Schema,
    base_name: str,
    opts: HeaderOptions | None = None,
    classes: list[MofClass] | None = None,
) -> str:
    """The whole header; `base_name` gives the include guard (output file name, no extension)."""
    opts = opts or HeaderOptions()
    nl = opts.newline
    guard = guard_name(base_name)
    chosen = header_classes(schema) if classes is None else classes
    body = "".join(_class_block(c, schema, opts) for c in chosen)
    return f"#ifndef {guard}{nl}#define {guard}{nl}{nl}{body}#endif{nl}"
