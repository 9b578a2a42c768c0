"""The lab's scenarios: real negotiations, failures and packets, each with what the daemons said.

Node A always initiates and node B answers; a scenario changes what it needs (B's PSK, B's
proposals, the link, a daemon) and puts it back afterwards. Each returns an `Outcome`: the initiate
result and, per node, the counters-plugin values before/after plus the VICI events and
error-notify alerts recorded while it ran.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import daemon, lifecycle, netns, packets
from .config import NodeSettings, Timers
from .control import Control, InitiateResult
from .observe import NodeRecorder, Record
from .topology import (
    UNREACH_CHILD,
    UNREACH_CONN,
    V1_CHILD,
    V1_CONN,
    V2_CHILD,
    V2_CONN,
    Lab,
    Node,
)

SETTLE = 0.5  # seconds to let late events/alerts of both nodes arrive
QUIET = 0.2  # seconds after a reset for packets still in flight
CONN = {1: (V1_CONN, V1_CHILD), 2: (V2_CONN, V2_CHILD)}


@dataclass
class Outcome:
    """What one scenario produced on both nodes."""

    name: str
    initiate: InitiateResult | None
    counters_before: dict[str, dict[str, dict[str, int]]]
    counters_after: dict[str, dict[str, dict[str, int]]]
    records: dict[str, list[Record]]

    def counter_delta(self, node: str, name: str, conn: str = "") -> int:
        before = self.counters_before.get(node, {}).get(conn, {}).get(name, 0)
        after = self.counters_after.get(node, {}).get(conn, {}).get(name, 0)
        return after - before

    def changed_counters(self, node: str, conn: str = "") -> dict[str, int]:
        """Every counters-plugin value that moved, with its delta (global block by default)."""
        after = self.counters_after.get(node, {}).get(conn, {})
        before = self.counters_before.get(node, {}).get(conn, {})
        return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}

    def alerts(self, node: str) -> list[int]:
        """error-notify alert numbers in arrival order."""
        return [int(r.kind) for r in self.records[node] if r.source == "enfy"]

    def events(self, node: str, kind: str) -> list[dict[str, Any]]:
        return [r.data for r in self.records[node] if r.source == "vici" and r.kind == kind]

    def logs(self, node: str) -> list[str]:
        return [str(d.get("msg", "")) for d in self.events(node, "log")]

    def updowns(self, node: str, kind: str = "ike-updown") -> list[tuple[bool, str, str]]:
        """(up?, connection name, state) of each ike-/child-updown event."""
        out = []
        for data in self.events(node, kind):
            up = data.get("up") == "yes"
            for name, sa in data.items():
                if isinstance(sa, dict):
                    out.append((up, name, str(sa.get("state", ""))))
        return out


class LabSession:
    """A running lab with recorders on both nodes and the settings each node runs with."""

    def __init__(self, lab: Lab, settings: dict[str, NodeSettings] | None = None) -> None:
        self.lab = lab
        self.defaults = {n.key: NodeSettings() for n in lab.nodes}
        self.settings = dict(settings or self.defaults)
        self.recorders = {n.key: NodeRecorder(n) for n in lab.nodes}
        for recorder in self.recorders.values():
            recorder.wait_connected()
        # Called with the node after each daemon (re)start, e.g. to wait for a collector to attach.
        self.after_start: list[Callable[[Node], None]] = []

    def close(self) -> None:
        for recorder in self.recorders.values():
            recorder.close()

    def control(self, key: str = "A") -> Control:
        return Control.of(self.lab.node(key))

    def reset(self) -> None:
        """Delete every SA on both nodes, return to the default settings, let the wire go quiet."""
        for node in self.lab.nodes:
            netns.set_link(node, up=True)  # in case a scenario was interrupted with it down
            if daemon.running_pid(node) is None:
                self.start(node.key)
        for node in self.lab.nodes:
            with Control.of(node) as control:
                control.terminate_all()
        for node in self.lab.nodes:
            if self.settings[node.key] != self.defaults[node.key]:
                self.configure(node.key, self.defaults[node.key])
        self._wait_no_sas()
        time.sleep(QUIET)

    def _wait_no_sas(self, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = 0
            for node in self.lab.nodes:
                with Control.of(node) as control:
                    left += len(control.list_sas())
            if left == 0:
                return
            time.sleep(0.05)

    def configure(self, key: str, settings: NodeSettings) -> None:
        """Apply settings to a node: reload, or restart the daemon when daemon-level ones differ."""
        node = self.lab.node(key)
        old = self.settings[key]
        self.settings[key] = settings
        if _daemon_level(old) != _daemon_level(settings):
            self.restart(key)
        else:
            lifecycle.load(self.lab, node, settings)

    def restart(self, key: str) -> None:
        node = self.lab.node(key)
        seen = self.recorders[key].connections()
        daemon.stop([node])
        self.start(key, seen)

    def start(self, key: str, seen: tuple[int, int] | None = None) -> None:
        node = self.lab.node(key)
        seen = seen or self.recorders[key].connections()
        lifecycle.start_node(self.lab, node, self.settings[key])
        self.recorders[key].wait_connected(seen)
        for hook in self.after_start:
            hook(node)

    def counters(self) -> dict[str, dict[str, dict[str, int]]]:
        out = {}
        for node in self.lab.nodes:
            try:
                with Control.of(node) as control:
                    out[node.key] = control.counters()
            except OSError:
                out[node.key] = {}  # daemon down
        return out

    def observe(
        self,
        name: str,
        action: Callable[[], InitiateResult | None],
        settle: float = SETTLE,
    ) -> Outcome:
        """Run `action` and collect what both nodes reported meanwhile."""
        marks = {k: r.mark() for k, r in self.recorders.items()}
        before = self.counters()
        result = action()
        time.sleep(settle)
        after = self.counters()
        records = {k: r.since(marks[k]) for k, r in self.recorders.items()}
        return Outcome(name, result, before, after, records)

    @contextmanager
    def changed(self, key: str, **changes: Any) -> Iterator[None]:
        """Run a block with some of node `key`'s settings changed, then put them back."""
        old = self.settings[key]
        self.configure(key, dataclasses.replace(old, **changes))
        try:
            yield
        finally:
            with Control.of(self.lab.node(key)) as control:
                control.terminate_all()
            self.configure(key, old)

    def initiate(self, version: int, timeout_ms: int = 15000) -> InitiateResult:
        """A initiates; on success, wait until B has installed its side of the CHILD_SA too
        (IKEv1 quick mode ends with A's message, so A is ready before B)."""
        conn, child = CONN[version]
        responder = self.recorders["B"]
        mark = responder.mark()
        with self.control("A") as control:
            result = control.initiate(conn, child, timeout_ms)
        if result.ok:
            responder.wait_for(
                lambda r: r.kind == "child-updown" and conn in r.data, mark, timeout=5.0
            )
        return result


