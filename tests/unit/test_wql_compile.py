"""Binding WQL to the schema: names, types, errors with columns, and what rows match."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wqlperf_support import MM, QM, SUB, mm_instance, schema

from iscsiprf.wql import ListSource, WqlError, compile_query, run_query


def rows(query: str, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_query(query, schema(), ListSource(schema(), instances)).instances


def names(query: str, instances: list[dict[str, Any]]) -> list[str]:
    return [r["InstanceName"] for r in rows(query, instances)]


INSTANCES = [
    mm_instance("ROOT\\ISCSIPRT\\0000_0", ActiveAcquire=3, OakleyMainMode=10),
    mm_instance("ROOT\\ISCSIPRT\\0001_0", active=False, ActiveAcquire=0, OakleyMainMode=2**64 - 1),
    {**mm_instance("PCI\\VEN_1077_0", ActiveAcquire=7), "__CLASS": SUB, "Extra": "x"},
    {"__CLASS": QM, "InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True, "ActiveSA": 1},
]


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        ("SELECT * FROM NoSuchClass", 15, "unknown class 'NoSuchClass'"),
        ("SELECT Foo FROM MSiSCSI_MMIPSECStats", 8, "unknown property 'Foo'"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE Bar = 1", 42, "unknown property 'Bar'"),
        ("SELECT Extra FROM MSiSCSI_MMIPSECStats", 8, "unknown property 'Extra'"),
        (
            "SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active = 'yes'",
            51,
            "type mismatch: Active is boolean",
        ),
        (
            "SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active = 1",
            51,
            "compare it with TRUE or FALSE",
        ),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active > FALSE", 51, "only =, != and <>"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire = 'many'", 58, "is not a number"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire = TRUE", 58, "uint64"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire = 'NaN'", 58, "is not a number"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName = 5", 57, "quote string values"),
        (
            "SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire LIKE '1%'",
            42,
            "LIKE needs a string",
        ),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName LIKE 'a[bc'", 60, "without ']'"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName LIKE '[z-a]'", 60, "reversed"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE __CLASS ISA 'Nope'", 54, "unknown class 'Nope'"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active ISA 'Win32_Perf'", 42, "ISA needs"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE __FOO = 1", 42, "unknown system property"),
        ("SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active.X IS NULL", 42, "not an embedded object"),
        ("SELECT InstanceName.X FROM MSiSCSI_MMIPSECStats", 8, "only be used in WHERE"),
    ],
)
def test_binding_errors_name_the_column(query: str, column: int, fragment: str) -> None:
    with pytest.raises(WqlError) as info:
        compile_query(query, schema())
    assert info.value.column == column, str(info.value)
    assert fragment in info.value.message, info.value.message


def test_names_are_case_insensitive_and_output_uses_schema_spelling() -> None:
    out = rows("select activeacquire FROM msiscsi_mmipsecstats WHERE ACTIVE = true", INSTANCES)
    assert out == [
        {"__CLASS": MM, "InstanceName": "ROOT\\ISCSIPRT\\0000_0", "ActiveAcquire": 3},
        {"__CLASS": SUB, "InstanceName": "PCI\\VEN_1077_0", "ActiveAcquire": 7},
    ]


def test_subclasses_are_included_and_class_filter_excludes_them() -> None:
    assert len(rows("SELECT * FROM MSiSCSI_MMIPSECStats", INSTANCES)) == 3
    assert names(
        "SELECT * FROM MSiSCSI_MMIPSECStats WHERE __CLASS = 'msiscsi_mmipsecstats'", INSTANCES
    ) == [
        "ROOT\\ISCSIPRT\\0000_0",
        "ROOT\\ISCSIPRT\\0001_0",
    ]
    assert names(f"SELECT * FROM Win32_PerfRawData WHERE __CLASS ISA '{MM}'", INSTANCES) == [
        "ROOT\\ISCSIPRT\\0000_0",
        "ROOT\\ISCSIPRT\\0001_0",
        "PCI\\VEN_1077_0",
    ]
    assert len(rows("SELECT * FROM Win32_PerfRawData", INSTANCES)) == 4


def test_strings_compare_case_insensitively_with_escaped_backslashes() -> None:
    q = r"SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName = 'root\\iscsiprt\\0000_0'"
    assert names(q, INSTANCES) == ["ROOT\\ISCSIPRT\\0000_0"]
    q = r"SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName < 'ROOT\\ISCSIPRT\\0001_0'"
    assert names(q, INSTANCES) == ["ROOT\\ISCSIPRT\\0000_0", "PCI\\VEN_1077_0"]


def test_uint64_compares_exactly_and_accepts_numeral_strings() -> None:
    q = "SELECT * FROM MSiSCSI_MMIPSECStats WHERE OakleyMainMode = 18446744073709551615"
    assert names(q, INSTANCES) == ["ROOT\\ISCSIPRT\\0001_0"]
    q = "SELECT * FROM MSiSCSI_MMIPSECStats WHERE OakleyMainMode = '18446744073709551614'"
    assert names(q, INSTANCES) == []
    q = "SELECT * FROM MSiSCSI_MMIPSECStats WHERE 2.5 < ActiveAcquire"
    assert names(q, INSTANCES) == ["ROOT\\ISCSIPRT\\0000_0", "PCI\\VEN_1077_0"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("root%", ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0"]),
        ("%\\000__0", ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0"]),
        ("%[1]_0", ["ROOT\\ISCSIPRT\\0001_0"]),
        ("%[^0]_0", ["ROOT\\ISCSIPRT\\0001_0", "PCI\\VEN_1077_0"]),
        ("%[x-z]%", []),
        ("%[v]EN%", ["PCI\\VEN_1077_0"]),
        ("PCI%[_]0", ["PCI\\VEN_1077_0"]),
        ("%", ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0", "PCI\\VEN_1077_0"]),
        ("ROOT", []),
    ],
)
def test_like(pattern: str, expected: list[str]) -> None:
    escaped = pattern.replace("\\", "\\\\")
    q = f"SELECT * FROM MSiSCSI_MMIPSECStats WHERE InstanceName LIKE '{escaped}'"
    assert names(q, INSTANCES) == expected


def test_null_semantics() -> None:
    insts = [mm_instance("a"), {**mm_instance("b"), "ActiveAcquire": None}]
    del insts[1]["ActiveAcquire"]
    q = "SELECT * FROM MSiSCSI_MMIPSECStats WHERE "
    assert names(q + "ActiveAcquire IS NULL", insts) == ["b"]
    assert names(q + "ActiveAcquire IS NOT NULL", insts) == ["a"]
    assert names(q + "ActiveAcquire = NULL", insts) == ["b"]
    assert names(q + "ActiveAcquire = 0", insts) == ["a"]
    assert names(q + "ActiveAcquire <> 0", insts) == []  # NULL compares false
    assert names(q + "NOT ActiveAcquire = 0", insts) == ["b"]  # two-valued NOT
    assert names(q + "Caption IS NULL", insts) == ["a", "b"]


def test_select_list_returns_keys_plus_requested_and_system_properties() -> None:
    out = rows("SELECT __RELPATH, Active, __CLASS FROM MSiSCSI_MMIPSECStats", INSTANCES[:1])
    assert out == [
        {
            "__CLASS": MM,
            "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
            "__RELPATH": 'MSiSCSI_MMIPSECStats.InstanceName="ROOT\\\\ISCSIPRT\\\\0000_0"',
            "Active": True,
        }
    ]
    q = compile_query("SELECT ActiveAcquire, activeacquire FROM MSiSCSI_MMIPSECStats", schema())
    assert q.columns == ("InstanceName", "ActiveAcquire")


def test_system_properties_in_where() -> None:
    q = "SELECT * FROM Win32_PerfRawData WHERE __SUPERCLASS = 'Win32_PerfRawData' AND __GENUS = 2"
    assert len(rows(q, INSTANCES)) == 3  # the subclass's superclass is MSiSCSI_MMIPSECStats
    q = "SELECT * FROM Win32_PerfRawData WHERE __RELPATH LIKE 'MSiSCSI_QMIPSECStats.%'"
    assert len(rows(q, INSTANCES)) == 1
    q = "SELECT * FROM Win32_PerfRawData WHERE __DYNASTY = 'CIM_StatisticalInformation'"
    assert len(rows(q, INSTANCES)) == 4


def test_select_star_columns_put_keys_active_and_items_first() -> None:
    q = compile_query("SELECT * FROM MSiSCSI_MMIPSECStats", schema())
    cls = schema().cls(MM)
    items = [p.name for p in cls.data_items()]
    assert q.columns[:2] == ("InstanceName", "Active")
    assert list(q.columns[2 : 2 + len(items)]) == items
    assert "Timestamp_PerfTime" in q.columns[2 + len(items) :]


def test_matcher_is_one_compiled_function() -> None:
    q = compile_query(
        "SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire > 1 AND Active = TRUE", schema()
    )
    assert q.matcher_source.startswith("def _match(r):")
    assert q.match(mm_instance("x", ActiveAcquire=2)) is True
    assert q.match(mm_instance("x", ActiveAcquire=1)) is False


BIND_WORDS = [
    "AND", "OR", "NOT", "IS", "NULL", "LIKE", "ISA", "TRUE", "FALSE", "(", ")", "=", "<>", "<",
    ">=", "Active", "ActiveAcquire", "InstanceName", "__CLASS", "__RELPATH", "__Nope", "Caption",
    "Nope", "Active.X", "'ROOT%'", "'[a-'", "'Win32_Perf'", "'Nope'", "'12'", "5", "-1", "2.5",
]  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(BIND_WORDS), min_size=1, max_size=12))
def test_binding_random_conditions_raises_only_wql_error(words: list[str]) -> None:
    text = "SELECT * FROM MSiSCSI_MMIPSECStats WHERE " + " ".join(words)
    try:
        q = compile_query(text, schema())
    except WqlError as exc:
        assert 1 <= exc.column <= len(text) + 1
        return
    for inst in INSTANCES:  # a query that binds also evaluates without error
        assert q.match(inst) in (True, False)
