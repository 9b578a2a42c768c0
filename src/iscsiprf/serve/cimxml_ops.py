"""The CIM operations iscsiprf serves, over one namespace, with DSP0200's status codes.

Read-only: GetClass, EnumerateClasses, EnumerateClassNames, GetInstance, EnumerateInstances,
EnumerateInstanceNames, ExecQuery (WQL). Pull operations, associations and extrinsic methods
answer CIM_ERR_NOT_SUPPORTED (clients such as pywbemcli then fall back to the traditional
operations); operations that would change a class or an instance answer CIM_ERR_ACCESS_DENIED,
as WMI does for a read-only data block.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from iscsiprf.mof.model import MofClass, Property

from .cimxml_request import CimRequest, ClassNameRef, InstanceNameRef, ParamValue
from .cimxml_response import (
    InstanceRenderer,
    class_name_xml,
    class_xml,
    error_response,
    imethod_response,
    instance_name_xml,
    local_namespace_xml,
)
from .query import QueryError, compile_wql
from .source import InstanceSource, instance_class

# DSP0200 / DSP0004 status codes.
CIM_ERR_FAILED = 1
CIM_ERR_ACCESS_DENIED = 2
CIM_ERR_INVALID_NAMESPACE = 3
CIM_ERR_INVALID_PARAMETER = 4
CIM_ERR_INVALID_CLASS = 5
CIM_ERR_NOT_FOUND = 6
CIM_ERR_NOT_SUPPORTED = 7
CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED = 14
CIM_ERR_INVALID_QUERY = 15

DEFAULT_NAMESPACE = "root/wmi"

# DSP0200: a MESSAGE's PROTOCOLVERSION is "M.N"; this server speaks protocol 1.x (1.0-1.4 differ
# only in what is optional). Any other version is HTTP 501, `CIMError: unsupported-protocol-version`.
_PROTOCOL_VERSION = re.compile(r"1\.[0-9]+")


def supports_protocol_version(version: str) -> bool:
    return _PROTOCOL_VERSION.fullmatch(version.strip()) is not None


_WRITE_OPERATIONS = frozenset(
    name.lower()
    for name in (
        "CreateClass", "ModifyClass", "DeleteClass", "CreateInstance", "ModifyInstance",
        "DeleteInstance", "SetProperty", "SetQualifier", "DeleteQualifier",
    )
)  # fmt: skip


class CimError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def normalize_namespace(ns: str) -> str:
    return "/".join(p for p in ns.replace("\\", "/").split("/") if p).lower()


class _Params:
    """An operation's IPARAMVALUEs, checked against the names the operation accepts."""

    def __init__(self, req: CimRequest, allowed: tuple[str, ...]) -> None:
        self._p = req.params
        allowed_lower = {a.lower() for a in allowed}
        for lname, (name, _) in req.params.items():
            if lname not in allowed_lower:
                raise CimError(CIM_ERR_INVALID_PARAMETER, f"{req.method} has no parameter {name}")

    def raw(self, name: str) -> ParamValue:
        entry = self._p.get(name.lower())
        return None if entry is None else entry[1]

    def boolean(self, name: str, default: bool) -> bool:
        v = self.raw(name)
        if v is None:
            return default
        if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
            return v.strip().upper() == "TRUE"
        raise CimError(CIM_ERR_INVALID_PARAMETER, f"{name} must be TRUE or FALSE")

    def class_name(self, name: str = "ClassName", required: bool = True) -> str | None:
        v = self.raw(name)
        if v is None and not required:
            return None
        if isinstance(v, ClassNameRef):
            return v.name
        raise CimError(CIM_ERR_INVALID_PARAMETER, f"{name} must be a CLASSNAME")

    def string(self, name: str) -> str:
        v = self.raw(name)
        if isinstance(v, str):
            return v
        raise CimError(CIM_ERR_INVALID_PARAMETER, f"{name} must be a string VALUE")

    def property_list(self) -> list[str] | None:
        v = self.raw("PropertyList")
        if v is None:
            return None
        if isinstance(v, list):
            return v
        raise CimError(CIM_ERR_INVALID_PARAMETER, "PropertyList must be a VALUE.ARRAY")

    def instance_name(self) -> InstanceNameRef:
        v = self.raw("InstanceName")
        if isinstance(v, InstanceNameRef):
            return v
        raise CimError(CIM_ERR_INVALID_PARAMETER, "InstanceName must be an INSTANCENAME")


