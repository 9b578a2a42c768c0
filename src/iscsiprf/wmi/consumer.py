"""The consumer API (what the query, perf and serve layers use): instances as dicts with
``__CLASS``, ``InstanceName`` and ``Active``, decoded from the WNODEs the request API builds.
Raises :class:`WmiStatusError` for an unknown class or instance.

A consumer does what a WMI client does: QUERY_ALL_DATA with a remembered buffer size, and on
WNODE_TOO_SMALL a retry with SizeNeeded + 25 % (data may grow between calls), at most 8 times.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import wnode as wn
from .dispatch import Dispatcher, WmiReply
from .registry import ClassInfo, Registry
from .status import NtStatus, WmiStatusError

_FLAGS = struct.Struct("<I")  # WNODE_HEADER.Flags, at 44
MAX_TOO_SMALL_RETRIES = 8


@dataclass(frozen=True, slots=True)
class Sample:
    """Instances of one enumeration and when they were taken (for counter cooking)."""

    class_name: str
    instances: list[dict[str, Any]]
    timestamp_sys100ns: int  # 100 ns since 1601 (the WNODE TimeStamp)
    timestamp_perftime: int  # a monotonic tick count ...
    frequency_perftime: int  # ... and its ticks per second


class Consumer:
    def __init__(
        self,
        registry: Registry,
        dispatcher: Dispatcher,
        perf_clock: Callable[[], int],
        buffer_size: int,
    ) -> None:
        self._registry = registry
        self._dispatcher = dispatcher
        self._perf_clock = perf_clock
        self.buffer_size = buffer_size

    def enumerate(self, class_name: str, *, deep: bool = True) -> list[dict[str, Any]]:
        """All instances of a class (and its subclasses unless ``deep=False``) as dicts."""
        out: list[dict[str, Any]] = []
        for info in self._registry.family(class_name, deep):
            reply = self._query_all_retrying(info)
            if reply.status != NtStatus.SUCCESS:
                if reply.status == NtStatus.WMI_GUID_NOT_FOUND:
                    continue  # unregistered meanwhile
                raise WmiStatusError(reply.status, f"querying {info.name}")
            rows = _decode_instances(info, reply)
            if out:
                out.extend(rows)
            else:
                out = rows  # the usual single-class case: no copy
        return out

    def sample(self, class_name: str, *, deep: bool = True) -> Sample:
        """``enumerate`` plus the times it was taken (WNODE TimeStamp and a monotonic tick)."""
        perf = self._perf_clock()
        ts = self._dispatcher.timestamp()
        return Sample(
            self._registry.lookup(class_name).name,
            self.enumerate(class_name, deep=deep),
            ts,
            perf,
            10**9,
        )

    def get_instance(self, class_name: str, instance_name: str) -> dict[str, Any]:
        """One instance by name (case-insensitive), as a dict like ``enumerate``'s."""
        for info in self._registry.family(class_name, True):
            reply = self._dispatcher.query_single_instance(info.guid, instance_name)
            if reply.status == NtStatus.WMI_INSTANCE_NOT_FOUND:
                continue
            if reply.status != NtStatus.SUCCESS:
                raise WmiStatusError(reply.status, f"querying {info.name}({instance_name})")
            node = wn.decode_single_instance(reply.buffer)
            row: dict[str, Any] = {
                "__CLASS": info.name,
                "InstanceName": node.instance_name,
                "Active": not reply.inactive,
            }
            row.update(info.layout.unpack(node.data, 0))
            return row
        raise WmiStatusError(
            NtStatus.WMI_INSTANCE_NOT_FOUND, f"{class_name} has no instance {instance_name!r}"
        )

    def _query_all_retrying(self, info: ClassInfo) -> WmiReply:
        """QUERY_ALL_DATA as a consumer does it: a remembered size, WNODE_TOO_SMALL -> retry."""
        size = info.size_hint or self.buffer_size
        for _ in range(MAX_TOO_SMALL_RETRIES):
            if not info.regs:  # unregistered meanwhile
                return WmiReply(NtStatus.WMI_GUID_NOT_FOUND)
            reply = self._dispatcher.query_all(info, size)
            if reply.status != NtStatus.SUCCESS:
                return reply
            (flags,) = _FLAGS.unpack_from(reply.buffer, 44)
            if not flags & wn.WNODE_FLAG_TOO_SMALL:
                return reply
            # A quarter more than asked for, so data that grows between calls still fits.
            needed = wn.decode_too_small(reply.buffer).size_needed
            size = max(size, needed + needed // 4)
            info.size_hint = size
        raise WmiStatusError(
            NtStatus.WMI_TRY_AGAIN, f"{info.name}: data kept growing past {size} bytes"
        )


def _decode_instances(info: ClassInfo, reply: WmiReply) -> list[dict[str, Any]]:
    buf = reply.buffer
    inactive = reply.inactive
    if info.reader is not None:
        return _rows(info.name, info.item_names, info.reader.iter_chain(buf), inactive)
    unpack = info.layout.unpack
    cname = info.name
    out: list[dict[str, Any]] = []
    append = out.append
    for base in wn.chain_offsets(buf):
        node = wn.decode_all_data(buf, base)
        active = node.header.provider_id not in inactive
        for name, off in zip(node.names or (), node.offsets, strict=False):
            row: dict[str, Any] = {"__CLASS": cname, "InstanceName": name, "Active": active}
            row.update(unpack(buf, off))
            append(row)
    return out


def _rows(
    cname: str,
    item_names: tuple[str, ...],
    read: Iterable[tuple[int, str, tuple[Any, ...]]],
    inactive: frozenset[int],
) -> list[dict[str, Any]]:
    """Instance dicts from (ProviderId, name, values) triples: the hot loop of enumerate."""
    out: list[dict[str, Any]] = []
    append = out.append
    for pid, name, vals in read:
        row: dict[str, Any] = {
            "__CLASS": cname,
            "InstanceName": name,
            "Active": pid not in inactive,
        }
        row.update(zip(item_names, vals))  # noqa: B905 (lengths equal by construction)
        append(row)
    return out
