"""WNODE_HEADER: the 48 bytes every WNODE starts with, the flag and request constants, and the
check that decides whether a buffer is a WNODE at all.

Offsets (reference §6, x64, little-endian): BufferSize@0 ProviderId@4 Version@8 Linkage@12
TimeStamp@16 Guid@24 (``bytes_le``) ClientContext@40 Flags@44; sizeof 48.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

# --- WNODE_FLAG_* -------------------------------------------------------------------------------
WNODE_FLAG_ALL_DATA = 0x00000001
WNODE_FLAG_SINGLE_INSTANCE = 0x00000002
WNODE_FLAG_SINGLE_ITEM = 0x00000004
WNODE_FLAG_EVENT_ITEM = 0x00000008
WNODE_FLAG_FIXED_INSTANCE_SIZE = 0x00000010
WNODE_FLAG_TOO_SMALL = 0x00000020
WNODE_FLAG_INSTANCES_SAME = 0x00000040
WNODE_FLAG_STATIC_INSTANCE_NAMES = 0x00000080
WNODE_FLAG_INTERNAL = 0x00000100
WNODE_FLAG_USE_TIMESTAMP = 0x00000200
WNODE_FLAG_PERSIST_EVENT = 0x00000400
WNODE_FLAG_EVENT_REFERENCE = 0x00002000
WNODE_FLAG_ANSI_INSTANCENAMES = 0x00004000
WNODE_FLAG_METHOD_ITEM = 0x00008000
WNODE_FLAG_PDO_INSTANCE_NAMES = 0x00010000
WNODE_FLAG_TRACED_GUID = 0x00020000
WNODE_FLAG_LOG_WNODE = 0x00040000
WNODE_FLAG_USE_GUID_PTR = 0x00080000
WNODE_FLAG_USE_MOF_PTR = 0x00100000
WNODE_FLAG_NO_HEADER = 0x00200000
WNODE_FLAG_SEVERITY_MASK = 0xFF000000

FLAG_NAMES: dict[int, str] = {
    v: k.removeprefix("WNODE_FLAG_")
    for k, v in dict(globals()).items()
    if k.startswith("WNODE_FLAG_") and k != "WNODE_FLAG_SEVERITY_MASK"
}

# The WNODE kinds, one of which every buffer must carry (EVENT_ITEM marks an event of a kind).
KIND_FLAGS = (
    WNODE_FLAG_ALL_DATA
    | WNODE_FLAG_SINGLE_INSTANCE
    | WNODE_FLAG_SINGLE_ITEM
    | WNODE_FLAG_METHOD_ITEM
    | WNODE_FLAG_TOO_SMALL
    | WNODE_FLAG_EVENT_ITEM
)

# --- WMIREG_FLAG_* (registration) ---------------------------------------------------------------
WMIREG_FLAG_EXPENSIVE = 0x00000001
WMIREG_FLAG_INSTANCE_LIST = 0x00000004
WMIREG_FLAG_INSTANCE_BASENAME = 0x00000008
WMIREG_FLAG_INSTANCE_PDO = 0x00000020
WMIREG_FLAG_EVENT_ONLY_GUID = 0x00000040
WMIREG_FLAG_TRACE_CONTROL_GUID = 0x00001000
WMIREG_FLAG_REMOVE_GUID = 0x00010000
WMIREG_FLAG_TRACED_GUID = 0x00080000

# --- IRP_MN_* request codes ---------------------------------------------------------------------
WMI_QUERY_ALL_DATA = 0
WMI_QUERY_SINGLE_INSTANCE = 1
WMI_CHANGE_SINGLE_INSTANCE = 2
WMI_CHANGE_SINGLE_ITEM = 3
WMI_ENABLE_EVENTS = 4
WMI_DISABLE_EVENTS = 5
WMI_ENABLE_COLLECTION = 6
WMI_DISABLE_COLLECTION = 7
WMI_REGINFO = 8
WMI_EXECUTE_METHOD = 9
WMI_REGINFO_EX = 0x0B

# --- sizes and struct layouts -------------------------------------------------------------------
HEADER_SIZE = 48
ALL_DATA_SIZE = 64  # sizeof(WNODE_ALL_DATA): the offset/length array is a flexible member
ALL_DATA_FIXED_PART = 60  # offset of FixedInstanceSize / OffsetInstanceDataAndLength[0]
SINGLE_INSTANCE_SIZE = 64
SINGLE_ITEM_SIZE = 72
METHOD_ITEM_SIZE = 72
TOO_SMALL_SIZE = 56

HEADER_FMT = (
    "IIIIq16sII"  # BufferSize ProviderId Version Linkage TimeStamp Guid ClientContext Flags
)
HEADER = struct.Struct("<" + HEADER_FMT)
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
assert HEADER.size == HEADER_SIZE

ZERO_PAD = bytes(8)
# Beyond this, a BufferSize that also runs past the end of the input is taken for bytes that are
# not a WNODE (text, say: its high byte alone makes it 150 MB or more), not for a truncated one.
MAX_WNODE_SIZE = 64 * 1024 * 1024

# The least BufferSize of each kind: its fixed part (SINGLE_ITEM and METHOD_ITEM end their
# fields at 68; WNODE_TOO_SMALL ends SizeNeeded at 52 and pads to 56).
_MIN_SIZE = {
    WNODE_FLAG_ALL_DATA: (ALL_DATA_SIZE, "WNODE_ALL_DATA"),
    WNODE_FLAG_SINGLE_INSTANCE: (SINGLE_INSTANCE_SIZE, "WNODE_SINGLE_INSTANCE"),
    WNODE_FLAG_SINGLE_ITEM: (HEADER_SIZE + 20, "WNODE_SINGLE_ITEM"),
    WNODE_FLAG_METHOD_ITEM: (HEADER_SIZE + 20, "WNODE_METHOD_ITEM"),
    WNODE_FLAG_TOO_SMALL: (HEADER_SIZE + 4, "WNODE_TOO_SMALL"),
}


def pad8(n: int) -> int:
    return (n + 7) & ~7


def pad4(n: int) -> int:
    return (n + 3) & ~3


class WnodeError(ValueError):
    """A WNODE buffer or request that is inconsistent; ``field`` names the culprit and, for a
    buffer being decoded, ``offset`` where it is (from the start of the buffer)."""

    def __init__(self, field: str, message: str, offset: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.offset = offset


class NotAWnode(WnodeError):
    """Bytes whose header no WNODE could have: ``not a WNODE: MESSAGE`` (the message names the
    field)."""

    def __str__(self) -> str:
        return f"not a WNODE: {self.message}"


@dataclass(frozen=True, slots=True)
class WnodeHeader:
    buffer_size: int
    provider_id: int
    version: int
    linkage: int
    timestamp: int  # 100 ns since 1601-01-01 (KeQuerySystemTime)
    guid: uuid.UUID
    client_context: int
    flags: int


def flag_names(flags: int) -> list[str]:
    """``0x10091`` → ``["ALL_DATA", "FIXED_INSTANCE_SIZE", "STATIC_INSTANCE_NAMES", ...]``."""
    out = [name for bit, name in sorted(FLAG_NAMES.items()) if flags & bit]
    sev = (flags & WNODE_FLAG_SEVERITY_MASK) >> 24
    if sev:
        out.append(f"SEVERITY({sev})")
    return out


def guid_bytes(guid: uuid.UUID | bytes) -> bytes:
    return guid if isinstance(guid, bytes) else guid.bytes_le


def check_header(buf: bytes, base: int, size: int, link: int, flags: int) -> int:
    """Is the header at ``base`` a WNODE's, and does the WNODE fit in ``buf``? Returns its kind.

    A header is a WNODE's when Flags name exactly one kind (EVENT_ITEM may go with a data kind),
    BufferSize holds that kind's fixed part (a WNODE_TOO_SMALL is 52 to 56 bytes), and Linkage
    is 0 or a multiple of 8 no smaller than BufferSize. Otherwise the bytes are "not a WNODE";
    a consistent header whose BufferSize runs past the end is a truncated WNODE.
    """
    kind = flags & (KIND_FLAGS & ~WNODE_FLAG_EVENT_ITEM)
    if kind not in _MIN_SIZE:
        what = "no WNODE kind" if not kind else f"{len(flag_names(kind))} WNODE kinds"
        raise NotAWnode(
            "Flags",
            f"Flags 0x{flags:08x} name {what} (one of ALL_DATA, SINGLE_INSTANCE, "
            "SINGLE_ITEM, METHOD_ITEM, TOO_SMALL)",
            base + 44,
        )
    least, label = _MIN_SIZE[kind]
    if size < least:
        raise NotAWnode(
            "BufferSize", f"BufferSize {size} is smaller than {label} ({least} bytes)", base
        )
    if kind == WNODE_FLAG_TOO_SMALL and size > TOO_SMALL_SIZE:
        raise NotAWnode(
            "BufferSize", f"BufferSize {size} for a {TOO_SMALL_SIZE}-byte {label}", base
        )
    if link and (link & 7 or link < size):
        raise NotAWnode(
            "Linkage",
            f"Linkage {link} is neither 0 nor a multiple of 8 at least BufferSize {size}",
            base + 12,
        )
    available = len(buf) - base
    if size > available:
        if size > MAX_WNODE_SIZE:
            raise NotAWnode(
                "BufferSize",
                f"BufferSize {size} runs past the end of the {available} bytes and "
                f"beyond any WNODE ({MAX_WNODE_SIZE // (1024 * 1024)} MiB)",
                base,
            )
        raise WnodeError("BufferSize", f"{size} exceeds the {available} bytes available", base)
    return kind


def decode_header(buf: bytes, base: int = 0) -> WnodeHeader:
    """The checked header at ``base`` (see :func:`check_header`)."""
    if len(buf) - base < HEADER_SIZE:
        raise NotAWnode(
            "WNODE_HEADER",
            f"{len(buf) - base} bytes, a WNODE_HEADER needs {HEADER_SIZE}",
            base,
        )
    size, prov, ver, link, ts, g, ctx, flags = HEADER.unpack_from(buf, base)
    check_header(buf, base, size, link, flags)
    return WnodeHeader(size, prov, ver, link, ts, uuid.UUID(bytes_le=g), ctx, flags)
