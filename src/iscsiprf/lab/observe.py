"""Record what a lab node's daemon reports by itself: VICI events and error-notify alerts.

The lab's own witness, independent of iscsiprf's collector: tests use it to prove that a scenario
really produced the daemon behaviour it claims, and it can save those records as test data.
Both readers run in background threads and reconnect when the daemon restarts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import vici

from .control import decode
from .topology import Node

VICI_EVENTS = ("ike-updown", "child-updown", "ike-rekey", "child-rekey", "ike-update", "log")
ENFY_RECORD = 768
# error-notify alert numbers used by the lab's checks (error_notify_msg.h, strongSwan 5.9.8).
ENFY_NAMES = {
    2: "LOCAL_AUTH_FAILED",
    3: "PEER_AUTH_FAILED",
    4: "PARSE_ERROR_HEADER",
    5: "PARSE_ERROR_BODY",
    6: "RETRANSMIT_SEND_TIMEOUT",
    8: "PROPOSAL_MISMATCH_IKE",
    9: "PROPOSAL_MISMATCH_CHILD",
    11: "INSTALL_CHILD_SA_FAILED",
    20: "RETRANSMIT_SEND",
    24: "PEER_INIT_UNREACHABLE",
    25: "INVALID_IKE_SPI",
    27: "KEEP_ON_CHILD_SA_FAILURE",
}
_TICK = 0.1


@dataclass(frozen=True)
class Record:
    """One observation: `source` "vici" (kind = event name) or "enfy" (kind = alert number)."""

    time: float
    node: str
    source: str
    kind: str
    data: dict[str, Any]


def parse_enfy(raw: bytes) -> dict[str, Any]:
    """Fields of one 768-byte error-notify record (type big-endian, NUL-terminated strings)."""

    def text(start: int, end: int) -> str:
        return raw[start:end].split(b"\0", 1)[0].decode("utf-8", "replace")

    kind = int.from_bytes(raw[0:4], "big", signed=True)
    return {
        "type": kind,
        "type_name": ENFY_NAMES.get(kind, str(kind)),
        "str": text(4, 388),
        "name": text(388, 452),
        "id": text(452, 708),
        "ip": text(708, 768),
        "raw": raw.hex(),
    }


class NodeRecorder:
    """Background readers of one node's VICI events and error-notify socket."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._records: list[Record] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._connected = {"vici": 0, "enfy": 0}
        self._threads = [
            threading.Thread(target=self._run_vici, name=f"lab-vici-{node.key}", daemon=True),
            threading.Thread(target=self._run_enfy, name=f"lab-enfy-{node.key}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # --- queries ---

    def mark(self) -> int:
        with self._lock:
            return len(self._records)

    def since(self, mark: int = 0) -> list[Record]:
        with self._lock:
            return list(self._records[mark:])

    def connections(self) -> tuple[int, int]:
        """How many times each reader has (re)connected: (vici, enfy)."""
        with self._lock:
            return self._connected["vici"], self._connected["enfy"]

    def wait_connected(self, after: tuple[int, int] = (0, 0), timeout: float = 10.0) -> None:
        """Block until both readers connected more often than `after` says."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (self._connected["vici"] > after[0] and self._connected["enfy"] > after[1]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"node {self.node.key}: recorder not connected")
                self._lock.wait(left)

    def wait_for(
        self, predicate: Callable[[Record], bool], mark: int = 0, timeout: float = 10.0
    ) -> Record | None:
        """The first record since `mark` that matches, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for record in self._records[mark:]:
                    if predicate(record):
                        return record
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=3)

    def dump(self, path: Path, mark: int = 0) -> None:
        """Save the records since `mark` as JSON (test data for the event decoders)."""
        path.write_text(json.dumps([asdict(r) for r in self.since(mark)], indent=1) + "\n")

    # --- readers ---

    def _add(self, source: str, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(Record(time.time(), self.node.key, source, kind, data))
            self._lock.notify_all()

    def _set_connected(self, source: str) -> None:
        with self._lock:
            self._connected[source] += 1
            self._lock.notify_all()

    def _run_vici(self) -> None:
        while not self._stop.is_set():
            try:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(str(self.node.vici_socket))
                    session = vici.Session(sock)
                    first = True
                    for name, message in session.listen(list(VICI_EVENTS), timeout=_TICK):
                        if first:
                            # listen() registers all events before its first yield.
                            self._set_connected("vici")
                            first = False
                        if name is not None:
                            self._add("vici", decode(name), decode(message))
                        if self._stop.is_set():
                            break
            except (OSError, vici.exception.SessionException):
                pass  # daemon gone or restarting
            self._stop.wait(_TICK)

    def _run_enfy(self) -> None:
        while not self._stop.is_set():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(str(self.node.enfy_socket))
                    sock.settimeout(_TICK)
                    self._set_connected("enfy")
                    self._read_enfy(sock)
            except OSError:
                pass
            self._stop.wait(_TICK)

    def _read_enfy(self, sock: socket.socket) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return  # daemon closed the socket
            buffer += chunk
            while len(buffer) >= ENFY_RECORD:
                record, buffer = buffer[:ENFY_RECORD], buffer[ENFY_RECORD:]
                fields = parse_enfy(record)
                self._add("enfy", str(fields["type"]), fields)
