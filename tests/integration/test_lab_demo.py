"""The README's main command and the serve/query contract, end to end with real daemons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iscsiprf.lab import lifecycle, preflight, topology
from iscsiprf.lab.scenarios import LabSession
from iscsiprf.lab.serve_view import ServeView

pytestmark = pytest.mark.lab
MM = "MSiSCSI_MMIPSECStats"


def _need_lab() -> None:
    problems = preflight.problems()
    if problems:
        pytest.skip("lab unavailable: " + "; ".join(problems))


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_lab_demo_runs_end_to_end_beside_a_users_lab(lab: topology.Lab, tmp_path: Path) -> None:
    """The README's main command, with nothing given, while a user's lab runs (the suite's own
    shared lab stands in for it): the demo brings up a lab of its own, leaves the user's lab
    up and leaves nothing behind."""
    _need_lab()
    before = _namespaces()
    assert {lab.a.netns, lab.b.netns} <= before
    env = {**os.environ, "COLUMNS": "240", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "iscsiprf", "lab", "demo", "--logs", str(tmp_path / "logs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-3000:]
    after = _namespaces()
    assert {lab.a.netns, lab.b.netns} <= after  # the user's lab is still up
    assert not {n for n in after if n.startswith(f"demo{proc.pid}-")}  # the demo's own is gone
    assert lifecycle.status(lab)[0].pid is not None  # and its daemons still run
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["logs"], left  # the demo's private directory went with it
    kept = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert {"charon-A.log", "charon-B.log", "tgtd-B.log", "acquire-relay.log"} <= set(kept), kept
    assert "iscsiprf serve --config" in out and "CIM-XML http://127.0.0.1:" in out
    assert f"{MM} (CIM-XML EnumerateInstances, root/wmi)" in out
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.count("│") == 4}  # fmt: skip
    # Failures provoked: IKEv2 wrong PSK, IKEv2 proposal, IKEv1 quick-mode proposal; then one
    # IKEv1 and one IKEv2 tunnel (the quick-mode failure left an IKEv1 main mode up).
    assert rows["NegotiationFailures"] == ["3", "3"]
    assert rows["AuthenticationFailures"] == ["1", "1"]
    assert rows["OakleyMainMode"] == ["2", "2"]
    assert rows["OakleyQuickMode"] == ["1", "1"]
    assert rows["InvalidCookiesReceived"] == ["0", "1"]
    assert rows["InvalidPackets"] == ["0", "1"]
    assert int(rows["TunnelBytesSent"][0]) > 0
    assert "daemons stopped, namespaces deleted" in out


def test_lab_demo_refuses_a_users_lab_directory_or_prefix(lab: topology.Lab) -> None:
    _need_lab()
    for args, message in (
        (["--dir", str(lab.dir)], "is not empty: the demo runs its own lab"),
        (["--prefix", lab.prefix], "already exist: the demo runs its own lab"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "iscsiprf", "lab", "demo", *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr and "internal error" not in proc.stderr
    assert lifecycle.status(lab)[0].pid is not None


def _query(config: Path) -> dict[str, dict[str, object]]:
    proc = subprocess.run(
        [sys.executable, "-m", "iscsiprf", "query", f"SELECT * FROM {MM}", "--config",
         str(config), "--format", "json"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return {str(i["InstanceName"]): i for i in json.loads(proc.stdout)}


def test_query_shows_the_running_servers_counters_within_2_seconds(
    labs: LabSession, tmp_path: Path
) -> None:
    # serve is the only writer of the adapters' state: give it state files of its own.
    config = tmp_path / "adapters.toml"
    text = lifecycle.adapters_toml(labs.lab)
    for node in labs.lab.nodes:
        text = text.replace(str(node.state_file), str(tmp_path / f"{node.key}.sqlite"))
    config.write_text(text)
    a_name = f"{labs.lab.a.device}_0"
    with ServeView(config):
        deadline = time.monotonic() + 10
        while True:  # the collector has attached and written its first state
            before = _query(config)
            if before[a_name]["Active"] is True or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert before[a_name]["Active"] is True
        assert labs.initiate(1).ok
        established = time.monotonic()
        # main mode and quick mode are counted a few ms apart, and the state file is written at
        # most every 0.5 s: both show within the 2 s, not necessarily in the same write
        while True:
            after = _query(config)
            if (
                after[a_name]["OakleyMainMode"] == before[a_name]["OakleyMainMode"] + 1
                and after[a_name]["OakleyQuickMode"] == before[a_name]["OakleyQuickMode"] + 1
            ):
                break
            assert time.monotonic() - established < 2.0, after[a_name]
            time.sleep(0.1)
