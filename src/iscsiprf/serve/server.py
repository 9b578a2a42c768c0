"""`iscsiprf serve`: the collector and both HTTP endpoints in one process, until a signal."""

from __future__ import annotations

import signal
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

from .apps import cimxml_app, metrics_app
from .cimxml_ops import DEFAULT_NAMESPACE, CimOperations
from .http import App, Authenticator, HttpServer, ServerConfig
from .logs import log_event
from .metrics import MetricsView
from .sdnotify import Notifier
from .signal_guard import SignalGuard
from .source import InstanceSource

DEFAULT_CIMXML = ("127.0.0.1", 5988)
DEFAULT_METRICS = ("127.0.0.1", 9745)


@dataclass(slots=True)
class ServeOptions:
    cimxml: tuple[str, int] = DEFAULT_CIMXML
    metrics: tuple[str, int] = DEFAULT_METRICS
    auth: Authenticator | None = None
    ssl_context: ssl.SSLContext | None = None
    namespace: str = DEFAULT_NAMESPACE
    max_body: int = 1 << 20
    read_timeout: float = 10.0
    request_deadline: float = 30.0
    # READY=1 waits this long for the source's first sample; a live collector whose daemon is
    # down takes none, and the exporter must still come up to say so (Active = FALSE).
    first_sample_timeout: float = 5.0


class ListenError(Exception):
    """An endpoint could not bind its address; the message names it."""


def _open_server(name: str, config: ServerConfig, app: App) -> HttpServer:
    try:
        return HttpServer(name, config, app)
    except OSError as e:
        host = f"[{config.host}]" if ":" in config.host else config.host
        raise ListenError(f"cannot listen on {host}:{config.port}: {e.strerror or e}") from None


def _config(addr: tuple[str, int], opts: ServeOptions) -> ServerConfig:
    return ServerConfig(
        host=addr[0],
        port=addr[1],
        max_body=opts.max_body,
        read_timeout=opts.read_timeout,
        request_deadline=opts.request_deadline,
        auth=opts.auth,
        ssl_context=opts.ssl_context,
    )


class Service:
    """The running servers over one source; `stop()` shuts them down and closes the source."""

    def __init__(self, source: InstanceSource, opts: ServeOptions) -> None:
        self.source = source
        ops = CimOperations(source, namespace=opts.namespace, host=opts.cimxml[0])
        self.metrics_view = MetricsView(source)
        self.servers = [_open_server("cimxml", _config(opts.cimxml, opts), cimxml_app(ops))]
        try:
            self.servers.append(
                _open_server("metrics", _config(opts.metrics, opts), metrics_app(self.metrics_view))
            )
        except ListenError:
            self.servers[0].stop()  # bound but never started: closes at once
            raise
        self._stopped = False

    def start(self) -> None:
        for s in self.servers:
            s.start()
            host, port = s.address
            log_event(
                "listening",
                endpoint=s.name,
                url=f"{s.scheme}://{host}:{port}",
                host=host,
                port=port,
                auth=s.config.auth is not None,
            )

    def alive(self) -> bool:
        """Every endpoint's accept loop still runs (what a watchdog ping vouches for)."""
        return all(s.running for s in self.servers)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for s in self.servers:
            s.stop()
        self.source.close()  # the collector flushes its state here
        log_event("stopped")


def run(source: InstanceSource, opts: ServeOptions) -> None:
    """Serve until SIGTERM or SIGINT, then shut down cleanly.

    The handler only sets an event the main thread waits on (in slices, so the interpreter runs
    the handler promptly); connection threads are daemons and every join is bounded. A request
    that holds the interpreter lock inside C code can still keep the main thread from running
    the handler at all: the `SignalGuard` process ends the server then (SIGKILL after a grace
    period), so SIGTERM always stops it within seconds.
    """
    done = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    guard = SignalGuard.start()
    notifier = Notifier()
    try:
        service = Service(source, opts)
        try:
            service.start()  # both listeners are bound (in Service()) and accepting
            sampled = _wait_first_sample(source, opts.first_sample_timeout, done)
            name = str(source.health().get("source", type(source).__name__))
            notifier.ready("serving" if sampled else "serving; no sample from the source yet")
            log_event("ready", source=name, first_sample=sampled, systemd=notifier.enabled)
            # WatchdogSec=: ping at half the interval, and only while both endpoints still run.
            tick = min(1.0, notifier.watchdog_seconds / 2) if notifier.watchdog_seconds else 1.0
            while not done.wait(tick):
                if notifier.watchdog_seconds and service.alive():
                    notifier.watchdog()
            notifier.stopping()
            log_event("shutdown", signal=received[0] if received else "")
        finally:
            service.stop()
    finally:
        guard.stop()
        for s, h in previous.items():
            signal.signal(s, h)


# A live collector pulls stats, counters and list-sas once a second after its first snapshot;
# a sample applied a pull period after the daemon connection was seen is a complete one.
PULL_PERIOD = 1.0


def _wait_first_sample(source: InstanceSource, timeout: float, done: threading.Event) -> bool:
    """Until the source has taken a complete first sample, at most `timeout` s.

    A snapshot (no `adapters` in its health) has one when `last_success` is set. A live
    collector's first `last_success` may come from the XFRM statistics alone, before the daemon
    is even connected, so each adapter must be connected and have sampled at least one pull
    period after its connection was seen (by then its first list-sas snapshot was applied)."""
    deadline = time.monotonic() + timeout
    connected_at: dict[str, float] = {}
    while True:
        try:
            if _sampled(source.health(), connected_at):
                return True
        except Exception:  # a source that cannot report health yet is not ready either
            pass
        if time.monotonic() >= deadline or done.wait(0.05):
            return False


def _sampled(health: Mapping[str, Any], connected_at: dict[str, float]) -> bool:
    adapters = health.get("adapters")
    if not isinstance(adapters, list):
        return health.get("last_success") is not None
    now = time.time()  # the collectors stamp samples with wall time
    complete = True
    for a in adapters:
        if not a.get("active"):
            return False
        since = connected_at.setdefault(str(a.get("device")), now)
        last = a.get("last_success")
        complete &= last is not None and float(last) >= since + PULL_PERIOD
    return complete
