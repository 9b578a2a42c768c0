"""The lab itself: namespaces, daemons, adapters' config, traffic through both tunnels."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from counter_watch import Counted

from iscsiprf.lab import daemon, lifecycle, netns
from iscsiprf.lab.scenarios import LabSession
from iscsiprf.lab.topology import Lab

pytestmark = pytest.mark.lab


def test_both_daemons_run_in_their_own_namespace(lab: Lab) -> None:
    for node in lab.nodes:
        pid = daemon.running_pid(node)
        assert pid is not None
        own = subprocess.run(
            ["ip", "netns", "identify", str(pid)], capture_output=True, text=True, check=True
        )
        assert own.stdout.strip() == node.netns


def test_create_is_idempotent(lab: Lab) -> None:
    netns.create(lab)  # everything exists already: nothing changes, nothing fails
    shown = subprocess.run(
        ["ip", "-n", lab.a.netns, "-o", "addr", "show"], capture_output=True, text=True
    ).stdout
    assert shown.count("10.99.0.1/24") == 1
    assert shown.count("10.99.1.1/32") == 1


def test_status_reports_daemons_and_sas(labs: LabSession) -> None:
    assert labs.initiate(2).ok
    status = {s.node.key: s for s in lifecycle.status(labs.lab)}
    assert status["A"].netns_present and status["B"].netns_present
    assert status["A"].version.startswith("5.") or status["A"].version.startswith("6.")
    assert [(sa["name"], sa["version"], sa["state"]) for sa in status["A"].ike_sas] == [
        ("v2", "2", "ESTABLISHED")
    ]


def test_adapters_config_is_toml_with_both_devices(lab: Lab) -> None:
    config = tomllib.loads(lifecycle.adapters_toml(lab))
    adapters = config["adapter"]
    assert [a["device"] for a in adapters] == ["ROOT\\ISCSIPRT\\0000", "ROOT\\ISCSIPRT\\0001"]
    assert adapters[0]["vici"] == f"unix://{lab.a.vici_socket}"
    assert adapters[1]["error_notify"] == f"unix://{lab.b.enfy_socket}"
    assert [a["netns"] for a in adapters] == [lab.a.netns, lab.b.netns]


@pytest.mark.parametrize(("version", "src", "dst"), [(1, "10.99.1.1", "10.99.2.1"),
                                                     (2, "10.99.3.1", "10.99.4.1")])  # fmt: skip
def test_traffic_flows_through_the_tunnel(
    counted: Counted, version: int, src: str, dst: str
) -> None:
    labs = counted.session
    assert labs.initiate(version).ok
    counted.rebase()
    ping = subprocess.run(
        ["ip", "netns", "exec", labs.lab.a.netns, "ping", "-c", "3", "-i", "0.2", "-W", "2",
         "-I", src, dst],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr
    with labs.control("A") as control:
        (sa,) = control.list_sas()
    (child,) = sa["child-sas"].values()
    assert child["state"] == "INSTALLED"
    assert child["encap"] == "yes"  # kernel-libipsec forces ESP-in-UDP
    assert int(child["packets-out"]) == 3
    assert int(child["packets-in"]) == 3
    # Three 84-byte echo requests out and three replies in, through an encrypting, integrity-
    # protected (CBC+HMAC for IKEv1, GCM for IKEv2) tunnel-mode ESP SA; B sees the mirror.
    assert int(child["bytes-out"]) == int(child["bytes-in"]) == 3 * 84
    # AuthenticatedBytes* count AH only (the MOF's meaning): unchanged for an ESP tunnel.
    both = {f"{kind}Bytes{way}": 3 * 84 for kind in ("Confidential", "Tunnel")
            for way in ("Sent", "Received")}  # fmt: skip
    expected = {"A": {"QM": both}, "B": {"QM": both}}
    assert counted.delta(expected) == expected


def test_lab_down_keeps_only_the_logs_and_what_was_there(tmp_path: Path) -> None:
    """`lab up` then `lab down` through the command line: sockets, PID files, configs, state
    files and the LUN image go; the logs stay, and so does a file of the user's in DIR."""
    from iscsiprf.lab import preflight

    problems = preflight.problems()
    if problems:
        pytest.skip("lab unavailable: " + "; ".join(problems))
    directory = tmp_path / "lab"
    directory.mkdir()
    (directory / "mine.txt").write_text("the user's\n")
    (directory / "A").mkdir()
    (directory / "A" / "notes.txt").write_text("also the user's\n")
    prefix = f"ipc-{os.getpid()}-"
    cmd = [sys.executable, "-m", "iscsiprf", "lab"]
    up = subprocess.run([*cmd, "up", "--dir", str(directory), "--prefix", prefix],
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr
        assert (directory / "A" / "charon.vici").exists()
    finally:
        down = subprocess.run([*cmd, "down", "--dir", str(directory)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert "logs kept:" in down.stdout
    left = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    assert "mine.txt" in left and "A/notes.txt" in left
    assert "A/charon.log" in left and "B/charon.log" in left
    mine = ("mine.txt", "A/notes.txt")
    assert all(name in mine or name.endswith(".log") for name in left), left
