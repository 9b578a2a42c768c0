"""One adapter's collector: sources → counter engine → published values and the state file.

Threads: the vici link, the error-notify reader, the XFRM reader (when `netns` is set or the
kernel backend is in use), and one engine thread that owns the `CounterEngine`. Sources only put
events on an unbounded queue; queries read the values the engine thread last published (a dict
swap under a lock), so a flood of events never blocks a query.

Health: events processed, source errors, last successful sample (wall time), gaps. A restart of
iscsiprf records a `collector` gap from the last heartbeat in the state file to now; a lost daemon
records a `daemon` gap when it is back. Both are logged (logger `iscsiprf.ipsec`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..mof.model import Schema
from . import netlink_xfrm
from .config import AdapterConfig
from .counters import CounterEngine
from .events import DaemonLost, DaemonSession, Event, SourceError
from .state import Gap, StateWriter
from .strongswan import DaemonLink, EnfyReader

log = logging.getLogger("iscsiprf.ipsec")
SAVE_EVERY = 0.5  # seconds between state writes while something changes
HEARTBEAT_EVERY = 5.0
DRAIN_MAX = 2000  # events applied between two publications, so a flood cannot delay them long


class Collector:
    def __init__(
        self,
        cfg: AdapterConfig,
        schema: Schema,
        *,
        interval: float = 1.0,
        xfrm: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._wall = wall
        self._writer = StateWriter(cfg.state)
        image = self._writer.load()
        self.engine = CounterEngine.restore(schema, image.engine)
        self.gaps: list[Gap] = self._writer.gaps()
        if image.heartbeat is not None:
            self._gap("collector", image.heartbeat, wall(), "iscsiprf was not collecting")
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._values = self.engine.values(clock())
        self._stop = threading.Event()
        self._lost_at: float | None = None
        self.last_success: float | None = None
        self.link = DaemonLink(cfg, self._queue.put, clock, interval)
        self.enfy = EnfyReader(cfg, self._queue.put, clock)
        # XFRM: the daemon's namespace (`netns`), else ours; off only when asked
        self._use_xfrm = True if xfrm is None else xfrm
        self._threads: list[threading.Thread] = []

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> Collector:
        bodies: list[tuple[str, Callable[[], None]]] = [
            ("engine", self._engine_loop), ("vici", self.link.run), ("enfy", self.enfy.run),
        ]  # fmt: skip
        if self._use_xfrm:
            bodies.append(
                (
                    "xfrm",
                    lambda: netlink_xfrm.run_reader(
                        self.cfg.netns, self._queue.put, self._stop.is_set
                    ),
                )
            )
        for name, body in bodies:
            t = threading.Thread(target=body, name=f"{name} {self.cfg.device}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        self._stop.set()
        self.link.stop()
        self.enfy.stop()
        for t in self._threads:
            t.join(timeout=6.0)
        self._save()
        self._writer.close()

    # --- engine thread ---------------------------------------------------------------------------

    def _engine_loop(self) -> None:
        last_save = last_beat = self._clock()
        unsaved = False
        while not self._stop.is_set():
            try:
                event: Event | None = self._queue.get(timeout=0.5)
            except queue.Empty:
                event = None
            if event is not None:
                self._apply(event)
                for _ in range(DRAIN_MAX):  # drain a bounded batch, then publish
                    try:
                        self._apply(self._queue.get_nowait())
                    except queue.Empty:
                        break
            now = self._clock()
            values = self.engine.values(now)
            with self._lock:
                if values != self._values:
                    self._values = values
                    unsaved = True
            # the state file follows the values (samples that change nothing cost no write)
            if unsaved and now - last_save >= SAVE_EVERY or now - last_beat >= HEARTBEAT_EVERY:
                self._save()
                last_save = last_beat = now
                unsaved = False

    def _apply(self, event: Event) -> None:
        self.engine.feed(event)
        if isinstance(event, SourceError):
            log.warning("%s: %s: %s (skipped)", self.cfg.device, event.source, event.reason)
        elif isinstance(event, DaemonLost):
            log.warning("%s: daemon unreachable: %s", self.cfg.device, event.reason)
            self._lost_at = self._wall()
        elif isinstance(event, DaemonSession):
            log.info("%s: connected to daemon run %s", self.cfg.device, event.epoch)
            if self._lost_at is not None:
                self._gap("daemon", self._lost_at, self._wall(), "daemon unreachable")
                self._lost_at = None
        elif type(event).__name__.endswith("Sample"):
            self.last_success = self._wall()

    def _gap(self, kind: str, start: float, end: float, note: str) -> None:
        gap = self._writer.record_gap(kind, start, end, note)
        self.gaps.append(gap)
        log.warning(
            "%s: gap (%s) from %s to %s, %.1f s: push-only events (alerts, log lines, up/down) "
            "of that time are lost; pulled totals are caught up",
            self.cfg.device, kind, _iso(start), _iso(end), gap.length,
        )  # fmt: skip

    def _save(self) -> None:
        self._writer.save(self.engine.snapshot(), self.values(), self.health(), self._wall())

    # --- queries ---------------------------------------------------------------------------------

    def values(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return self._values

    @property
    def active(self) -> bool:
        return self.link.connected

    def health(self) -> dict[str, Any]:
        return {
            "device": self.cfg.device,
            "active": self.active,
            "events_processed": self.engine.events,
            "source_errors": self.engine.source_errors + self.enfy.splitter.errors,
            "last_success": self.last_success,
            "gaps": [_gap_dict(g) for g in self.gaps[-10:]],
        }


def _gap_dict(g: Gap) -> dict[str, Any]:
    return {"kind": g.kind, "start": g.start, "end": g.end, "length": g.length, "note": g.note}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
