"""What one data item (a property with WmiDataId, or a method parameter) is, as wmimofck sees it.

Both the header writer and the layout start from this classification: the kind of storage,
the C element type, the element count of a fixed array, MaxLen, and the WmiSizeIs property.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..mof.model import Location, MofClass, Parameter, Property, Schema
from .ctypes_map import SCALARS, UNSUPPORTED_IN_BLOCKS


class Kind(Enum):
    SCALAR = "scalar"  # integers and boolean
    DATETIME = "datetime"  # WCHAR[25]
    FIXED_STRING = "maxlen_string"  # MaxLen(n): WCHAR[n + 1], USHORT byte count first
    STRING = "counted_string"  # USHORT byte count + UTF-16LE, variable size
    EMBEDDED = "embedded"  # an embedded WMI class


class LayoutError(Exception):
    """A class whose data block cannot be laid out; names the class/property and the MOF place."""

    def __init__(
        self, message: str, location: Location | None = None, property: str | None = None
    ) -> None:
        super().__init__(f"{location}: error: {message}" if location else message)
        self.message = message
        self.location = location
        self.property = property


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    id: int
    kind: Kind
    mof_type: str  # lower-case intrinsic type, or the embedded class name as written
    ctype: str  # C element type as wmimofck writes it (struct name for embedded classes)
    is_array: bool
    fixed_count: int | None  # elements of a fixed array (None: scalar or variable array)
    size_is: str | None  # WmiSizeIs property name as written
    max_len: int | None  # MaxLen for strings
    embedded: MofClass | None
    location: Location | None
    cpp_quote: str | None
    description: str | None
    # DefineValues: (comment from Values, #define name, value from ValueMap), in order.
    defines: tuple[tuple[str, str, str], ...] = ()

    @property
    def is_variable_array(self) -> bool:
        return self.is_array and self.fixed_count is None

    @property
    def is_variable(self) -> bool:
        """Variable-length by itself (before looking inside embedded classes)."""
        return self.is_variable_array or self.kind is Kind.STRING


def struct_name(cls: MofClass) -> str:
    """The C struct name: HeaderName("X") or the class name."""
    v = cls.qualifiers.get_value("HeaderName")
    return v if isinstance(v, str) and v else cls.name


def _int_qualifier(el: Property | Parameter, name: str) -> int | None:
    v = el.qualifiers.get_value(name)
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def element_id(el: Property | Parameter) -> int | None:
    return _int_qualifier(el, "WmiDataId")


def classify(
    el: Property | Parameter,
    owner: MofClass,
    schema: Schema,
    item_id: int,
) -> Member:
    """Classify one data item of `owner`; raises LayoutError for what WMI blocks cannot carry."""
    where = el.location or owner.location
    mof_type = el.type
    low = mof_type.lower()
    if low in UNSUPPORTED_IN_BLOCKS:
        raise LayoutError(
            f"{owner.name}.{el.name}: type {mof_type} cannot be a WMI data item "
            "(blocks carry integers, boolean, string, datetime and embedded classes)",
            where,
            el.name,
        )
    fixed_count = el.array_size if el.array else None
    if el.array and fixed_count is None:
        # `uint8 x[]` with Max(n) and no WmiSizeIs is a fixed array of n elements.
        mx = _int_qualifier(el, "Max")
        if mx and not el.qualifiers.has("WmiSizeIs"):
            fixed_count = mx
    size_is_v = el.qualifiers.get_value("WmiSizeIs")
    size_is = size_is_v if isinstance(size_is_v, str) and el.array else None
    max_len = _int_qualifier(el, "MaxLen")
    embedded: MofClass | None = None
    if low in SCALARS:
        kind, ctype = Kind.SCALAR, SCALARS[low].ctype
    elif low == "datetime":
        kind, ctype = Kind.DATETIME, "WCHAR"
    elif low == "string":
        kind = Kind.FIXED_STRING if max_len else Kind.STRING
        ctype = "WCHAR" if max_len else "CHAR"
    else:
        embedded = schema.get(mof_type)
        if embedded is None:
            raise LayoutError(
                f"{owner.name}.{el.name}: embedded class {mof_type} is not defined",
                where,
                el.name,
            )
        kind, ctype = Kind.EMBEDDED, struct_name(embedded)
    cq = el.qualifiers.get_value("cpp_quote")
    desc = el.qualifiers.get_value("Description")
    defines = _define_values(el)
    return Member(
        name=el.name,
        id=item_id,
        kind=kind,
        mof_type=mof_type,
        ctype=ctype,
        is_array=el.array,
        fixed_count=fixed_count,
        size_is=size_is,
        max_len=max_len if kind is Kind.FIXED_STRING else None,
        embedded=embedded,
        location=where,
        cpp_quote=cq if isinstance(cq, str) else None,
        description=desc if isinstance(desc, str) else None,
        defines=defines,
    )


def _str_list(v: object) -> list[str]:
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    return [str(v)] if isinstance(v, (str, int)) and not isinstance(v, bool) else []


def _define_values(el: Property | Parameter) -> tuple[tuple[str, str, str], ...]:
    """`#define` lines wmimofck writes for DefineValues, valued by ValueMap, named by Values."""
    names = _str_list(el.qualifiers.get_value("DefineValues"))
    if not names:
        return ()
    vmap = _str_list(el.qualifiers.get_value("ValueMap"))
    values = _str_list(el.qualifiers.get_value("Values"))
    out = []
    for i, name in enumerate(names):
        value = vmap[i] if i < len(vmap) else str(i)
        comment = values[i] if i < len(values) else name
        out.append((comment, name, value))
    return tuple(out)


def class_members(cls: MofClass, schema: Schema) -> list[Member]:
    """The data items of a class in WmiDataId order; duplicate ids are an error."""
    seen: dict[int, Property] = {}
    out: list[Member] = []
    for p in cls.data_items():
        pid = p.data_id
        assert pid is not None
        if pid in seen:
            raise LayoutError(
                f"{cls.name}: WmiDataId({pid}) is used by both {seen[pid].name} and {p.name}",
                p.location or cls.location,
                p.name,
            )
        seen[pid] = p
        out.append(classify(p, cls, schema, pid))
    return out
