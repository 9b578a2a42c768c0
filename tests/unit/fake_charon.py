"""A stand-in for charon's vici and error-notify sockets (Unix sockets in a temp dir, no root).

Speaks the vici wire format (32-bit length, packet type, name, message as `vici.protocol.Message`
encodes it): answers `stats`, `get-counters`, `list-sas` (streamed `list-sa` events), confirms event
registrations, and pushes events and error-notify records on demand. Answers come from recorded
lab data (`ipsec_replay`), so the adapter is exercised with the daemon's real message shapes.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from vici.protocol import Message

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7


def _send(conn: socket.socket, payload: bytes) -> None:
    conn.sendall(struct.pack("!I", len(payload)) + payload)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class FakeCharon:
    def __init__(self, directory: Path) -> None:
        self.vici_path = str(directory / "charon.vici")
        self.enfy_path = str(directory / "charon.enfy")
        self.stats: dict[str, Any] = {"uptime": {"running": "1 second", "since": "Nov 26 14:00:00 2026"},
                                      "ikesas": {"total": "0", "half-open": "0"},
                                      "queues": {"critical": "0", "high": "0", "medium": "0", "low": "0"},
                                      "workers": {"total": "16", "idle": "16", "active": {"critical": "0"}}}  # fmt: skip
        self.counters: dict[str, str] = {"invalid": "0", "invalid-spi": "0"}
        self.sas: list[dict[str, Any]] = []
        self._listeners: list[socket.socket] = []
        self._enfy_clients: list[socket.socket] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._servers: list[socket.socket] = []
        self.running = False

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> FakeCharon:
        for path in (self.vici_path, self.enfy_path):
            if os.path.exists(path):
                os.unlink(path)
        vici_srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        vici_srv.bind(self.vici_path)
        vici_srv.listen(8)
        enfy_srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        enfy_srv.bind(self.enfy_path)
        enfy_srv.listen(8)
        self._servers = [vici_srv, enfy_srv]
        self.running = True
        threading.Thread(
            target=self._accept, args=(vici_srv, self._serve_vici), daemon=True
        ).start()
        threading.Thread(
            target=self._accept, args=(enfy_srv, self._serve_enfy), daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """The daemon dies: every connection closes, the sockets disappear."""
        self.running = False
        with self._lock:
            for s in [*self._servers, *self._conns, *self._enfy_clients]:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._conns.clear()
            self._listeners.clear()
            self._enfy_clients.clear()
        for path in (self.vici_path, self.enfy_path):
            if os.path.exists(path):
                os.unlink(path)

    def _accept(self, srv: socket.socket, serve: Any) -> None:
        while self.running:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    # --- vici ------------------------------------------------------------------------------------

    def _serve_vici(self, conn: socket.socket) -> None:
        try:
            while True:
                (n,) = struct.unpack("!I", _recv_exact(conn, 4))
                pkt = _recv_exact(conn, n)
                kind, name = pkt[0], pkt[2 : 2 + pkt[1]].decode()
                if kind in (EVENT_REGISTER, EVENT_UNREGISTER):
                    if kind == EVENT_REGISTER and name != "list-sa":
                        with self._lock:
                            if conn not in self._listeners:
                                self._listeners.append(conn)
                    _send(conn, bytes([EVENT_CONFIRM]))
                elif kind == CMD_REQUEST:
                    self._command(conn, name)
        except (ConnectionError, OSError):
            return

    def _command(self, conn: socket.socket, name: str) -> None:
        if name == "stats":
            _send(conn, bytes([CMD_RESPONSE]) + Message.serialize(self.stats))
        elif name == "get-counters":
            reply = {"counters": {"": dict(self.counters)}, "success": "yes"}
            _send(conn, bytes([CMD_RESPONSE]) + Message.serialize(reply))
        elif name == "list-sas":
            for sa in self.sas:
                _send(conn, bytes([EVENT, len("list-sa")]) + b"list-sa" + Message.serialize(sa))
            _send(conn, bytes([CMD_RESPONSE]) + Message.serialize({}))
        else:
            _send(conn, bytes([CMD_UNKNOWN]))

    def push_event(self, name: str, msg: dict[str, Any]) -> None:
        raw = bytes([EVENT, len(name)]) + name.encode() + Message.serialize(msg)
        with self._lock:
            for conn in list(self._listeners):
                try:
                    _send(conn, raw)
                except OSError:
                    self._listeners.remove(conn)

    # --- error-notify ----------------------------------------------------------------------------

    def _serve_enfy(self, conn: socket.socket) -> None:
        with self._lock:
            self._enfy_clients.append(conn)

    def push_enfy(self, raw: bytes) -> None:
        with self._lock:
            for conn in list(self._enfy_clients):
                try:
                    conn.sendall(raw)
                except OSError:
                    self._enfy_clients.remove(conn)

    @property
    def enfy_clients(self) -> int:
        with self._lock:
            return len(self._enfy_clients)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)
