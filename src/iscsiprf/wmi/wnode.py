"""WNODE buffers, byte-exact to ``wmistr.h`` on x64: pure bytes <-> objects, no I/O.

Offsets (reference §6, little-endian)::

    WNODE_HEADER            BufferSize@0 ProviderId@4 Version@8 Linkage@12 TimeStamp@16
                            Guid@24 (bytes_le) ClientContext@40 Flags@44            sizeof 48
    WNODE_ALL_DATA          DataBlockOffset@48 InstanceCount@52 OffsetInstanceNameOffsets@56
                            FixedInstanceSize | OffsetInstanceDataAndLength[]@60     sizeof 64
    WNODE_SINGLE_INSTANCE   OffsetInstanceName@48 InstanceIndex@52 DataBlockOffset@56
                            SizeDataBlock@60 VariableData@64                         sizeof 64
    WNODE_SINGLE_ITEM       OffsetInstanceName@48 InstanceIndex@52 ItemId@56
                            DataBlockOffset@60 SizeDataItem@64 VariableData@68       sizeof 72
    WNODE_METHOD_ITEM       OffsetInstanceName@48 InstanceIndex@52 MethodId@56
                            DataBlockOffset@60 SizeDataBlock@64 VariableData@68      sizeof 72
    WNODE_TOO_SMALL         SizeNeeded@48                                            sizeof 56

WNODE_ALL_DATA as this module writes it: instance data from DataBlockOffset, each instance on an
8-byte boundary (fixed form: every instance padded to 8; offset/length form: the array follows the
fixed part and the data starts at the next multiple of 8), then padding to 4, the ULONG array of
instance-name offsets (from the start of the WNODE), then the names, each a USHORT byte count and
UTF-16LE text followed by a NUL. Static (and PDO) names count the NUL, dynamic names do not;
decoders strip trailing NULs either way. Several WNODEs may be chained: ``Linkage`` is the
distance from one WNODE to the next (a multiple of 8), 0 on the last.

Every decoder checks the buffer before trusting it and raises :class:`WnodeError` naming the
field that is wrong.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

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

# The WNODE kinds, one of which every buffer must carry.
_KIND_FLAGS = (
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

_HEADER_FMT = (
    "IIIIq16sII"  # BufferSize ProviderId Version Linkage TimeStamp Guid ClientContext Flags
)
HEADER = struct.Struct("<" + _HEADER_FMT)
ALL_DATA = struct.Struct("<" + _HEADER_FMT + "IIII")  # + FixedInstanceSize (or array[0].Offset)
ALL_DATA_PREFIX = struct.Struct("<" + _HEADER_FMT + "III")  # the 60 bytes before the union
SINGLE_INSTANCE = struct.Struct("<" + _HEADER_FMT + "IIII")
SINGLE_ITEM = struct.Struct("<" + _HEADER_FMT + "IIIII")
METHOD_ITEM = struct.Struct("<" + _HEADER_FMT + "IIIII")
TOO_SMALL = struct.Struct("<" + _HEADER_FMT + "I4x")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U32_PAIR = struct.Struct("<II")
_LINK = struct.Struct("<IIII")  # BufferSize ProviderId Version Linkage
assert HEADER.size == HEADER_SIZE and ALL_DATA.size == ALL_DATA_SIZE
assert SINGLE_INSTANCE.size == SINGLE_INSTANCE_SIZE and TOO_SMALL.size == TOO_SMALL_SIZE

_PAD = bytes(8)
MAX_NAME_BYTES = 0xFFFF - 2  # USHORT count, with room for the NUL that must follow


def pad8(n: int) -> int:
    return (n + 7) & ~7


def pad4(n: int) -> int:
    return (n + 3) & ~3


class WnodeError(ValueError):
    """A WNODE buffer or request that is inconsistent; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- objects ------------------------------------------------------------------------------------
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


