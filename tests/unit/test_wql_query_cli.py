"""`iscsiprf query`: formats, snapshot round trips, --formatted, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from wqlperf_support import MM, QM, mm_instance

from iscsiprf.cli import sources
from iscsiprf.cli.app import cli

INSTANCE_0 = "ROOT\\ISCSIPRT\\0000_0"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    insts = [
        mm_instance(INSTANCE_0, ActiveAcquire=1, OakleyMainMode=12),
        mm_instance(
            "PCI\\VEN_8086&DEV_10D3_0", active=False, ActiveAcquire=0, OakleyMainMode=2**64 - 1
        ),
        {
            "__CLASS": QM,
            "InstanceName": INSTANCE_0,
            "Active": True,
            "ActiveSA": 4,
            "ConfidentialBytesSent": 99,
        },
    ]
    for i in insts:
        if i["__CLASS"] == MM:
            del i["__CLASS"]  # the default class needs no __CLASS
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(insts))
    return path


def test_table_output(snap: Path) -> None:
    r = run(
        "query", "SELECT Active, OakleyMainMode FROM MSiSCSI_MMIPSECStats", "--snapshot", str(snap)
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "InstanceName             Active        OakleyMainMode",
        "-----------------------  ------  --------------------",
        "ROOT\\ISCSIPRT\\0000_0     TRUE                      12",
        "PCI\\VEN_8086&DEV_10D3_0  FALSE   18446744073709551615",
    ]


def test_many_columns_are_listed_per_instance(snap: Path) -> None:
    r = run(
        "query",
        "SELECT * FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire = 1",
        "--snapshot",
        str(snap),
    )
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "InstanceName           : ROOT\\ISCSIPRT\\0000_0"
    assert "OakleyMainMode         : 12" in lines
    assert "Frequency_Sys100NS     : 10000000" in lines


def test_csv_output(snap: Path) -> None:
    r = run("query", "select oakleymainmode from msiscsi_mmipsecstats where active = false",
            "--snapshot", str(snap), "--format", "csv")  # fmt: skip
    assert (
        r.stdout == "InstanceName,OakleyMainMode\nPCI\\VEN_8086&DEV_10D3_0,18446744073709551615\n"
    )


def test_json_output_is_a_snapshot_that_queries_the_same(snap: Path, tmp_path: Path) -> None:
    q = "SELECT * FROM Win32_PerfRawData"
    first = run("query", q, "--snapshot", str(snap), "--format", "json")
    data = json.loads(first.stdout)
    assert [d.get("__CLASS") for d in data] == [None, None, QM]
    assert data[0]["InstanceName"] == INSTANCE_0 and data[0]["Active"] is True
    assert data[1]["OakleyMainMode"] == 2**64 - 1  # a JSON integer, exact
    assert list(data[0])[:4] == ["InstanceName", "Active", "ActiveAcquire", "ActiveReceive"]
    # stamped from the snapshot's modification time, consistently
    assert data[0]["Timestamp_Sys100NS"] == data[2]["Timestamp_PerfTime"]
    assert data[0]["Frequency_PerfTime"] == 10_000_000
    again_path = tmp_path / "again.json"
    again_path.write_text(first.stdout)
    second = run("query", q, "--snapshot", str(again_path), "--format", "json")
    assert json.loads(second.stdout) == data


def test_formatted_single_sample_says_so_instead_of_a_rate(snap: Path) -> None:
    r = run("query", "SELECT ActiveSA, ConfidentialBytesSent FROM MSiSCSI_QMIPSECStats",
            "--snapshot", str(snap), "--formatted", "--format", "csv")  # fmt: skip
    assert r.exit_code == 0
    assert r.stdout == f"InstanceName,ActiveSA,ConfidentialBytesSent\n{INSTANCE_0},4,\n"
    assert "ConfidentialBytesSent: PERF_COUNTER_BULK_COUNT needs two samples" in r.stderr
    raw_only = run(
        "query", "SELECT ActiveSA FROM MSiSCSI_QMIPSECStats", "--snapshot", str(snap), "--formatted"
    )
    assert raw_only.stderr == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["SELECT * FROM MSiSCSI_MMIPSECStats WHERE Active = 'yes'"],
         "<query>:1:51: error: type mismatch: Active is boolean, 'yes' is a string; compare it with TRUE or FALSE"),
        (["SELECT * FROM Nope"], "<query>:1:15: error: unknown class 'Nope'"),
        (["SELECT Foo FROM MSiSCSI_MMIPSECStats"],
         "<query>:1:8: error: unknown property 'Foo' of class MSiSCSI_MMIPSECStats"),
        (["SELECT * FROM MSiSCSI_MMIPSECStats WHERE Bar > 1"],
         "<query>:1:42: error: unknown property 'Bar' of class MSiSCSI_MMIPSECStats"),
    ],
)  # fmt: skip
def test_query_errors_are_one_line(snap: Path, args: list[str], expected: str) -> None:
    r = run("query", *args, "--snapshot", str(snap))
    assert r.exit_code == 1
    assert r.stderr == expected + "\n"
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"InstanceName": "x",', ":1:23: error: not valid JSON: Expecting property name enclosed in double quotes"),
        ('{"InstanceName": "x"}', ": error: expected a JSON list of instances, found an object"),
        ("[5]", ": error: instance [0]: expected a JSON object, found the number 5"),
        ('[{"Active": true}]', ": error: instance [0]: the key InstanceName is missing"),
        ('[{"InstanceName": "x", "Nope": 1}]', ": error: instance [0] (x): MSiSCSI_MMIPSECStats has no property 'Nope'"),
        ('[{"InstanceName": "x", "ActiveAcquire": "5"}]',
         ": error: instance [0] (x): ActiveAcquire must be a JSON integer (uint64), found the string '5'"),
        ('[{"InstanceName": "x", "ActiveAcquire": -1}]',
         ": error: instance [0] (x): ActiveAcquire = -1 is outside the range of uint64 (0..18446744073709551615)"),
        ('[{"InstanceName": "x", "Active": "yes"}]',
         ": error: instance [0] (x): Active must be true or false, found the string 'yes'"),
        ('[{"InstanceName": "x", "__CLASS": "Nope"}]', ": error: instance [0]: unknown class 'Nope'"),
        ('[{"InstanceName": "x", "__CLASS": "Win32_PerfRawData"}]',
         ": error: instance [0]: Win32_PerfRawData is abstract and has no instances"),
        ('[{"InstanceName": "x"}, {"instancename": "X"}]',
         ": error: instance [1] (X): a second MSiSCSI_MMIPSECStats instance with the same key"),
        ('[{"InstanceName": "x", "activeacquire": 1, "ActiveAcquire": 2}]',
         ": error: instance [0] (x): ActiveAcquire given twice"),
    ],
)  # fmt: skip
def test_bad_snapshots_are_one_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--snapshot", str(path))
    assert r.exit_code == 1
    assert r.stderr == f"{path}{expected}\n"


def test_snapshot_that_cannot_be_read(tmp_path: Path) -> None:
    r = run(
        "query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--snapshot", str(tmp_path / "none.json")
    )
    assert r.exit_code == 1
    assert r.stderr == f"{tmp_path / 'none.json'}: error: cannot read: No such file or directory\n"
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe[")
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--snapshot", str(tmp_path / "bin.json"))
    assert r.exit_code == 1 and "not UTF-8" in r.stderr


def test_live_source_config_errors_are_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--config", str(cfg))
    assert r.exit_code == 1
    assert r.stderr == f"{cfg}:1:1: error: cannot read: No such file or directory\n"
    cfg.write_text("[[adapter]]\ndevice = 5\n")
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--config", str(cfg))
    assert r.exit_code == 1
    assert r.stderr == f"{cfg}:2:1: error: device must be a non-empty string\n"
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--config", "a", "--snapshot", "b")
    assert r.exit_code == 2
    assert r.stderr == (
        "iscsiprf: error: give one of --config or --snapshot, not --config and --snapshot\n"
    )


def test_live_source_hook_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from wqlperf_support import schema

    from iscsiprf.wql import ListSource

    seen: list[str | None] = []

    def fake(config: str | None) -> ListSource:
        seen.append(config)
        return ListSource(schema(), [mm_instance("LIVE_0", ActiveAcquire=9)])

    monkeypatch.setattr(sources, "_live_reader", fake)
    r = run(
        "query",
        "SELECT ActiveAcquire FROM MSiSCSI_MMIPSECStats",
        "--config",
        "x.toml",
        "--format",
        "csv",
    )
    assert r.stdout == "InstanceName,ActiveAcquire\nLIVE_0,9\n"
    assert seen == ["x.toml"]


def test_mixed_classes_get_one_class_column(snap: Path) -> None:
    r = run(
        "query", "SELECT __CLASS FROM Win32_PerfRawData", "--snapshot", str(snap), "--format", "csv"
    )
    assert r.stdout.splitlines() == ["__CLASS", MM, MM, QM]
    r = run("query", "SELECT * FROM Win32_PerfRawData WHERE __CLASS ISA 'MSiSCSI_QMIPSECStats'",
            "--snapshot", str(snap), "--format", "csv")  # fmt: skip
    header = r.stdout.splitlines()[0].split(",")
    assert header[:4] == ["__CLASS", "InstanceName", "Active", "ActiveSA"]
    assert header.count("Caption") == 1


def test_one_shot_config_query_without_daemon_or_state(tmp_path: Path) -> None:
    """No serve running, no daemon: the instance still answers (Active FALSE, zeros), and what
    may be stale is said on stderr, never inside the JSON."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[[adapter]]\n"
        'device = "ROOT\\\\ISCSIPRT\\\\0007"\n'
        f'vici = "unix://{tmp_path}/none.vici"\n'
        f'error_notify = "unix://{tmp_path}/none.enfy"\n'
        f'state = "{tmp_path}/state.db"\n'
    )
    r = run("query", "SELECT * FROM MSiSCSI_MMIPSECStats", "--config", str(cfg), "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["InstanceName"], x["Active"], x["OakleyMainMode"]) for x in rows] == [
        ("ROOT\\ISCSIPRT\\0007_0", False, 0)
    ]
    assert "no state file" in r.stderr and "does not answer" in r.stderr