def _daemon_level(settings: NodeSettings) -> tuple[object, ...]:
    return (
        settings.backend,
        settings.retransmit_tries,
        settings.retransmit_timeout,
        settings.retransmit_base,
    )


# --- scenarios ---


def establish(session: LabSession, version: int) -> Outcome:
    """IKEv1 main mode + quick mode, or IKEv2 IKE_SA_INIT + IKE_AUTH, with one CHILD_SA."""
    return session.observe(f"ikev{version}-success", lambda: session.initiate(version))


def wrong_psk(session: LabSession, version: int) -> Outcome:
    """B holds another pre-shared key than A for that IKE version."""
    field_name = "v1_psk" if version == 1 else "v2_psk"
    with session.changed("B", **{field_name: "a-different-secret-9876543210"}):
        return session.observe(f"ikev{version}-wrong-psk", lambda: session.initiate(version))


def proposal_mismatch(session: LabSession, version: int) -> Outcome:
    """B accepts no IKE proposal A offers."""
    field_name = "v1_ike_proposals" if version == 1 else "v2_ike_proposals"
    with session.changed("B", **{field_name: "aes256-sha512-modp4096"}):
        return session.observe(
            f"ikev{version}-proposal-mismatch", lambda: session.initiate(version)
        )


def child_proposal_mismatch(session: LabSession, version: int) -> Outcome:
    """IKE agrees, the CHILD_SA (quick mode) proposals do not."""
    changes = (
        {"v1_esp_proposals": "aes256-sha512-modp4096"}
        if version == 1
        else {"v2_esp_proposals": "chacha20poly1305"}
    )
    with session.changed("B", **changes):
        return session.observe(
            f"ikev{version}-child-proposal-mismatch", lambda: session.initiate(version)
        )


def no_responder(session: LabSession, version: int) -> Outcome:
    """B's link is down: A retransmits and gives up (about 4.4 s with the lab's settings)."""
    netns.set_link(session.lab.b, up=False)
    try:
        return session.observe(
            f"ikev{version}-no-responder", lambda: session.initiate(version, timeout_ms=30000)
        )
    finally:
        netns.set_link(session.lab.b, up=True)