@dataclass(frozen=True, slots=True)
class WnodeInstance:
    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class AllData:
    """A decoded WNODE_ALL_DATA. Instance data stays in ``buffer`` (offsets are absolute)."""

    header: WnodeHeader
    data_block_offset: int  # relative to the WNODE
    fixed_instance_size: int | None  # None in the offset/length form
    names: list[str] | None  # None when the WNODE carries no names (provider side, static names)
    offsets: list[int]  # absolute positions of each instance's data in ``buffer``
    lengths: list[int]
    buffer: bytes = field(repr=False)
    base: int = 0  # where this WNODE starts in ``buffer``

    @property
    def guid(self) -> uuid.UUID:
        return self.header.guid

    @property
    def flags(self) -> int:
        return self.header.flags

    @property
    def instance_count(self) -> int:
        return len(self.offsets)

    def data(self, index: int) -> bytes:
        o = self.offsets[index]
        return self.buffer[o : o + self.lengths[index]]

    @property
    def instances(self) -> list[WnodeInstance]:
        names = self.names if self.names is not None else [""] * len(self.offsets)
        return [WnodeInstance(n, self.data(i)) for i, n in enumerate(names)]


@dataclass(frozen=True, slots=True)
class SingleInstance:
    header: WnodeHeader
    instance_name: str | None  # None when addressed by InstanceIndex only
    instance_index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SingleItem:
    header: WnodeHeader
    instance_name: str | None
    instance_index: int
    item_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class MethodItem:
    header: WnodeHeader
    instance_name: str | None
    instance_index: int
    method_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class TooSmall:
    header: WnodeHeader
    size_needed: int


Wnode = AllData | SingleInstance | SingleItem | MethodItem | TooSmall


def flag_names(flags: int) -> list[str]:
    """``0x10091`` → ``["ALL_DATA", "FIXED_INSTANCE_SIZE", "STATIC_INSTANCE_NAMES", ...]``."""
    out = [name for bit, name in sorted(FLAG_NAMES.items()) if flags & bit]
    sev = (flags & WNODE_FLAG_SEVERITY_MASK) >> 24
    if sev:
        out.append(f"SEVERITY({sev})")
    return out


# --- names --------------------------------------------------------------------------------------
def encode_name(name: str, *, count_nul: bool) -> bytes:
    """USHORT byte count + UTF-16LE + NUL. ``count_nul``: static names count the NUL."""
    text = name.encode("utf-16-le")
    if len(text) > MAX_NAME_BYTES:
        raise WnodeError("InstanceName", f"{len(text)} bytes of UTF-16 exceed a USHORT count")
    count = len(text) + 2 if count_nul else len(text)
    return _U16.pack(count) + text + b"\x00\x00"


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


def _decode_name(buf: bytes, base: int, end: int, offset: int, what: str, lowest: int) -> str:
    """A counted UTF-16 name at ``offset`` (relative to ``base``); ``end`` is the WNODE's end,
    ``lowest`` the first offset past the WNODE's fixed part."""
    if offset & 1:
        raise WnodeError(what, f"offset {offset} is not USHORT-aligned")
    pos = base + offset
    if offset < lowest or pos + 2 > end:
        raise WnodeError(what, f"offset {offset} is outside the {end - base}-byte WNODE")
    (count,) = _U16.unpack_from(buf, pos)
    if count & 1:
        raise WnodeError(what, f"name length {count} is odd (UTF-16 needs whole code units)")
    if pos + 2 + count > end:
        raise WnodeError(what, f"name of {count} bytes at {offset} runs past the end of the WNODE")
    try:
        text = buf[pos + 2 : pos + 2 + count].decode("utf-16-le")
    except UnicodeDecodeError as e:
        raise WnodeError(what, f"name is not valid UTF-16: {e.reason}") from None
    return text.rstrip("\x00")


# --- header -------------------------------------------------------------------------------------
def _guid_bytes(guid: uuid.UUID | bytes) -> bytes:
    return guid if isinstance(guid, bytes) else guid.bytes_le


def decode_header(buf: bytes, base: int = 0) -> WnodeHeader:
    if len(buf) - base < HEADER_SIZE:
        raise WnodeError(
            "WNODE_HEADER", f"buffer holds {len(buf) - base} bytes, a header needs {HEADER_SIZE}"
        )
    size, prov, ver, link, ts, g, ctx, flags = HEADER.unpack_from(buf, base)
    if size < HEADER_SIZE:
        raise WnodeError("BufferSize", f"{size} is smaller than the {HEADER_SIZE}-byte header")
    if base + size > len(buf):
        raise WnodeError("BufferSize", f"{size} exceeds the {len(buf) - base} bytes available")
    return WnodeHeader(size, prov, ver, link, ts, uuid.UUID(bytes_le=g), ctx, flags)


