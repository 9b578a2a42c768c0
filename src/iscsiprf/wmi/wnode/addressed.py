"""The WNODEs addressed to one instance: WNODE_SINGLE_INSTANCE, WNODE_SINGLE_ITEM and
WNODE_METHOD_ITEM. The three share one layout — header, the instance's name offset and index,
an item or method id (not in SINGLE_INSTANCE), DataBlockOffset, the data's size — so they share
one encoder and one decoder here.

Offsets::

    WNODE_SINGLE_INSTANCE   OffsetInstanceName@48 InstanceIndex@52 DataBlockOffset@56
                            SizeDataBlock@60 VariableData@64                         sizeof 64
    WNODE_SINGLE_ITEM       OffsetInstanceName@48 InstanceIndex@52 ItemId@56
                            DataBlockOffset@60 SizeDataItem@64 VariableData@68       sizeof 72
    WNODE_METHOD_ITEM       OffsetInstanceName@48 InstanceIndex@52 MethodId@56
                            DataBlockOffset@60 SizeDataBlock@64 VariableData@68      sizeof 72

As written here: the counted instance name right after the fixed part, the data at the next
multiple of 8.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from .header import (
    FLAG_NAMES,
    HEADER_FMT,
    KIND_FLAGS,
    SINGLE_INSTANCE_SIZE,
    WNODE_FLAG_METHOD_ITEM,
    WNODE_FLAG_SINGLE_INSTANCE,
    WNODE_FLAG_SINGLE_ITEM,
    WNODE_FLAG_STATIC_INSTANCE_NAMES,
    ZERO_PAD,
    WnodeError,
    WnodeHeader,
    decode_header,
    guid_bytes,
    pad8,
)
from .names import decode_name, encode_name

SINGLE_INSTANCE = struct.Struct("<" + HEADER_FMT + "IIII")
SINGLE_ITEM = struct.Struct("<" + HEADER_FMT + "IIIII")
METHOD_ITEM = struct.Struct("<" + HEADER_FMT + "IIIII")
assert SINGLE_INSTANCE.size == SINGLE_INSTANCE_SIZE


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
    flags = (flags & ~KIND_FLAGS) | kind
    static = bool(flags & WNODE_FLAG_STATIC_INSTANCE_NAMES)
    if name is None:
        name_bytes = b""
        name_at = 0
    else:
        name_bytes = encode_name(name, count_nul=static)
        name_at = fixed.size
    dbo = pad8(fixed.size + len(name_bytes))
    total = dbo + len(data)
    # SizeDataBlock / SizeDataItem come last; DataBlockOffset before it.
    head = fixed.pack(
        total, provider_id, version, 0, timestamp, guid_bytes(guid), client_context, flags,
        name_at, index, *extra, dbo, len(data),
    )  # fmt: skip
    gap = dbo - fixed.size - len(name_bytes)
    return head + name_bytes + ZERO_PAD[:gap] + data


def _decode_addressed(
    buf: bytes, base: int, kind: int, fixed: struct.Struct, label: str
) -> tuple[WnodeHeader, str | None, tuple[int, ...], bytes]:
    header = decode_header(buf, base)
    if header.buffer_size < fixed.size:
        raise WnodeError(
            "BufferSize", f"{header.buffer_size} is smaller than the fixed part of {label}", base
        )
    if not header.flags & kind:
        raise WnodeError(
            "Flags", f"0x{header.flags:08x} lacks WNODE_FLAG_{FLAG_NAMES[kind]}", base + 44
        )
    vals = fixed.unpack_from(buf, base)[8:]
    name_at, index, *mid, dbo, size_data = vals
    end = base + header.buffer_size
    if dbo < fixed.size or dbo + size_data > header.buffer_size:
        raise WnodeError(
            "DataBlockOffset",
            f"data {dbo}..{dbo + size_data} is outside the {header.buffer_size}-byte WNODE",
            base + fixed.size - 8,
        )
    name = None
    if name_at:
        name = decode_name(buf, base, end, name_at, "OffsetInstanceName", fixed.size, base + 48)
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
        WNODE_FLAG_SINGLE_INSTANCE, SINGLE_INSTANCE, guid, name, instance_index, (), data,
        flags, provider_id, version, timestamp, client_context,
    )  # fmt: skip


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
        WNODE_FLAG_SINGLE_ITEM, SINGLE_ITEM, guid, name, instance_index, (item_id,), data,
        flags, provider_id, version, timestamp, client_context,
    )  # fmt: skip


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
        WNODE_FLAG_METHOD_ITEM, METHOD_ITEM, guid, name, instance_index, (method_id,), data,
        flags, provider_id, version, timestamp, client_context,
    )  # fmt: skip


def decode_method_item(buf: bytes, base: int = 0) -> MethodItem:
    h, name, (index, method_id), data = _decode_addressed(
        buf, base, WNODE_FLAG_METHOD_ITEM, METHOD_ITEM, "WNODE_METHOD_ITEM"
    )
    return MethodItem(h, name, index, method_id, data)
