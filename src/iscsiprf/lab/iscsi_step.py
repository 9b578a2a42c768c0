"""`iscsiprf lab iscsi` and the demo's iSCSI step: a login through the RFC 3723 policy, N MiB in
one direction, logout, and the counter deltas of both adapters.

Counter deltas come from a private `Collector` per adapter whose state file lives in a temporary
directory: it never touches (or locks) the adapter's own state file, so the command works the
same whether or not `iscsiprf serve --config DIR/adapters.toml` is collecting at the time, and
its deltas are exact (events are counted as they happen, not read back from a file written every
0.5 s). The demo, which runs a real server, reads its deltas over CIM-XML instead (`demo_step`).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iscsiprf.ipsec.collector import Collector
from iscsiprf.ipsec.config import load_config
from iscsiprf.ipsec.mapping import MM_CLASS, QM_CLASS, RULES, Kind
from iscsiprf.mof import load_builtin_schema

from . import daemon
from .control import Control
from .iscsi_initiator import LoginResult, run_login
from .iscsi_policy import TARGET_IQN, Profile
from .topology import Lab

SHORT = {MM_CLASS: "MM", QM_CLASS: "QM"}
# node key -> "MM"/"QM" -> property -> value
Values = dict[str, dict[str, dict[str, int]]]
BYTE_PAIRS = {
    "sent": ("TunnelBytesSent", "TransportBytesSent"),
    "received": ("TunnelBytesReceived", "TransportBytesReceived"),
}
# SA byte counts are sampled (every second); wait this long without change before reading.
QUIET = 1.6


def cumulative(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The cumulative counters of one adapter's MM and QM values (gauges left out)."""
    return {
        SHORT[cls]: {
            p: int(v or 0)
            for p, v in row.items()
            if p in RULES[cls] and RULES[cls][p].kind is Kind.CUMULATIVE
        }
        for cls, row in values.items()
        if cls in SHORT
    }


def diff(before: Values, after: Values) -> Values:
    """Every counter that moved, as after - before."""
    out: Values = {}
    for key, classes in after.items():
        for cls, row in classes.items():
            old = before.get(key, {}).get(cls, {})
            moved = {p: v - old.get(p, 0) for p, v in row.items() if v != old.get(p, 0)}
            if moved:
                out.setdefault(key, {})[cls] = moved
    return out


def busier_bytes(delta: Values, key: str) -> int:
    """Tunnel + Transport bytes of node `key`'s busier direction."""
    qm = delta.get(key, {}).get("QM", {})
    return max(sum(qm.get(p, 0) for p in props) for props in BYTE_PAIRS.values())


def settle(read: Callable[[], Values], quiet: float = QUIET, timeout: float = 10.0) -> Values:
    """Values once nothing has changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


@contextmanager
def private_collectors(lab: Lab) -> Iterator[Callable[[], Values]]:
    """One Collector per adapter of `lab.adapters_file`, on throwaway state files; yields a
    reader of their cumulative values."""
    schema = load_builtin_schema()
    configs = load_config(lab.adapters_file)
    with tempfile.TemporaryDirectory(prefix="iscsiprf-lab-iscsi-") as tmp:
        collectors: dict[str, Collector] = {}
        try:
            for node, cfg in zip(lab.nodes, configs, strict=True):
                private = dataclasses.replace(cfg, state=Path(tmp) / f"{node.key}.sqlite")
                collectors[node.key] = Collector(private, schema).start()
            for node in lab.nodes:
                _wait_attached(collectors[node.key], daemon.running_pid(node))
            yield lambda: {k: cumulative(c.values()) for k, c in collectors.items()}
        finally:
            for collector in collectors.values():
                collector.close()


def _wait_attached(collector: Collector, pid: int | None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        epoch = collector.engine.epoch or ""
        if pid is not None and collector.active and epoch.startswith(f"pid:{pid}:"):
            return
        time.sleep(0.05)
    raise TimeoutError(f"collector of {collector.cfg.device} did not attach to its daemon")


@dataclasses.dataclass
class IscsiRun:
    """One login + I/O + logout and what the counters did meanwhile."""

    profile: Profile
    mib: int
    write: bool
    login: LoginResult
    delta: Values
    tunnel_up: bool = False


def measure(
    lab: Lab, read: Callable[[], Values], profile: Profile, mib: int, write: bool,
    timeout: float = 60.0,
) -> IscsiRun:  # fmt: skip
    """Log in, move `mib` MiB, log out; the counters' deltas once they have settled."""
    before = settle(read)
    login = run_login(lab.a, profile, mib, write=write, timeout=timeout)
    after = settle(read)
    return IscsiRun(profile, mib, write, login, diff(before, after), child_installed(lab, profile))


def child_installed(lab: Lab, profile: Profile) -> bool:
    """Is the profile's CHILD_SA installed on node A (the tunnel outlives the logout)?"""
    with Control.of(lab.a) as control:
        return any(
            child.get("name") == profile.child and child.get("state") == "INSTALLED"
            for sa in control.list_sas()
            for child in sa.get("child-sas", {}).values()
        )


def run(lab: Lab, profile: Profile, mib: int, write: bool, timeout: float = 60.0) -> IscsiRun:
    """`iscsiprf lab iscsi`: measure with private collectors."""
    with private_collectors(lab) as read:
        return measure(lab, read, profile, mib, write, timeout)


# --- text ---


def describe(run: IscsiRun, lab: Lab) -> list[str]:
    """The report `iscsiprf lab iscsi` prints."""
    p, login = run.profile, run.login
    mode = "main mode + quick mode" if p.version == 1 else "IKE_SA_INIT + IKE_AUTH"
    lines = [
        f"profile {p.name}: IKEv{p.version} {mode}, child {p.conn}/{p.child} (reqid {p.reqid}),"
        f" {p.initiator} -> {p.portal}:3260",
    ]
    if not login.login:
        lines.append(f"login: FAILED: {login.error}")
    else:
        lines.append(f"login: ok in {login.login_seconds:.2f} s ({TARGET_IQN}, LUN 1)")
        if login.lun_bytes:
            lines.append(
                f"LUN size: {login.lun_bytes >> 20} MiB "
                f"({login.lun_bytes // max(login.block_size, 1)} blocks of {login.block_size} bytes)"
            )
        way = "wrote" if run.write else "read"
        lines.append(
            f"{way} {login.bytes >> 20} MiB in {login.seconds:.2f} s: {login.mib_per_s:.1f} MiB/s"
        )
        if login.error:
            lines.append(f"I/O error: {login.error}")
        lines.append(f"logout: {'ok' if login.logout else 'FAILED'}")
    state = "INSTALLED (stays up after logout)" if run.tunnel_up else "not installed"
    lines.append(f"tunnel {p.conn}/{p.child}: {state}")
    lines.append("counter deltas (cumulative counters that moved):")
    for node in lab.nodes:
        role = "initiator" if node.key == lab.a.key else "target"
        lines.append(f"  {node.device} (node {node.key}, {role}):")
        classes = run.delta.get(node.key, {})
        if not classes:
            lines.append("    nothing moved")
        for cls in ("MM", "QM"):
            row = classes.get(cls, {})
            if row:
                moved = ", ".join(f"{k} {v:+d}" for k, v in sorted(row.items()))
                lines.append(f"    {cls}: {moved}")
    if login.bytes:
        for node in lab.nodes:
            got = busier_bytes(run.delta, node.key)
            lines.append(
                f"node {node.key} QM Tunnel+Transport bytes, busier direction: {got} for "
                f"{login.bytes} payload bytes (x{got / login.bytes:.3f})"
            )
    return lines
