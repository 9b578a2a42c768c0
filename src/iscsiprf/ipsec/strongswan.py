"""I/O: one strongSwan daemon over vici (pulls + a separate event listener) and error-notify.

Thin on purpose: sockets in, `events.*` out through `emit`; every decision is in `counters.py`.

* Order on (re)connect: the listener session registers its events first, then `DaemonSession`
  and a first snapshot are emitted, so no event falls between snapshot and stream (overlap is
  harmless: the engine counts each SA id once).
* Daemon run identity (`epoch`): the daemon's PID and start time from `SO_PEERCRED` on the vici
  socket and `/proc/<pid>/stat`; where that is unavailable, `stats` uptime.since (with the one
  second jitter charon's formatting has), and a lost connection always starts a new run.
* Reconnect with exponential backoff from 0.25 s, capped at 5 s.
"""

from __future__ import annotations

import dataclasses
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import vici

from . import vici_decode
from .config import AdapterConfig
from .enfy import RecordSplitter
from .events import DaemonLost, DaemonSession, Event, SourceError

BACKOFF_START = 0.25
BACKOFF_CAP = 5.0
SAS_CPU_SHARE = 0.004  # list-sas decoding may use at most 0.4 % of one core
Emit = Callable[[Event], None]


def _connect(path: str, timeout: float = 2.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def peer_run_id(sock: socket.socket) -> str | None:
    """ "pid:<pid>:<starttime>" of the process at the other end of a Unix socket, if knowable."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid = struct.unpack("3i", raw)[0]
        if pid <= 0:
            return None
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return f"pid:{pid}:{fields[19]}"  # field 22 (starttime), counted after "pid (comm)"
    except (OSError, IndexError, struct.error):
        return None


class DaemonLink:
    """Supervises the vici sessions of one adapter; `run()` is a thread body."""

    def __init__(
        self,
        cfg: AdapterConfig,
        emit: Emit,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
        sas_interval: float = 1.0,
    ) -> None:
        self.cfg = cfg
        self._emit = emit
        self._clock = clock
        self.interval = interval
        # list-sas costs O(SAs) to parse: pulled every second (byte counters and SA gauges
        # live within 2 s) unless that would exceed SAS_CPU_SHARE; events fill in between.
        self.sas_interval = sas_interval
        self._next_sas = 0.0
        self._stop = threading.Event()
        self._since: str | None = None
        self._epoch: str | None = None
        self.connected = False

    def stop(self) -> None:
        self._stop.set()

    def emit(self, e: Event) -> None:
        self._emit(e)

    def run(self) -> None:
        backoff = BACKOFF_START
        while not self._stop.is_set():
            try:
                listener = _connect(self.cfg.vici_path)
            except OSError as exc:
                self._lost(f"vici {self.cfg.vici}: {exc.strerror or exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_CAP)
                continue
            backoff = BACKOFF_START
            try:
                self._session(listener)
            except (OSError, vici.exception.SessionException) as exc:
                self._lost(f"vici: {exc}")
            finally:
                listener.close()
            if not self._stop.is_set():
                self._stop.wait(BACKOFF_START)

    def _lost(self, reason: str) -> None:
        if self.connected:
            self.connected = False
            self._since = None
            self._epoch = None  # a lost connection ends the run we know
            self.emit(_stamp(DaemonLost(reason), self._clock()))

    def _session(self, listener: socket.socket) -> None:
        listener.settimeout(None)
        listen_sess = vici.Session(listener)
        events = listen_sess.listen(list(vici_decode.EVENT_NAMES), timeout=0.5)
        # the first next() registers every event, then yields a (None, None) tick or an event
        events = itertools.chain([next(events)], events)
        pull_sock = _connect(self.cfg.vici_path)
        try:
            pull = vici.Session(pull_sock)
            self._start_run(pull, pull_sock)
            self._next_sas = 0.0  # a first snapshot right away
            dead = threading.Event()
            t = threading.Thread(target=self._listen, args=(events, dead), daemon=True,
                                 name=f"vici-events {self.cfg.device}")  # fmt: skip
            t.start()
            while not self._stop.is_set() and not dead.is_set():
                self._pull(pull)
                self._stop.wait(self.interval)
            if dead.is_set():
                raise OSError("event stream closed")
        finally:
            pull_sock.close()

    def _start_run(self, pull: vici.Session, sock: socket.socket) -> None:
        stats = vici_decode.stats_sample(pull.stats())
        since = stats.since if not isinstance(stats, SourceError) else ""
        run_id = peer_run_id(sock)
        if run_id is not None:
            epoch = run_id
        elif (
            self._epoch is not None
            and self._since
            and vici_decode.same_daemon_run(self._since, since)
        ):
            epoch = self._epoch
        else:
            epoch = f"since:{since}"
        self._since, self._epoch = since, epoch
        try:
            pull.get_counters()
            plugin = True
        except vici.exception.CommandException:
            plugin = False
        self.connected = True
        self.emit(_stamp(DaemonSession(epoch, plugin), self._clock()))

    def _pull(self, pull: vici.Session) -> None:
        """One round of samples; each stamped with the time it was requested."""
        t = self._clock()
        self.emit(_stamp(vici_decode.stats_sample(pull.stats()), t))
        try:
            self.emit(_stamp(vici_decode.counters_sample(pull.get_counters()), t))
        except vici.exception.CommandException:
            pass  # no counters plugin: the alerts stand in
        t = self._clock()
        if t >= self._next_sas:
            cpu = time.thread_time()
            self.emit(_stamp(vici_decode.sas_sample(list(pull.list_sas())), t))
            cost = time.thread_time() - cpu
            # every sas_interval, but never more than SAS_CPU_SHARE of a core (1,000 SAs ≈ 75 ms)
            self._next_sas = t + max(self.sas_interval, cost / SAS_CPU_SHARE)

    def _listen(self, events: Any, dead: threading.Event) -> None:
        try:
            for name, msg in events:
                if self._stop.is_set():
                    break
                if name is None:
                    continue
                now = self._clock()
                for e in vici_decode.decode_event(name, msg):
                    self.emit(_stamp(e, now))
        except Exception as exc:  # socket closed, garbage on the stream: the session is over
            if not self._stop.is_set():  # (closing the socket ourselves is no news)
                self.emit(_stamp(SourceError("vici", f"event stream: {exc}"), self._clock()))
        finally:
            dead.set()


class EnfyReader:
    """error-notify stream → alerts; reconnects forever (the daemon may restart)."""

    def __init__(
        self, cfg: AdapterConfig, emit: Emit, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cfg = cfg
        self._emit = emit
        self._clock = clock
        self._stop = threading.Event()
        self.splitter = RecordSplitter()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        backoff = BACKOFF_START
        while not self._stop.is_set():
            try:
                sock = _connect(self.cfg.enfy_path)
            except OSError:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_CAP)
                continue
            backoff = BACKOFF_START
            sock.settimeout(0.5)
            with sock:
                while not self._stop.is_set():
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    now = self._clock()
                    for item in self.splitter.feed(data):
                        self._emit(_stamp(item, now))
            tail = self.splitter.close()
            if tail is not None:
                self._emit(_stamp(tail, self._clock()))


def _stamp(e: Any, t: float) -> Event:
    stamped: Event = dataclasses.replace(e, t=t)
    return stamped
