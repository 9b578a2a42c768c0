"""`iscsiprf counters --config` reads the live source again at every sample: an SA terminated
while it samples shows as ActiveSA 0, and bytes sent through the tunnel show as a rate."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest
from counter_watch import CounterWatch

from iscsiprf.lab.scenarios import LabSession

pytestmark = pytest.mark.lab

ISCSIPRF = str(Path(sys.executable).with_name("iscsiprf"))
ACTIVE_SA = r"\MSiSCSI_QMIPSECStats(*)\ActiveSA"
BYTES_SENT = r"\MSiSCSI_QMIPSECStats(*)\TunnelBytesSent"


def _ping(session: LabSession, count: int) -> None:
    a = session.lab.a
    subprocess.run(
        ["ip", "netns", "exec", a.netns, "ping", "-q", "-c", str(count), "-i", "0.05",
         "-s", "1000", "-I", a.v1_inner, session.lab.b.v1_inner],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip


def test_counters_follow_an_sa_terminated_while_sampling(
    labs: LabSession, watch: CounterWatch
) -> None:
    assert labs.initiate(1).ok
    proc = subprocess.Popen(
        [ISCSIPRF, "counters", ACTIVE_SA, BYTES_SENT, "--config", str(labs.lab.adapters_file),
         "--interval", "0.5", "--samples", "14"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        header = next(csv.reader([proc.stdout.readline()]))
        rows: list[list[str]] = []

        def take(n: int) -> None:
            for _ in range(n):
                rows.append(next(csv.reader([proc.stdout.readline()])))  # type: ignore[union-attr]

        take(2)
        _ping(labs, 40)  # traffic through the tunnel while sampling
        take(4)
        with labs.control("A") as control:
            assert control.terminate_all() >= 1
        time.sleep(1.0)
        take(6)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    col_a_sa = next(i for i, h in enumerate(header) if h.endswith(r"0000_0)\ActiveSA"))
    col_a_bytes = next(i for i, h in enumerate(header) if h.endswith(r"0000_0)\TunnelBytesSent"))
    active = [float(r[col_a_sa]) for r in rows]
    # TunnelBytesSent is a PERF_COUNTER_BULK_COUNT: cooked to bytes per second (blank at first).
    rate = [float(r[col_a_bytes]) if r[col_a_bytes].strip() else 0.0 for r in rows]
    assert active[0] == 1.0, active
    assert active[-1] == 0.0, active  # not the first sample repeated forever
    assert max(rate[1:6]) > 1000, rate  # the pings' bytes while counters samples
