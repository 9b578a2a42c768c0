"""Instance names: PDO names, base names, BaseIndex allocation, dynamic name checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iscsiprf.wmi.naming import (
    MAX_NAME_SUFFIX,
    BaseIndexAllocator,
    InstanceNameError,
    check_dynamic_names,
    indexed_names,
    pdo_instance_names,
    split_indexed_name,
)


def test_pdo_names_per_reference() -> None:
    assert pdo_instance_names("ROOT\\ISCSIPRT\\0000", 1) == ["ROOT\\ISCSIPRT\\0000_0"]
    assert pdo_instance_names("ACPI\\PNP0C0A\\1", 2, base_index=3) == [
        "ACPI\\PNP0C0A\\1_3",
        "ACPI\\PNP0C0A\\1_4",
    ]
    with pytest.raises(InstanceNameError):
        pdo_instance_names("", 1)


def test_suffix_limit() -> None:
    assert indexed_names("b", MAX_NAME_SUFFIX, 1) == [f"b{MAX_NAME_SUFFIX}"]
    with pytest.raises(InstanceNameError):
        indexed_names("b", MAX_NAME_SUFFIX, 2)


def test_allocator_moves_past_taken_indexes_and_reuses_freed() -> None:
    alloc = BaseIndexAllocator()
    a, b, c = object(), object(), object()
    assert alloc.claim("g", "X_", 3, a) == 0
    assert alloc.claim("g", "x_", 1, b) == 3  # bases compare case-insensitively
    assert alloc.claim("other-guid", "X_", 1, c) == 0  # per GUID
    alloc.release(a)
    assert alloc.claim("g", "X_", 2, c) == 0  # fits in the freed gap 0..2
    assert alloc.claim("g", "X_", 2, a) == 4  # 2 is free but 3 is b's: 2 names need 4..5


def test_dynamic_name_checks() -> None:
    check_dynamic_names(["iqn.a_1", "iqn.b_2"], 2)
    for names, n in ((["a"], 2), (["a", "A"], 2), ([""], 1), (["a\x00"], 1)):
        with pytest.raises(InstanceNameError):
            check_dynamic_names(names, n)


@given(st.text(min_size=1, max_size=20), st.integers(0, MAX_NAME_SUFFIX))
def test_split_indexed_name_round_trip(base: str, index: int) -> None:
    (name,) = indexed_names(base, index, 1)
    assert split_indexed_name(name, base) == index
    assert split_indexed_name(name.upper(), base.lower()) in (index, None)
