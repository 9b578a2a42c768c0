"""Live counters for the CLI and the servers: the two entry points of the ipsec layer.

* `open_collector(config_path)` — for `iscsiprf serve` (and `watch`): starts one `Collector` per
  `[[adapter]]` (the only writer of each state file), registers an `IpsecProvider` per adapter
  on a `wmi.Broker`, and returns a source with `schema`, `enumerate(class)`, `get(class, name)`,
  `health()`, `close()`.
* `open_source(config_path)` — for `iscsiprf query|counters --config F` (and `watch` beside a
  running serve), read-only, read again at every enumeration:
  cumulative counters from each adapter's state file (written by a running `serve` at least every
  0.5 s while anything changes, so they are live within 2 s), gauges from a fresh vici sample
  (stats + list-sas), `Active` = the daemon answered now. It never blocks on the state file
  (WAL readers) and never writes it. `.notes` lists what may be stale — print them on stderr,
  never in `--format json` output.

Errors (`ConfigError`, `StateError`) carry a one-line message for the CLI.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vici

from ..mof import load_builtin_schema
from ..mof.model import Schema
from ..wmi.broker import Broker
from . import vici_decode
from .collector import Collector
from .config import AdapterConfig, load_config
from .counters import CounterEngine
from .events import DaemonSession, SourceError
from .provider import IpsecProvider
from .state import read_state

STALE_AFTER = 5.0  # seconds since the collector's last heartbeat


class LiveSource:
    """Broker-backed instance source whose `Active` follows each adapter's daemon."""

    def __init__(self, schema: Schema, broker: Broker, active: dict[str, Callable[[], bool]],
                 health: Callable[[], dict[str, Any]], closers: list[Callable[[], None]],
                 refresh: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.schema = schema
        self._refresh = refresh  # a read-only source reads its adapters again per enumeration
        self.broker = broker
        self._active = active  # instance name -> is the daemon there
        self._health = health
        self._closers = closers
        self.notes: list[str] = []

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        if self._refresh is not None:
            self._refresh()
        out: list[dict[str, Any]] = []
        cls = self.schema.cls(class_name)
        for c in [cls, *self.schema.subclasses(cls.name)]:
            if c.guid is None or c.name.lower() not in {
                r.lower() for r in self.broker.registered_classes()
            }:
                continue
            for inst in self.broker.enumerate(c.name, deep=False):
                probe = self._active.get(str(inst.get("InstanceName")))
                if probe is not None:
                    inst["Active"] = bool(inst.get("Active", True)) and probe()
                out.append(inst)
        return out

    def get(self, class_name: str, instance_name: str) -> dict[str, Any] | None:
        for inst in self.enumerate(class_name):
            if inst.get("InstanceName") == instance_name:
                return inst
        return None

    def health(self) -> dict[str, Any]:
        return self._health()

    def close(self) -> None:
        for c in self._closers:
            c()
        self.broker.close()


def open_collector(config_path: str | Path | None, schema: Schema | None = None) -> LiveSource:
    schema = schema or load_builtin_schema()
    adapters = load_config(config_path)
    broker = Broker()  # its classes come from the providers' MofResource (the shipped BMF)
    collectors: list[Collector] = []
    try:
        for cfg in adapters:
            col = Collector(cfg, schema).start()
            collectors.append(col)
            broker.register(IpsecProvider(cfg.device, schema, col.values, _probe(col)))
    except Exception:
        for c in collectors:
            c.close()
        raise

    def health() -> dict[str, Any]:
        per = [c.health() for c in collectors]
        return {
            "events_processed": sum(h["events_processed"] for h in per),
            "source_errors": sum(h["source_errors"] for h in per),
            "last_success": max((h["last_success"] or 0 for h in per), default=0) or None,
            "adapters": per,
        }

    active = {c.cfg.instance_name: _probe(c) for c in collectors}
    return LiveSource(broker.schema, broker, active, health, [c.close for c in collectors])


def sample_gauges(cfg: AdapterConfig, timeout: float = 1.0) -> list[Any] | None:
    """A fresh stats + list-sas sample from the daemon, or None when it does not answer."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(cfg.vici_path)
    except OSError:
        return None
    try:
        sess = vici.Session(s)
        t = time.monotonic()
        return [
            vici_decode.stats_sample(sess.stats()),
            vici_decode.sas_sample(list(sess.list_sas())),
            t,
        ]
    except (OSError, vici.exception.SessionException):
        return None
    finally:
        s.close()


def open_source(config_path: str | Path | None, schema: Schema | None = None) -> LiveSource:
    """Read-only source: state files + fresh gauges, read again at every enumeration (so
    `counters --config` and `watch` follow the daemon); see the module docstring."""
    schema = schema or load_builtin_schema()
    broker = Broker()  # its classes come from the providers' MofResource (the shipped BMF)
    readers = [_StateReader(cfg, schema) for cfg in load_config(config_path)]
    notes: list[str] = []
    for r in readers:
        notes += r.read()
        broker.register(IpsecProvider(r.cfg.device, schema, r.current, _const(True)))

    opened = [True]  # the reads above are the first sample's: not read twice

    def refresh() -> None:
        if opened[0]:
            opened[0] = False
            return
        for r in readers:
            r.read()

    src = LiveSource(
        broker.schema,
        broker,
        {r.cfg.instance_name: r.is_up for r in readers},
        lambda: {"adapters": [r.info for r in readers]},
        [],
        refresh=refresh,
    )
    src.notes = notes
    return src


class _StateReader:
    """One adapter read without its collector: cumulative counters from the state file (WAL
    reader: never blocks the writer), gauges and `Active` from a fresh vici sample."""

    def __init__(self, cfg: AdapterConfig, schema: Schema) -> None:
        self.cfg = cfg
        self.schema = schema
        self.values: dict[str, dict[str, Any]] = {}
        self.up = False
        self.info: dict[str, Any] = {"device": cfg.device}

    def current(self) -> dict[str, dict[str, Any]]:
        return self.values

    def is_up(self) -> bool:
        return self.up

    def read(self) -> list[str]:
        """Read the adapter again; returns what may be stale, as notes for the user."""
        cfg, schema = self.cfg, self.schema
        notes: list[str] = []
        now_wall = time.time()
        got = read_state(cfg.state)
        engine = CounterEngine.restore(schema, got[0].engine if got else None)
        cumulative = engine.values()
        if got is None:
            notes.append(f"{cfg.device}: no state file {cfg.state}: cumulative counters start at 0 "
                         "(run `iscsiprf serve --config ...` to collect)")  # fmt: skip
        elif got[0].heartbeat is None or now_wall - got[0].heartbeat > STALE_AFTER:
            age = (
                "never" if got[0].heartbeat is None else f"{now_wall - got[0].heartbeat:.0f} s ago"
            )
            notes.append(
                f"{cfg.device}: cumulative counters may be stale: the collector last wrote {age}"
            )
        fresh = sample_gauges(cfg)
        self.up = fresh is not None
        if fresh is not None:
            stats, sas, t = fresh
            gauge_engine = CounterEngine(schema)  # gauges only: a throwaway engine, same rules
            gauge_engine.feed(DaemonSession("probe", False, t=t))
            for s in (stats, sas):
                if not isinstance(s, SourceError):
                    gauge_engine.feed(s if s.t else _with_t(s, t))
            gauges = gauge_engine.values(t)
            for cname, row in cumulative.items():
                for prop in engine.totals[cname]:
                    gauges[cname][prop] = row[prop]
            self.values = gauges
        else:
            notes.append(
                f"{cfg.device}: IKE daemon at {cfg.vici} does not answer: Active = FALSE, last values shown"
            )
            self.values = got[0].values if got and got[0].values else cumulative
        self.info = {"device": cfg.device, "active": self.up, "state": str(cfg.state),
                     "heartbeat": got[0].heartbeat if got else None,
                     "gaps": [g.__repr__() for g in (got[1] if got else [])][-10:]}  # fmt: skip
        return notes


def _probe(col: Collector) -> Callable[[], bool]:
    return lambda: col.active


def _const(value: Any) -> Callable[[], Any]:
    return lambda: value


def _with_t(e: Any, t: float) -> Any:
    import dataclasses

    return dataclasses.replace(e, t=t)
