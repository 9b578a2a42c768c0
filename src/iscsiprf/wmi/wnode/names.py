"""Instance names in WNODEs: a USHORT byte count, UTF-16LE text, a NUL.

Static (and PDO) names count the NUL, dynamic names do not; decoders strip trailing NULs either
way. WNODE_ALL_DATA holds a ULONG array of name offsets (from the start of the WNODE), the other
kinds one ``OffsetInstanceName``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .header import U16, WnodeError

MAX_NAME_BYTES = 0xFFFF - 2  # USHORT count, with room for the NUL that must follow


def encode_name(name: str, *, count_nul: bool) -> bytes:
    """USHORT byte count + UTF-16LE + NUL. ``count_nul``: static names count the NUL."""
    text = name.encode("utf-16-le")
    if len(text) > MAX_NAME_BYTES:
        raise WnodeError("InstanceName", f"{len(text)} bytes of UTF-16 exceed a USHORT count")
    count = len(text) + 2 if count_nul else len(text)
    return U16.pack(count) + text + b"\x00\x00"


def encode_name_table(names: Sequence[str], start: int, *, count_nul: bool) -> bytes:
    """The ULONG offset array (at ``start``, 4-aligned) followed by the counted names."""
    if start & 3:
        raise WnodeError("OffsetInstanceNameOffsets", f"{start} is not a multiple of 4")
    encoded = [encode_name(n, count_nul=count_nul) for n in names]
    pos = start + 4 * len(encoded)
    offsets = []
    for e in encoded:
        offsets.append(pos)
        pos += len(e)
    return struct.pack(f"<{len(offsets)}I", *offsets) + b"".join(encoded)


def name_span(
    buf: bytes, base: int, end: int, offset: int, what: str, lowest: int, field_at: int
) -> int:
    """Check the counted name at ``offset`` (relative to ``base``) and return where it ends
    (relative too). ``end`` is the WNODE's end, ``lowest`` the first offset past its fixed part,
    ``field_at`` where the offset itself is stored (the place of an error about it)."""
    if offset & 1:
        raise WnodeError(what, f"offset {offset} is not USHORT-aligned", field_at)
    pos = base + offset
    if offset < lowest or pos + 2 > end:
        raise WnodeError(what, f"offset {offset} is outside the {end - base}-byte WNODE", field_at)
    count: int = U16.unpack_from(buf, pos)[0]
    if count & 1:
        raise WnodeError(what, f"name length {count} is odd (UTF-16 needs whole code units)", pos)
    if pos + 2 + count > end:
        raise WnodeError(
            what, f"name of {count} bytes at {offset} runs past the end of the WNODE", pos
        )
    return offset + 2 + count


def name_text(buf: bytes, base: int, offset: int, stop: int, what: str) -> str:
    """The text of a name :func:`name_span` checked (``offset``..``stop``, relative)."""
    try:
        text = buf[base + offset + 2 : base + stop].decode("utf-16-le")
    except UnicodeDecodeError as e:
        raise WnodeError(what, f"name is not valid UTF-16: {e.reason}", base + offset) from None
    return text.rstrip("\x00")


def decode_name(
    buf: bytes, base: int, end: int, offset: int, what: str, lowest: int, field_at: int
) -> str:
    """One counted name, checked (see :func:`name_span`)."""
    stop = name_span(buf, base, end, offset, what, lowest, field_at)
    return name_text(buf, base, offset, stop, what)
