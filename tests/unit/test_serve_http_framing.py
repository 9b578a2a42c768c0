"""The HTTP layer on a real loopback socket, byte by byte: framing (h11), limits and deadlines.

Each test starts an `HttpServer` on 127.0.0.1 with a recording app and talks to it with raw
sockets, so what is checked is what a hostile client would see on the wire.
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from iscsiprf.serve.http import (
    LISTEN_BACKLOG,
    BasicAuth,
    HttpRequest,
    HttpResponse,
    HttpServer,
    ServerConfig,
    _sendmsg_all,
)


class Recorder:
    """An app that answers `path:body` and remembers every request it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, req: HttpRequest) -> HttpResponse:
        with self.lock:
            self.seen.append((req.method, req.path, req.body))
        return HttpResponse(200, f"{req.path}:".encode() + req.body)


@contextmanager
def serving(**config: object) -> Iterator[tuple[int, Recorder]]:
    app = Recorder()
    cfg = ServerConfig(port=0, **config)  # type: ignore[arg-type]
    server = HttpServer("test", cfg, app)
    server.start()
    try:
        yield server.address[1], app
    finally:
        server.stop()


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything until the server closes (or resets) the connection."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def statuses(data: bytes) -> list[int]:
    """The status of every response in a byte stream (bodies here never contain `HTTP/1.1 `)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.1 ([0-9]{3}) ", data)]


def exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        return read_all(s)


def read_one(sock: socket.socket) -> tuple[int, bytes]:
    """One Content-Length framed response from a keep-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(ln.split(b":")[1])
        for ln in head.split(b"\r\n")
        if ln.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


# --- Content-Length: conflicting and malformed values --------------------------------------------


def test_smuggling_with_two_content_lengths_is_400_and_the_hidden_request_is_never_seen() -> None:
    hidden = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = (
        b"POST /front HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        + f"Content-Length: {5 + len(hidden)}\r\n\r\n".encode()
        + b"hello"
        + hidden
    )
    with serving() as (port, app):
        data = exchange(port, raw)
    assert statuses(data) == [400]  # one answer, then the connection is closed
    assert b"Connection: close" in data
    assert app.seen == []


