"""`iscsiprf lab iscsi` and the demo's iSCSI step, end to end on the shared lab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from counter_watch import Counted
from rich.console import Console

from iscsiprf.lab import iscsi_demo, lifecycle
from iscsiprf.lab.serve_view import ServeView

pytestmark = pytest.mark.lab

V1_NEGOTIATION = (
    "    MM: KeyAdditions +1, KeyUpdates +1, OakleyMainMode +1, OakleyQuickMode +1, TotalGetSPI +1"
)


@pytest.mark.parametrize("collector_running", [True, False], ids=["beside-collector", "alone"])
def test_lab_iscsi_reports_login_size_throughput_and_deltas(
    counted: Counted, collector_running: bool
) -> None:
    lab = counted.session.lab
    # The session's collectors hold the lock of the lab's state files, as `iscsiprf serve
    # --config DIR/adapters.toml` would: the command must work beside them and without them.
    if not collector_running:
        for node in lab.nodes:
            counted.watch.stop(node.key)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "iscsiprf", "lab", "iscsi", "--dir", str(lab.dir),
             "--mib", "2"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        if not collector_running:
            for node in lab.nodes:
                counted.watch.start(node.key)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("profile ikev1: IKEv1 main mode + quick mode, child v1/v1i")
    assert lines[1].startswith("login: ok in ")
    assert lines[2] == "LUN size: 64 MiB (131072 blocks of 512 bytes)"
    assert lines[3].startswith("read 2 MiB in ") and lines[3].endswith(" MiB/s")
    assert "logout: ok" in lines
    assert "tunnel v1/v1i: INSTALLED (stays up after logout)" in lines
    # A fresh lab: the login's trap started exactly one main mode and one quick mode per side.
    assert lines.count(V1_NEGOTIATION) == 2
    assert "QM: " in proc.stdout and "TunnelBytesReceived" in proc.stdout


def test_demo_step_shows_the_trap_negotiation_the_bytes_and_the_wrong_psk(
    counted: Counted, tmp_path: Path
) -> None:
    lab = counted.session.lab
    # serve is the only writer of its state: give it state files of its own.
    config = tmp_path / "adapters.toml"
    text = lifecycle.adapters_toml(lab)
    for node in lab.nodes:
        text = text.replace(str(node.state_file), str(tmp_path / f"{node.key}.sqlite"))
    config.write_text(text)
    console = Console(record=True, width=200, file=open(os.devnull, "w"))  # noqa: SIM115
    with ServeView(config) as server:
        iscsi_demo.step(counted.session, server, console)
    out = console.export_text()
    assert "login from " in out and ": ok in " in out
    assert "relay: node A: acquire reqid {41} -> initiate v1/v1i: established in " in out
    assert "read 16 MiB in " in out and "logout ok, tunnel still up" in out
    assert out.count(
        "    MM OakleyMainMode +1, OakleyQuickMode +1, KeyAdditions +1, TotalGetSPI +1\n"
    ) == 2  # fmt: skip
    assert out.count("    QM Tunnel+Transport bytes +") == 2
    assert "login: FAILED (no login within 9 s)" in out
    assert "initiate v1/v1i: failed in " in out
    wrong_psk = out[out.index("login while the target's PSK is wrong:") :]
    assert (
        f"{lab.a.device} (node A):\n"
        "    MM AuthenticationFailures +1, NegotiationFailures +1, AcquireFailures +1\n"
    ) in wrong_psk
    assert (
        f"{lab.b.device} (node B):\n    MM AuthenticationFailures +1, NegotiationFailures +1\n"
    ) in wrong_psk
