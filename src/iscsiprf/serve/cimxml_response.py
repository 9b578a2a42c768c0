"""Write CIM-XML (DSP0201) from the compiled schema and instance dicts.

Classes are rendered on demand (they are few and small). Instances are the hot path — an
EnumerateInstances of 1,000 adapters is some 30,000 PROPERTY elements — so an
`InstanceRenderer` precomputes every tag once per (class, property selection, flags) and keeps
each instance's finished fragment until one of its values changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iscsiprf.mof.model import (
    INTEGER_RANGES,
    Method,
    MofClass,
    Parameter,
    Property,
    Qualifier,
    QualifierDecl,
    Qualifiers,
    Schema,
)

XML_DECL = '<?xml version="1.0" encoding="utf-8" ?>\n'

_TEXT_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, ord('"'): "&quot;", ord("\r"): "&#13;", ord("\n"): "&#10;"}
# XML 1.0 cannot carry these code points even as character references.
_ILLEGAL = {c: "\ufffd" for c in range(0x20) if c not in (0x9, 0xA, 0xD)}
_TEXT_ESCAPES.update(_ILLEGAL)
_ATTR_ESCAPES.update(_ILLEGAL)


def esc(s: str) -> str:
    """Escape character data."""
    return s.translate(_TEXT_ESCAPES)


def attr(s: str) -> str:
    """Escape an attribute value (for double quotes)."""
    return s.translate(_ATTR_ESCAPES)


# --- values -------------------------------------------------------------------------------------


def scalar_text(cim_type: str, v: Any) -> str | None:
    """The VALUE text of one scalar of a CIM type; None when it cannot be shown (references)."""
    if cim_type in INTEGER_RANGES:
        return str(int(v))
    if cim_type == "boolean":
        return "TRUE" if v else "FALSE"
    if cim_type in ("real32", "real64"):
        return repr(float(v))
    if cim_type in ("string", "char16", "datetime") or isinstance(v, str):
        return esc(str(v))
    return None


def value_xml(cim_type: str, v: Any, array: bool) -> str:
    """`<VALUE>` or `<VALUE.ARRAY>` for a non-NULL value; empty for NULL."""
    if v is None:
        return ""
    if array:
        items = v if isinstance(v, list | tuple) else [v]
        inner = []
        for x in items:
            t = scalar_text(cim_type, x) if x is not None else None
            inner.append("<VALUE.NULL/>" if t is None else f"<VALUE>{t}</VALUE>")
        return "<VALUE.ARRAY>" + "".join(inner) + "</VALUE.ARRAY>"
    t = scalar_text(cim_type, v)
    return "" if t is None else f"<VALUE>{t}</VALUE>"


def property_type(p: Property | Parameter) -> tuple[str, str]:
    """(TYPE attribute value, extra attributes) for a property or parameter declaration."""
    if p.is_embedded:
        # DSP0201: embedded objects travel as strings marked EmbeddedObject.
        return "string", ' EmbeddedObject="object"'
    if p.type == "object":
        return "string", ' EmbeddedObject="object"'
    return p.type, ""


# --- qualifiers ---------------------------------------------------------------------------------


def _infer_type(v: Any) -> str:
    if isinstance(v, list | tuple):
        return _infer_type(v[0]) if v else "string"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        for t in ("sint32", "sint64", "uint64"):
            lo, hi = INTEGER_RANGES[t]
            if lo <= v <= hi:
                return t
        return "string"
    if isinstance(v, float):
        return "real64"
    return "string"


# Qualifier flavors as written in MOF -> (DSP0201 attribute, value).
_FLAVOR_ATTRS = {
    "disableoverride": ("OVERRIDABLE", "false"),
    "enableoverride": ("OVERRIDABLE", "true"),
    "restricted": ("TOSUBCLASS", "false"),
    "nottosubclass": ("TOSUBCLASS", "false"),
    "tosubclass": ("TOSUBCLASS", "true"),
    "toinstance": ("TOINSTANCE", "true"),
    "nottoinstance": ("TOINSTANCE", "false"),
    "translatable": ("TRANSLATABLE", "true"),
    "amended": ("TRANSLATABLE", "true"),  # WMI's localizable qualifiers
}
_FLAVOR_DEFAULTS = {"OVERRIDABLE": "true", "TOSUBCLASS": "true", "TOINSTANCE": "false",
                    "TRANSLATABLE": "false"}  # fmt: skip


def qualifier_xml(q: Qualifier, decl: QualifierDecl | None) -> str:
    value = q.value
    if decl is not None and decl.type:
        cim_type = decl.type.lower()
        array = decl.array or isinstance(value, list | tuple)
    else:
        cim_type = _infer_type(value)
        array = isinstance(value, list | tuple)
    if isinstance(value, bool) and cim_type in INTEGER_RANGES:
        cim_type = "boolean"  # a declaration we cannot honour; keep the value truthful
    flavors: dict[str, str] = {}
    for f in (decl.flavors if decl is not None else ()) + tuple(q.flavors):
        fa = _FLAVOR_ATTRS.get(f.lower())
        if fa is not None:
            flavors[fa[0]] = fa[1]
    attrs = f' NAME="{attr(q.name)}" TYPE="{cim_type}"'
    if q.propagated:
        attrs += ' PROPAGATED="true"'
    for a, v in flavors.items():
        if _FLAVOR_DEFAULTS[a] != v:
            attrs += f' {a}="{v}"'
    try:
        body = value_xml(cim_type, value, array)
    except (TypeError, ValueError):
        body = value_xml("string", str(value), False)
    return f"<QUALIFIER{attrs}>{body}</QUALIFIER>"


def qualifiers_xml(qs: Qualifiers, schema: Schema, local_only: bool = False) -> str:
    out = []
    for q in qs.values():
        if local_only and q.propagated:
            continue
        out.append(qualifier_xml(q, schema.qualifier_decls.get(q.name.lower())))
    return "".join(out)


# --- classes ------------------------------------------------------------------------------------


def _origin_attrs(cls: MofClass, origin: str, include_class_origin: bool) -> str:
    origin = origin or cls.name
    s = f' CLASSORIGIN="{attr(origin)}"' if include_class_origin else ""
    if origin.lower() != cls.name.lower():
        s += ' PROPAGATED="true"'
    return s


def class_property_xml(
    cls: MofClass, p: Property, schema: Schema, include_qualifiers: bool, include_class_origin: bool
) -> str:
    quals = qualifiers_xml(p.qualifiers, schema) if include_qualifiers else ""
    origin = _origin_attrs(cls, p.class_origin, include_class_origin)
    name = attr(p.name)
    if p.type == "ref":
        ref = f' REFERENCECLASS="{attr(p.ref_class)}"' if p.ref_class else ""
        return f'<PROPERTY.REFERENCE NAME="{name}"{ref}{origin}>{quals}</PROPERTY.REFERENCE>'
    t, extra = property_type(p)
    default = "" if p.is_embedded else value_xml(t, p.default, p.array)
    if p.array:
        size = f' ARRAYSIZE="{p.array_size}"' if p.array_size else ""
        return (
            f'<PROPERTY.ARRAY NAME="{name}" TYPE="{t}"{size}{extra}{origin}>'
            f"{quals}{default}</PROPERTY.ARRAY>"
        )
    return f'<PROPERTY NAME="{name}" TYPE="{t}"{extra}{origin}>{quals}{default}</PROPERTY>'


def _parameter_xml(p: Parameter, schema: Schema, include_qualifiers: bool) -> str:
    quals = qualifiers_xml(p.qualifiers, schema) if include_qualifiers else ""
    name = attr(p.name)
    if p.type == "ref":
        ref = f' REFERENCECLASS="{attr(p.ref_class)}"' if p.ref_class else ""
        tag = "PARAMETER.REFARRAY" if p.array else "PARAMETER.REFERENCE"
        return f'<{tag} NAME="{name}"{ref}>{quals}</{tag}>'
    t, extra = property_type(p)
    if p.array:
        size = f' ARRAYSIZE="{p.array_size}"' if p.array_size else ""
        return f'<PARAMETER.ARRAY NAME="{name}" TYPE="{t}"{size}{extra}>{quals}</PARAMETER.ARRAY>'
    return f'<PARAMETER NAME="{name}" TYPE="{t}"{extra}>{quals}</PARAMETER>'


def _method_xml(
    cls: MofClass, m: Method, schema: Schema, include_qualifiers: bool, include_class_origin: bool
) -> str:
    rt = m.return_type.lower()
    type_attr = "" if rt in ("", "void") else f' TYPE="{attr(rt)}"'
    origin = _origin_attrs(cls, m.class_origin, include_class_origin)
    quals = qualifiers_xml(m.qualifiers, schema) if include_qualifiers else ""
    params = "".join(_parameter_xml(p, schema, include_qualifiers) for p in m.parameters)
    return f'<METHOD NAME="{attr(m.name)}"{type_attr}{origin}>{quals}{params}</METHOD>'


def class_xml(
    cls: MofClass,
    schema: Schema,
    *,
    local_only: bool,
    include_qualifiers: bool,
    include_class_origin: bool,
    property_list: Sequence[str] | None,
) -> str:
    wanted = None if property_list is None else {n.lower() for n in property_list}
    local = set(cls.local_properties)
    parts = [f'<CLASS NAME="{attr(cls.name)}"']
    if cls.superclass:
        parts.append(f' SUPERCLASS="{attr(cls.superclass)}"')
    parts.append(">")
    if include_qualifiers:
        parts.append(qualifiers_xml(cls.qualifiers, schema, local_only=local_only))
    for lname, p in cls.properties.items():
        if local_only and lname not in local:
            continue
        if wanted is not None and lname not in wanted:
            continue
        parts.append(class_property_xml(cls, p, schema, include_qualifiers, include_class_origin))
    local_methods = set(cls.local_methods)
    for lname, m in cls.methods.items():
        if local_only and lname not in local_methods:
            continue
        parts.append(_method_xml(cls, m, schema, include_qualifiers, include_class_origin))
    parts.append("</CLASS>")
    return "".join(parts)


def class_name_xml(name: str) -> str:
    return f'<CLASSNAME NAME="{attr(name)}"/>'


# --- instances ----------------------------------------------------------------------------------


def _key_value_xml(p: Property, v: Any) -> str:
    if p.type == "boolean":
        vt, text = "boolean", ("TRUE" if v else "FALSE")
    elif p.type in INTEGER_RANGES or p.type.startswith("real"):
        vt, text = "numeric", str(v)
    else:
        vt, text = "string", esc("" if v is None else str(v))
    return f'<KEYBINDING NAME="{attr(p.name)}"><KEYVALUE VALUETYPE="{vt}">{text}</KEYVALUE></KEYBINDING>'


def instance_name_xml(cls: MofClass, inst: Mapping[str, Any]) -> str:
    keys = "".join(_key_value_xml(p, inst.get(p.name)) for p in cls.keys())
    return f'<INSTANCENAME CLASSNAME="{attr(cls.name)}">{keys}</INSTANCENAME>'


def local_namespace_xml(namespace: str) -> str:
    parts = [p for p in namespace.replace("\\", "/").split("/") if p]
    inner = "".join(f'<NAMESPACE NAME="{attr(p)}"/>' for p in parts)
    return f"<LOCALNAMESPACEPATH>{inner}</LOCALNAMESPACEPATH>"


class InstanceRenderer:
    """Renders instances of one class with one property selection; thread-safe.

    `wrap` is the element around each instance: "named" (VALUE.NAMEDINSTANCE, for
    EnumerateInstances), "path" (VALUE.OBJECTWITHPATH, for ExecQuery) or "" (a bare INSTANCE,
    for GetInstance).
    """

    MAX_CACHED = 20_000

    def __init__(
        self,
        cls: MofClass,
        schema: Schema,
        props: Iterable[Property],
        *,
        include_qualifiers: bool = False,
        include_class_origin: bool = False,
        wrap: str = "named",
        namespace_path: str = "",
    ) -> None:
        self.cls = cls
        self.props = list(props)
        self.names = [p.name for p in self.props]
        self.wrap = wrap
        self._head = f'<INSTANCE CLASSNAME="{attr(cls.name)}">'
        self._namespace_path = namespace_path  # a NAMESPACEPATH element, for wrap == "path"
        # For each property: (opening tag with qualifiers, closing tag, type, array).
        self._tags: list[tuple[str, str, str, bool]] = []
        for p in self.props:
            quals = qualifiers_xml(p.qualifiers, schema) if include_qualifiers else ""
            origin = (
                f' CLASSORIGIN="{attr(p.class_origin or cls.name)}"' if include_class_origin else ""
            )
            if p.type == "ref":
                ref = f' REFERENCECLASS="{attr(p.ref_class)}"' if p.ref_class else ""
                opening = f'<PROPERTY.REFERENCE NAME="{attr(p.name)}"{ref}{origin}>{quals}'
                self._tags.append((opening, "</PROPERTY.REFERENCE>", "ref", False))
                continue
            t, extra = property_type(p)
            tag = "PROPERTY.ARRAY" if p.array else "PROPERTY"
            opening = f'<{tag} NAME="{attr(p.name)}" TYPE="{t}"{extra}{origin}>{quals}'
            self._tags.append((opening, f"</{tag}>", t, p.array))
        self._cache: dict[Any, tuple[tuple[Any, ...], bytes]] = {}
        self._lock = threading.Lock()

    def _render(self, inst: Mapping[str, Any], values: tuple[Any, ...]) -> bytes:
        parts = [self._head]
        for (opening, closing, t, array), v in zip(self._tags, values, strict=True):
            if v is None or t == "ref":
                parts.append(opening + closing)
            elif t == "uint64" and not array:
                parts.append(f"{opening}<VALUE>{int(v)}</VALUE>{closing}")
            else:
                parts.append(opening + value_xml(t, v, array) + closing)
        parts.append("</INSTANCE>")
        body = "".join(parts)
        if self.wrap == "named":
            text = f"<VALUE.NAMEDINSTANCE>{instance_name_xml(self.cls, inst)}{body}</VALUE.NAMEDINSTANCE>"
        elif self.wrap == "path":
            path = (
                f"<INSTANCEPATH>{self._namespace_path}"
                f"{instance_name_xml(self.cls, inst)}</INSTANCEPATH>"
            )
            text = f"<VALUE.OBJECTWITHPATH>{path}{body}</VALUE.OBJECTWITHPATH>"
        else:
            text = body
        return text.encode("utf-8")

    def render(self, inst: Mapping[str, Any]) -> bytes:
        """The UTF-8 fragment for one instance; reused while its values stay the same."""
        values = tuple(map(inst.get, self.names))
        key = inst.get("InstanceName")
        hit = self._cache.get(key)
        if hit is not None and hit[0] == values:
            return hit[1]
        fragment = self._render(inst, values)
        with self._lock:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (values, fragment)
        return fragment


# --- envelope -----------------------------------------------------------------------------------


def message_head(message_id: str) -> bytes:
    """Everything before the response proper; the only part that depends on the message ID."""
    return (
        f'{XML_DECL}<CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{attr(message_id)}" PROTOCOLVERSION="1.0"><SIMPLERSP>'
    ).encode()


def _message(message_id: str, inner: Sequence[bytes]) -> bytes:
    return b"".join([message_head(message_id), *inner, b"</SIMPLERSP></MESSAGE></CIM>\n"])


def imethod_response(message_id: str, method: str, items: Sequence[bytes] | None) -> bytes:
    """A successful IMETHODRESPONSE; `items` None means no IRETURNVALUE at all."""
    open_tag = f'<IMETHODRESPONSE NAME="{attr(method)}">'.encode()
    if items is None:
        return _message(message_id, [open_tag, b"</IMETHODRESPONSE>"])
    return _message(
        message_id,
        [open_tag, b"<IRETURNVALUE>", *items, b"</IRETURNVALUE></IMETHODRESPONSE>"],
    )


def error_response(
    message_id: str, method: str, intrinsic: bool, code: int, description: str
) -> bytes:
    tag = "IMETHODRESPONSE" if intrinsic else "METHODRESPONSE"
    err = f'<ERROR CODE="{code}" DESCRIPTION="{attr(description)}"/>'
    return _message(message_id, [f'<{tag} NAME="{attr(method)}">{err}</{tag}>'.encode()])