class CimOperations:
    """Answers parsed requests with CIM-XML text; one instance serves all HTTP threads."""

    # Each renderer caches up to one fragment per instance: bound the PropertyList variants kept.
    MAX_RENDERERS = 16

    def __init__(
        self, source: InstanceSource, namespace: str = DEFAULT_NAMESPACE, host: str = "localhost"
    ) -> None:
        self.source = source
        self.schema = source.schema
        self.namespace = namespace
        self._ns_key = normalize_namespace(namespace)
        self._host = host
        self._renderers: dict[tuple[Any, ...], InstanceRenderer] = {}
        self._lock = threading.Lock()
        self._ops: dict[str, Callable[[CimRequest], list[bytes] | None]] = {
            "getclass": self._get_class,
            "enumerateclasses": self._enumerate_classes,
            "enumerateclassnames": self._enumerate_class_names,
            "getinstance": self._get_instance,
            "enumerateinstances": self._enumerate_instances,
            "enumerateinstancenames": self._enumerate_instance_names,
            "execquery": self._exec_query,
        }
        # The class itself first, then every subclass: the classes an instance operation visits.
        self._family: dict[str, list[MofClass]] = {
            c.name.lower(): [c, *self.schema.subclasses(c.name)] for c in self.schema
        }

    # --- entry point ---------------------------------------------------------------------------

    def handle(self, req: CimRequest) -> bytes:
        try:
            if not req.intrinsic:
                raise CimError(CIM_ERR_NOT_SUPPORTED, "extrinsic methods are not supported")
            if normalize_namespace(req.namespace) != self._ns_key:
                raise CimError(
                    CIM_ERR_INVALID_NAMESPACE,
                    f"namespace {req.namespace} does not exist (this server has {self.namespace})",
                )
            op = self._ops.get(req.method.lower())
            if op is None:
                if req.method.lower() in _WRITE_OPERATIONS:
                    raise CimError(CIM_ERR_ACCESS_DENIED, "the counters are read-only")
                raise CimError(CIM_ERR_NOT_SUPPORTED, f"{req.method} is not supported")
            return imethod_response(req.message_id, req.method, op(req))
        except CimError as e:
            return error_response(req.message_id, req.method, req.intrinsic, e.code, e.description)

    # --- helpers -------------------------------------------------------------------------------

    def _class_for_instances(self, name: str) -> MofClass:
        cls = self.schema.get(name)
        if cls is None:
            raise CimError(
                CIM_ERR_INVALID_CLASS, f"class {name} does not exist in {self.namespace}"
            )
        return cls

    def _instances(self, cls: MofClass) -> list[tuple[MofClass, Mapping[str, Any]]]:
        """Instances of `cls` and of its subclasses, each with its own class."""
        out: list[tuple[MofClass, Mapping[str, Any]]] = []
        for c in self._family.get(cls.name.lower(), [cls]):
            try:
                found = self.source.enumerate(c.name)
            except Exception as e:  # a broken source must not take the server down
                raise CimError(CIM_ERR_FAILED, f"reading {c.name} failed: {e}") from e
            lname = c.name.lower()
            for inst in found:
                if instance_class(inst, c.name).lower() == lname:
                    out.append((c, inst))
        return out

    def _select(
        self, cls: MofClass, local_only: bool, property_list: list[str] | None
    ) -> list[Property]:
        wanted = None if property_list is None else {n.lower() for n in property_list}
        local = set(cls.local_properties)
        return [
            p
            for lname, p in cls.properties.items()
            if (not local_only or lname in local) and (wanted is None or lname in wanted)
        ]

    def _renderer(
        self,
        inst_cls: MofClass,
        props: list[Property],
        include_qualifiers: bool,
        include_class_origin: bool,
        wrap: str,
    ) -> InstanceRenderer:
        key = (
            inst_cls.name.lower(),
            tuple(p.name for p in props),
            include_qualifiers,
            include_class_origin,
            wrap,
        )
        r = self._renderers.get(key)
        if r is None:
            ns_path = (
                f"<NAMESPACEPATH><HOST>{self._host}</HOST>"
                f"{local_namespace_xml(self.namespace)}</NAMESPACEPATH>"
            )
            r = InstanceRenderer(
                inst_cls,
                self.schema,
                props,
                include_qualifiers=include_qualifiers,
                include_class_origin=include_class_origin,
                wrap=wrap,
                namespace_path=ns_path,
            )
            with self._lock:
                if len(self._renderers) >= self.MAX_RENDERERS:
                    self._renderers.clear()
                self._renderers[key] = r
        return r

    # --- class operations ----------------------------------------------------------------------

    def _get_class(self, req: CimRequest) -> list[bytes]:
        p = _Params(
            req,
            ("ClassName", "LocalOnly", "IncludeQualifiers", "IncludeClassOrigin", "PropertyList"),
        )
        name = p.class_name()
        assert name is not None
        cls = self.schema.get(name)
        if cls is None:
            raise CimError(CIM_ERR_NOT_FOUND, f"class {name} does not exist in {self.namespace}")
        return [
            class_xml(
                cls,
                self.schema,
                local_only=p.boolean("LocalOnly", True),
                include_qualifiers=p.boolean("IncludeQualifiers", True),
                include_class_origin=p.boolean("IncludeClassOrigin", False),
                property_list=p.property_list(),
            ).encode()
        ]

    def _subclasses_of(self, name: str | None, deep: bool) -> list[MofClass]:
        if name is None:
            top = [c for c in self.schema if not c.superclass or c.superclass not in self.schema]
            if not deep:
                return top
            return list(self.schema)
        cls = self.schema.get(name)
        if cls is None:
            raise CimError(
                CIM_ERR_INVALID_CLASS, f"class {name} does not exist in {self.namespace}"
            )
        return self.schema.subclasses(cls.name, deep=deep)

    def _enumerate_classes(self, req: CimRequest) -> list[bytes]:
        p = _Params(
            req,
            (
                "ClassName",
                "DeepInheritance",
                "LocalOnly",
                "IncludeQualifiers",
                "IncludeClassOrigin",
            ),
        )
        classes = self._subclasses_of(
            p.class_name(required=False), p.boolean("DeepInheritance", False)
        )
        local_only = p.boolean("LocalOnly", True)
        iq = p.boolean("IncludeQualifiers", True)
        ico = p.boolean("IncludeClassOrigin", False)
        return [
            class_xml(
                c,
                self.schema,
                local_only=local_only,
                include_qualifiers=iq,
                include_class_origin=ico,
                property_list=None,
            ).encode()
            for c in classes
        ]

    def _enumerate_class_names(self, req: CimRequest) -> list[bytes]:
        p = _Params(req, ("ClassName", "DeepInheritance"))
        classes = self._subclasses_of(
            p.class_name(required=False), p.boolean("DeepInheritance", False)
        )
        return [class_name_xml(c.name).encode() for c in classes]

    # --- instance operations -------------------------------------------------------------------

    def _get_instance(self, req: CimRequest) -> list[bytes]:
        p = _Params(
            req,
            (
                "InstanceName",
                "LocalOnly",
                "IncludeQualifiers",
                "IncludeClassOrigin",
                "PropertyList",
            ),
        )
        ref = p.instance_name()
        cls = self._class_for_instances(ref.class_name)
        keys = {k.lower(): v for k, v in ref.keys.items()}
        key_props = cls.keys()
        if len(key_props) != 1:
            raise CimError(CIM_ERR_NOT_SUPPORTED, f"class {cls.name} has no single key")
        key_name = key_props[0].name
        value = keys.get(key_name.lower(), keys.get(""))
        if value is None or len(keys) != 1:
            raise CimError(
                CIM_ERR_INVALID_PARAMETER, f"the instance name must give exactly the key {key_name}"
            )
        try:
            inst = self.source.get(cls.name, value)
        except Exception as e:
            raise CimError(CIM_ERR_FAILED, f"reading {cls.name} failed: {e}") from e
        if inst is None or instance_class(inst, cls.name).lower() != cls.name.lower():
            raise CimError(CIM_ERR_NOT_FOUND, f"no instance {cls.name}.{key_name}={value!r}")
        props = self._select(cls, p.boolean("LocalOnly", False), p.property_list())
        r = self._renderer(
            cls,
            props,
            p.boolean("IncludeQualifiers", False),
            p.boolean("IncludeClassOrigin", False),
            "",
        )
        return [r.render(inst)]

    def _enumerate_instances(self, req: CimRequest) -> list[bytes]:
        p = _Params(
            req,
            (
                "ClassName", "LocalOnly", "DeepInheritance", "IncludeQualifiers",
                "IncludeClassOrigin", "PropertyList",
            ),
        )  # fmt: skip
        name = p.class_name()
        assert name is not None
        cls = self._class_for_instances(name)
        # LocalOnly is deprecated for instances (DSP0200 1.4); honoured only when asked for.
        local_only = p.boolean("LocalOnly", False)
        deep = p.boolean("DeepInheritance", True)
        iq = p.boolean("IncludeQualifiers", False)
        ico = p.boolean("IncludeClassOrigin", False)
        plist = p.property_list()
        out: list[bytes] = []
        renderers: dict[str, InstanceRenderer] = {}
        for inst_cls, inst in self._instances(cls):
            r = renderers.get(inst_cls.name)
            if r is None:
                # Without DeepInheritance, subclass instances carry the requested class's properties.
                shape = inst_cls if deep else cls
                r = self._renderer(
                    inst_cls, self._select(shape, local_only, plist), iq, ico, "named"
                )
                renderers[inst_cls.name] = r
            out.append(r.render(inst))
        return out

    def _enumerate_instance_names(self, req: CimRequest) -> list[bytes]:
        p = _Params(req, ("ClassName",))
        name = p.class_name()
        assert name is not None
        cls = self._class_for_instances(name)
        return [instance_name_xml(c, inst).encode() for c, inst in self._instances(cls)]

    def _exec_query(self, req: CimRequest) -> list[bytes]:
        p = _Params(req, ("QueryLanguage", "Query"))
        lang = p.string("QueryLanguage")
        text = p.string("Query")
        if lang.strip().upper() != "WQL":
            raise CimError(
                CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, f"query language {lang!r} (only WQL)"
            )
        try:
            q = compile_wql(self.schema, text)
        except QueryError as e:
            raise CimError(CIM_ERR_INVALID_QUERY, str(e)) from None
        cls = self.schema.get(q.class_name)
        if cls is None:
            raise CimError(CIM_ERR_INVALID_QUERY, f"class {q.class_name} does not exist")
        out: list[bytes] = []
        renderers: dict[str, InstanceRenderer] = {}
        for inst_cls, inst in self._instances(cls):
            if not q.matches(inst):
                continue
            r = renderers.get(inst_cls.name)
            if r is None:
                if q.properties is None:
                    props = list(inst_cls.properties.values())
                else:
                    # WMI returns the keys with the selected properties.
                    wanted = {n.lower() for n in q.properties}
                    props = [
                        pr for ln, pr in inst_cls.properties.items() if ln in wanted or pr.is_key
                    ]
                r = self._renderer(inst_cls, props, False, False, "path")
                renderers[inst_cls.name] = r
            out.append(r.render(inst))
        return out
