"""Snapshot files are bounded and checked before anything serves them: a regular file of at
most 64 MiB, integers of at most 20 digits, no lone surrogates; each problem is a located
error, and a server keeps its last good snapshot when a bad one replaces it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wqlperf_support import MM, schema

from iscsiprf.serve.source import SnapshotSource, SourceError
from iscsiprf.wql import SnapshotError, SnapshotFileSource, parse_snapshot
from iscsiprf.wql import snapshot as snapshot_module

GOOD = [{"InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True, "OakleyMainMode": 7}]
HUGE = "9" * 5000
HUGE_TEXT = '[\n  {"InstanceName": "A_0",\n   "OakleyMainMode": ' + HUGE + "}\n]\n"
HUGE_ERROR = "s.json:3:22: error: integer of 5,000 digits: no CIM integer has more than 20"
SURROGATE_TEXT = '[{"InstanceName": "ok_0"}, {"InstanceName": "A\\udc80_0", "Active": true}]'
SURROGATE_ERROR = (
    "s.json: error: instance [1]: the string 'A\\udc80_0' holds a lone surrogate "
    "(a \\uD800-\\uDFFF escape without its pair), which is no character"
)


def test_a_huge_integer_is_an_error_at_its_place() -> None:
    with pytest.raises(SnapshotError) as err:
        parse_snapshot(HUGE_TEXT, schema(), "s.json")
    assert str(err.value) == HUGE_ERROR


def test_a_huge_integer_in_a_string_is_not_taken_for_it() -> None:
    text = '[{"InstanceName": "' + HUGE + '_0", "OakleyMainMode": 1' + "2" * 21 + "}]"
    with pytest.raises(SnapshotError) as err:
        parse_snapshot(text, schema(), "s.json")
    assert str(err.value) == (
        "s.json:1:5043: error: integer of 22 digits: no CIM integer has more than 20"
    )


@pytest.mark.parametrize("value", [2**64 - 1, 0, -(2**63)])
def test_integers_of_twenty_digits_are_read(value: int) -> None:
    prop = "OakleyMainMode" if value >= 0 else "Caption"
    text = json.dumps([{"InstanceName": "A_0", prop: value}])
    if value < 0:  # no sint64 property: the range check speaks, not the digit count
        with pytest.raises(SnapshotError, match="must be a JSON string"):
            parse_snapshot(text, schema(), "s.json")
        return
    assert parse_snapshot(text, schema(), "s.json")[0][prop] == value


def test_a_twenty_one_digit_integer_is_out_of_range_not_unreadable() -> None:
    text = json.dumps([{"InstanceName": "A_0", "OakleyMainMode": 10**20}])
    with pytest.raises(SnapshotError, match=r"= 100000000000000000000 is outside the range"):
        parse_snapshot(text, schema(), "s.json")


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(SnapshotError) as err:
        parse_snapshot(SURROGATE_TEXT, schema(), "s.json")
    assert str(err.value) == SURROGATE_ERROR


@pytest.mark.parametrize(
    "obj",
    [
        {"InstanceName": "A_0", "__PATH": "\udfff"},  # ignored properties are checked too
        {"InstanceName": "A_0", "\ud800": 1},  # and names
        {"__CLASS": "\udc80", "InstanceName": "A_0"},
    ],
)
def test_lone_surrogates_anywhere_in_an_instance(obj: dict[str, object]) -> None:
    with pytest.raises(SnapshotError, match="holds a lone surrogate"):
        parse_snapshot(json.dumps([obj]), schema(), "s.json")


def test_a_surrogate_pair_is_a_character() -> None:
    text = '[{"InstanceName": "\\ud83d\\ude00_0"}]'
    assert parse_snapshot(text, schema(), "s.json")[0]["InstanceName"] == "\U0001f600_0"


def test_the_query_command_reports_a_lone_surrogate(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(SURROGATE_TEXT)
    proc = subprocess.run(
        [sys.executable, "-c", "from iscsiprf.cli import main; main()",
         "query", f"SELECT * FROM {MM}", "--snapshot", str(path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == SURROGATE_ERROR.replace("s.json", str(path)) + "\n"


def test_a_device_is_not_read_as_a_snapshot() -> None:
    with pytest.raises(SnapshotError) as err:
        SnapshotFileSource("/dev/zero", schema())
    assert str(err.value) == "/dev/zero: error: cannot read: not a regular file"
    with pytest.raises(SourceError) as serr:
        SnapshotSource(schema(), "/dev/zero")
    assert str(serr.value) == "/dev/zero: error: cannot read: not a regular file"


def test_a_snapshot_over_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(GOOD * 1) + " " * 2000)
    monkeypatch.setattr(snapshot_module, "MAX_SNAPSHOT_BYTES", 1000)
    with pytest.raises(SnapshotError) as err:
        SnapshotFileSource(str(path), schema())
    assert str(err.value) == f"{path}: error: larger than 0 MiB, the most a snapshot may be"


# -- while serving --------------------------------------------------------------------------


def replace(path: Path, text: str) -> None:
    """Rewrite the file so that its stamp changes even within one clock tick."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("bad", [HUGE_TEXT, SURROGATE_TEXT])
def test_serving_keeps_the_last_good_snapshot(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(GOOD))
    source = SnapshotSource(schema(), path)
    assert [i["OakleyMainMode"] for i in source.enumerate(MM)] == [7]
    replace(path, bad)
    assert [i["OakleyMainMode"] for i in source.enumerate(MM)] == [7]
    assert source.get(MM, "root\\iscsiprt\\0000_0") is not None
    assert source.health()["source_errors"] >= 1
    replace(path, json.dumps([{**GOOD[0], "OakleyMainMode": 8}]))
    assert [i["OakleyMainMode"] for i in source.enumerate(MM)] == [8]


@pytest.mark.parametrize(
    ("bad", "error"), [(HUGE_TEXT, HUGE_ERROR), (SURROGATE_TEXT, SURROGATE_ERROR)]
)
def test_serving_a_bad_snapshot_fails_at_start_with_its_place(
    tmp_path: Path, bad: str, error: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(bad)
    with pytest.raises(SourceError) as err:
        SnapshotSource(schema(), path)
    assert str(err.value) == error.replace("s.json", str(path))
