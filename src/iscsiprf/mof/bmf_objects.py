"""The objects of an uncompressed BMF payload, as read (bmf_decode) and as written (bmf_encode).

A payload is `FOMB`, the length of its object part, a root (1, 1, object count) and the objects;
then `BMOFQUALFLAVOR11`, a count and (payload offset, flavor) pairs for every qualifier whose
flavor is not 0. These records keep what the bytes say, before any MOF meaning is given to it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from typing import Any

# VARIANT types (VT_*) and WMI's CIM_* extensions used in a BMF.
VT_I2, VT_I4, VT_R4, VT_R8, VT_BSTR, VT_BOOL, VT_UNKNOWN = 2, 3, 4, 5, 8, 11, 13
VT_I1, VT_UI1, VT_UI2, VT_UI4, VT_I8, VT_UI8 = 16, 17, 18, 19, 20, 21
CIM_DATETIME, CIM_REFERENCE, CIM_CHAR16 = 101, 102, 103
VT_ARRAY = 0x2000

# MOF type name -> VT; the reverse for decoding.
TYPE_VT = {
    "sint8": VT_I1, "uint8": VT_UI1, "sint16": VT_I2, "uint16": VT_UI2, "sint32": VT_I4,
    "uint32": VT_UI4, "sint64": VT_I8, "uint64": VT_UI8, "real32": VT_R4, "real64": VT_R8,
    "string": VT_BSTR, "boolean": VT_BOOL, "datetime": CIM_DATETIME, "char16": CIM_CHAR16,
    "object": VT_UNKNOWN, "ref": CIM_REFERENCE,
}  # fmt: skip
VT_TYPE = {v: k for k, v in TYPE_VT.items()}

# Qualifier flavor bits (WBEM_FLAVOR_*).
FLAVOR_TO_INSTANCE = 0x1
FLAVOR_TO_SUBCLASS = 0x2
FLAVOR_DISABLE_OVERRIDE = 0x10
FLAVOR_AMENDED = 0x80

OBJ_CLASS = 0
OBJ_INSTANCE = 1

FLAVOR_MAGIC = b"BMOFQUALFLAVOR11"


class RawQualifier:
    __slots__ = ("name", "vt", "value", "flavor", "offset")

    def __init__(self, name: str, vt: int, value: Any, flavor: int = 0, offset: int = 0) -> None:
        self.name = name
        self.vt = vt
        self.value = value
        self.flavor = flavor
        self.offset = offset


class RawProperty:
    """A property (or method parameter, or method: its value holds the parameter objects)."""

    __slots__ = ("name", "vt", "value", "has_value", "qualifiers", "offset")

    def __init__(
        self,
        name: str,
        vt: int,
        value: Any = None,
        has_value: bool = False,
        qualifiers: list[RawQualifier] | None = None,
        offset: int = 0,
    ) -> None:
        self.name = name
        self.vt = vt
        self.value = value
        self.has_value = has_value
        self.qualifiers = [] if qualifiers is None else qualifiers
        self.offset = offset

    def qualifier(self, name: str) -> RawQualifier | None:
        lname = name.lower()
        for q in self.qualifiers:
            if q.name.lower() == lname:
                return q
        return None


class RawObject:
    """A class or an instance: qualifiers, properties, system properties (__CLASS,
    __SUPERCLASS, __NAMESPACE, __CLASSFLAGS), methods."""

    __slots__ = ("kind", "qualifiers", "properties", "system", "methods", "offset")

    def __init__(self, kind: int, offset: int = 0) -> None:
        self.kind = kind
        self.qualifiers: list[RawQualifier] = []
        self.properties: list[RawProperty] = []
        self.system: dict[str, Any] = {}
        self.methods: list[RawProperty] = []
        self.offset = offset

    @property
    def name(self) -> str:
        v = self.system.get("__CLASS")
        return v if isinstance(v, str) else ""