# --- WNODE_ALL_DATA -----------------------------------------------------------------------------
def encode_all_data(
    guid: uuid.UUID | bytes,
    blocks: Sequence[bytes],
    names: Sequence[str] | None,
    *,
    flags: int = 0,
    provider_id: int = 0,
    version: int = 1,
    timestamp: int = 0,
    client_context: int = 0,
    linkage: int = 0,
    fixed: bool | None = None,
    empty_size: int = 0,
) -> bytes:
    """One WNODE_ALL_DATA holding ``blocks`` (one per instance) and their names.

    ``fixed``: None picks the fixed-size form when every block has the same length (and there
    is at least one); True insists on it. ``flags`` may add STATIC_INSTANCE_NAMES and
    PDO_INSTANCE_NAMES (names then count their NUL); ALL_DATA and FIXED_INSTANCE_SIZE are set
    here. ``names=None`` writes no name table (a provider's reply with static names).
    ``empty_size`` is the FixedInstanceSize written when there are no blocks.
    """
    n = len(blocks)
    if names is not None and len(names) != n:
        raise WnodeError("InstanceCount", f"{n} data blocks but {len(names)} instance names")
    sizes = {len(b) for b in blocks}
    if fixed is None:
        fixed = len(sizes) == 1
    elif fixed and len(sizes) > 1:
        raise WnodeError("FixedInstanceSize", f"instances differ in size: {sorted(sizes)}")
    flags = (flags & ~(WNODE_FLAG_FIXED_INSTANCE_SIZE | _KIND_FLAGS)) | WNODE_FLAG_ALL_DATA
    parts: list[bytes] = []
    if fixed:
        flags |= WNODE_FLAG_FIXED_INSTANCE_SIZE
        size = sizes.pop() if sizes else empty_size
        stride = pad8(size)
        dbo = ALL_DATA_SIZE
        tail_pad = _PAD[: stride - size]
        for b in blocks:
            parts.append(b)
            parts.append(tail_pad)
        data_end = dbo + n * stride
        union: bytes = _U32.pack(size)
    else:
        dbo = pad8(ALL_DATA_FIXED_PART + 8 * n)
        pos = dbo
        pairs = []
        for b in blocks:
            pairs.append((pos, len(b)))
            parts.append(b)
            nxt = pad8(pos + len(b))
            parts.append(_PAD[: nxt - pos - len(b)])
            pos = nxt
        data_end = pos
        union = b"".join(_U32_PAIR.pack(o, ln) for o, ln in pairs)
        union += _PAD[: dbo - ALL_DATA_FIXED_PART - len(union)]
    if names is None:
        tail = b""
        name_offsets = 0
    else:
        name_offsets = pad4(data_end)
        count_nul = bool(flags & WNODE_FLAG_STATIC_INSTANCE_NAMES)
        table = encode_name_table(names, name_offsets, count_nul=count_nul)
        tail = _PAD[: name_offsets - data_end] + table
    total = data_end + len(tail)
    head = ALL_DATA_PREFIX.pack(
        total,
        provider_id,
        version,
        linkage,
        timestamp,
        _guid_bytes(guid),
        client_context,
        flags,
        dbo,
        n,
        name_offsets,
    )
    return b"".join([head, union, *parts, tail])


