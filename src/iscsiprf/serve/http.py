"""A small threaded HTTP/1.1 server for untrusted clients, shared by the CIM-XML and metrics apps.

The HTTP/1.1 framing (request line, headers, Content-Length, keep-alive, pipelining) is h11's:
a maintained, strict, sans-I/O implementation, so a duplicate or malformed `Content-Length`, an
illegal header or a request smuggled behind another is a 400 decided by a parser written for
exactly that. Around it, this module keeps the guards h11 leaves to its user:

* bodies over a size limit get 413 before they are read; chunked bodies get 411;
* a per-read timeout, and a whole-request deadline that also covers the answer and the
  lingering close: from its first byte, a request holds its connection slot at most
  `request_deadline` seconds (a watchdog thread shuts the socket down at that moment, whatever
  the connection is doing) → 408 when the request itself was too slow;
* too many connections → 503; missing or wrong credentials when Basic auth is configured → 401;
* TLS is negotiated in the connection's own thread, so a stalled handshake blocks nobody else.

An app is a function from `HttpRequest` to `HttpResponse`; it never sees sockets. A response body
may be a tuple of byte buffers: they go to the socket as they are (one `sendmsg`), so a large
shared rendering is never copied per client.
"""

from __future__ import annotations

import base64
import hmac
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Protocol

import h11

from .logs import log_event, log_record

SERVER_NAME = "iscsiprf"
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn (4096 by default)
MAX_HEAD = 32 * 1024  # request line and headers together; more is 431
LINGER_READ = 1.0  # a lingering close waits this long for more bytes, within the deadline
RECV_SIZE = 65536
_ABORTIVE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s


class Authenticator(Protocol):
    """What the server asks of an authentication scheme (Basic credentials, a web-config's
    bcrypt users, …): the user an `Authorization` header proves, and the realm to challenge."""

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
    request_deadline: float = 30.0  # the whole request: headers, body, answer, lingering close
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


Chunk = bytes | memoryview


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes | tuple[Chunk, ...] = b""  # a tuple is sent buffer by buffer, never joined
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    log: dict[str, object] = field(default_factory=dict)  # extra fields for the access log

    def parts(self) -> tuple[Chunk, ...]:
        return (self.body,) if isinstance(self.body, bytes) else self.body

    def length(self) -> int:
        return sum(len(p) for p in self.parts())


App = Callable[[HttpRequest], HttpResponse]


