"""The compiled form of MOF: classes, properties, methods, qualifiers, instances.

Everything above the compiler (codegen, wmi, wql, perf, ipsec, serve) reads these objects and
nothing else: names, types, WmiDataIds, CounterTypes, GUIDs and descriptions come from here.
Qualifier lookups are case-insensitive, as in WMI; the name keeps the spelling of the MOF.
"""

from __future__ import annotations

from collections.abc import Iterator

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    import uuid
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

    The compiler creates most locations lazily (a subclass that overrides `_resolved`) because
    computing line and column for every token would cost more than lexing.
    """

    __slots__ = ("path", "_line", "_col")

    def __init__(self, path: str, line: int = 0, col: int = 0) -> None:
        self.path = path
        self._line = line
        self._col = col

    def _resolved(self) -> None:
        """Called before line and column are read: a lazy location finds them here."""

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


class Record:
    """A plain record with `__slots__`: repr and equality field by field.

    Not dataclasses: the model is imported by every `iscsiprf` command, and generating
    dataclass methods (one `exec` per class) cost 5 ms of each start, 1% of a DMTF-schema check.
    """

    __slots__: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # mutable records, compared by value
    _fields: tuple[str, ...] = ()  # the slots of the class and its bases, base first

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(
            n for c in reversed(cls.__mro__) for n in c.__dict__.get("__slots__", ())
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self._fields
        )


class Qualifier(Record):
    __slots__ = ("name", "value", "flavors", "propagated")

    def __init__(
        self, name: str, value: Any, flavors: tuple[str, ...] = (), propagated: bool = False
    ) -> None:
        self.name = name  # as written in the MOF
        self.value = value  # None, bool, int, float, str, or a list of those
        self.flavors = flavors  # as written, e.g. ("amended",)
        self.propagated = propagated  # inherited from a superclass / overridden element

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


class TypedElement(Record):
    """What a property and a method parameter share: a name, a CIM type (array, fixed size,
    reference class), qualifiers and where it was declared."""

    __slots__ = ("name", "type", "qualifiers", "array", "array_size", "ref_class", "location")

    def __init__(
        self,
        name: str,
        type: str,
        qualifiers: Qualifiers | None = None,
        array: bool = False,
        array_size: int | None = None,
        ref_class: str | None = None,
        location: Location | None = None,
    ) -> None:
        self.name = name
        self.type = type  # lower-case intrinsic type, "ref", or the embedded class name as written
        self.qualifiers = Qualifiers() if qualifiers is None else qualifiers
        self.array = array
        self.array_size = array_size  # fixed arrays `t x[N]`
        self.ref_class = ref_class  # for type == "ref"
        self.location = location

    @property
    def is_embedded(self) -> bool:
        return self.type not in INTRINSIC_TYPES and self.type != "ref"


class Property(TypedElement):
    __slots__ = ("default", "class_origin")

    def __init__(
        self,
        name: str,
        type: str,
        qualifiers: Qualifiers | None = None,
        array: bool = False,
        array_size: int | None = None,
        ref_class: str | None = None,
        default: Any = None,
        class_origin: str = "",
        location: Location | None = None,
    ) -> None:
        _typed_init(self, name, type, qualifiers, array, array_size, ref_class, location)
        self.default = default
        self.class_origin = class_origin  # the class that first declared the property

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


class Parameter(TypedElement):
    """A method parameter: a typed element and nothing more."""

    __slots__ = ()


_typed_init = TypedElement.__init__


class Method(Record):
    __slots__ = ("name", "return_type", "parameters", "qualifiers", "class_origin", "location")

    def __init__(
        self,
        name: str,
        return_type: str,
        parameters: list[Parameter] | None = None,
        qualifiers: Qualifiers | None = None,
        class_origin: str = "",
        location: Location | None = None,
    ) -> None:
        self.name = name
        self.return_type = return_type
        self.parameters = [] if parameters is None else parameters
        self.qualifiers = Qualifiers() if qualifiers is None else qualifiers
        self.class_origin = class_origin
        self.location = location

    @property
    def method_id(self) -> int | None:
        v = self.qualifiers.get_value("WmiMethodId")
        return v if isinstance(v, int) and not isinstance(v, bool) else None


class MofClass(Record):
    __slots__ = (
        "name", "superclass", "namespace", "qualifiers", "properties", "methods",
        "local_properties", "local_methods", "location", "is_association", "is_indication",
        "builtin",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        superclass: str | None,
        namespace: str,
        qualifiers: Qualifiers | None = None,
        properties: dict[str, Property] | None = None,
        methods: dict[str, Method] | None = None,
        local_properties: list[str] | None = None,
        local_methods: list[str] | None = None,
        location: Location | None = None,
        is_association: bool = False,
        is_indication: bool = False,
        builtin: bool = False,
    ) -> None:
        self.name = name
        self.superclass = superclass
        self.namespace = namespace
        self.qualifiers = Qualifiers() if qualifiers is None else qualifiers
        # All properties, inherited first (superclass order), then local ones; by lower name.
        self.properties = {} if properties is None else properties
        self.methods = {} if methods is None else methods
        self.local_properties = [] if local_properties is None else local_properties  # lower
        self.local_methods = [] if local_methods is None else local_methods
        self.location = location
        self.is_association = is_association
        self.is_indication = is_indication
        self.builtin = builtin  # supplied by iscsiprf's own system MOF to resolve a superclass

    def prop(self, name: str) -> Property | None:
        return self.properties.get(name.lower())

    @property
    def guid(self) -> uuid.UUID | None:
        v = self.qualifiers.get_value("guid")
        return parse_guid(v) if isinstance(v, str) else None

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


class Instance(Record):
    __slots__ = ("class_name", "namespace", "values", "alias", "qualifiers", "location")

    def __init__(
        self,
        class_name: str,
        namespace: str,
        values: dict[str, Any] | None = None,
        alias: str | None = None,
        qualifiers: Qualifiers | None = None,
        location: Location | None = None,
    ) -> None:
        self.class_name = class_name
        self.namespace = namespace
        self.values = {} if values is None else values  # property name as written -> value
        self.alias = alias
        self.qualifiers = Qualifiers() if qualifiers is None else qualifiers
        self.location = location


class QualifierDecl(Record):
    __slots__ = ("name", "type", "array", "default", "scopes", "flavors", "location")

    def __init__(
        self,
        name: str,
        type: str,
        array: bool,
        default: Any,
        scopes: tuple[str, ...],
        flavors: tuple[str, ...],
        location: Location | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.array = array
        self.default = default
        self.scopes = scopes
        self.flavors = flavors
        self.location = location

    def flavor(self, name: str) -> bool:
        return any(f.lower() == name.lower() for f in self.flavors)


class SchemaLookupError(KeyError):
    """A class asked for by name or GUID is not in the schema."""


def parse_guid(text: str) -> uuid.UUID | None:
    """A GUID written with or without braces, or None when it is not one."""
    import uuid  # here: uuid (with platform) costs start-up that most commands never need

    try:
        return uuid.UUID(text.strip().strip("{}"))
    except ValueError:
        return None


class Schema:
    """The compiled classes (file order), instances and qualifier declarations."""

    def __init__(
        self,
        classes: dict[str, MofClass] | None = None,
        instances: list[Instance] | None = None,
        qualifier_decls: dict[str, QualifierDecl] | None = None,
    ) -> None:
        self.classes = {} if classes is None else classes  # lower name -> class
        self.instances = [] if instances is None else instances
        self.qualifier_decls = {} if qualifier_decls is None else qualifier_decls
        self._by_guid: dict[uuid.UUID, MofClass] = {}

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
            parsed = parse_guid(guid)
            if parsed is None:
                return None
            guid = parsed
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
