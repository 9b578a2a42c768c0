"""A small threaded HTTP/1.1 server for untrusted clients, shared by the CIM-XML and metrics apps.

What it guards against: bodies over a size limit (413 before reading them), clients that send
slowly (a per-read timeout and a whole-request deadline kept by one watchdog thread → 408),
too many connections (503), missing or wrong credentials when Basic auth is configured (401).
TLS is negotiated in the connection's own thread, so a stalled handshake blocks nobody else.
An app is a function from `HttpRequest` to `HttpResponse`; it never sees sockets.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import io
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Protocol, cast

from .logs import log_event, log_record

SERVER_NAME = "iscsiprf"


class Authenticator(Protocol):
    """What the server asks of an authentication scheme (`BasicAuth`, webconfig's `BcryptAuth`)."""

    @property
    def realm(self) -> str: ...

    def check(self, header: str | None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class BasicAuth:
    user: str
    password: str
    realm: str = "iscsiprf"

    def check(self, header: str | None) -> str | None:
        """The user name when the Authorization header carries the right credentials."""
        if not header or not header[:6].lower() == "basic ":
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_pw = hmac.compare_digest(password.encode(), self.password.encode())
        return user if sep and ok_user and ok_pw else None


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 0
    max_body: int = 1 << 20  # CIM-XML requests are a few KiB
    read_timeout: float = 10.0  # one recv, and an idle keep-alive connection
    request_deadline: float = 30.0  # the whole request, headers and body
    max_connections: int = 64
    auth: Authenticator | None = None
    ssl_context: ssl.SSLContext | None = None


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    headers: Message
    body: bytes
    client: str
    user: str | None = None


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    log: dict[str, object] = field(default_factory=dict)  # extra fields for the access log


App = Callable[[HttpRequest], HttpResponse]


def text_response(
    status: int, text: str, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    return HttpResponse(status, (text + "\n").encode(), headers=headers or [])


class _Watchdog:
    """One thread that cuts the read side of connections whose request overran its deadline."""

    def __init__(self) -> None:
        self._deadlines: dict[int, tuple[float, socket.socket, list[bool]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-watchdog", daemon=True)
        self._thread.start()

    def arm(self, sock: socket.socket, deadline: float, flag: list[bool]) -> None:
        with self._lock:
            self._deadlines[id(sock)] = (deadline, sock, flag)

    def disarm(self, sock: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(id(sock), None)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [k for k, (d, _, _) in self._deadlines.items() if d <= now]
                expired = [self._deadlines.pop(k) for k in late]
            for _, sock, flag in expired:
                flag[0] = True
                try:
                    # The plain socket's shutdown: SSLSocket.shutdown would drop the TLS state.
                    socket.socket.shutdown(sock, socket.SHUT_RD)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()


class _RequestTimeout(Exception):
    pass


class _Handler(socketserver.StreamRequestHandler):
    server: _ThreadingServer
    rbufsize = 64 * 1024

    def setup(self) -> None:
        cfg = self.server.config
        self.request.settimeout(cfg.read_timeout)
        self.client = f"{self.client_address[0]}:{self.client_address[1]}"
        if cfg.ssl_context is not None:
            raw = self.request
            self.server.watchdog.arm(raw, time.monotonic() + cfg.read_timeout, [False])
            try:
                self.request = cfg.ssl_context.wrap_socket(raw, server_side=True)
            finally:
                self.server.watchdog.disarm(raw)
        super().setup()

    def handle(self) -> None:
        try:
            while self._one_request():
                pass
        except (ConnectionError, ssl.SSLError, OSError) as e:
            log_event("connection-error", client=self.client, server=self.server.name, error=str(e))

    def _send(self, resp: HttpResponse, keep_alive: bool) -> None:
        reason = (
            HTTPStatus(resp.status).phrase if resp.status in HTTPStatus._value2member_map_ else ""
        )
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Server: {SERVER_NAME}",
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
            *(f"{k}: {v}" for k, v in resp.headers),
        ]
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(resp.body) < 65536:
            self.wfile.write(head + resp.body)
        else:
            self.wfile.write(head)
            self.wfile.write(resp.body)

    def _drain(self) -> None:
        """Lingering close: read what the client still sends (bounded), so that closing with
        unread data does not reset the connection before the client has read our answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            budget = 4 * self.server.config.max_body
            while budget > 0:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                budget -= len(chunk)
        except (OSError, ValueError):
            pass

    def _read_head(self, flag: list[bool]) -> tuple[str, str, str, Message] | None:
        line = self.rfile.readline(8193)
        if flag[0]:
            raise _RequestTimeout
        if not line:
            return None
        if len(line) > 8192:
            raise ValueError("request line too long")
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError("malformed request line")
        try:
            headers = http.client.parse_headers(self.rfile)
        except http.client.HTTPException as e:
            raise ValueError(f"bad headers: {type(e).__name__}") from None
        if flag[0]:
            raise _RequestTimeout
        return parts[0], parts[1], parts[2], headers

    def _one_request(self) -> bool:
        cfg = self.server.config
        try:
            # Wait for a request; idle keep-alive connections end here quietly.
            if not cast(io.BufferedReader, self.rfile).peek(1):
                return False
        except TimeoutError:
            return False
        started = time.monotonic()
        flag = [False]
        self.server.watchdog.arm(self.connection, started + cfg.request_deadline, flag)
        log: dict[str, object] = {"client": self.client, "server": self.server.name}
        try:
            try:
                head = self._read_head(flag)
                if head is None:
                    return False
                method, path, version, headers = head
                log.update(method=method, path=path)
                resp, keep = self._respond(method, path, version, headers, flag)
            except (_RequestTimeout, TimeoutError):
                resp, keep = text_response(408, "request timed out"), False
                log["slow_client"] = True
            except ValueError as e:
                resp, keep = text_response(400, f"bad request: {e}"), False
        finally:
            self.server.watchdog.disarm(self.connection)
        log.update(status=resp.status, bytes=len(resp.body), **resp.log)
        try:
            self._send(resp, keep)
            if not keep:
                self._drain()
        finally:
            log["ms"] = round((time.monotonic() - started) * 1000, 2)
            log_record("request", log)
        return keep

    def _respond(
        self, method: str, path: str, version: str, headers: Message, flag: list[bool]
    ) -> tuple[HttpResponse, bool]:
        cfg = self.server.config
        keep = version == "HTTP/1.1" and headers.get("Connection", "").lower() != "close"
        if headers.get("Transfer-Encoding"):
            return text_response(411, "chunked request bodies are not accepted"), False
        length_text = headers.get("Content-Length")
        if length_text is None:
            length = 0
            if method in ("POST", "M-POST", "PUT"):
                return text_response(411, "Content-Length required"), False
        else:
            try:
                length = int(length_text)
                if length < 0:
                    raise ValueError
            except ValueError:
                return text_response(400, "bad Content-Length"), False
        if length > cfg.max_body:
            return text_response(413, f"request body over {cfg.max_body} bytes"), False
        if headers.get("Expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if flag[0]:
            raise _RequestTimeout
        if len(body) != length:
            return text_response(400, "request body shorter than Content-Length"), False
        user = None
        if cfg.auth is not None:
            user = cfg.auth.check(headers.get("Authorization"))
            if user is None:
                www = f'Basic realm="{cfg.auth.realm}"'
                return text_response(
                    401, "authentication required", [("WWW-Authenticate", www)]
                ), keep
        req = HttpRequest(method, path, headers, body, self.client, user)
        try:
            resp = self.server.app(req)
        except Exception as e:  # an app bug must cost one request, not the server
            log_event("app-error", level=40, client=self.client, error=repr(e))
            resp = text_response(500, "internal error")
        return resp, keep


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, name: str, config: ServerConfig, app: App) -> None:
        self.name = name
        self.config = config
        self.app = app
        self.watchdog = _Watchdog()
        self._slots = threading.BoundedSemaphore(config.max_connections)
        super().__init__((config.host, config.port), _Handler)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if not self._slots.acquire(blocking=False):
            assert isinstance(request, socket.socket)
            try:
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            log_event("connection-refused", server=self.name, reason="too many connections")
            return
        super().process_request(request, client_address)

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        log_event(
            "connection-error",
            server=self.name,
            client=str(client_address),
            error=repr(sys.exc_info()[1]),
        )

    def server_close(self) -> None:
        super().server_close()
        self.watchdog.stop()


class HttpServer:
    """One listening endpoint running an app in its own thread."""

    def __init__(self, name: str, config: ServerConfig, app: App) -> None:
        self.name = name
        self._server = _ThreadingServer(name, config, app)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def scheme(self) -> str:
        return "https" if self._server.config.ssl_context is not None else "http"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"http-{self.name}",
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