@pytest.mark.parametrize("value", ["+12", "1_2", "12, 13", "-12", "0x0c", "12.0", " ", "1e1"])
def test_malformed_content_length_is_400_and_closes(value: str) -> None:
    raw = (
        f"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n".encode()
        + b"a" * 12
        + b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with serving() as (port, app):
        data = exchange(port, raw)
    assert statuses(data) == [400]
    assert app.seen == []


def test_identical_repeated_content_length_is_one_length() -> None:
    # RFC 9110 §8.6 lets a recipient merge identical values; h11 does, so the framing is
    # unambiguous: the body is 5 bytes and the next request is a request.
    raw = (
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    with serving() as (port, app):
        data = exchange(port, raw)
    assert statuses(data) == [200, 200]
    assert app.seen == [("POST", "/a", b"hello"), ("GET", "/b", b"")]


# --- what held before h11 and must still hold ----------------------------------------------------


def test_pipelined_requests_are_answered_in_order() -> None:
    raw = post("/1", b"one") + post("/2", b"two") + post("/3", b"three", "Connection: close\r\n")
    with serving() as (port, app):
        data = exchange(port, raw)
    assert statuses(data) == [200, 200, 200]
    assert data.index(b"/1:one") < data.index(b"/2:two") < data.index(b"/3:three")
    assert [p for _, p, _ in app.seen] == ["/1", "/2", "/3"]


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with serving() as (port, _), socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for i in range(3):
            s.sendall(post(f"/{i}", b"x"))
            assert read_one(s) == (200, f"/{i}:x".encode())


def test_chunked_body_is_411_and_closes() -> None:
    raw = (
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    with serving() as (port, app):
        data = exchange(port, raw)
    assert statuses(data) == [411] and app.seen == []


def test_post_without_length_is_411() -> None:
    with serving() as (port, app):
        data = exchange(port, b"POST /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert statuses(data) == [411] and app.seen == []


def test_oversized_body_is_413_before_it_is_sent() -> None:
    with serving(max_body=1000) as (port, app):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            # Only the head: the answer must come without the server waiting for the body.
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
            started = time.monotonic()
            status, _ = read_one(s)
            assert status == 413 and time.monotonic() - started < 5
    assert app.seen == []


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 40000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 8000 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
    ],
)
def test_header_abuse_is_refused(head: bytes, status: int) -> None:
    with serving() as (port, app):
        data = exchange(port, head)
    assert statuses(data) == [status] and app.seen == []


def test_expect_100_continue() -> None:
    with serving() as (port, _), socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        assert s.recv(100).startswith(b"HTTP/1.1 100 ")
        s.sendall(b"body")
        assert read_one(s) == (200, b"/x:body")


def test_http_1_0_closes_after_the_answer() -> None:
    with serving() as (port, _):
        data = exchange(port, b"GET /old HTTP/1.0\r\n\r\n")
    assert statuses(data) == [200] and data.endswith(b"/old:")


# --- backlog ----------------------------------------------------------------------------------------


def test_listen_backlog_takes_a_burst_of_connections_before_any_accept() -> None:
    """The old backlog of 5 let the kernel drop the SYNs of the 7th and later connections of a
    burst; 100 connections must all be established while nothing is accepting."""
    assert LISTEN_BACKLOG >= 128
    server = HttpServer("burst", ServerConfig(port=0), Recorder())  # bound, listening, not started
    socks: list[socket.socket] = []
    try:
        for _ in range(100):
            socks.append(socket.create_connection(("127.0.0.1", server.address[1]), timeout=2))
    finally:
        for s in socks:
            s.close()
        server.stop()
    assert len(socks) == 100


# --- deadlines: no connection holds its slot past the request deadline ----------------------------


def _drip(port: int, first: bytes, stop: threading.Event, out: list[bytes]) -> None:
    """Send `first`, then one byte every 0.3 s until the server closes or `stop` is set."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(first)
        try:
            while not stop.wait(0.3):
                s.sendall(b"X")
        except OSError:
            pass
        out.append(read_all(s, timeout=2))


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(b"POST /x HTTP/1.1\r\n", id="drip-fed-headers"),
        # A whole request asking to close, then bytes during the lingering close: before the
        # fix each byte re-armed the linger's one-second read and the slot was held for good.
        pytest.param(post("/x", b"hi", "Connection: close\r\n"), id="drip-fed-lingering-close"),
    ],
)
def test_drip_fed_connections_release_their_slots_by_the_deadline(first: bytes) -> None:
    slots, deadline = 4, 2.0
    with serving(max_connections=slots, read_timeout=1.0, request_deadline=deadline) as (port, _):
        stop = threading.Event()
        results: list[bytes] = []
        drippers = [
            threading.Thread(target=_drip, args=(port, first, stop, results)) for _ in range(slots)
        ]
        for t in drippers:
            t.start()
        try:
            time.sleep(0.5)
            # Every slot is taken now: a newcomer is turned away.
            assert statuses(exchange(port, b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n")) == [503]
            time.sleep(deadline + 0.5)  # past every dripper's deadline (the watchdog ticks 0.1 s)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert read_one(s) == (200, b"/later:")
        finally:
            stop.set()
            for t in drippers:
                t.join(timeout=10)


def test_a_drip_fed_request_gets_408() -> None:
    with serving(read_timeout=1.0, request_deadline=2.0) as (port, _):
        stop = threading.Event()
        out: list[bytes] = []
        t = threading.Thread(target=_drip, args=(port, b"POST /x HTTP/1.1\r\n", stop, out))
        t.start()
        t.join(timeout=10)
        stop.set()
    assert out and statuses(out[0]) == [408]


def test_a_slow_reader_is_cut_at_the_deadline() -> None:
    big = b"x" * (64 << 20)

    def app(req: HttpRequest) -> HttpResponse:
        return HttpResponse(200, (big,) if req.path == "/big" else b"small")

    cfg = ServerConfig(port=0, read_timeout=5.0, request_deadline=1.5, max_connections=1)
    server = HttpServer("slow", cfg, app)
    server.start()
    port = server.address[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            slow.recv(4096)  # then read nothing more: the 64 MiB answer cannot finish
            time.sleep(0.3)
            assert statuses(exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == [503]
            time.sleep(1.5 + 0.5)
            # The one slot is free again although the slow reader never read on.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_one(s) == (200, b"small")
    finally:
        server.stop()


# --- sending -----------------------------------------------------------------------------------------


def test_buffers_are_sent_in_order_and_whole() -> None:
    a, b = socket.socketpair()
    try:
        big = bytes(range(256)) * 20000  # 5 MB: many partial sendmsg calls
        parts = [b"head", memoryview(big)[7:], b"", b"tail"]
        received = bytearray()

        def reader() -> None:
            b.settimeout(10)
            while len(received) < 4 + len(big) - 7 + 4:
                received.extend(b.recv(1 << 20))

        t = threading.Thread(target=reader)
        t.start()
        _sendmsg_all(a, parts, time.monotonic() + 30, 10.0)
        t.join(timeout=30)
        assert bytes(received) == b"head" + big[7:] + b"tail"
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_unauthenticated_drip_over_tls_releases_slots_by_the_deadline(tmp_path: Path) -> None:
    """The attack as reported: TLS, Basic auth required, requests without credentials (401 with
    Connection: close), then bytes dripped into the lingering close."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    client_ctx.check_hostname = False
    slots, deadline = 3, 2.0
    stop = threading.Event()
    codes: list[int] = []

    def tls_drip(port: int) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with client_ctx.wrap_socket(raw) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            codes.append(read_one(s)[0])
            try:
                while not stop.wait(0.3):
                    s.sendall(b"X")
            except OSError:
                pass

    auth = BasicAuth("monitor", "secret")
    with serving(
        max_connections=slots, read_timeout=1.0, request_deadline=deadline,
        auth=auth, ssl_context=server_ctx,
    ) as (port, _):  # fmt: skip
        drippers = [threading.Thread(target=tls_drip, args=(port,)) for _ in range(slots)]
        for t in drippers:
            t.start()
        try:
            time.sleep(deadline + 1.0)
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            with client_ctx.wrap_socket(raw) as s:
                token = base64.b64encode(b"monitor:secret").decode()
                s.sendall(
                    f"GET /ok HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n\r\n".encode()
                )
                assert read_one(s) == (200, b"/ok:")
        finally:
            stop.set()
            for t in drippers:
                t.join(timeout=10)
    assert codes == [401] * slots
