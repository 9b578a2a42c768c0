"""Data-block layout and pack/unpack, on classes built by hand (no compiler involved)."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.codegen.layout import ClassLayout, LayoutError, ShortBufferError, class_layout
from iscsiprf.codegen.wmidatetime import format_cim_datetime, parse_cim_datetime
from iscsiprf.mof.model import (
    INTEGER_RANGES,
    Location,
    MofClass,
    Property,
    Qualifier,
    Qualifiers,
    Schema,
)

# -- building classes by hand -----------------------------------------------------------------

_line = iter(range(10, 100_000))


def quals(**kw: Any) -> Qualifiers:
    q = Qualifiers()
    for name, value in kw.items():
        q.add(Qualifier(name, value))
    return q


def prop(name: str, type_: str, data_id: int | None, array: bool = False, size: int | None = None,
         **kw: Any) -> Property:  # fmt: skip
    if data_id is not None:
        kw["WmiDataId"] = data_id
    return Property(
        name, type_, quals(read=True, **kw), array=array, array_size=size,
        location=Location("t.mof", next(_line), 5),
    )  # fmt: skip


def klass(name: str, *props: Property, guid: str | None = None, **kw: Any) -> MofClass:
    q = quals(WMI=True, **kw)
    if guid:
        q.add(Qualifier("guid", guid))
    return MofClass(
        name, None, "root\\wmi", q, {p.name.lower(): p for p in props},
        location=Location("t.mof", next(_line), 7),
    )  # fmt: skip


def schema_of(*classes: MofClass) -> Schema:
    s = Schema()
    for c in classes:
        s.add_class(c)
    return s


def layout_of(cls: MofClass, *others: MofClass) -> ClassLayout:
    return class_layout(cls, schema_of(cls, *others))


MIXED = klass(
    "Mixed",
    prop("P1", "uint64", 1),
    prop("P2", "uint16", 2),
    prop("P3", "datetime", 3),
    prop("P4", "boolean", 4),
    prop("P5", "string", 5, MaxLen=4),
    prop("P6", "sint32", 6, array=True, size=5),
    prop("P7", "sint64", 7),
    prop("P8", "sint8", 8),
    guid="{275BB433-DAE0-8D07-6D5B-D9D2707DC42E}",
    Dynamic=True,
)
EMB = klass("Emb", prop("E1", "uint32", 1), prop("E2", "uint16", 2), guid="{3E28C392-9B64-D40C-2A35-394C9B5531C2}")  # fmt: skip
OUTER = klass("Outer", prop("A", "uint8", 1), prop("B", "Emb", 2), prop("C", "Emb", 3, array=True, size=2), prop("D", "uint8", 4))  # fmt: skip
VAR = klass(
    "Var",
    prop("Count", "uint32", 1),
    prop("Name", "string", 2),
    prop("Items", "uint16", 3, array=True, WmiSizeIs="Count"),
    prop("Tail", "uint64", 4),
)


# -- layout ------------------------------------------------------------------------------------


def test_mixed_offsets_follow_natural_alignment() -> None:
    lay = layout_of(MIXED)
    got = [(it.name, it.offset, it.size, it.align, it.count) for it in lay.items]
    assert got == [
        ("P1", 0, 8, 8, 1),
        ("P2", 8, 2, 2, 1),
        ("P3", 10, 50, 2, 1),
        ("P4", 60, 1, 1, 1),
        ("P5", 62, 10, 2, 1),  # WCHAR[4 + 1]
        ("P6", 72, 20, 4, 5),
        ("P7", 96, 8, 8, 1),
        ("P8", 104, 1, 1, 1),
    ]
    assert (lay.size, lay.data_size, lay.alignment) == (112, 105, 8)
    assert [it.ctype for it in lay.items][2:6] == ["WCHAR[25]", "BOOLEAN", "WCHAR[5]", "LONG"]


def test_embedded_class_aligns_to_its_largest_member() -> None:
    lay = layout_of(OUTER, EMB)
    assert [(it.offset, it.size, it.align) for it in lay.items] == [
        (0, 1, 1),
        (4, 8, 4),
        (12, 16, 4),
        (28, 1, 1),
    ]
    assert (lay.size, lay.alignment) == (32, 4)
    assert lay.items[1].ctype == "Emb"


def test_header_name_is_the_struct_name() -> None:
    emb = klass("Vendor_EC9", prop("X", "uint8", 1), HeaderName="EC9")
    assert layout_of(emb).struct_name == "EC9"


def test_max_qualifier_makes_a_fixed_array() -> None:
    cls = klass("M", prop("V6", "uint8", 1, array=True, Max=16), prop("After", "uint32", 2))
    lay = layout_of(cls)
    assert [(it.offset, it.count) for it in lay.items] == [(0, 16), (16, 1)]


def test_variable_class_says_so() -> None:
    lay = layout_of(VAR)
    assert lay.size is None and lay.data_size is None
    assert lay.size_rule is not None and "Items holds Count elements" in lay.size_rule
    doc = lay.to_json()
    assert doc["size"] is None
    assert [i["offset"] for i in doc["items"]] == [0, 4, None, None]
    assert doc["items"][2]["count"] is None and doc["items"][2]["size_is"] == "Count"


def test_to_json_has_the_promised_keys() -> None:
    doc = layout_of(MIXED).to_json()
    assert {"name", "guid", "size", "alignment", "items"} <= set(doc)
    assert doc["guid"] == "275bb433-dae0-8d07-6d5b-d9d2707dc42e"
    assert {"name", "id", "ctype", "offset", "size", "align", "count"} <= set(doc["items"][0])


def test_layouts_are_cached_per_class_object() -> None:
    s = schema_of(MIXED)
    assert class_layout(MIXED, s) is class_layout(MIXED, s)


# -- layout errors -----------------------------------------------------------------------------


def test_missing_embedded_class_is_an_error_with_the_place() -> None:
    p = prop("Thing", "NoSuchClass", 1)
    with pytest.raises(LayoutError) as ei:
        layout_of(klass("HasMissing", p))
    assert ei.value.location == p.location
    assert "NoSuchClass is not defined" in str(ei.value)
    assert str(ei.value).startswith(f"t.mof:{p.location.line}:5: error:")  # type: ignore[union-attr]
    assert ei.value.property == "Thing"


def test_size_is_loop_is_an_error() -> None:
    cls = klass(
        "Loop",
        prop("A", "uint8", 1, array=True, WmiSizeIs="B"),
        prop("B", "uint8", 2, array=True, WmiSizeIs="A"),
    )
    with pytest.raises(LayoutError, match="WmiSizeIs loop: A -> B -> A"):
        layout_of(cls)


def test_size_is_naming_nothing_is_an_error() -> None:
    cls = klass("NoCount", prop("A", "uint8", 1, array=True, WmiSizeIs="Nope"))
    with pytest.raises(LayoutError, match='WmiSizeIs\\("Nope"\\) names no data item'):
        layout_of(cls)


def test_size_is_after_the_array_is_an_error() -> None:
    cls = klass("Late", prop("A", "uint8", 1, array=True, WmiSizeIs="N"), prop("N", "uint32", 2))
    with pytest.raises(LayoutError, match="comes after the array"):
        layout_of(cls)


def test_variable_array_without_size_is_is_an_error() -> None:
    with pytest.raises(LayoutError, match="has no WmiSizeIs"):
        layout_of(klass("Bare", prop("A", "uint8", 1, array=True)))


def test_duplicate_data_id_is_an_error() -> None:
    with pytest.raises(LayoutError, match=r"WmiDataId\(1\) is used by both A and B"):
        layout_of(klass("Dup", prop("A", "uint8", 1), prop("B", "uint8", 1)))


def test_real_types_cannot_be_items() -> None:
    with pytest.raises(LayoutError, match="real64 cannot be a WMI data item"):
        layout_of(klass("R", prop("F", "real64", 1)))


def test_class_embedding_itself_is_an_error() -> None:
    selfish = klass("Selfish", prop("Me", "Selfish", 1))
    with pytest.raises(LayoutError, match="embeds itself"):
        layout_of(selfish)


# -- pack / unpack -----------------------------------------------------------------------------

MIXED_VALUES: dict[str, Any] = {
    "P1": 2**64 - 1,
    "P2": 513,
    "P3": dt.datetime(2024, 2, 29, 13, 5, 7, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    "P4": True,
    "P5": "abc",
    "P6": [-1, 0, 1, 2**31 - 1, -(2**31)],
    "P7": -(2**63),
    "P8": -128,
}


def test_mixed_round_trip_and_bytes() -> None:
    lay = layout_of(MIXED)
    data = lay.pack(MIXED_VALUES)
    assert len(data) == 112
    assert data[0:8] == b"\xff" * 8
    assert data[10:60].decode("utf-16-le") == "20240229130507.123456-300"
    assert data[62:72] == struct.pack("<H", 6) + "abc".encode("utf-16-le") + b"\0\0"
    assert lay.unpack(data) == MIXED_VALUES
    assert lay.unpack(b"\xaa" * 5 + data, offset=5) == MIXED_VALUES


def test_missing_items_are_zero_or_empty() -> None:
    lay = layout_of(MIXED)
    data = lay.pack({})
    assert data == bytes(112)
    assert lay.unpack(data) == {
        "P1": 0, "P2": 0, "P3": None, "P4": False, "P5": "", "P6": [0] * 5, "P7": 0, "P8": 0,
    }  # fmt: skip


def test_embedded_round_trip() -> None:
    lay = layout_of(OUTER, EMB)
    v = {"A": 1, "B": {"E1": 7, "E2": 8}, "C": [{"E1": 1, "E2": 2}, {"E1": 3, "E2": 4}], "D": 9}
    data = lay.pack(v)
    assert len(data) == 32 and data[4:8] == struct.pack("<I", 7)
    assert lay.unpack(data) == v


def test_variable_round_trip_derives_the_count() -> None:
    lay = layout_of(VAR)
    data = lay.pack({"Name": "ab", "Items": [1, 2, 3], "Tail": 5})
    # Count 3 @0, Name: USHORT 4 + "ab" @4..10, Items 3 x u16 @10..16, Tail aligned to 16.
    assert data == (
        struct.pack("<IH", 3, 4) + "ab".encode("utf-16-le") + struct.pack("<3HQ", 1, 2, 3, 5)
    )
    assert lay.unpack(data) == {"Count": 3, "Name": "ab", "Items": [1, 2, 3], "Tail": 5}


def test_variable_count_mismatch_is_an_error() -> None:
    with pytest.raises(LayoutError, match="2 elements given but Count = 3"):
        layout_of(VAR).pack({"Count": 3, "Items": [1, 2]})


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_uint64_range_error_names_the_property(bad: int) -> None:
    fixed = klass("Counters", *(prop(f"C{i}", "uint64", i) for i in range(1, 4)))
    lay = layout_of(fixed)
    with pytest.raises(LayoutError) as ei:
        lay.pack({"C1": 1, "C2": bad, "C3": 3})
    assert ei.value.property == "C2"
    assert "Counters.C2" in str(ei.value) and str(bad) in str(ei.value)


def test_non_integer_is_an_error() -> None:
    with pytest.raises(LayoutError, match="Mixed.P2: uint16 value must be an integer"):
        layout_of(MIXED).pack({"P2": "7"})


def test_maxlen_overflow_is_an_error() -> None:
    with pytest.raises(LayoutError, match=r"longer than MaxLen\(4\)"):
        layout_of(MIXED).pack({"P5": "abcde"})


def test_short_buffer_says_how_many_bytes_are_needed() -> None:
    fixed = klass("Counters2", *(prop(f"C{i}", "uint64", i) for i in range(1, 22)))
    lay = layout_of(fixed)
    with pytest.raises(ShortBufferError) as ei:
        lay.unpack(bytes(100))
    assert ei.value.needed == 168 and ei.value.available == 100
    assert "168 bytes needed" in str(ei.value)
    with pytest.raises(ShortBufferError, match="105 bytes needed"):
        layout_of(MIXED).unpack(bytes(104))
    with pytest.raises(ShortBufferError, match="16 bytes needed"):
        layout_of(VAR).unpack(struct.pack("<IH", 3, 4) + bytes(6))


def test_fixed_scalar_class_uses_one_struct() -> None:
    fixed = klass("Fast", prop("A", "uint8", 1), prop("B", "uint64", 2), prop("C", "boolean", 3))
    lay = layout_of(fixed)
    assert lay.pack.__name__ == "pack" and lay.pack.__qualname__.endswith("<locals>.pack")
    data = lay.pack({"A": 1, "B": 2, "C": True, "InstanceName": "ignored"})
    assert data == struct.pack("<B7xQ?7x", 1, 2, True)
    assert lay.unpack(data) == {"A": 1, "B": 2, "C": True}
    assert lay.pack({"B": 2}) == struct.pack("<B7xQ?7x", 0, 2, False)  # missing -> general path


# -- datetime ----------------------------------------------------------------------------------


def test_cim_datetime_text() -> None:
    assert format_cim_datetime(dt.timedelta(days=1, seconds=3661, microseconds=5)) == (
        "00000001010101.000005:000"
    )
    assert parse_cim_datetime("2024****000000.000000+000") == "2024****000000.000000+000"
    assert parse_cim_datetime("00000001010101.000005:000") == dt.timedelta(
        days=1, seconds=3661, microseconds=5
    )


# -- properties --------------------------------------------------------------------------------

_ints = {t: st.integers(*INTEGER_RANGES[t]) for t in INTEGER_RANGES}
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_datetimes = st.one_of(
    st.none(),
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31),
        timezones=st.integers(-999, 999).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
    ),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=99_999_999)),
)
MIXED_VALUES_ST = st.fixed_dictionaries(
    {
        "P1": _ints["uint64"],
        "P2": _ints["uint16"],
        "P3": _datetimes,
        "P4": st.booleans(),
        "P5": _text.filter(lambda s: len(s.encode("utf-16-le")) <= 8),
        "P6": st.lists(_ints["sint32"], min_size=5, max_size=5),
        "P7": _ints["sint64"],
        "P8": _ints["sint8"],
    }
)


@settings(max_examples=300, deadline=None)
@given(MIXED_VALUES_ST)
def test_mixed_round_trip_property(values: dict[str, Any]) -> None:
    lay = layout_of(MIXED)
    assert lay.unpack(lay.pack(values)) == values


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"Name": _text.filter(lambda s: len(s) < 200), "Items": st.lists(_ints["uint16"], max_size=20), "Tail": _ints["uint64"]}))  # fmt: skip
def test_variable_round_trip_property(values: dict[str, Any]) -> None:
    lay = layout_of(VAR)
    assert lay.unpack(lay.pack(values)) == {"Count": len(values["Items"]), **values}


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["mixed", "var", "outer"]))
def test_unpack_never_crashes(data: bytes, which: str) -> None:
    lay = {"mixed": layout_of(MIXED), "var": layout_of(VAR), "outer": layout_of(OUTER, EMB)}[which]
    try:
        values = lay.unpack(data)
    except ShortBufferError as exc:
        assert exc.needed > len(data)
    else:
        assert set(values) == {it.name for it in lay.items}