def decode_all_data(buf: bytes, base: int = 0) -> AllData:
    """The WNODE_ALL_DATA at ``base`` (one link of a chain); checks every offset and length."""
    if len(buf) - base < ALL_DATA_SIZE:
        raise WnodeError(
            "WNODE_ALL_DATA",
            f"buffer holds {len(buf) - base} bytes, WNODE_ALL_DATA needs {ALL_DATA_SIZE}",
        )
    (size, prov, ver, link, ts, g, ctx, flags, dbo, count, names_at, fixed_size) = (
        ALL_DATA.unpack_from(buf, base)
    )
    if size < ALL_DATA_SIZE:
        raise WnodeError("BufferSize", f"{size} is smaller than WNODE_ALL_DATA ({ALL_DATA_SIZE})")
    end = base + size
    if end > len(buf):
        raise WnodeError("BufferSize", f"{size} exceeds the {len(buf) - base} bytes available")
    if not flags & WNODE_FLAG_ALL_DATA:
        raise WnodeError("Flags", f"0x{flags:08x} lacks WNODE_FLAG_ALL_DATA")
    header = WnodeHeader(size, prov, ver, link, ts, uuid.UUID(bytes_le=g), ctx, flags)
    if dbo & 7:
        raise WnodeError("DataBlockOffset", f"{dbo} is not 8-byte aligned")
    if count > size // 4:
        raise WnodeError("InstanceCount", f"{count} instances cannot fit in {size} bytes")
    offsets: list[int]
    lengths: list[int]
    if flags & WNODE_FLAG_FIXED_INSTANCE_SIZE:
        if dbo < ALL_DATA_SIZE or dbo > size:
            raise WnodeError(
                "DataBlockOffset", f"{dbo} is outside {ALL_DATA_SIZE}..{size} (the data area)"
            )
        stride = pad8(fixed_size)
        data_end = dbo + (count - 1) * stride + fixed_size if count else dbo
        if data_end > size:
            raise WnodeError(
                "FixedInstanceSize",
                f"{count} instances of {fixed_size} bytes from offset {dbo} need {data_end} "
                f"bytes, BufferSize is {size}",
            )
        first = base + dbo
        offsets = list(range(first, first + count * stride, stride)) if stride else [first] * count
        lengths = [fixed_size] * count
        fixed: int | None = fixed_size
    else:
        offsets, lengths, data_end = _decode_offset_lengths(buf, base, size, dbo, count)
        fixed = None
    names: list[str] | None
    if names_at == 0:
        names = None
    else:
        lowest = ALL_DATA_SIZE if fixed is not None else ALL_DATA_FIXED_PART + 8 * count
        names = _decode_name_table(buf, base, end, names_at, count, dbo, data_end, lowest)
    return AllData(header, dbo, fixed, names, offsets, lengths, buf, base)


def _decode_offset_lengths(
    buf: bytes, base: int, size: int, dbo: int, count: int
) -> tuple[list[int], list[int], int]:
    array_end = ALL_DATA_FIXED_PART + 8 * count
    if array_end > size:
        raise WnodeError(
            "InstanceCount",
            f"OffsetInstanceDataAndLength[{count}] ends at {array_end}, BufferSize is {size}",
        )
    if dbo < array_end or dbo > size:
        raise WnodeError(
            "DataBlockOffset", f"{dbo} is outside {array_end}..{size} (after the offset array)"
        )
    raw = struct.unpack_from(f"<{2 * count}I", buf, base + ALL_DATA_FIXED_PART)
    offsets = []
    lengths = []
    for i in range(count):
        off, ln = raw[2 * i], raw[2 * i + 1]
        what = f"OffsetInstanceDataAndLength[{i}]"
        if off & 7:
            raise WnodeError(what + ".OffsetInstanceData", f"{off} is not 8-byte aligned")
        if off < dbo or off + ln > size:
            raise WnodeError(
                what, f"instance data {off}..{off + ln} is outside the data area {dbo}..{size}"
            )
        offsets.append(base + off)
        lengths.append(ln)
    order = sorted(range(count), key=lambda i: offsets[i])
    for a, b in zip(order, order[1:], strict=False):
        if offsets[a] + lengths[a] > offsets[b]:
            raise WnodeError(
                f"OffsetInstanceDataAndLength[{b}]",
                f"instance {b} at {offsets[b] - base} overlaps instance {a} "
                f"({offsets[a] - base}..{offsets[a] - base + lengths[a]})",
            )
    data_end = max((offsets[i] - base + lengths[i] for i in range(count)), default=dbo)
    return offsets, lengths, data_end


