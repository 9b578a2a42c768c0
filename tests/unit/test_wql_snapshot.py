"""Snapshot files: round trips through `--format json`, and nothing but SnapshotError on bad input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wqlperf_support import MM, QM, schema

from iscsiprf.wql import SnapshotError, dump_snapshot, parse_snapshot, snapshot_objects

ITEMS = {c: [p.name for p in schema().cls(c).data_items()] for c in (MM, QM)}


@st.composite
def instance_sets(draw: Any) -> list[dict[str, Any]]:
    names = draw(st.lists(st.text(min_size=1, max_size=12), unique_by=str.casefold, max_size=6))
    out = []
    for name in names:
        cls = draw(st.sampled_from([MM, QM]))
        inst: dict[str, Any] = {"__CLASS": cls, "InstanceName": name}
        if draw(st.booleans()):
            inst["Active"] = draw(st.booleans())
        for item in draw(st.lists(st.sampled_from(ITEMS[cls]), unique=True)):
            inst[item] = draw(st.integers(0, 2**64 - 1))
        if draw(st.booleans()):
            inst["Timestamp_PerfTime"] = draw(st.integers(0, 2**64 - 1))
        out.append(inst)
    return out


def canonical(insts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(sorted(i.items())) for i in insts]


@settings(max_examples=200, deadline=None)
@given(instance_sets())
def test_round_trip(insts: list[dict[str, Any]]) -> None:
    text = dump_snapshot(snapshot_objects(insts, schema()))
    objects = json.loads(text)
    assert all(
        ("__CLASS" in o) == (i["__CLASS"] != MM) for o, i in zip(objects, insts, strict=True)
    )
    assert canonical(parse_snapshot(text, schema())) == canonical(insts)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["InstanceName", "Active", "ActiveAcquire", "ActiveSA", "__CLASS", "x", "__PATH"]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(json_values, max_size=4) | json_values)
def test_random_json_is_accepted_or_a_snapshot_error(value: Any) -> None:
    try:
        text = json.dumps(value)
    except ValueError:
        return
    try:
        insts = parse_snapshot(text, schema(), "f.json")
    except SnapshotError as exc:
        assert str(exc).startswith("f.json") and ": error: " in str(exc)
    else:
        assert all(i["__CLASS"] in (MM, QM, "Test_MMIPSECStatsEx") for i in insts)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_random_text_is_a_snapshot_error_or_valid(text: str) -> None:
    try:
        parse_snapshot(text, schema(), "f.json")
    except SnapshotError:
        pass


def test_deeply_nested_json_is_a_snapshot_error() -> None:
    try:
        parse_snapshot("[" * 100_000, schema(), "f.json")
    except SnapshotError as exc:
        assert "not valid JSON" in str(exc)
    else:
        raise AssertionError("accepted")