def text_response(
    status: int, text: str, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    return HttpResponse(status, (text + "\n").encode(), headers=headers or [])


class _Watchdog:
    """One thread that shuts down the sockets of connections whose deadline has passed."""

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
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                late = [k for k, (d, _, _) in self._deadlines.items() if d <= now]
                expired = [self._deadlines.pop(k) for k in late]
            for _, sock, flag in expired:
                flag[0] = True
                try:
                    # Closing resets the connection, and drops what the kernel still queues.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORTIVE)
                    # The plain socket's shutdown: SSLSocket.shutdown would drop the TLS state.
                    # Both directions: a blocked recv returns, a blocked send fails.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()


class _RequestTimeout(Exception):
    pass


class _Reject(Exception):
    """A request answered without reaching the app; the connection closes after it."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def _sendmsg_all(
    sock: socket.socket, parts: list[Chunk], until: float, read_timeout: float
) -> None:
    """Send every buffer, in order, without joining them; all of it by `until`."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    while views:
        remaining = until - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed while sending")
        sock.settimeout(min(read_timeout, remaining))
        if isinstance(sock, ssl.SSLSocket):  # TLS has no sendmsg; it copies into records anyway
            sock.sendall(views.pop(0))
            continue
        sent = sock.sendmsg(views[:512])  # IOV_MAX is 1024 on Linux
        while sent and views:
            first = len(views[0])
            if sent >= first:
                sent -= first
                views.pop(0)
            else:
                views[0] = views[0][sent:]
                sent = 0


class _Handler(socketserver.BaseRequestHandler):
    server: _ThreadingServer

    def setup(self) -> None:
        cfg = self.server.config
        self.sock: socket.socket = self.request
        self.sock.settimeout(cfg.read_timeout)
        self.client = f"{self.client_address[0]}:{self.client_address[1]}"
        if cfg.ssl_context is not None:
            raw = self.sock
            self.server.watchdog.arm(raw, time.monotonic() + cfg.read_timeout, [False])
            try:
                self.sock = cfg.ssl_context.wrap_socket(raw, server_side=True)
            finally:
                self.server.watchdog.disarm(raw)
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        # A pipelined request already parsed (or the error parsing it).
        self._pending: h11.Event | h11.RemoteProtocolError | None = None
        self._request: h11.Request | None = None  # the request being answered

    def handle(self) -> None:
        try:
            while self._one_request():
                self.h11.start_next_cycle()
        except (ConnectionError, ssl.SSLError, OSError, h11.LocalProtocolError) as e:
            log_event("connection-error", client=self.client, server=self.server.name, error=str(e))
        finally:
            self.server.watchdog.disarm(self.sock)

    def finish(self) -> None:
        if self.sock is not self.request:  # TLS: close the wrapper too (the server closes the raw)
            try:
                self.sock.close()
            except OSError:
                pass

    # --- reading -------------------------------------------------------------------------------

    def _await_request(self) -> bool:
        """Wait (read timeout) for the next request's first byte; False: the client is gone."""
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError as e:
            self._pending = e  # pipelined garbage: answered as this request
            return True
        if isinstance(event, h11.Event):
            self._pending = event  # pipelined: already here
            return True
        self._pending = None
        try:
            self.sock.settimeout(self.server.config.read_timeout)
            data = self.sock.recv(RECV_SIZE)
        except OSError:  # timeout, reset, TLS alert: the client is gone
            return False
        if not data:
            return False
        self.h11.receive_data(data)
        return True

    def _next_event(self, until: float, flag: list[bool]) -> h11.Event:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            if isinstance(pending, h11.RemoteProtocolError):
                raise pending
            return pending
        while True:
            event = self.h11.next_event()
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:
                raise h11.RemoteProtocolError("request after an unfinished one")
            remaining = until - time.monotonic()
            if remaining <= 0 or flag[0]:
                raise _RequestTimeout
            self.sock.settimeout(min(self.server.config.read_timeout, remaining))
            try:
                data = self.sock.recv(RECV_SIZE)
            except TimeoutError:
                raise _RequestTimeout from None
            if flag[0]:
                raise _RequestTimeout
            self.h11.receive_data(data)

    def _read_request(self, until: float, flag: list[bool]) -> tuple[h11.Request, bytes] | None:
        event = self._next_event(until, flag)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        self._request = event
        cfg = self.server.config
        if event.http_version not in (b"1.0", b"1.1"):
            raise _Reject(text_response(505, "HTTP/1.1 or HTTP/1.0 only"))
        # h11 bounds only a head that is still incomplete; one that arrived whole in a read is
        # measured here, so the bound is the same however the client split its bytes.
        head = len(event.method) + len(event.target) + 12
        head += sum(len(name) + len(value) + 4 for name, value in event.headers)
        if head > MAX_HEAD:
            raise _Reject(text_response(431, f"request head over {MAX_HEAD} bytes"))
        headers = dict(event.headers)  # h11 has merged repeated Content-Length already
        if b"transfer-encoding" in headers:
            raise _Reject(text_response(411, "chunked request bodies are not accepted"))
        length_text = headers.get(b"content-length")
        method = event.method.decode("latin-1")
        if length_text is None and method in ("POST", "M-POST", "PUT"):
            raise _Reject(text_response(411, "Content-Length required"))
        length = int(length_text or b"0")  # h11 checked it is digits only
        if length > cfg.max_body:
            raise _Reject(text_response(413, f"request body over {cfg.max_body} bytes"))
        if self.h11.they_are_waiting_for_100_continue:
            self._send_raw(
                [
                    self.h11.send(
                        h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                    )
                    or b""
                ],
                until,
            )
        body = bytearray()
        while True:
            event = self._next_event(until, flag)
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return self._request, bytes(body)
            else:
                raise h11.RemoteProtocolError("request body ended early")

    # --- one exchange --------------------------------------------------------------------------

    def _one_request(self) -> bool:
        """Read, answer and (when the connection ends) linger; True to keep the connection."""
        if not self._await_request():
            return False
        cfg = self.server.config
        started = time.monotonic()
        deadline = started + cfg.request_deadline
        # The answer and the lingering close need a moment inside the deadline too.
        read_by = deadline - min(1.0, cfg.request_deadline / 4)
        flag = [False]
        self.server.watchdog.arm(self.sock, deadline, flag)
        log: dict[str, object] = {"client": self.client, "server": self.server.name}
        self._request = None
        try:
            got = self._read_request(read_by, flag)
            if got is None:
                return False
            request, body = got
            resp, close = self._respond(request, body), False
        except _RequestTimeout:
            resp, close = text_response(408, "request timed out"), True
            log["slow_client"] = True
        except _Reject as r:
            resp, close = r.response, True
        except h11.RemoteProtocolError as e:
            resp, close = text_response(e.error_status_hint, f"bad request: {e}"), True
        if self._request is not None:
            log.update(method=self._request.method.decode("latin-1"),
                       path=self._request.target.decode("latin-1"))  # fmt: skip
        log.update(status=resp.status, bytes=resp.length(), **resp.log)
        try:
            keep = self._send(resp, deadline, close)
            if not keep:
                self._linger(deadline)
        finally:
            log["ms"] = round((time.monotonic() - started) * 1000, 2)
            log_record("request", log)
        if keep:
            self.server.watchdog.disarm(self.sock)
        return keep

    def _respond(self, request: h11.Request, body: bytes) -> HttpResponse:
        cfg = self.server.config
        headers = Message()
        for name, value in request.headers:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        user = None
        if cfg.auth is not None:
            user = cfg.auth.check(headers.get("Authorization"))
            if user is None:
                www = f'Basic realm="{cfg.auth.realm}"'
                return text_response(401, "authentication required", [("WWW-Authenticate", www)])
        req = HttpRequest(
            request.method.decode("latin-1"),
            request.target.decode("latin-1"),
            headers,
            body,
            self.client,
            user,
        )
        try:
            return self.server.app(req)
        except Exception as e:  # an app bug must cost one request, not the server
            log_event("app-error", level=40, client=self.client, error=repr(e))
            return text_response(500, "internal error")

    # --- writing -------------------------------------------------------------------------------

    def _send(self, resp: HttpResponse, deadline: float, close: bool) -> bool:
        """Send the response; True when the connection stays open for another request."""
        parts = resp.parts()
        headers = [
            ("Server", SERVER_NAME),
            ("Date", _http_date()),
            ("Content-Type", resp.content_type),
            ("Content-Length", str(sum(len(p) for p in parts))),
            *resp.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        event = h11.Response(status_code=resp.status, headers=headers, reason=_reason(resp.status))
        try:
            out: list[Chunk] = [self.h11.send(event) or b""]
            for p in parts:
                data = h11.Data(data=p)  # type: ignore[arg-type]  # any buffer passes through
                out.extend(self.h11.send_with_data_passthrough(data) or ())
            out.append(self.h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            # h11 would not frame an answer here (the request broke the protocol): answer plainly.
            out = [
                f"HTTP/1.1 {resp.status} {_reason(resp.status).decode()}\r\nServer: {SERVER_NAME}\r\n"
                f"Content-Type: {resp.content_type}\r\nContent-Length: {resp.length()}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1"),
                *parts,
            ]
            self._send_raw(out, deadline)
            return False
        self._send_raw(out, deadline)
        return not close and self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def _send_raw(self, parts: list[Chunk], until: float) -> None:
        _sendmsg_all(self.sock, parts, until, self.server.config.read_timeout)

    def _linger(self, deadline: float) -> None:
        """Lingering close: read what the client still sends (bounded in bytes and by the
        request's deadline), so that closing with unread data does not reset the connection
        before the client has read our answer."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            budget = 4 * self.server.config.max_body
            while budget > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.sock.settimeout(min(LINGER_READ, remaining))
                chunk = self.sock.recv(RECV_SIZE)
                if not chunk:
                    break
                budget -= len(chunk)
        except (OSError, ValueError):
            pass


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # a connection thread never keeps the process alive
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, name: str, config: ServerConfig, app: App) -> None:
        self.name = name
        self.config = config
        self.app = app
        self._slots = threading.BoundedSemaphore(config.max_connections)
        super().__init__((config.host, config.port), _Handler)
        self.watchdog = _Watchdog()  # only once the address is bound: nothing to stop otherwise

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
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: give the slot back
            self._slots.release()
            raise

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
        watchdog = getattr(self, "watchdog", None)  # None when binding failed in __init__
        if watchdog is not None:
            watchdog.stop()


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
    def config(self) -> ServerConfig:
        return self._server.config

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"http-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        # shutdown() waits for serve_forever to end: only ask when it was started.
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