def _decode_name_table(
    buf: bytes, base: int, end: int, names_at: int, count: int, dbo: int, data_end: int, lowest: int
) -> list[str]:
    size = end - base
    if names_at < lowest:
        raise WnodeError(
            "OffsetInstanceNameOffsets", f"{names_at} lies inside the fixed part (ends at {lowest})"
        )
    if names_at & 3:
        raise WnodeError("OffsetInstanceNameOffsets", f"{names_at} is not ULONG-aligned")
    if names_at + 4 * count > size:
        raise WnodeError(
            "OffsetInstanceNameOffsets",
            f"{count} name offsets at {names_at} run past BufferSize {size}",
        )
    if names_at < data_end and names_at + 4 * count > dbo and count:
        raise WnodeError(
            "OffsetInstanceNameOffsets",
            f"{names_at} lies inside the instance data {dbo}..{data_end}",
        )
    name_offsets = struct.unpack_from(f"<{count}I", buf, base + names_at)
    names = []
    for i, off in enumerate(name_offsets):
        if dbo <= off < data_end:
            raise WnodeError(
                f"InstanceNameOffsets[{i}]",
                f"{off} lies inside the instance data {dbo}..{data_end}",
            )
        names.append(_decode_name(buf, base, end, off, f"InstanceNameOffsets[{i}]", lowest))
    return names


# --- WNODE_SINGLE_INSTANCE / SINGLE_ITEM / METHOD_ITEM ------------------------------------------
def _encode_addressed(
    kind: int,
    fixed: struct.Struct,
    guid: uuid.UUID | bytes,
    name: str | None,
    index: int,
    extra: tuple[int, ...],
    data: bytes,
    flags: int,
    provider_id: int,
    version: int,
    timestamp: int,
    client_context: int,
) -> bytes:
    """Fixed part, the counted instance name right after it, data at the next multiple of 8."""
    flags = (flags & ~_KIND_FLAGS) | kind
    static = bool(flags & WNODE_FLAG_STATIC_INSTANCE_NAMES)
    if name is None:
        name_bytes = b""
        name_at = 0
    else:
        name_bytes = encode_name(name, count_nul=static)
        name_at = fixed.size
    dbo = pad8(fixed.size + len(name_bytes))
    total = dbo + len(data)
    fields = (name_at, index, *extra)
    # SizeDataBlock / SizeDataItem come last; DataBlockOffset before it.
    head = fixed.pack(
        total,
        provider_id,
        version,
        0,
        timestamp,
        _guid_bytes(guid),
        client_context,
        flags,
        *fields,
        dbo,
        len(data),
    )
    gap = dbo - fixed.size - len(name_bytes)
    return head + name_bytes + _PAD[:gap] + data


def _decode_addressed(
    buf: bytes, base: int, kind: int, fixed: struct.Struct, label: str
) -> tuple[WnodeHeader, str | None, tuple[int, ...], bytes]:
    header = decode_header(buf, base)
    if header.buffer_size < fixed.size:
        raise WnodeError(
            "BufferSize", f"{header.buffer_size} is smaller than the fixed part of {label}"
        )
    if not header.flags & kind:
        raise WnodeError("Flags", f"0x{header.flags:08x} lacks WNODE_FLAG_{FLAG_NAMES[kind]}")
    vals = fixed.unpack_from(buf, base)[8:]
    name_at, index, *mid, dbo, size_data = vals
    end = base + header.buffer_size
    if dbo < fixed.size or dbo + size_data > header.buffer_size:
        raise WnodeError(
            "DataBlockOffset",
            f"data {dbo}..{dbo + size_data} is outside the {header.buffer_size}-byte WNODE",
        )
    name = None
    if name_at:
        name = _decode_name(buf, base, end, name_at, "OffsetInstanceName", fixed.size)
    data = bytes(buf[base + dbo : base + dbo + size_data])
    return header, name, (index, *mid), data


def encode_single_instance(
    guid: uuid.UUID | bytes,
    name: str | None,
    data: bytes,
    *,
    instance_index: int = 0,
    flags: int = 0,
    provider_id: int = 0,
    version: int = 1,
    timestamp: int = 0,
    client_context: int = 0,
) -> bytes:
    return _encode_addressed(
        WNODE_FLAG_SINGLE_INSTANCE,
        SINGLE_INSTANCE,
        guid,
        name,
        instance_index,
        (),
        data,
        flags,
        provider_id,
        version,
        timestamp,
        client_context,
    )


def decode_single_instance(buf: bytes, base: int = 0) -> SingleInstance:
    h, name, (index,), data = _decode_addressed(
        buf, base, WNODE_FLAG_SINGLE_INSTANCE, SINGLE_INSTANCE, "WNODE_SINGLE_INSTANCE"
    )
    return SingleInstance(h, name, index, data)


