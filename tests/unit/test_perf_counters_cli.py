"""`iscsiprf counters`: typeperf-like CSV and table output, cooking across samples, errors."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from wqlperf_support import MM, QM, mm_instance

from iscsiprf.cli import query_cmds, sources
from iscsiprf.cli.app import cli
from iscsiprf.perf import SampleTime
from iscsiprf.perf.timestamps import FILETIME_UNIX_EPOCH

HOST = socket.gethostname()
MM_PATH = "\\MSiSCSI_MMIPSECStats(ROOT\\ISCSIPRT\\0000_0)\\ActiveAcquire"
QM_PATH = "\\MSiSCSI_QMIPSECStats(*)\\ConfidentialBytesSent"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


class Growing:
    """Live-source stand-in: in sample k, ActiveAcquire = k and 2048*k bytes were sent."""

    def __init__(self) -> None:
        self.n = {MM: 0, QM: 0}

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        self.n[class_name] += 1
        k = self.n[class_name]
        mm = mm_instance("ROOT\\ISCSIPRT\\0000_0", ActiveAcquire=k)
        qm = {
            "__CLASS": QM,
            "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
            "ConfidentialBytesSent": 2048 * k,
        }
        return {MM: [mm], QM: [qm]}[class_name]


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> None:
    source = Growing()

    def clock() -> SampleTime:
        k = max(source.n.values())  # sample k is taken at k * 0.5 s
        sys100 = FILETIME_UNIX_EPOCH + k * 5 * 10**6
        return SampleTime(k * 500, 1000, sys100, sys100, 10**7)

    monkeypatch.setattr(sources, "_live_reader", lambda config: source)
    monkeypatch.setattr(sources, "live_time", clock)
    monkeypatch.setattr(query_cmds.time, "sleep", lambda s: None)


def test_csv_like_typeperf(live: None) -> None:
    r = run("counters", MM_PATH, QM_PATH, "--config", "lab.toml", "--samples", "3")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][0].startswith("(PDH-CSV 4.0) (")
    assert rows[0][1:] == [
        f"\\\\{HOST}\\MSiSCSI_MMIPSECStats(ROOT\\ISCSIPRT\\0000_0)\\ActiveAcquire",
        f"\\\\{HOST}\\MSiSCSI_QMIPSECStats(ROOT\\ISCSIPRT\\0000_0)\\ConfidentialBytesSent",
    ]
    assert [row[1:] for row in rows[1:]] == [
        ["1.000000", " "],  # a rate needs two samples: left blank, as typeperf does
        ["2.000000", "4096.000000"],  # 2048 bytes in 0.5 s
        ["3.000000", "4096.000000"],
    ]
    assert all(len(row[0]) == len("11/26/2026 14:51:58.162") for row in rows[1:])


def test_table_format_names_the_reason(live: None) -> None:
    r = run("counters", QM_PATH, "--config", "lab.toml", "--samples", "2", "--format", "table")
    assert r.exit_code == 0
    lines = [line for line in r.stdout.splitlines() if "ConfidentialBytesSent" in line]
    assert lines[0].endswith("PERF_COUNTER_BULK_COUNT needs two samples")
    assert lines[1].split()[-1] == "4096.000000"


def test_wildcard_counters_from_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps([{k: v for k, v in mm_instance("A_0").items() if k != "__CLASS"}]))
    r = run("counters", "\\msiscsi_mmipsecstats(*)\\*", "--snapshot", str(path), "--samples", "1")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert len(rows[0]) == 1 + 21
    assert rows[0][1].endswith("\\MSiSCSI_MMIPSECStats(A_0)\\ActiveAcquire")
    assert rows[1][1:4] == ["0.000000", "1.000000", "2.000000"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["\\Nope(*)\\X"], "iscsiprf: error: \\Nope(*)\\X: unknown performance object 'Nope'"),
        (["MSiSCSI_MMIPSECStats(*)\\X"], "a counter path starts with"),
        (["\\\\far.away\\MSiSCSI_MMIPSECStats(*)\\ActiveAcquire"], "only this machine"),
    ],
)
def test_errors(live: None, args: list[str], expected: str) -> None:
    r = run("counters", *args, "--config", "x.toml")
    assert r.exit_code == 1
    assert expected in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--samples", "0"], "'--samples'"), (["--interval", "-1"], "'--interval'")],
)
def test_out_of_range_options_are_a_bad_command_line(
    live: None, args: list[str], option: str
) -> None:
    r = run("counters", MM_PATH, *args, "--config", "x.toml")
    assert r.exit_code == 2
    assert option in r.stderr and "Traceback" not in r.stderr


def test_an_instance_not_there_yet_stays_blank(live: None) -> None:
    r = run(
        "counters",
        "\\MSiSCSI_MMIPSECStats(NotThere_0)\\ActiveAcquire",
        "--config",
        "x",
        "--samples",
        "1",
    )
    assert r.exit_code == 0
    assert list(csv.reader(io.StringIO(r.stdout)))[1][1] == " "


def test_no_instance_for_a_wildcard_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    r = run(
        "counters",
        "\\MSiSCSI_MMIPSECStats(*)\\ActiveAcquire",
        "--snapshot",
        str(path),
        "--samples",
        "1",
    )
    assert r.exit_code == 1
    assert r.stderr.startswith("iscsiprf: error: no valid counters")
