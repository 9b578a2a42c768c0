"""WMI system properties (``__CLASS``, ``__RELPATH`` …) computed from an instance and the schema."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from ..mof.model import MofClass, Schema

# name -> CIM type of the value
SYSTEM_PROPERTIES: dict[str, str] = {
    "__CLASS": "string",
    "__SUPERCLASS": "string",
    "__DYNASTY": "string",
    "__NAMESPACE": "string",
    "__RELPATH": "string",
    "__PATH": "string",
    "__SERVER": "string",
    "__GENUS": "sint32",
    "__PROPERTY_COUNT": "sint32",
}


def canonical_system_name(name: str) -> str | None:
    upper = name.upper()
    return upper if upper in SYSTEM_PROPERTIES else None


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def plain_namespace(namespace: str) -> str:
    """``\\\\.\\root\\wmi`` or ``root/wmi`` -> ``root\\wmi``."""
    ns = namespace.replace("/", "\\")
    if ns.startswith("\\\\"):
        ns = ns[2:].partition("\\")[2]
    return ns.strip("\\") or "root\\wmi"


def system_getter(
    name: str, schema: Schema, default_class: MofClass
) -> Callable[[Mapping[str, Any]], Any]:
    """A function computing system property ``name`` for an instance of ``default_class``
    (or of the subclass named by the instance's ``__CLASS``)."""
    server = socket.gethostname()

    def cls_of(inst: Mapping[str, Any]) -> MofClass:
        cname = inst.get("__CLASS")
        found = schema.get(cname) if isinstance(cname, str) else None
        return found or default_class

    def relpath(inst: Mapping[str, Any]) -> str:
        cls = cls_of(inst)
        keys = cls.keys()
        parts = [
            f"{k.name}={_quote(inst.get(k.name))}" for k in keys if inst.get(k.name) is not None
        ]
        return f"{cls.name}." + ",".join(parts) if parts else f"{cls.name}=@"

    def namespace(inst: Mapping[str, Any]) -> str:
        return plain_namespace(cls_of(inst).namespace)

    def dynasty(inst: Mapping[str, Any]) -> str:
        chain = schema.ancestors(cls_of(inst).name)
        return chain[-1].name if chain else cls_of(inst).name

    getters: dict[str, Callable[[Mapping[str, Any]], Any]] = {
        "__CLASS": lambda inst: cls_of(inst).name,
        "__SUPERCLASS": lambda inst: cls_of(inst).superclass,
        "__DYNASTY": dynasty,
        "__NAMESPACE": namespace,
        "__RELPATH": relpath,
        "__PATH": lambda inst: f"\\\\{server}\\{namespace(inst)}:{relpath(inst)}",
        "__SERVER": lambda inst: server,
        "__GENUS": lambda inst: 2,
        "__PROPERTY_COUNT": lambda inst: len(cls_of(inst).properties),
    }
    return getters[name]
