"""The hot path: fixed-size WNODE_ALL_DATA written from a prebuilt frame and read with one
``struct`` per link. Both give the same bytes and values as the general codec (all_data.py);
the tests hold them to it.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from .all_data import ALL_DATA, decode_all_data
from .header import (
    ALL_DATA_SIZE,
    HEADER_FMT,
    KIND_FLAGS,
    WNODE_FLAG_ALL_DATA,
    WNODE_FLAG_FIXED_INSTANCE_SIZE,
    WNODE_FLAG_STATIC_INSTANCE_NAMES,
    ZERO_PAD,
    WnodeError,
    guid_bytes,
    pad8,
)
from .names import encode_name_table


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
        self.guid_le = guid_bytes(guid)
        self.count = count
        self.size = size
        self.version = version
        kinds = WNODE_FLAG_FIXED_INSTANCE_SIZE | KIND_FLAGS
        self.flags = (flags & ~kinds) | WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE
        stride = pad8(size)
        self._pad = ZERO_PAD[: stride - size]
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
        tail = self._tail + ZERO_PAD[: self.linkage - self.total] if linked else self._tail
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
        self.guid_le = guid_bytes(guid)
        self.size = size
        self._block = struct.Struct("<" + block_format)
        if self._block.size != size:
            raise ValueError(
                f"block format {block_format!r} is {self._block.size} bytes, not {size}"
            )
        stride = pad8(size)
        self._one = struct.Struct(
            "<" + HEADER_FMT + "IIII" + block_format + f"{stride - size}x" + "IH"
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
        kinds = KIND_FLAGS | WNODE_FLAG_FIXED_INSTANCE_SIZE
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
                    v[7] & kinds == expect_flags  # ALL_DATA in the fixed form, nothing else
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
                base + 12,
            )
        return base + link

    def _read_general(
        self, buf: bytes, base: int, out: list[tuple[int, str, tuple[Any, ...]]]
    ) -> int:
        """Decode one link the long way; returns the next link's start, or -1 at the end."""
        node = decode_all_data(buf, base)
        if node.header.guid.bytes_le != self.guid_le:
            raise WnodeError("Guid", f"{node.header.guid} is not the class being read", base + 24)
        if node.names is None:
            raise WnodeError(
                "OffsetInstanceNameOffsets", "0: the WNODE carries no instance names", base + 56
            )
        unpack = self._block.unpack_from
        pid = node.header.provider_id
        for name, off, ln in zip(node.names, node.offsets, node.lengths, strict=True):
            if ln != self.size:
                raise WnodeError(
                    "LengthInstanceData", f"{ln} bytes, the class block has {self.size}", off
                )
            out.append((pid, name, unpack(buf, off)))
        link = node.header.linkage
        return -1 if link == 0 else self._next(base, link, node.header.buffer_size)
