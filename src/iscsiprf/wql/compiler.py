"""Bind a parsed query to the schema, type-check it, and turn WHERE into one Python function.

The WHERE clause is compiled once into the source of a single ``def _match(r): return ...``
(with constants bound by name) and handed to ``compile``/``exec``: evaluating a row is then one
call with no tree walking, which is what lets the broker filter 100,000+ instances a second.

NULL semantics: a comparison, LIKE or ISA with a NULL property is false; NOT negates the result
(two-valued logic, so ``NOT X = 1`` holds for an instance whose X is NULL).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..mof.model import INTEGER_TYPES, MofClass, Property, Schema
from .ast import And, Compare, Expr, Isa, IsNull, Like, Literal, Not, Or, PropRef, Query
from .errors import WqlError
from .like import like_matcher
from .parser import parse
from .system_props import SYSTEM_PROPERTIES, canonical_system_name, system_getter

Instance = Mapping[str, Any]

_PY_OPS = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


def type_kind(cim_type: str) -> str:
    """The comparison family of a CIM type: int, real, bool, string or object."""
    t = cim_type.lower()
    if t in INTEGER_TYPES:
        return "int"
    if t in ("real32", "real64"):
        return "real"
    if t == "boolean":
        return "bool"
    if t in ("string", "char16", "datetime", "ref"):
        return "string"
    return "object"


@dataclass(frozen=True, slots=True)
class BoundProp:
    """A property reference resolved against the schema."""

    name: str  # canonical spelling (schema) or the system property name; dotted for paths
    cim_type: str  # "" when a dotted path could not be resolved (always NULL, no error)
    kind: str  # int, real, bool, string, object, or "none" for an unresolvable path
    accessor: str  # Python expression reading the value from row ``r``


@dataclass
class CompiledQuery:
    """A query ready to run: its class, output columns and the compiled WHERE matcher."""

    text: str
    query: Query
    cls: MofClass
    select_all: bool
    columns: tuple[str, ...]  # canonical names of the selected properties (keys first)
    match: Callable[[Instance], bool]
    matcher_source: str
    _system: dict[str, Callable[[Instance], Any]] = field(default_factory=dict, repr=False)

    def filter(self, instances: Iterable[Instance]) -> list[Instance]:
        """The instances satisfying WHERE (all of them when there is no WHERE)."""
        if self.query.where is None:
            return list(instances)
        match = self.match
        return [r for r in instances if match(r)]

    def project(self, inst: Instance) -> dict[str, Any]:
        """The output object of one instance: ``__CLASS`` and the selected properties."""
        out: dict[str, Any] = {"__CLASS": inst.get("__CLASS") or self.cls.name}
        if self.select_all:
            for key, value in inst.items():
                if not key.startswith("__"):
                    out[key] = value
            return out
        for name in self.columns:
            getter = self._system.get(name)
            out[name] = getter(inst) if getter is not None else inst.get(name)
        return out


def compile_query(text: str, schema: Schema) -> CompiledQuery:
    """Parse ``text`` and bind it to ``schema``; every problem is a :class:`WqlError`."""
    query = parse(text)
    cls = schema.get(query.class_name)
    if cls is None:
        raise WqlError(query.class_column, f"unknown class {query.class_name!r}")
    binder = _Binder(schema, cls)
    columns: list[str] = []
    system: dict[str, Callable[[Instance], Any]] = {}
    if query.properties is not None:
        columns = [k.name for k in cls.keys()]
        for ref in query.properties:
            if len(ref.path) > 1:
                raise WqlError(ref.column, "dotted paths can only be used in WHERE")
            bound = binder.bind(ref)
            if bound.name in SYSTEM_PROPERTIES:
                system[bound.name] = system_getter(bound.name, schema, cls)
            if bound.name not in columns:
                columns.append(bound.name)
    else:
        columns = display_order(cls)
    source = "def _match(r):\n    return " + (
        binder.expr(query.where) if query.where is not None else "True"
    )
    namespace: dict[str, Any] = dict(binder.constants)
    exec(compile(source, "<wql>", "exec"), namespace)  # noqa: S102 - code built from our AST
    return CompiledQuery(
        text=text,
        query=query,
        cls=cls,
        select_all=query.properties is None,
        columns=tuple(columns),
        match=namespace["_match"],
        matcher_source=source,
        _system=system,
    )


def display_order(cls: MofClass) -> list[str]:
    """Property names for output: keys, Active, data items (WmiDataId order), then the rest."""
    first = [p.name for p in cls.keys()]
    active = cls.prop("Active")
    if active is not None and active.name not in first:
        first.append(active.name)
    items = [p.name for p in cls.data_items() if p.name not in first]
    taken = set(first) | set(items)
    return first + items + [p.name for p in cls.properties.values() if p.name not in taken]


def _path_value(value: Any, path: tuple[str, ...]) -> Any:
    """Follow a dotted path into embedded objects (dicts); a missing step gives NULL."""
    for step in path:
        if not isinstance(value, Mapping):
            return None
        lowered = step.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


class _Binder:
    def __init__(self, schema: Schema, cls: MofClass) -> None:
        self.schema = schema
        self.cls = cls
        self.constants: dict[str, Any] = {"_path_value": _path_value}
        self.counter = 0

    def const(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def fresh(self) -> str:
        self.counter += 1
        return f"_v{self.counter}"

    # -- properties ---------------------------------------------------------------
    def bind(self, ref: PropRef) -> BoundProp:
        first = ref.path[0]
        if first.startswith("__"):
            sys_name = canonical_system_name(first)
            if sys_name is None:
                raise WqlError(ref.column, f"unknown system property {first!r}")
            if len(ref.path) > 1:
                raise WqlError(ref.column, f"{sys_name} has no properties to follow with '.'")
            if sys_name == "__CLASS":
                accessor = f"r.get('__CLASS', {self.const(self.cls.name)})"
            else:
                getter = system_getter(sys_name, self.schema, self.cls)
                accessor = f"{self.const(getter)}(r)"
            cim_type = SYSTEM_PROPERTIES[sys_name]
            return BoundProp(sys_name, cim_type, type_kind(cim_type), accessor)
        prop = self.cls.prop(first)
        if prop is None:
            raise WqlError(ref.column, f"unknown property {first!r} of class {self.cls.name}")
        if prop.array:
            raise WqlError(
                ref.column, f"{prop.name} is an array; array properties cannot be queried"
            )
        accessor = f"r.get({prop.name!r})"
        if len(ref.path) == 1:
            return BoundProp(prop.name, prop.type, type_kind(prop.type), accessor)
        return self.bind_path(ref, prop)

    def bind_path(self, ref: PropRef, prop: Property) -> BoundProp:
        if type_kind(prop.type) != "object":
            raise WqlError(ref.column, f"{prop.name} is {prop.type}, not an embedded object")
        accessor = f"_path_value(r.get({prop.name!r}), {ref.path[1:]!r})"
        name = ".".join([prop.name, *ref.path[1:]])
        current = prop
        for step in ref.path[1:]:
            embedded = self.schema.get(current.type)
            found = embedded.prop(step) if embedded is not None else None
            if found is None:
                return BoundProp(name, "", "none", accessor)  # WMI: a bad path is empty
            current = found
        return BoundProp(name, current.type, type_kind(current.type), accessor)

    # -- conditions ---------------------------------------------------------------
    def expr(self, node: Expr) -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.expr(e) for e in node.operands) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.expr(e) for e in node.operands) + ")"
        if isinstance(node, Not):
            return f"(not {self.expr(node.operand)})"
        if isinstance(node, IsNull):
            bound = self.bind(node.prop)
            return f"({bound.accessor} is {'not ' if node.negated else ''}None)"
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Like):
            return self.like(node)
        return self.isa(node)

    def compare(self, node: Compare) -> str:
        bound = self.bind(node.prop)
        lit = node.literal
        if bound.kind == "none":
            return "False"
        value = self.coerce(bound, lit, node.op)
        v = self.fresh()
        if bound.kind == "bool":
            test = "is" if node.op == "=" else "is not"
            return (
                f"(({v} := {bound.accessor}) is not None and bool({v}) {test} {self.const(value)})"
            )
        if bound.kind == "string":
            left = f"{v}.casefold()"
        else:
            left = v
        op = _PY_OPS[node.op]
        return f"(({v} := {bound.accessor}) is not None and {left} {op} {self.const(value)})"

    def coerce(self, bound: BoundProp, lit: Literal, op: str) -> Any:
        """The literal as a value of the property's family, or a type-mismatch error."""
        shown = _show(lit)
        kind = bound.kind
        if kind == "object":
            raise WqlError(
                lit.column,
                f"{bound.name} is an embedded object; only IS [NOT] NULL and ISA apply to it",
            )
        if kind == "bool":
            if op not in ("=", "<>"):
                raise WqlError(lit.column, f"{bound.name} is boolean: only =, != and <> apply")
            if lit.kind != "boolean":
                raise WqlError(
                    lit.column,
                    f"type mismatch: {bound.name} is boolean, {shown} is "
                    f"a {lit.kind}; compare it with TRUE or FALSE",
                )
            return lit.value
        if kind in ("int", "real"):
            if lit.kind == "number":
                return lit.value
            if lit.kind == "string":  # uint64 travels as a string in WMI; accept numerals
                parsed = _numeral(str(lit.value))
                if parsed is not None:
                    return parsed
            raise WqlError(
                lit.column,
                f"type mismatch: {bound.name} is {bound.cim_type}, {shown} is not a number",
            )
        # string family
        if lit.kind != "string":
            raise WqlError(
                lit.column,
                f"type mismatch: {bound.name} is {bound.cim_type}, "
                f"{shown} is a {lit.kind}; quote string values",
            )
        return str(lit.value).casefold()

    def like(self, node: Like) -> str:
        bound = self.bind(node.prop)
        if bound.kind == "none":
            return "False"
        if bound.kind != "string":
            raise WqlError(
                node.prop.column, f"LIKE needs a string property; {bound.name} is {bound.cim_type}"
            )
        matcher = like_matcher(str(node.pattern.value), node.pattern.column)
        v = self.fresh()
        return f"(({v} := {bound.accessor}) is not None and {self.const(matcher)}({v}) is not None)"

    def isa(self, node: Isa) -> str:
        bound = self.bind(node.prop)
        target = self.schema.get(str(node.class_name.value))
        if target is None:
            raise WqlError(
                node.class_name.column, f"unknown class {node.class_name.value!r} after ISA"
            )
        names = frozenset(
            [target.name.casefold()]
            + [c.name.casefold() for c in self.schema.subclasses(target.name)]
        )
        if bound.kind == "none":
            return "False"
        if bound.name == "__CLASS":
            v = self.fresh()
            return (
                f"(({v} := {bound.accessor}) is not None and {v}.casefold() in {self.const(names)})"
            )
        if bound.kind != "object":
            raise WqlError(
                node.prop.column,
                f"ISA needs an embedded object or __CLASS; {bound.name} is {bound.cim_type}",
            )
        v = self.fresh()
        return (
            f"(isinstance(({v} := {bound.accessor}), dict) and "
            f"str({v}.get('__CLASS', '')).casefold() in {self.const(names)})"
        )


def _numeral(text: str) -> int | float | None:
    s = text.strip()
    try:
        return int(s, 10)
    except ValueError:
        pass
    try:
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _show(lit: Literal) -> str:
    if lit.kind == "boolean":
        return "TRUE" if lit.value else "FALSE"
    return repr(lit.value)
