"""WNODE_TOO_SMALL: the answer to a request whose buffer cannot hold the reply.

SizeNeeded@48; sizeof 56 (the last 4 bytes are padding). Flags = WNODE_FLAG_TOO_SMALL.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from .header import (
    HEADER_FMT,
    HEADER_SIZE,
    TOO_SMALL_SIZE,
    U32,
    WNODE_FLAG_TOO_SMALL,
    WnodeError,
    WnodeHeader,
    decode_header,
    guid_bytes,
)

TOO_SMALL = struct.Struct("<" + HEADER_FMT + "I4x")
assert TOO_SMALL.size == TOO_SMALL_SIZE


@dataclass(frozen=True, slots=True)
class TooSmall:
    header: WnodeHeader
    size_needed: int


def encode_too_small(
    guid: uuid.UUID | bytes, size_needed: int, *, provider_id: int = 0, version: int = 1
) -> bytes:
    return TOO_SMALL.pack(
        TOO_SMALL_SIZE, provider_id, version, 0, 0, guid_bytes(guid), 0, WNODE_FLAG_TOO_SMALL,
        size_needed,
    )  # fmt: skip


def decode_too_small(buf: bytes, base: int = 0) -> TooSmall:
    header = decode_header(buf, base)  # checks the kind and the size (52..56 bytes)
    if not header.flags & WNODE_FLAG_TOO_SMALL:
        raise WnodeError("Flags", f"0x{header.flags:08x} lacks WNODE_FLAG_TOO_SMALL", base + 44)
    (needed,) = U32.unpack_from(buf, base + HEADER_SIZE)
    return TooSmall(header, needed)
