"""Crafted IKE/ESP packets, and sending them from inside a lab namespace to the other node.

The builders are pure. `send` runs a short Python child under `ip netns exec`, so the datagrams
leave from node A's namespace and can only reach addresses that exist inside the lab.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

from .netns import LabError
from .topology import Lab, Node

IKE_PORT = 500
NATT_PORT = 4500
HEADER_LEN = 28

# Versions (major.minor in one byte), exchange types, flags and payload types used here.
IKEV1 = 0x10
IKEV2 = 0x20
IKE_UNSUPPORTED = 0x30
EXCH_V1_ID_PROT = 2
EXCH_V1_INFORMATIONAL = 5
EXCH_V2_IKE_SA_INIT = 34
EXCH_V2_IKE_AUTH = 35
EXCH_V2_INFORMATIONAL = 37
FLAG_V1_ENCRYPTION = 0x01
FLAG_V2_INITIATOR = 0x08
PAYLOAD_NONE = 0
PAYLOAD_V1_ID = 5
PAYLOAD_V1_HASH = 8
PAYLOAD_V1_NOTIFY = 11
PAYLOAD_V2_SA = 33
PAYLOAD_V2_ENCRYPTED = 46


def ike_header(
    spi_i: bytes,
    spi_r: bytes,
    next_payload: int,
    version: int,
    exchange: int,
    flags: int,
    message_id: int,
    length: int,
) -> bytes:
    """The 28-byte IKE/ISAKMP header, big-endian (RFC 7296 §3.1, RFC 2408 §3.1)."""
    if len(spi_i) != 8 or len(spi_r) != 8:
        raise ValueError("IKE SPIs (ISAKMP cookies) are 8 bytes")
    return spi_i + spi_r + struct.pack("!BBBBII", next_payload, version, exchange, flags,
                                       message_id, length)  # fmt: skip


def garbage() -> bytes:
    """Ten bytes that are no IKE header at all (PARSE_ERROR_HEADER)."""
    return b"\x01" * 10


def v2_header_bad_length() -> bytes:
    """An IKEv2 IKE_SA_INIT header that claims 999 bytes but carries none."""
    return ike_header(os.urandom(8), bytes(8), PAYLOAD_NONE, IKEV2, EXCH_V2_IKE_SA_INIT,
                      FLAG_V2_INITIATOR, 0, 999)  # fmt: skip


def v2_sa_init_garbage_sa() -> bytes:
    """IKE_SA_INIT whose SA payload holds 20 random bytes (PARSE_ERROR_BODY)."""
    body = os.urandom(20)
    payload = struct.pack("!BBH", PAYLOAD_NONE, 0, 4 + len(body)) + body
    header = ike_header(os.urandom(8), bytes(8), PAYLOAD_V2_SA, IKEV2, EXCH_V2_IKE_SA_INIT,
                        FLAG_V2_INITIATOR, 0, HEADER_LEN + len(payload))  # fmt: skip
    return header + payload


def v2_unknown_spi() -> bytes:
    """A bare IKE_AUTH header with SPIs no IKE_SA has (INVALID_IKE_SPI)."""
    return ike_header(os.urandom(8), os.urandom(8), PAYLOAD_V2_ENCRYPTED, IKEV2, EXCH_V2_IKE_AUTH,
                      FLAG_V2_INITIATOR, 1, HEADER_LEN)  # fmt: skip


def v1_unknown_cookie() -> bytes:
    """An encrypted IKEv1 main-mode (ID_PROT) message with unknown cookies (INVALID_IKE_SPI)."""
    body = bytes(40)
    return ike_header(os.urandom(8), os.urandom(8), PAYLOAD_V1_ID, IKEV1, EXCH_V1_ID_PROT,
                      FLAG_V1_ENCRYPTION, 0, HEADER_LEN + len(body)) + body  # fmt: skip


def v1_informational_unknown_cookie() -> bytes:
    """An IKEv1 INFORMATIONAL message with unknown cookies."""
    body = bytes(12)
    message_id = int.from_bytes(os.urandom(4), "big") or 1
    return ike_header(os.urandom(8), os.urandom(8), PAYLOAD_V1_NOTIFY, IKEV1,
                      EXCH_V1_INFORMATIONAL, FLAG_V1_ENCRYPTION, message_id,
                      HEADER_LEN + len(body)) + body  # fmt: skip


def unsupported_version() -> bytes:
    """An IKE header with major version 3 (answered with INVALID_MAJOR_VERSION)."""
    return ike_header(os.urandom(8), bytes(8), PAYLOAD_NONE, IKE_UNSUPPORTED, EXCH_V2_IKE_SA_INIT,
                      FLAG_V2_INITIATOR, 0, HEADER_LEN)  # fmt: skip


def natt_ike(packet: bytes) -> bytes:
    """An IKE message as sent on port 4500: behind the 4-byte non-ESP marker."""
    return bytes(4) + packet


def esp(spi: int, seq: int, payload: bytes) -> bytes:
    """An ESP packet (as carried in UDP on port 4500): SPI, sequence number, payload."""
    return struct.pack("!II", spi, seq) + payload


# The child process: bind to node A's address, send each datagram, exit. Arguments on stdin.
_SENDER = """
import json, socket, sys
args = json.load(sys.stdin)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.bind((args["src"], args["sport"]))
    for data in args["payloads"]:
        s.sendto(bytes.fromhex(data), (args["dst"], args["dport"]))
"""


def send(
    lab: Lab,
    sender: Node,
    port: int,
    payloads: list[bytes],
    source_port: int = 0,
) -> None:
    """Send UDP datagrams from `sender`'s namespace to the other node's lab address."""
    target = lab.peer(sender)
    args = {
        "src": sender.address,
        "sport": source_port,
        "dst": target.address,
        "dport": port,
        "payloads": [p.hex() for p in payloads],
    }
    proc = subprocess.run(
        ["ip", "netns", "exec", sender.netns, sys.executable, "-c", _SENDER],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=10,
    )
    if proc.returncode != 0:
        raise LabError(f"sending from {sender.netns} failed: {proc.stderr.strip()}")
