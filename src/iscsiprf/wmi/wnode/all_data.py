"""WNODE_ALL_DATA: every instance of a GUID from one provider.

Offsets: DataBlockOffset@48 InstanceCount@52 OffsetInstanceNameOffsets@56, then
FixedInstanceSize (FIXED_INSTANCE_SIZE set) or OffsetInstanceDataAndLength[InstanceCount]@60;
sizeof 64. As written here: instance data from DataBlockOffset, each instance on an 8-byte
boundary (fixed form: every instance padded to 8; offset/length form: the array follows the fixed
part and the data starts at the next multiple of 8), then padding to 4, the ULONG array of
instance-name offsets, then the names.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from .header import (
    ALL_DATA_FIXED_PART,
    ALL_DATA_SIZE,
    HEADER_FMT,
    KIND_FLAGS,
    U32,
    WNODE_FLAG_ALL_DATA,
    WNODE_FLAG_FIXED_INSTANCE_SIZE,
    WNODE_FLAG_STATIC_INSTANCE_NAMES,
    ZERO_PAD,
    WnodeError,
    WnodeHeader,
    check_header,
    guid_bytes,
    pad4,
    pad8,
)
from .names import encode_name_table, name_span, name_text

ALL_DATA = struct.Struct("<" + HEADER_FMT + "IIII")  # + FixedInstanceSize (or array[0].Offset)
ALL_DATA_PREFIX = struct.Struct("<" + HEADER_FMT + "III")  # the 60 bytes before the union
_U32_PAIR = struct.Struct("<II")
assert ALL_DATA.size == ALL_DATA_SIZE


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
    flags = (flags & ~(WNODE_FLAG_FIXED_INSTANCE_SIZE | KIND_FLAGS)) | WNODE_FLAG_ALL_DATA
    parts: list[bytes] = []
    if fixed:
        flags |= WNODE_FLAG_FIXED_INSTANCE_SIZE
        size = sizes.pop() if sizes else empty_size
        stride = pad8(size)
        dbo = ALL_DATA_SIZE
        tail_pad = ZERO_PAD[: stride - size]
        for b in blocks:
            parts.append(b)
            parts.append(tail_pad)
        data_end = dbo + n * stride
        union: bytes = U32.pack(size)
    else:
        dbo = pad8(ALL_DATA_FIXED_PART + 8 * n)
        pos = dbo
        pairs = []
        for b in blocks:
            pairs.append((pos, len(b)))
            parts.append(b)
            nxt = pad8(pos + len(b))
            parts.append(ZERO_PAD[: nxt - pos - len(b)])
            pos = nxt
        data_end = pos
        union = b"".join(_U32_PAIR.pack(o, ln) for o, ln in pairs)
        union += ZERO_PAD[: dbo - ALL_DATA_FIXED_PART - len(union)]
    if names is None:
        tail = b""
        name_offsets = 0
    else:
        name_offsets = pad4(data_end)
        count_nul = bool(flags & WNODE_FLAG_STATIC_INSTANCE_NAMES)
        table = encode_name_table(names, name_offsets, count_nul=count_nul)
        tail = ZERO_PAD[: name_offsets - data_end] + table
    total = data_end + len(tail)
    head = ALL_DATA_PREFIX.pack(
        total,
        provider_id,
        version,
        linkage,
        timestamp,
        guid_bytes(guid),
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
            base,
        )
    (size, prov, ver, link, ts, g, ctx, flags, dbo, count, names_at, fixed_size) = (
        ALL_DATA.unpack_from(buf, base)
    )
    if check_header(buf, base, size, link, flags) != WNODE_FLAG_ALL_DATA:
        raise WnodeError("Flags", f"0x{flags:08x} lacks WNODE_FLAG_ALL_DATA", base + 44)
    end = base + size
    header = WnodeHeader(size, prov, ver, link, ts, uuid.UUID(bytes_le=g), ctx, flags)
    if dbo & 7:
        raise WnodeError("DataBlockOffset", f"{dbo} is not 8-byte aligned", base + 48)
    if count > size // 4:
        raise WnodeError(
            "InstanceCount", f"{count} instances cannot fit in {size} bytes", base + 52
        )
    offsets: list[int]
    lengths: list[int]
    if flags & WNODE_FLAG_FIXED_INSTANCE_SIZE:
        if dbo < ALL_DATA_SIZE or dbo > size:
            raise WnodeError(
                "DataBlockOffset",
                f"{dbo} is outside {ALL_DATA_SIZE}..{size} (the data area)",
                base + 48,
            )
        stride = pad8(fixed_size)
        data_end = dbo + (count - 1) * stride + fixed_size if count else dbo
        if data_end > size:
            raise WnodeError(
                "FixedInstanceSize",
                f"{count} instances of {fixed_size} bytes from offset {dbo} need {data_end} "
                f"bytes, BufferSize is {size}",
                base + ALL_DATA_FIXED_PART,
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
            base + 52,
        )
    if dbo < array_end or dbo > size:
        raise WnodeError(
            "DataBlockOffset",
            f"{dbo} is outside {array_end}..{size} (after the offset array)",
            base + 48,
        )
    raw = struct.unpack_from(f"<{2 * count}I", buf, base + ALL_DATA_FIXED_PART)
    offsets = []
    lengths = []
    for i in range(count):
        off, ln = raw[2 * i], raw[2 * i + 1]
        what = f"OffsetInstanceDataAndLength[{i}]"
        at = base + ALL_DATA_FIXED_PART + 8 * i
        if off & 7:
            raise WnodeError(what + ".OffsetInstanceData", f"{off} is not 8-byte aligned", at)
        if off < dbo or off + ln > size:
            raise WnodeError(
                what,
                f"instance data {off}..{off + ln} is outside the data area {dbo}..{size}",
                at,
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
                base + ALL_DATA_FIXED_PART + 8 * b,
            )
    data_end = max((offsets[i] - base + lengths[i] for i in range(count)), default=dbo)
    return offsets, lengths, data_end


def _decode_name_table(
    buf: bytes, base: int, end: int, names_at: int, count: int, dbo: int, data_end: int, lowest: int
) -> list[str]:
    """The names, checked in two passes: first where each one lies, then their text.

    Each name must lie on its own: not in the instance data, not over the offset array, not
    over another name. So the decoded names never exceed the buffer (offsets that all point at
    one long name would otherwise turn kilobytes into gigabytes).
    """
    size = end - base
    at = base + 56
    if names_at < lowest:
        raise WnodeError(
            "OffsetInstanceNameOffsets",
            f"{names_at} lies inside the fixed part (ends at {lowest})",
            at,
        )
    if names_at & 3:
        raise WnodeError("OffsetInstanceNameOffsets", f"{names_at} is not ULONG-aligned", at)
    table_end = names_at + 4 * count
    if table_end > size:
        raise WnodeError(
            "OffsetInstanceNameOffsets",
            f"{count} name offsets at {names_at} run past BufferSize {size}",
            at,
        )
    if names_at < data_end and table_end > dbo and count:
        raise WnodeError(
            "OffsetInstanceNameOffsets",
            f"{names_at} lies inside the instance data {dbo}..{data_end}",
            at,
        )
    name_offsets = struct.unpack_from(f"<{count}I", buf, base + names_at)
    spans: list[tuple[int, int, int]] = []  # (start, stop, instance), relative to the WNODE
    for i, off in enumerate(name_offsets):
        what = f"InstanceNameOffsets[{i}]"
        field_at = base + names_at + 4 * i
        if dbo <= off < data_end:
            raise WnodeError(
                what, f"{off} lies inside the instance data {dbo}..{data_end}", field_at
            )
        spans.append((off, name_span(buf, base, end, off, what, lowest, field_at), i))
    _check_apart(spans, base, names_at, table_end, dbo, data_end)
    names = [""] * count
    for off, stop, i in spans:
        names[i] = name_text(buf, base, off, stop, f"InstanceNameOffsets[{i}]")
    return names


def _check_apart(
    spans: list[tuple[int, int, int]],
    base: int,
    names_at: int,
    table_end: int,
    dbo: int,
    data_end: int,
) -> None:
    """No name overlaps the instance data, the offset array or another name."""
    areas = ((dbo, data_end, "the instance data"), (names_at, table_end, "the name offsets"))
    for start, stop, i in spans:
        for lo, hi, what in areas:
            if start < hi and stop > lo and lo < hi:
                raise WnodeError(
                    f"InstanceNameOffsets[{i}]",
                    f"name at {start}..{stop} overlaps {what} {lo}..{hi}",
                    base + start,
                )
    ordered = sorted(spans)  # already in order when written by encode_all_data: linear
    for (s1, e1, i), (s2, _e2, j) in zip(ordered, ordered[1:], strict=False):
        if s2 < e1:
            raise WnodeError(
                f"InstanceNameOffsets[{j}]",
                f"name at {s2} overlaps the name of instance {i} ({s1}..{e1})",
                base + s2,
            )