def network_unreachable(session: LabSession) -> Outcome:
    """A initiates towards a peer that has no route in A's namespace: every send fails."""

    def action() -> InitiateResult:
        with session.control("A") as control:
            return control.initiate(UNREACH_CONN, UNREACH_CHILD, 30000)

    return session.observe("network-unreachable", action)


def send_packets(session: LabSession, name: str, port: int, payloads: list[bytes]) -> Outcome:
    """Crafted datagrams from A's namespace to B (B's reaction is what counts)."""

    def action() -> None:
        packets.send(session.lab, session.lab.a, port, payloads)

    return session.observe(name, action)


def malformed_header(session: LabSession) -> Outcome:
    return send_packets(session, "malformed-header", packets.IKE_PORT, [packets.garbage()])


def malformed_body(session: LabSession) -> Outcome:
    return send_packets(
        session, "malformed-body", packets.IKE_PORT, [packets.v2_sa_init_garbage_sa()]
    )


def unknown_cookie_v1(session: LabSession) -> Outcome:
    return send_packets(
        session, "ikev1-unknown-cookie", packets.IKE_PORT, [packets.v1_unknown_cookie()]
    )


def unknown_spi_v2(session: LabSession) -> Outcome:
    return send_packets(session, "ikev2-unknown-spi", packets.IKE_PORT, [packets.v2_unknown_spi()])


def child_rekey(session: LabSession, version: int) -> Outcome:
    """Rekey the established CHILD_SA once (quick mode or CREATE_CHILD_SA), started by A."""
    conn, child = CONN[version]
    a = session.recorders["A"]

    def action() -> None:
        mark = a.mark()
        with session.control("A") as control:
            if control.rekey_child(child) != 1:
                raise RuntimeError(f"no CHILD_SA {child} to rekey")
        if a.wait_for(lambda r: r.kind == "child-rekey", mark, timeout=10) is None:
            raise RuntimeError(f"CHILD_SA {child} was not rekeyed within 10 s")

    return session.observe(f"ikev{version}-child-rekey", action)


def timed_child_rekey(session: LabSession, version: int, rekey_time: int = 2) -> Outcome:
    """A rekeys its CHILD_SA by its own timer (`rekey_time` seconds, no jitter, lifetime far
    above); B has no rekey timer. Observed until the first rekey, then everything is deleted."""
    conn, child = CONN[version]
    timers = Timers(child_rekey_time=f"{rekey_time}s", child_life_time="60s", child_rand_time="0s")
    a = session.recorders["A"]

    def action() -> None:
        mark = a.mark()
        if not session.initiate(version).ok:
            raise RuntimeError(f"{conn} could not be established")
        record = a.wait_for(lambda r: r.kind == "child-rekey", mark, timeout=rekey_time + 5)
        if record is None:
            raise RuntimeError(f"CHILD_SA {child} was not rekeyed by its timer")
        with session.control("A") as control:
            control.terminate_all()

    with session.changed("A", timers=timers):
        return session.observe(f"ikev{version}-timed-child-rekey", action)


def kill_and_restart(session: LabSession, key: str) -> Outcome:
    """SIGKILL a node's charon (a crash), then start and load it again."""

    def action() -> None:
        node = session.lab.node(key)
        seen = session.recorders[key].connections()
        daemon.kill(node)
        session.start(key, seen)

    return session.observe(f"kill-restart-{key}", action)


def observe_kill(session: LabSession, key: str) -> Outcome:
    """SIGKILL a node's charon and leave it down (the caller starts it again)."""

    def action() -> None:
        daemon.kill(session.lab.node(key))

    return session.observe(f"kill-{key}", action)


def kernel_backend_install_failure(session: LabSession, version: int) -> Outcome:
    """Both daemons on the kernel XFRM backend; where the kernel lacks ESP, installing fails."""
    with session.changed("A", backend="netlink"), session.changed("B", backend="netlink"):
        return session.observe(
            f"ikev{version}-kernel-install-failure", lambda: session.initiate(version)
        )


def kernel_has_esp() -> bool | None:
    """Whether this kernel was built with ESP (None when /proc/config.gz is not there)."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            config = f.read()
    except OSError:
        return None
    return "CONFIG_INET_ESP=y" in config or "CONFIG_INET_ESP=m" in config
