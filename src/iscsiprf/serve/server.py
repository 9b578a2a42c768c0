"""`iscsiprf serve`: the collector and both HTTP endpoints in one process, until a signal."""

from __future__ import annotations

import signal
import ssl
import threading
from dataclasses import dataclass
from types import FrameType

from .apps import cimxml_app, metrics_app
from .cimxml_ops import DEFAULT_NAMESPACE, CimOperations
from .http import App, Authenticator, HttpServer, ServerConfig
from .logs import log_event
from .metrics import MetricsView
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
    try:
        service = Service(source, opts)
        try:
            service.start()
            log_event("ready", source=str(source.health().get("source", type(source).__name__)))
            while not done.wait(0.5):
                pass
            log_event("shutdown", signal=received[0] if received else "")
        finally:
            service.stop()
    finally:
        guard.stop()
        for s, h in previous.items():
            signal.signal(s, h)
