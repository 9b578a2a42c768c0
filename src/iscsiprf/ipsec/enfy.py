"""strongSwan error-notify records: decode the fixed 768-byte record and cut a byte stream into them.

Record layout (strongSwan 5.9.8 `error_notify_msg.h`, packed): int32 type in network byte order @0,
`str[384]` @4, `name[64]` @388, `id[256]` @452, `ip[60]` @708; strings NUL-terminated.
The socket is SOCK_STREAM, so records arrive in arbitrary pieces: `RecordSplitter` buffers them.
A record whose type is outside the known range or whose strings are not NUL-terminated is a
`SourceError` (counted and skipped), never an exception.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum

from .events import Alert, SourceError

RECORD_SIZE = 768
_FIELDS = (("message", 4, 384), ("conn", 388, 64), ("peer_id", 452, 256), ("peer_addr", 708, 60))


class AlertType(IntEnum):
    RADIUS_NOT_RESPONDING = 1
    LOCAL_AUTH_FAILED = 2
    PEER_AUTH_FAILED = 3
    PARSE_ERROR_HEADER = 4
    PARSE_ERROR_BODY = 5
    RETRANSMIT_SEND_TIMEOUT = 6
    HALF_OPEN_TIMEOUT = 7
    PROPOSAL_MISMATCH_IKE = 8
    PROPOSAL_MISMATCH_CHILD = 9
    TS_MISMATCH = 10
    INSTALL_CHILD_SA_FAILED = 11
    INSTALL_CHILD_POLICY_FAILED = 12
    UNIQUE_REPLACE = 13
    UNIQUE_KEEP = 14
    VIP_FAILURE = 15
    AUTHORIZATION_FAILED = 16
    CERT_EXPIRED = 17
    CERT_REVOKED = 18
    NO_ISSUER_CERT = 19
    RETRANSMIT_SEND = 20
    RETRANSMIT_SEND_CLEARED = 21
    RETRANSMIT_RECEIVE = 22
    PEER_ADDR_FAILED = 23
    PEER_INIT_UNREACHABLE = 24
    INVALID_IKE_SPI = 25
    TS_NARROWED = 26
    KEEP_ON_CHILD_SA_FAILURE = 27
    IKE_SA_EXPIRED = 28
    CERT_VALIDATION_FAILED = 29
    UNTRUSTED_ROOT_CERT = 30
    CERT_EXCEEDED_PATH_LEN = 31
    CERT_POLICY_VIOLATION = 32


_MAX_TYPE = max(AlertType)


def _cstring(raw: bytes) -> str | None:
    end = raw.find(b"\0")
    if end < 0:
        return None
    return raw[:end].decode("utf-8", "replace")


def decode_record(record: bytes) -> Alert | SourceError:
    """One 768-byte record → Alert, or SourceError when it cannot be a record."""
    if len(record) != RECORD_SIZE:
        return SourceError("enfy", f"record of {len(record)} bytes, expected {RECORD_SIZE}")
    (kind,) = struct.unpack_from("!i", record, 0)
    if not 1 <= kind <= _MAX_TYPE:
        return SourceError("enfy", f"unknown alert type {kind}")
    texts: dict[str, str] = {}
    for name, off, size in _FIELDS:
        text = _cstring(record[off : off + size])
        if text is None:
            return SourceError("enfy", f"field {name} is not NUL-terminated")
        texts[name] = text
    return Alert(kind, texts["message"], texts["conn"], texts["peer_id"], texts["peer_addr"])


def encode_record(alert: Alert) -> bytes:
    """The inverse of decode_record (for tests and the lab): strings are truncated to fit."""
    out = bytearray(RECORD_SIZE)
    struct.pack_into("!i", out, 0, alert.type)
    values = {"message": alert.message, "conn": alert.conn}
    values |= {"peer_id": alert.peer_id, "peer_addr": alert.peer_addr}
    for name, off, size in _FIELDS:
        raw = values[name].encode()[: size - 1]
        out[off : off + len(raw)] = raw
    return bytes(out)


class RecordSplitter:
    """Feed stream bytes in any pieces; get decoded records out.

    A stream cannot resynchronise after garbage (records carry no marker), so a bad record is
    reported and skipped as a whole 768-byte unit; `close()` reports a truncated tail.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.records = 0
        self.errors = 0

    def feed(self, data: bytes) -> Iterator[Alert | SourceError]:
        self._buf += data
        while len(self._buf) >= RECORD_SIZE:
            chunk = bytes(self._buf[:RECORD_SIZE])
            del self._buf[:RECORD_SIZE]
            item = decode_record(chunk)
            if isinstance(item, SourceError):
                self.errors += 1
            else:
                self.records += 1
            yield item

    def close(self) -> SourceError | None:
        """End of stream (daemon gone): a partial record left over is a truncation."""
        left = len(self._buf)
        self._buf.clear()
        if left:
            self.errors += 1
            return SourceError(
                "enfy", f"stream ended inside a record ({left} of {RECORD_SIZE} bytes)"
            )
        return None

    @property
    def pending(self) -> int:
        return len(self._buf)
