"""The demo's iSCSI step: a login that negotiates through the trap, its bytes in the QM counters,
and a login while the target's PSK is wrong; counters read from the demo's `iscsiprf serve`."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from . import acquire_relay, iscsi_step
from .iscsi_policy import PROFILES
from .scenarios import LabSession
from .serve_view import ServeView
from .topology import Lab

MIB = 16
WRONG_PSK = "not-the-initiators-secret"
NEGOTIATION = ("OakleyMainMode", "OakleyQuickMode", "KeyAdditions", "TotalGetSPI")
FAILURES = ("AuthenticationFailures", "NegotiationFailures", "AcquireFailures")


def served(lab: Lab, server: ServeView) -> iscsi_step.Values:
    """Both adapters' cumulative counters as the server answers EnumerateInstances."""
    rows: dict[str, dict[str, dict[str, Any]]] = {n.key: {} for n in lab.nodes}
    for cls in iscsi_step.SHORT:
        for inst in server.enumerate(cls):
            for node in lab.nodes:
                if inst.get("InstanceName") == f"{node.device}_0":
                    rows[node.key][cls] = inst
    return {key: iscsi_step.cumulative(row) for key, row in rows.items()}


def step(session: LabSession, server: ServeView, console: Console) -> None:
    lab = session.lab
    profile = PROFILES["ikev1"]
    console.rule("iSCSI over IPsec (RFC 3723)")
    session.reset()  # no SA: the login's first packet must start the negotiation
    console.print(f"tgtd in {lab.b.netns}: a 64 MiB LUN at {profile.portal}:3260", markup=False)
    console.print(
        f"trap {profile.conn}/{profile.child}: {profile.initiator}[tcp] <-> "
        f"{profile.portal}[tcp/3260]",
        markup=False,
    )

    def read() -> iscsi_step.Values:
        return served(lab, server)

    relay = acquire_relay.log_file(lab)
    seen = len(relay.read_text().splitlines())
    run = iscsi_step.measure(lab, read, profile, MIB, write=False)
    login = run.login
    state = f"ok in {login.login_seconds:.2f} s" if login.login else f"FAILED ({login.error})"
    console.print(f"login from {lab.a.netns} (libiscsi): {state}")
    _relay_lines(relay.read_text().splitlines()[seen:], console)
    if login.login:
        console.print(
            f"  read {login.bytes >> 20} MiB in {login.seconds:.2f} s "
            f"({login.mib_per_s:.1f} MiB/s), logout {'ok' if login.logout else 'FAILED'}, "
            f"tunnel {'still up' if run.tunnel_up else 'down'}"
        )
    for node in lab.nodes:
        mm = run.delta.get(node.key, {}).get("MM", {})
        moved = ", ".join(f"{p} {mm[p]:+d}" for p in NEGOTIATION if p in mm)
        got = iscsi_step.busier_bytes(run.delta, node.key)
        ratio = f" = {got / login.bytes:.3f} x the payload" if login.bytes else ""
        console.print(f"  {node.device} (node {node.key}):", markup=False)
        console.print(f"    MM {moved or 'nothing'}")
        console.print(f"    QM Tunnel+Transport bytes +{got}{ratio}")

    console.print("login while the target's PSK is wrong:")
    session.reset()  # the tunnel is up; a new login must negotiate again
    seen = len(relay.read_text().splitlines())
    with session.changed(lab.b.key, v1_psk=WRONG_PSK):
        # Main mode gives up after 4.4 s; the relay then holds off, so 9 s see one attempt.
        bad = iscsi_step.measure(lab, read, profile, 1, write=False, timeout=9)
    console.print(f"  login: {'ok' if bad.login.login else 'FAILED'} ({bad.login.error or '-'})")
    _relay_lines(relay.read_text().splitlines()[seen:], console)
    for node in lab.nodes:
        mm = bad.delta.get(node.key, {}).get("MM", {})
        moved = ", ".join(f"{p} {mm[p]:+d}" for p in FAILURES if p in mm)
        console.print(f"  {node.device} (node {node.key}):", markup=False)
        console.print(f"    MM {moved or 'nothing'}")


def _relay_lines(lines: list[str], console: Console) -> None:
    """The relay's log lines without their time stamps."""
    for line in lines:
        console.print(f"  relay: {line.split(' ', 1)[-1]}", markup=False)
