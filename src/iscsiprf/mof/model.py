"""The compiled form of MOF: classes, properties, methods, qualifiers, instances.

Everything above the compiler (codegen, wmi, wql, perf, ipsec, serve) reads these objects and
nothing else: names, types, WmiDataIds, CounterTypes, GUIDs and descriptions come from here.
Qualifier lookups are case-insensitive, as in WMI; the name keeps the spelling of the MOF.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# CIM intrinsic data types, lower case.
INTRINSIC_TYPES = frozenset(
    {
        "uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64",
        "real32", "real64", "char16", "boolean", "string", "datetime", "object",
    }
)  # fmt: skip
INTEGER_TYPES = frozenset(
    {"uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64"}
)
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "uint8": (0, 2**8 - 1),
    "sint8": (-(2**7), 2**7 - 1),
    "uint16": (0, 2**16 - 1),
    "sint16": (-(2**15), 2**15 - 1),
    "uint32": (0, 2**32 - 1),
    "sint32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1),
    "sint64": (-(2**63), 2**63 - 1),
}


class Location:
    """Where something was written: file path, 1-based line and column.

    The compiler creates most locations lazily (a resolver callback) because computing line and
    column for every token would cost more than lexing; they are resolved when first read.
    """

    __slots__ = ("path", "_line", "_col", "_resolve")

    def __init__(
        self,
        path: str,
        line: int = 0,
        col: int = 0,
        resolve: Callable[[], tuple[str, int, int]] | None = None,
    ) -> None:
        self.path = path
        self._line = line
        self._col = col
        self._resolve = resolve

    def _resolved(self) -> None:
        if self._resolve is not None:
            self.path, self._line, self._col = self._resolve()
            self._resolve = None

    @property
    def line(self) -> int:
        self._resolved()
        return self._line

    @property
    def col(self) -> int:
        self._resolved()
        return self._col

    def __str__(self) -> str:
        self._resolved()
        return f"{self.path}:{self._line}:{self._col}"

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


@dataclass(slots=True)
class Qualifier:
    name: str  # as written in the MOF
    value: Any  # None, bool, int, float, str, or a list of those
    flavors: tuple[str, ...] = ()  # as written, e.g. ("amended",)
    propagated: bool = False  # inherited from a superclass / overridden element

    @property
    def amended(self) -> bool:
        return any(f.lower() == "amended" for f in self.flavors)


class Qualifiers(dict[str, Qualifier]):
    """Qualifiers of one element keyed by lower-case name, in source order."""

    def add(self, q: Qualifier) -> None:
        self[q.name.lower()] = q

    def get_value(self, name: str, default: Any = None) -> Any:
        q = self.get(name.lower())
        return default if q is None else q.value

    def has(self, name: str) -> bool:
        """True when the qualifier is present with a value other than FALSE."""
        q = self.get(name.lower())
        return q is not None and q.value is not False

    def as_json(self) -> dict[str, Any]:
        return {q.name: q.value for q in self.values()}


@dataclass(slots=True)
class Property:
    name: str
    type: str  # lower-case intrinsic type, "ref", or the embedded class name as written
    qualifiers: Qualifiers = field(default_factory=Qualifiers)
    array: bool = False
    array_size: int | None = None  # fixed arrays `t x[N]`
    ref_class: str | None = None  # for type == "ref"
    default: Any = None
    class_origin: str = ""  # the class that first declared the property
    location: Location | None = None

    @property
    def is_embedded(self) -> bool:
        return self.type not in INTRINSIC_TYPES and self.type != "ref"

    @property
    def data_id(self) -> int | None:
        v = self.qualifiers.get_value("WmiDataId")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    @property
    def description(self) -> str | None:
        v = self.qualifiers.get_value("Description")
        return v if isinstance(v, str) else None

    @property
    def is_key(self) -> bool:
        return self.qualifiers.has("key")


@dataclass(slots=True)
class Parameter:
    name: str
    type: str
    qualifiers: Qualifiers = field(default_factory=Qualifiers)
    array: bool = False
    array_size: int | None = None
    ref_class: str | None = None
    location: Location | None = None

    @property
    def is_embedded(self) -> bool:
        return self.type not in INTRINSIC_TYPES and self.type != "ref"


@dataclass(slots=True)
class Method:
    name: str
    return_type: str
    parameters: list[Parameter] = field(default_factory=list)
    qualifiers: Qualifiers = field(default_factory=Qualifiers)
    class_origin: str = ""
    location: Location | None = None

    @property
    def method_id(self) -> int | None:
        v = self.qualifiers.get_value("WmiMethodId")
        return v if isinstance(v, int) and not isinstance(v, bool) else None


@dataclass(slots=True)
class MofClass:
    name: str
    superclass: str | None
    namespace: str
    qualifiers: Qualifiers = field(default_factory=Qualifiers)
    # All properties, inherited first (superclass order), then local ones; keyed by lower name.
    properties: dict[str, Property] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    local_properties: list[str] = field(default_factory=list)  # lower names declared here
    local_methods: list[str] = field(default_factory=list)
    location: Location | None = None
    is_association: bool = False
    is_indication: bool = False
    builtin: bool = False  # supplied by iscsiprf's own system MOF to resolve a superclass

    def prop(self, name: str) -> Property | None:
        return self.properties.get(name.lower())

    @property
    def guid(self) -> uuid.UUID | None:
        v = self.qualifiers.get_value("guid")
        if not isinstance(v, str):
            return None
        try:
            return uuid.UUID(v.strip().strip("{}"))
        except ValueError:
            return None

    @property
    def description(self) -> str | None:
        v = self.qualifiers.get_value("Description")
        return v if isinstance(v, str) else None

    @property
    def is_wmi(self) -> bool:
        return self.qualifiers.has("WMI")

    @property
    def is_embedded_wmi(self) -> bool:
        """A WMI data block class that is only embedded in others (neither Dynamic nor Static)."""
        return self.is_wmi and not (self.qualifiers.has("Dynamic") or self.qualifiers.has("Static"))

    def data_items(self) -> list[Property]:
        """Properties with a WmiDataId, in WmiDataId order: the layout of the data block."""
        items = [p for p in self.properties.values() if p.data_id is not None]
        items.sort(key=lambda p: p.data_id or 0)
        return items

    def keys(self) -> list[Property]:
        return [p for p in self.properties.values() if p.is_key]


@dataclass(slots=True)
class Instance:
    class_name: str
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)  # property name as written -> value
    alias: str | None = None
    qualifiers: Qualifiers = field(default_factory=Qualifiers)
    location: Location | None = None


@dataclass(slots=True)
class QualifierDecl:
    name: str
    type: str
    array: bool
    default: Any
    scopes: tuple[str, ...]
    flavors: tuple[str, ...]
    location: Location | None = None

    def flavor(self, name: str) -> bool:
        return any(f.lower() == name.lower() for f in self.flavors)


class SchemaLookupError(KeyError):
    """A class asked for by name or GUID is not in the schema."""


@dataclass
class Schema:
    """The compiled classes (file order), instances and qualifier declarations."""

    classes: dict[str, MofClass] = field(default_factory=dict)  # lower name -> class
    instances: list[Instance] = field(default_factory=list)
    qualifier_decls: dict[str, QualifierDecl] = field(default_factory=dict)
    _by_guid: dict[uuid.UUID, MofClass] = field(default_factory=dict, repr=False)

    def add_class(self, cls: MofClass) -> None:
        self.classes[cls.name.lower()] = cls
        g = cls.guid
        if g is not None:
            self._by_guid[g] = cls

    def __iter__(self) -> Iterator[MofClass]:
        return iter(self.classes.values())

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.classes

    def get(self, name: str) -> MofClass | None:
        return self.classes.get(name.lower())

    def cls(self, name: str) -> MofClass:
        c = self.classes.get(name.lower())
        if c is None:
            raise SchemaLookupError(name)
        return c

    def by_guid(self, guid: uuid.UUID | str) -> MofClass | None:
        if isinstance(guid, str):
            try:
                guid = uuid.UUID(guid.strip().strip("{}"))
            except ValueError:
                return None
        return self._by_guid.get(guid)

    def ancestors(self, name: str) -> list[MofClass]:
        """The superclass chain of a class, nearest first (excluding the class itself)."""
        out: list[MofClass] = []
        c = self.get(name)
        seen = set()
        while c is not None and c.superclass and c.superclass.lower() not in seen:
            seen.add(c.superclass.lower())
            c = self.get(c.superclass)
            if c is not None:
                out.append(c)
        return out

    def is_subclass(self, name: str, ancestor: str) -> bool:
        if name.lower() == ancestor.lower():
            return True
        return any(a.name.lower() == ancestor.lower() for a in self.ancestors(name))

    def subclasses(self, name: str, deep: bool = True) -> list[MofClass]:
        lname = name.lower()
        if not deep:
            return [c for c in self if c.superclass and c.superclass.lower() == lname]
        return [c for c in self if c.name.lower() != lname and self.is_subclass(c.name, name)]