def encode_single_item(
    guid: uuid.UUID | bytes,
    name: str | None,
    item_id: int,
    data: bytes,
    *,
    instance_index: int = 0,
    flags: int = 0,
    provider_id: int = 0,
    version: int = 1,
    timestamp: int = 0,
    client_context: int = 0,
) -> bytes:
    return _encode_addressed(
        WNODE_FLAG_SINGLE_ITEM,
        SINGLE_ITEM,
        guid,
        name,
        instance_index,
        (item_id,),
        data,
        flags,
        provider_id,
        version,
        timestamp,
        client_context,
    )


def decode_single_item(buf: bytes, base: int = 0) -> SingleItem:
    h, name, (index, item_id), data = _decode_addressed(
        buf, base, WNODE_FLAG_SINGLE_ITEM, SINGLE_ITEM, "WNODE_SINGLE_ITEM"
    )
    return SingleItem(h, name, index, item_id, data)


def encode_method_item(
    guid: uuid.UUID | bytes,
    name: str | None,
    method_id: int,
    data: bytes,
    *,
    instance_index: int = 0,
    flags: int = 0,
    provider_id: int = 0,
    version: int = 1,
    timestamp: int = 0,
    client_context: int = 0,
) -> bytes:
    return _encode_addressed(
        WNODE_FLAG_METHOD_ITEM,
        METHOD_ITEM,
        guid,
        name,
        instance_index,
        (method_id,),
        data,
        flags,
        provider_id,
        version,
        timestamp,
        client_context,
    )


def decode_method_item(buf: bytes, base: int = 0) -> MethodItem:
    h, name, (index, method_id), data = _decode_addressed(
        buf, base, WNODE_FLAG_METHOD_ITEM, METHOD_ITEM, "WNODE_METHOD_ITEM"
    )
    return MethodItem(h, name, index, method_id, data)


# --- WNODE_TOO_SMALL ----------------------------------------------------------------------------
def encode_too_small(
    guid: uuid.UUID | bytes, size_needed: int, *, provider_id: int = 0, version: int = 1
) -> bytes:
    return TOO_SMALL.pack(
        TOO_SMALL_SIZE,
        provider_id,
        version,
        0,
        0,
        _guid_bytes(guid),
        0,
        WNODE_FLAG_TOO_SMALL,
        size_needed,
    )


def decode_too_small(buf: bytes, base: int = 0) -> TooSmall:
    header = decode_header(buf, base)
    if not header.flags & WNODE_FLAG_TOO_SMALL:
        raise WnodeError("Flags", f"0x{header.flags:08x} lacks WNODE_FLAG_TOO_SMALL")
    # SizeNeeded ends at 52; the last 4 bytes of sizeof(WNODE_TOO_SMALL) are padding.
    if header.buffer_size < HEADER_SIZE + 4:
        raise WnodeError("BufferSize", f"{header.buffer_size} is too small for WNODE_TOO_SMALL")
    (needed,) = _U32.unpack_from(buf, base + HEADER_SIZE)
    return TooSmall(header, needed)


# --- any WNODE, chains --------------------------------------------------------------------------
def decode(buf: bytes, base: int = 0) -> Wnode:
    """Decode the one WNODE at ``base``, whatever its kind (by its Flags)."""
    flags = decode_header(buf, base).flags
    if flags & WNODE_FLAG_TOO_SMALL:
        return decode_too_small(buf, base)
    if flags & WNODE_FLAG_ALL_DATA:
        return decode_all_data(buf, base)
    if flags & WNODE_FLAG_SINGLE_INSTANCE:
        return decode_single_instance(buf, base)
    if flags & WNODE_FLAG_SINGLE_ITEM:
        return decode_single_item(buf, base)
    if flags & WNODE_FLAG_METHOD_ITEM:
        return decode_method_item(buf, base)
    raise WnodeError("Flags", f"0x{flags:08x} names no WNODE kind this codec knows")


def chain_offsets(buf: bytes) -> Iterator[int]:
    """The start of every WNODE in a ``Linkage`` chain, checking each link."""
    base = 0
    while True:
        if len(buf) - base < HEADER_SIZE:
            raise WnodeError(
                "Linkage", f"next WNODE at {base} leaves {len(buf) - base} bytes, need 48"
            )
        size, _p, _v, link = _LINK.unpack_from(buf, base)
        yield base
        if link == 0:
            return
        if link & 7 or link < size:
            raise WnodeError(
                "Linkage",
                f"{link} at WNODE {base} must be a multiple of 8 and at least BufferSize {size}",
            )
        base += link


