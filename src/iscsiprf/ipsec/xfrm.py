"""Linux XFRM, pure: a small NETLINK_XFRM message parser and the /proc/net/xfrm_stat parser.

pyroute2 has no XFRM SA/policy messages, so the few bodies the counters need are read by fixed
offsets (`include/uapi/linux/xfrm.h`, host byte order except SPIs):

* `nlmsghdr` (16 bytes): len u32, type u16, flags u16, seq u32, pid u32; messages 4-aligned.
* `xfrm_usersa_info` (NEWSA, UPDSA, head of EXPIRE): selector 56 bytes, `id.daddr` @56 (16),
  `id.spi` @72 (big-endian), `id.proto` @76, `saddr` @80 (16), family u16 @212; EXPIRE adds
  `hard` u8 @224.
* `xfrm_usersa_id` (DELSA): `daddr` @0, `spi` @16 (BE), `family` u16 @20, `proto` u8 @22.
* `xfrm_user_acquire` (ACQUIRE): `id.daddr` @0, `id.proto` @20, `saddr` @24, selector @40
  (its family u16 @80).

Other message types (policies, AEVENTS, ...) are skipped; a short or inconsistent message is a
SourceError. Nothing here raises on bad input.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator

from .events import SourceError, XfrmEvent, XfrmKind

NLMSG_HDR = struct.Struct("=IHHII")
NLMSG_ERROR = 2
NLMSG_DONE = 3

XFRM_MSG_NEWSA = 0x10
XFRM_MSG_DELSA = 0x11
XFRM_MSG_ACQUIRE = 0x17
XFRM_MSG_EXPIRE = 0x18
XFRM_MSG_UPDSA = 0x1A

# multicast groups (enum xfrm_nlgroups) and their bind mask bits
XFRMNLGRP_ACQUIRE = 1
XFRMNLGRP_EXPIRE = 2
XFRMNLGRP_SA = 3
SA_EVENT_GROUPS = (
    (1 << (XFRMNLGRP_ACQUIRE - 1)) | (1 << (XFRMNLGRP_EXPIRE - 1)) | (1 << (XFRMNLGRP_SA - 1))
)

AF_INET = 2
AF_INET6 = 10

_USERSA_INFO_SIZE = 224
_USERSA_ID_SIZE = 24
_USER_ACQUIRE_MIN = 96  # id, saddr, selector: what we read


def _addr(raw: bytes, family: int) -> str:
    if family == AF_INET6:
        return str(ipaddress.IPv6Address(raw[:16]))
    if family == AF_INET or raw[4:16] == bytes(12):
        return str(ipaddress.IPv4Address(raw[:4]))
    return str(ipaddress.IPv6Address(raw[:16]))


def _usersa_info(kind: XfrmKind, body: bytes) -> XfrmEvent | SourceError:
    need = _USERSA_INFO_SIZE + (1 if kind is XfrmKind.EXPIRE else 0)
    if len(body) < need:
        return SourceError("xfrm", f"{kind.value} body of {len(body)} bytes, need {need}")
    (family,) = struct.unpack_from("=H", body, 212)
    (spi,) = struct.unpack_from("!I", body, 72)
    return XfrmEvent(
        kind,
        spi=spi,
        proto=body[76],
        daddr=_addr(body[56:72], family),
        saddr=_addr(body[80:96], family),
        hard=kind is XfrmKind.EXPIRE and body[224] != 0,
    )


def _usersa_id(body: bytes) -> XfrmEvent | SourceError:
    if len(body) < _USERSA_ID_SIZE:
        return SourceError("xfrm", f"delsa body of {len(body)} bytes, need {_USERSA_ID_SIZE}")
    (spi,) = struct.unpack_from("!I", body, 16)
    (family,) = struct.unpack_from("=H", body, 20)
    return XfrmEvent(XfrmKind.DELSA, spi=spi, proto=body[22], daddr=_addr(body[0:16], family))


def _user_acquire(body: bytes) -> XfrmEvent | SourceError:
    if len(body) < _USER_ACQUIRE_MIN:
        return SourceError("xfrm", f"acquire body of {len(body)} bytes, need {_USER_ACQUIRE_MIN}")
    (family,) = struct.unpack_from("=H", body, 80)
    return XfrmEvent(
        XfrmKind.ACQUIRE,
        proto=body[20],
        daddr=_addr(body[0:16], family),
        saddr=_addr(body[24:40], family),
    )


def decode_message(msg_type: int, body: bytes) -> XfrmEvent | SourceError | None:
    """One netlink message body → event; None for message types the counters do not use."""
    if msg_type == XFRM_MSG_NEWSA:
        return _usersa_info(XfrmKind.NEWSA, body)
    if msg_type == XFRM_MSG_UPDSA:
        return _usersa_info(XfrmKind.UPDSA, body)
    if msg_type == XFRM_MSG_EXPIRE:
        return _usersa_info(XfrmKind.EXPIRE, body)
    if msg_type == XFRM_MSG_DELSA:
        return _usersa_id(body)
    if msg_type == XFRM_MSG_ACQUIRE:
        return _user_acquire(body)
    return None


def decode_datagram(data: bytes) -> Iterator[XfrmEvent | SourceError]:
    """A netlink datagram (one or more nlmsghdr-framed messages) → events."""
    off = 0
    while off < len(data):
        if len(data) - off < NLMSG_HDR.size:
            yield SourceError("xfrm", f"{len(data) - off} trailing bytes, shorter than nlmsghdr")
            return
        length, msg_type, _flags, _seq, _pid = NLMSG_HDR.unpack_from(data, off)
        if length < NLMSG_HDR.size or off + length > len(data):
            yield SourceError("xfrm", f"nlmsg length {length} at offset {off} does not fit")
            return
        if msg_type not in (NLMSG_ERROR, NLMSG_DONE):
            item = decode_message(msg_type, data[off + NLMSG_HDR.size : off + length])
            if item is not None:
                yield item
        off += (length + 3) & ~3


def encode_message(msg_type: int, body: bytes, seq: int = 0) -> bytes:
    """nlmsghdr + body, padded to 4 (tests build messages with it)."""
    raw = NLMSG_HDR.pack(NLMSG_HDR.size + len(body), msg_type, 0, seq, 0) + body
    return raw + bytes(-len(raw) % 4)


# --- /proc/net/xfrm_stat ---------------------------------------------------------------------------


def parse_xfrm_stat(text: str) -> tuple[dict[str, int], list[str]]:
    """`Name<whitespace>value` lines → ({name: value}, [problems]); keyed by name, never position."""
    values: dict[str, int] = {}
    problems: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            problems.append(f"line {lineno}: cannot read {line.strip()[:60]!r}")
            continue
        values[parts[0]] = int(parts[1])
    return values, problems
