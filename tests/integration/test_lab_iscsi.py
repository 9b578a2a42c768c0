"""iSCSI over IPsec as RFC 3723 deploys it: tgtd on node B, libiscsi on node A, trap children.

Every login starts from a lab without SAs (the `counted` fixture), so the login itself negotiates
through the trap; the deltas are those of iscsiprf's collectors on both daemons.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from counter_watch import Counted

from iscsiprf.lab import acquire_relay, iscsi_firewall, iscsi_step
from iscsiprf.lab.iscsi_initiator import LoginResult, run_login
from iscsiprf.lab.iscsi_policy import PROFILES, Profile
from iscsiprf.lab.netns import run
from iscsiprf.lab.topology import Lab, Node

pytestmark = pytest.mark.lab

CAPTURE = Path(__file__).with_name("veth_capture.py")
MIB = 4
PAYLOAD = MIB << 20

# What one negotiation adds, per IKE version (both nodes alike).
NEGOTIATED = {
    1: {"MM": {"OakleyMainMode": 1, "OakleyQuickMode": 1, "KeyAdditions": 1, "KeyUpdates": 1,
               "TotalGetSPI": 1}, "QM": {"KeyAdditions": 1}},
    2: {"MM": {"KeyAdditions": 1, "KeyUpdates": 1, "TotalGetSPI": 1}, "QM": {"KeyAdditions": 1}},
}  # fmt: skip
BYTE_COUNTERS = {
    f"{kind}Bytes{way}"
    for kind in ("Confidential", "Authenticated", "Transport", "Tunnel")
    for way in ("Sent", "Received")
}


def _split(delta: iscsi_step.Values) -> tuple[iscsi_step.Values, iscsi_step.Values]:
    """(negotiation counters, byte counters) of a delta."""
    counts: iscsi_step.Values = {}
    sizes: iscsi_step.Values = {}
    for key, classes in delta.items():
        for cls, row in classes.items():
            for prop, value in row.items():
                into = sizes if prop in BYTE_COUNTERS else counts
                into.setdefault(key, {}).setdefault(cls, {})[prop] = value
    return counts, sizes


def _login(counted: Counted, profile: Profile, write: bool = False) -> tuple[LoginResult, Any]:
    before = counted.watch.settled()
    result = run_login(counted.session.lab.a, profile, MIB, write=write, timeout=60)
    after = iscsi_step.settle(counted.watch.values)
    return result, iscsi_step.diff(before, after)


@pytest.mark.parametrize(
    ("profile", "write"), [(PROFILES["ikev1"], False), (PROFILES["ikev2"], True)],
    ids=["ikev1-read", "ikev2-write"],
)  # fmt: skip
def test_login_negotiates_once_and_the_io_bytes_reach_the_qm_counters(
    counted: Counted, profile: Profile, write: bool
) -> None:
    lab = counted.session.lab
    result, delta = _login(counted, profile, write)
    assert result.ok, result
    assert result.lun_bytes == 64 << 20 and result.bytes == PAYLOAD
    counts, sizes = _split(delta)
    # The login's SYN hit the trap: exactly one main mode + quick mode (IKEv1) or one
    # IKE_SA_INIT + IKE_AUTH (IKEv2) on each side, nothing else.
    expected = NEGOTIATED[profile.version]
    assert counts == {"A": expected, "B": expected}
    # The payload crosses in one direction: from B to A for a read, A to B for a write.
    sender, receiver = ("A", "B") if write else ("B", "A")
    for key, way in ((sender, "Sent"), (receiver, "Received")):
        qm = sizes[key]["QM"]
        busy = qm.get(f"TunnelBytes{way}", 0) + qm.get(f"TransportBytes{way}", 0)
        assert busy == iscsi_step.busier_bytes(delta, key)
        # Inner IP packets: payload + TCP/IP headers (52 of every <= 1400 bytes) + iSCSI
        # PDU headers (48 bytes per <= 256 KiB) + TCP retransmissions: a few per cent.
        assert PAYLOAD <= busy <= 1.5 * PAYLOAD, (key, way, busy)
    # The tunnel outlives the logout.
    assert iscsi_step.child_installed(lab, profile)


@contextmanager
def _capture(node: Node, seconds: float) -> Iterator[dict[str, int]]:
    """Count the frames on the node's veth while the block runs (at most `seconds`)."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", node.netns, sys.executable, str(CAPTURE), node.veth,
         str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    counts: dict[str, int] = {}
    try:
        yield counts
    finally:
        out, _ = proc.communicate(timeout=seconds + 10)
        counts.update(json.loads(out.strip().splitlines()[-1]))