def decode_chain(buf: bytes) -> list[Wnode]:
    return [decode(buf, b) for b in chain_offsets(buf)]


def decode_all_data_chain(buf: bytes) -> list[AllData]:
    out = []
    for b in chain_offsets(buf):
        out.append(decode_all_data(buf, b))
    return out


def link(wnodes: Sequence[bytes]) -> bytes:
    """Chain WNODEs: pad each to 8 and set its Linkage to the next (0 on the last)."""
    parts: list[bytes] = []
    last = len(wnodes) - 1
    for i, w in enumerate(wnodes):
        step = pad8(len(w))
        patched = w[:12] + _U32.pack(step if i < last else 0) + w[16:]
        parts.append(patched)
        if i < last:
            parts.append(_PAD[: step - len(w)])
    return b"".join(parts)


class FixedAllDataFrame:
    """The parts of a fixed-size WNODE_ALL_DATA that stay the same from one query to the next.

    A provider whose instance count, block size and (static) names do not change gets the same
    header layout and name table every time; only the data, ProviderId, TimeStamp and Linkage
    vary. Building those once makes a query one ``struct.pack`` and a join. The bytes equal
    :func:`encode_all_data`'s for the same input (with ``fixed=True, empty_size=size``).
    """

    __slots__ = (
        "guid_le",
        "count",
        "size",
        "flags",
        "version",
        "total",
        "linkage",
        "_pad",
        "_tail",
        "_name_at",
    )

    def __init__(
        self,
        guid: uuid.UUID | bytes,
        count: int,
        size: int,
        names: Sequence[str] | None,
        *,
        flags: int = 0,
        version: int = 1,
    ) -> None:
        if names is not None and len(names) != count:
            raise WnodeError("InstanceCount", f"{count} instances but {len(names)} names")
        self.guid_le = _guid_bytes(guid)
        self.count = count
        self.size = size
        self.version = version
        kinds = WNODE_FLAG_FIXED_INSTANCE_SIZE | _KIND_FLAGS
        self.flags = (flags & ~kinds) | WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE
        stride = pad8(size)
        self._pad = _PAD[: stride - size]
        data_end = ALL_DATA_SIZE + count * stride
        if names is None:
            self._name_at = 0
            self._tail = b""
        else:
            self._name_at = data_end  # already a multiple of 8
            count_nul = bool(self.flags & WNODE_FLAG_STATIC_INSTANCE_NAMES)
            self._tail = encode_name_table(names, data_end, count_nul=count_nul)
        self.total = data_end + len(self._tail)
        self.linkage = pad8(self.total)  # Linkage to a next WNODE (the WNODE is padded to it)

    def encode(
        self, blocks: Sequence[bytes], provider_id: int, timestamp: int, linked: bool = False
    ) -> bytes:
        """The WNODE for ``blocks`` (``count`` blocks of ``size`` bytes, checked by the caller).

        ``linked``: another WNODE follows, so Linkage points past this one, padded to 8.
        """
        head = ALL_DATA.pack(
            self.total,
            provider_id,
            self.version,
            self.linkage if linked else 0,
            timestamp,
            self.guid_le,
            0,
            self.flags,
            ALL_DATA_SIZE,
            self.count,
            self._name_at,
            self.size,
        )
        tail = self._tail + _PAD[: self.linkage - self.total] if linked else self._tail
        if not self._pad:
            return b"".join((head, *blocks, tail))
        pad = self._pad
        return b"".join((head, *(b + pad for b in blocks), tail))


_NAME_CACHE_MAX = 1 << 16


