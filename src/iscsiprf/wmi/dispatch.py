"""The request API, queries: WMI requests answered as the kernel interfaces do, with an
NTSTATUS and WNODE bytes, never an exception for a WMI failure (reference §6-7).

QUERY_ALL_DATA gives one WNODE_ALL_DATA per provider, chained by ``Linkage``; a buffer too small
for the answer gets WNODE_TOO_SMALL carrying SizeNeeded (or STATUS_BUFFER_TOO_SMALL if even that
does not fit). The set and method requests are in changes.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import NamedTuple

from . import wnode as wn
from .health import EPOCH_1601_100NS
from .provider import BlockLayout
from .provider_calls import ProviderCalls
from .registry import ClassInfo, Registration, Registry
from .status import NtStatus

_NONE: frozenset[int] = frozenset()


class WmiReply(NamedTuple):
    """A request's answer: a status and, on success, the WNODE buffer."""

    status: NtStatus
    buffer: bytes = b""
    inactive: frozenset[int] = frozenset()  # ProviderIds whose instances are Active = FALSE

    @property
    def ok(self) -> bool:
        return self.status == NtStatus.SUCCESS


# A found instance: its registration, index, name, data (None: ask the provider) and freshness.
_Found = tuple[Registration, int, str, bytes | None, bool]


class Dispatcher:
    """The query requests: QUERY_ALL_DATA, QUERY_SINGLE_INSTANCE, one item of an instance."""

    def __init__(self, registry: Registry, calls: ProviderCalls, clock: Callable[[], int]):
        self._registry = registry
        self._calls = calls
        self._clock = clock

    def timestamp(self) -> int:
        """Now as a WNODE TimeStamp: 100 ns since 1601."""
        return self._clock() // 100 + EPOCH_1601_100NS

    # --- QUERY_ALL_DATA -------------------------------------------------------------------------
    def query_all_data(self, guid: uuid.UUID | str, buffer_size: int | None = None) -> WmiReply:
        """WMI_QUERY_ALL_DATA: every instance of the GUID, one WNODE per provider, chained."""
        info = self._registry.info_by_guid(guid)
        if info is None:
            return WmiReply(NtStatus.WMI_GUID_NOT_FOUND)
        return self.query_all(info, buffer_size)

    def query_all(self, info: ClassInfo, buffer_size: int | None) -> WmiReply:
        now = self._clock()
        ts = now // 100 + EPOCH_1601_100NS
        parts = self._calls.collect(info.regs, now)
        wnodes: list[bytes] = []
        inactive = []
        last = len(parts) - 1
        append = wnodes.append
        for i, (r, blocks, names, ok) in enumerate(parts):
            if not ok:
                inactive.append(r.provider_id)
            frame = r.frame
            if frame is not None and frame.count == len(blocks):
                # The usual case, inlined: a fixed-size PDO block with its frame already built.
                append(frame.encode(blocks, r.provider_id, ts, i != last))
            else:
                append(_all_data_wnode(r, blocks, names, ts, i == last))
        if not wnodes:  # registered, but no provider has data yet
            wnodes.append(wn.encode_all_data(info.guid_le, [], [], timestamp=ts))
        buf = b"".join(wnodes)
        if buffer_size is not None and len(buf) > buffer_size:
            return _too_small(info, len(buf), buffer_size)
        return WmiReply(NtStatus.SUCCESS, buf, frozenset(inactive) if inactive else _NONE)

    # --- one instance ---------------------------------------------------------------------------
    def _find_instance(self, info: ClassInfo, instance_name: str) -> _Found | None:
        """Registration, index and name of a named instance, with its data for dynamic ones."""
        key = instance_name.lower()
        for r in info.regs:
            if r.names is not None and key in r.name_index:
                i = r.name_index[key]
                return r, i, r.names[i], None, True
        for r in info.regs:  # dynamic names: ask the provider for its current set
            if r.names is None:
                for got_r, blocks, names, ok in self._calls.collect([r]):
                    for i, n in enumerate(names or ()):
                        if n.lower() == key:
                            return got_r, i, n, blocks[i], ok
        return None

    def locate(
        self, guid: uuid.UUID | str, instance_name: str
    ) -> tuple[ClassInfo, _Found] | NtStatus:
        """The class of ``guid`` and its instance ``instance_name``, or the status saying why
        there is none."""
        info = self._registry.info_by_guid(guid)
        if info is None:
            return NtStatus.WMI_GUID_NOT_FOUND
        found = self._find_instance(info, instance_name)
        if found is None:
            return NtStatus.WMI_INSTANCE_NOT_FOUND
        return info, found

    def _single(
        self, guid: uuid.UUID | str, instance_name: str
    ) -> tuple[ClassInfo, Registration, int, bytes, bool, str] | NtStatus:
        located = self.locate(guid, instance_name)
        if isinstance(located, NtStatus):
            return located
        info, (r, index, name, data, ok) = located
        if data is None:
            got = self._calls.one(r, index)
            if got is not None:
                data, ok = got[0][0], True
            elif r.last_blocks is not None and index < len(r.last_blocks):
                data, ok = r.last_blocks[index], False
            else:
                return NtStatus.WMI_INSTANCE_NOT_FOUND
        return info, r, index, data, ok, name

    def query_single_instance(
        self, guid: uuid.UUID | str, instance_name: str, buffer_size: int | None = None
    ) -> WmiReply:
        """WMI_QUERY_SINGLE_INSTANCE: one instance as WNODE_SINGLE_INSTANCE."""
        got = self._single(guid, instance_name)
        if isinstance(got, NtStatus):
            return WmiReply(got)
        info, r, index, data, ok, name = got
        buf = wn.encode_single_instance(
            info.guid_le, name, data, instance_index=index, flags=r.flags,
            provider_id=r.provider_id, timestamp=self.timestamp(),
        )  # fmt: skip
        if buffer_size is not None and len(buf) > buffer_size:
            return _too_small(info, len(buf), buffer_size)
        return WmiReply(NtStatus.SUCCESS, buf, _NONE if ok else frozenset({r.provider_id}))

    def query_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int
    ) -> WmiReply:
        """One data item of one instance as WNODE_SINGLE_ITEM (its bytes in the data block)."""
        info = self._registry.info_by_guid(guid)
        if info is None:
            return WmiReply(NtStatus.WMI_GUID_NOT_FOUND)
        item_name = info.items_by_id.get(item_id)
        if item_name is None:
            return WmiReply(NtStatus.WMI_ITEMID_NOT_FOUND)
        span = _item_span(info.layout, item_name)
        if span is None:  # an item after a variable-size one: its place depends on the data
            return WmiReply(NtStatus.WMI_NOT_SUPPORTED)
        got = self._single(guid, instance_name)
        if isinstance(got, NtStatus):
            return WmiReply(got)
        _, r, index, data, ok, name = got
        off, size = span
        buf = wn.encode_single_item(
            info.guid_le, name, item_id, data[off : off + size], instance_index=index,
            flags=r.flags, provider_id=r.provider_id, timestamp=self.timestamp(),
        )  # fmt: skip
        return WmiReply(NtStatus.SUCCESS, buf, _NONE if ok else frozenset({r.provider_id}))


