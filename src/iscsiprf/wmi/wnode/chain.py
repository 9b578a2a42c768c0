"""Any WNODE by its Flags, and chains: WNODEs of several providers joined by ``Linkage`` (the
distance from one WNODE to the next, a multiple of 8; 0 on the last)."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from .addressed import (
    MethodItem,
    SingleInstance,
    SingleItem,
    decode_method_item,
    decode_single_instance,
    decode_single_item,
)
from .all_data import AllData, decode_all_data
from .header import (
    HEADER_SIZE,
    U32,
    WNODE_FLAG_ALL_DATA,
    WNODE_FLAG_METHOD_ITEM,
    WNODE_FLAG_SINGLE_INSTANCE,
    WNODE_FLAG_SINGLE_ITEM,
    ZERO_PAD,
    WnodeError,
    decode_header,
    pad8,
)
from .too_small import TooSmall, decode_too_small

Wnode = AllData | SingleInstance | SingleItem | MethodItem | TooSmall

_LINK = struct.Struct("<IIII")  # BufferSize ProviderId Version Linkage


def decode(buf: bytes, base: int = 0) -> Wnode:
    """Decode the one WNODE at ``base``, whatever its kind (by its Flags)."""
    flags = decode_header(buf, base).flags  # exactly one kind, or "not a WNODE"
    if flags & WNODE_FLAG_ALL_DATA:
        return decode_all_data(buf, base)
    if flags & WNODE_FLAG_SINGLE_INSTANCE:
        return decode_single_instance(buf, base)
    if flags & WNODE_FLAG_SINGLE_ITEM:
        return decode_single_item(buf, base)
    if flags & WNODE_FLAG_METHOD_ITEM:
        return decode_method_item(buf, base)
    return decode_too_small(buf, base)


def chain_offsets(buf: bytes) -> Iterator[int]:
    """The start of every WNODE in a ``Linkage`` chain, checking each link."""
    base = 0
    while True:
        if len(buf) - base < HEADER_SIZE:
            if base == 0:
                decode_header(buf)  # says "not a WNODE"
            raise WnodeError(
                "Linkage", f"next WNODE at {base} leaves {len(buf) - base} bytes, need 48", base
            )
        size, _p, _v, link = _LINK.unpack_from(buf, base)
        yield base
        if link == 0:
            return
        if link & 7 or link < size:
            raise WnodeError(
                "Linkage",
                f"{link} at WNODE {base} must be a multiple of 8 and at least BufferSize {size}",
                base + 12,
            )
        base += link


def decode_chain(buf: bytes) -> list[Wnode]:
    return [decode(buf, b) for b in chain_offsets(buf)]


def decode_all_data_chain(buf: bytes) -> list[AllData]:
    return [decode_all_data(buf, b) for b in chain_offsets(buf)]


def link(wnodes: Sequence[bytes]) -> bytes:
    """Chain WNODEs: pad each to 8 and set its Linkage to the next (0 on the last)."""
    parts: list[bytes] = []
    last = len(wnodes) - 1
    for i, w in enumerate(wnodes):
        step = pad8(len(w))
        patched = w[:12] + U32.pack(step if i < last else 0) + w[16:]
        parts.append(patched)
        if i < last:
            parts.append(ZERO_PAD[: step - len(w)])
    return b"".join(parts)