class FixedBlockReader:
    """Reads a WNODE_ALL_DATA chain of a class whose data block is a flat ``struct`` format.

    ``block_format`` covers the ``size`` bytes of one data block (item codes and ``x`` padding,
    no byte-order prefix). A link that holds one instance with one name, in the fixed form this
    module writes, is read with a single ``struct.unpack_from`` covering header, data block,
    name offset and name length, then checked field by field; any other link goes through
    :func:`decode_all_data`. The output is the same either way: ``(ProviderId, name, values)``
    per instance, ``values`` in item order.
    """

    __slots__ = ("guid_le", "size", "_one", "_block", "_names_at", "_name_at", "_names")

    def __init__(self, guid: uuid.UUID | bytes, size: int, block_format: str) -> None:
        self.guid_le = _guid_bytes(guid)
        self.size = size
        self._block = struct.Struct("<" + block_format)
        if self._block.size != size:
            raise ValueError(
                f"block format {block_format!r} is {self._block.size} bytes, not {size}"
            )
        stride = pad8(size)
        self._one = struct.Struct(
            "<" + _HEADER_FMT + "IIII" + block_format + f"{stride - size}x" + "IH"
        )
        self._names_at = ALL_DATA_SIZE + stride  # OffsetInstanceNameOffsets of that shape
        self._name_at = self._names_at + 4  # InstanceNameOffsets[0]
        self._names: dict[bytes, str] = {}  # static names repeat on every query: decode once

    def read_chain(self, buf: bytes) -> list[tuple[int, str, tuple[Any, ...]]]:
        return list(self.iter_chain(buf))

    def iter_chain(self, buf: bytes) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
        """``(ProviderId, InstanceName, item values)`` for every instance of the chain."""
        one = self._one
        one_size = one.size
        guid_le = self.guid_le
        size = self.size
        names_at = self._names_at
        name_at = self._name_at
        expect_flags = WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE
        names = self._names
        nbuf = len(buf)
        base = 0
        while True:
            if nbuf - base >= one_size:
                v = one.unpack_from(buf, base)
                # v: BufferSize ProviderId Version Linkage TimeStamp Guid ClientContext Flags
                #    DataBlockOffset InstanceCount OffsetInstanceNameOffsets FixedInstanceSize
                #    <items...> InstanceNameOffsets[0] <name byte count>
                total = v[0]
                nlen = v[-1]
                if (
                    v[7] & expect_flags == expect_flags
                    and not v[7] & WNODE_FLAG_TOO_SMALL
                    and v[5] == guid_le
                    and v[8] == ALL_DATA_SIZE
                    and v[9] == 1
                    and v[10] == names_at
                    and v[11] == size
                    and v[-2] == name_at
                    and not nlen & 1
                    and name_at + 2 + nlen <= total <= nbuf - base
                ):
                    start = base + name_at + 2
                    raw = buf[start : start + nlen]
                    name = names.get(raw)
                    if name is None:
                        try:
                            name = raw.decode("utf-16-le").rstrip("\x00")
                        except UnicodeDecodeError:
                            name = None
                        else:
                            if len(names) >= _NAME_CACHE_MAX:
                                names.clear()
                            names[raw] = name
                    if name is not None:
                        yield v[1], name, v[12:-2]
                        link = v[3]
                        if link == 0:
                            return
                        base = self._next(base, link, total)
                        continue
            out: list[tuple[int, str, tuple[Any, ...]]] = []
            base = self._read_general(buf, base, out)
            yield from out
            if base < 0:
                return

    def _next(self, base: int, link: int, total: int) -> int:
        if link & 7 or link < total:
            raise WnodeError(
                "Linkage",
                f"{link} at WNODE {base} must be a multiple of 8 and at least BufferSize {total}",
            )
        return base + link

    def _read_general(
        self, buf: bytes, base: int, out: list[tuple[int, str, tuple[Any, ...]]]
    ) -> int:
        """Decode one link the long way; returns the next link's start, or -1 at the end."""
        node = decode_all_data(buf, base)
        if node.header.guid.bytes_le != self.guid_le:
            raise WnodeError("Guid", f"{node.header.guid} is not the class being read")
        if node.names is None:
            raise WnodeError("OffsetInstanceNameOffsets", "0: the WNODE carries no instance names")
        unpack = self._block.unpack_from
        pid = node.header.provider_id
        for name, off, ln in zip(node.names, node.offsets, node.lengths, strict=True):
            if ln != self.size:
                raise WnodeError(
                    "LengthInstanceData", f"{ln} bytes, the class block has {self.size}"
                )
            out.append((pid, name, unpack(buf, off)))
        link = node.header.linkage
        return -1 if link == 0 else self._next(base, link, node.header.buffer_size)