def _all_data_wnode(
    r: Registration, blocks: Sequence[bytes], names: Sequence[str] | None, ts: int, last: bool
) -> bytes:
    size = r.info.size
    if r.names is not None and size is not None:
        frame = r.frame
        if frame is None or frame.count != len(blocks):
            frame = r.frame = wn.FixedAllDataFrame(
                r.info.guid_le, len(blocks), size, r.names[: len(blocks)], flags=r.flags
            )
        return frame.encode(blocks, r.provider_id, ts, not last)
    w = wn.encode_all_data(
        r.info.guid_le,
        blocks,
        r.names[: len(blocks)] if r.names is not None else names,
        flags=r.flags,
        provider_id=r.provider_id,
        timestamp=ts,
    )
    if not last:
        w = w[:12] + wn.pad8(len(w)).to_bytes(4, "little") + w[16:]
    if not last and len(w) & 7:
        w += bytes(8 - (len(w) & 7))
    return w


def _too_small(info: ClassInfo, needed: int, buffer_size: int) -> WmiReply:
    if buffer_size < wn.TOO_SMALL_SIZE:
        return WmiReply(NtStatus.BUFFER_TOO_SMALL)
    return WmiReply(NtStatus.SUCCESS, wn.encode_too_small(info.guid_le, needed))


def _item_span(layout: BlockLayout, item_name: str) -> tuple[int, int] | None:
    """Offset and size of a fixed item in the data block, from the layout's item list."""
    for it in getattr(layout, "items", ()):
        if str(getattr(it, "name", "")).lower() == item_name.lower():
            off, size = getattr(it, "offset", None), getattr(it, "size", None)
            if isinstance(off, int) and isinstance(size, int):
                return off, size
    return None