def test_capture_on_the_veth_sees_esp_and_no_cleartext_iscsi(counted: Counted) -> None:
    lab = counted.session.lab
    with _capture(lab.b, seconds=8.0) as wire:
        result = run_login(lab.a, PROFILES["ikev1"], MIB, timeout=30)
    assert result.ok, result
    assert wire["drops"] == 0, wire  # every frame was seen
    assert wire["tcp_3260"] == 0, wire
    # kernel-libipsec forces UDP encapsulation; with kernel ESP and encap = no it would be
    # IP protocol 50. At least one ESP packet per 1400 payload bytes crossed the veth.
    assert wire["esp"] + wire["esp_in_udp"] >= PAYLOAD // 1400, wire
    assert wire["ike"] > 0  # main mode and quick mode, started by the login


def test_without_the_tunnel_iscsi_stops_instead_of_going_cleartext(counted: Counted) -> None:
    lab = counted.session.lab
    profile = PROFILES["ikev1"]
    with counted.session.control("A") as control:
        control.uninstall_trap(profile.child)  # nothing routes iSCSI into the tunnel any more
    # A route that would carry iSCSI in the clear over the veth, both ways: only the
    # cleartext-iSCSI drop rules stand in the way.
    routes = [
        (lab.a, f"{profile.portal}/32", lab.b.address),
        (lab.b, f"{profile.initiator}/32", lab.a.address),
    ]
    for node, dst, via in routes:
        run(["ip", "-n", node.netns, "route", "add", dst, "via", via])
    dropped_before = iscsi_firewall.dropped(lab.a)
    try:
        with _capture(lab.b, seconds=6.0) as wire:
            result = run_login(lab.a, profile, 1, timeout=4)
    finally:
        for node, dst, via in routes:
            run(["ip", "-n", node.netns, "route", "del", dst, "via", via])
        with counted.session.control("A") as control:
            control.install_trap(profile.conn, profile.child)
    assert not result.login, result
    assert wire["tcp_3260"] == 0 and wire["drops"] == 0, wire
    assert wire["esp"] + wire["esp_in_udp"] + wire["ike"] == 0, wire  # no negotiation either
    assert iscsi_firewall.dropped(lab.a) > dropped_before  # the SYNs, dropped by policy
    assert counted.session.lab.a.netns  # lab still whole
    # With the trap back, the same login negotiates and works again.
    again = run_login(lab.a, profile, 1, timeout=30)
    assert again.ok, again


def test_login_with_a_wrong_psk_fails_and_counts_authentication_failures(
    counted: Counted,
) -> None:
    lab: Lab = counted.session.lab
    relay_log = acquire_relay.log_file(lab)
    lines_before = len(relay_log.read_text().splitlines())
    with counted.session.changed("B", v1_psk="not-the-initiators-secret"):
        started = time.monotonic()
        # IKEv1 main mode with a wrong PSK gives up after the retransmits (4.4 s); the relay
        # then holds off for 4 s, so the login's SYN retransmits start nothing new within 9 s.
        result = run_login(lab.a, PROFILES["ikev1"], 1, timeout=9)
        took = time.monotonic() - started
    assert not result.login and took < 15, (result, took)
    new = relay_log.read_text().splitlines()[lines_before:]
    assert len([line for line in new if "acquire reqid {41}" in line]) == 1, new
    assert "failed" in new[-1]
    expected = {
        "A": {"MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1,
                     "AcquireFailures": 1}},
        "B": {"MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1}},
    }  # fmt: skip
    assert counted.delta(expected) == expected
