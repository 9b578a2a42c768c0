"""iscsiprf's own collectors on both lab daemons, and exact deltas of their cumulative counters.

Deltas are compared as a whole: `{"A": {"MM": {...}, "QM": {...}}, "B": {...}}` holding every
cumulative counter that moved, so an assertion also proves that nothing else moved.
"""

from __future__ import annotations

import time
from pathlib import Path

from iscsiprf.ipsec.collector import Collector
from iscsiprf.ipsec.config import AdapterConfig, load_config
from iscsiprf.ipsec.mapping import MM_CLASS, QM_CLASS, RULES, Kind
from iscsiprf.lab import daemon
from iscsiprf.lab.scenarios import LabSession
from iscsiprf.lab.topology import Lab, Node
from iscsiprf.mof import load_builtin_schema
from iscsiprf.mof.model import Schema

SHORT = {MM_CLASS: "MM", QM_CLASS: "QM"}
Values = dict[str, dict[str, dict[str, int]]]  # node key -> "MM"/"QM" -> property -> value


def cumulative(values: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {
        SHORT[cls]: {
            p: v
            for p, v in row.items()
            if p in RULES[cls] and RULES[cls][p].kind is Kind.CUMULATIVE
        }
        for cls, row in values.items()
        if cls in SHORT
    }


class CounterWatch:
    """One Collector per lab node, fed by the adapters' TOML that `lab up` prints."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.schema: Schema = load_builtin_schema()
        configs = load_config(lab.adapters_file)  # written by `lab up`
        self.configs: dict[str, AdapterConfig] = {
            n.key: c for n, c in zip(lab.nodes, configs, strict=True)
        }
        for cfg in configs:
            Path(cfg.state).unlink(missing_ok=True)
        self.collectors: dict[str, Collector] = {}
        for node in lab.nodes:
            self.start(node.key)

    # --- collectors ---

    def start(self, key: str) -> Collector:
        self.collectors[key] = Collector(self.configs[key], self.schema).start()
        self.wait_attached(self.lab.node(key))
        return self.collectors[key]

    def stop(self, key: str) -> None:
        self.collectors.pop(key).close()

    def close(self) -> None:
        for key in list(self.collectors):
            self.stop(key)

    def wait_attached(self, node: Node, timeout: float = 15.0) -> None:
        """Until the node's collector follows the daemon run now alive (its PID in the epoch)."""
        collector = self.collectors.get(node.key)
        if collector is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = daemon.running_pid(node)
            epoch = collector.engine.epoch or ""
            if pid is not None and collector.active and epoch.startswith(f"pid:{pid}:"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"collector of node {node.key} did not attach to its daemon")

    # --- values ---

    def values(self) -> Values:
        return {key: cumulative(c.values()) for key, c in self.collectors.items()}

    def gauges(self, key: str) -> dict[str, dict[str, int]]:
        """The sampled-at-query-time values of node `key`'s instances."""
        return {
            SHORT[cls]: {
                p: v for p, v in row.items() if p in RULES[cls] and RULES[cls][p].kind is Kind.GAUGE
            }
            for cls, row in self.collectors[key].values().items()
            if cls in SHORT
        }

    def settled(self, quiet: float = 0.5, timeout: float = 5.0) -> Values:
        """Values once nothing has changed for `quiet` seconds (events of earlier steps counted)."""
        deadline = time.monotonic() + timeout
        last, since = self.values(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.values()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last

    def delta(
        self, before: Values, expected: Values, timeout: float = 8.0, hold: float = 1.3
    ) -> Values:
        """Deltas since `before`: wait until they equal `expected` (or time out), then hold a
        little longer so that late counts (InvalidPackets waits 1 s for its decryption credit)
        would still show up. Returns what was observed last."""
        deadline = time.monotonic() + timeout
        actual = _diff(before, self.values())
        while actual != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            actual = _diff(before, self.values())
        time.sleep(hold)
        return _diff(before, self.values())


def _diff(before: Values, after: Values) -> Values:
    out: Values = {}
    for key, classes in after.items():
        for cls, row in classes.items():
            old = before.get(key, {}).get(cls, {})
            moved = {p: v - old.get(p, 0) for p, v in row.items() if v != old.get(p, 0)}
            if moved:
                out.setdefault(key, {})[cls] = moved
    return out


class Counted:
    """A clean lab plus the collectors' cumulative values taken once the reset was counted."""

    def __init__(self, session: LabSession, watch: CounterWatch) -> None:
        self.session = session
        self.watch = watch
        self.before = watch.settled()

    def rebase(self) -> None:
        """Measure from now on (after a setup step whose counts are not under test)."""
        self.before = self.watch.settled()

    def delta(self, expected: Values) -> Values:
        return self.watch.delta(self.before, expected)
