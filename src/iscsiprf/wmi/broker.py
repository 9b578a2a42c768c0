"""The broker: the WMI service between providers ("miniports") and consumers.

Consumer API (what the query, perf and serve layers use)::

    broker = Broker(schema)                 # schema: iscsiprf.mof.load_builtin_schema()
    broker.register(provider)               # -> ProviderId; unregister(provider)
    broker.enumerate("MSiSCSI_MMIPSECStats")            # -> list[dict], subclasses included
        # [{"__CLASS": "MSiSCSI_MMIPSECStats", "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
        #   "Active": True, "ActiveAcquire": 1, ...}, ...]
    broker.get_instance("MSiSCSI_MMIPSECStats", "ROOT\\ISCSIPRT\\0000_0")   # -> dict
    broker.classes_with_instances()         # -> ["MSiSCSI_MMIPSECStats", ...]
    broker.sample("MSiSCSI_MMIPSECStats")   # -> Sample(instances, timestamps) for counter cooking
    broker.provider_health()                # -> [ProviderHealth(...)] which providers are up

These raise :class:`WmiStatusError` (``err.status`` is the NTSTATUS) for an unknown class or
instance. Underneath is the request API, which answers with statuses and WNODE bytes as the kernel
WMI interfaces do, and never raises for a WMI failure::

    broker.query_all_data(guid, buffer_size)                  # WMI_QUERY_ALL_DATA
    broker.query_single_instance(guid, name, buffer_size)     # WMI_QUERY_SINGLE_INSTANCE
    broker.query_single_item(guid, name, item_id)             # one item as WNODE_SINGLE_ITEM
    broker.set_single_instance / set_single_item / execute_method
    -> WmiReply(status, buffer, inactive)

What the broker does, per the WMI rules (reference §6-7):

* GUID -> class through the schema; a provider registers class names, the broker finds GUIDs.
* Instance names: PDO registrations get ``<device instance path>_<n>`` (BaseIndex moved past names
  already taken for the GUID), base-name and list registrations their static names, dynamic
  registrations the names the provider returns. ``InstanceName`` and ``Active`` are added here,
  never by a provider.
* QUERY_ALL_DATA returns one WNODE_ALL_DATA per provider, chained by ``Linkage``; fixed-size
  classes use the FixedInstanceSize form, others the offset/length form; static names are
  appended as counted UTF-16 with their NUL.
* A buffer too small for the answer gets WNODE_TOO_SMALL carrying SizeNeeded (or
  STATUS_BUFFER_TOO_SMALL if even that does not fit); the consumer API retries with the size
  needed and remembers it per GUID.
* A provider that raises, returns a malformed reply, or does not answer within ``timeout``
  seconds keeps its instances with their last good data and ``Active = False``; the other
  providers are not disturbed. ``WmiReply.inactive`` holds the ProviderIds concerned, and the
  WNODE headers carry the ProviderId, so raw consumers can tell too.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..mof.model import MofClass, Schema
from . import wnode as wn
from .naming import (
    BaseIndexAllocator,
    InstanceNameError,
    Naming,
    check_dynamic_names,
    indexed_names,
    pdo_base_name,
)
from .provider import BlockLayout, DataBlocks, GuidRegInfo, WmiProvider
from .status import NtStatus, WmiStatusError

log = logging.getLogger("iscsiprf.wmi")

_FLAGS = struct.Struct("<I")  # WNODE_HEADER.Flags, at 44
_NONE: frozenset[int] = frozenset()
# 100 ns intervals between 1601-01-01 and 1970-01-01 (WNODE TimeStamp epoch).
EPOCH_1601_100NS = 116_444_736_000_000_000
DEFAULT_BUFFER_SIZE = 64 * 1024
MAX_TOO_SMALL_RETRIES = 8

LayoutFor = Callable[[MofClass, Schema], BlockLayout]
# A provider's checked reply: data blocks and (dynamic classes) names; None when it failed.
_Got = tuple[Sequence[bytes], Sequence[str] | None] | None


class WmiReply(NamedTuple):
    """A request's answer: a status and, on success, the WNODE buffer."""

    status: NtStatus
    buffer: bytes = b""
    inactive: frozenset[int] = frozenset()  # ProviderIds whose instances are Active = FALSE

    @property
    def ok(self) -> bool:
        return self.status == NtStatus.SUCCESS


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    provider_id: int
    device_instance_path: str
    class_name: str
    active: bool
    last_error: str | None
    failures: int  # consecutive failed queries
    last_ok_100ns: int | None  # WNODE-style timestamp of the last good reply


@dataclass(frozen=True, slots=True)
class Sample:
    """Instances of one enumeration and when they were taken (for counter cooking)."""

    class_name: str
    instances: list[dict[str, Any]]
    timestamp_sys100ns: int  # 100 ns since 1601 (the WNODE TimeStamp)
    timestamp_perftime: int  # a monotonic tick count ...
    frequency_perftime: int  # ... and its ticks per second


class _ClassInfo:
    """What the broker keeps per registered class: GUID, layout, item ids, the unpacker."""

    __slots__ = (
        "cls", "name", "guid", "guid_le", "layout", "size", "items_by_id", "regs", "reader",
        "item_names", "size_hint",
    )  # fmt: skip

    def __init__(self, cls: MofClass, guid: uuid.UUID, layout: BlockLayout) -> None:
        self.cls = cls
        self.name = cls.name
        self.guid = guid
        self.guid_le = guid.bytes_le
        self.layout = layout
        self.size = layout.size
        self.items_by_id = {p.data_id: p.name for p in cls.data_items() if p.data_id is not None}
        self.regs: tuple[_Registration, ...] = ()  # copy-on-write: queries read without a lock
        self.size_hint = 0  # the buffer size the last WNODE_TOO_SMALL asked for (consumer side)
        # Flat blocks (fixed-size scalars only, e.g. 21 x uint64) decode with one struct per link.
        flat = _flat_format(layout)
        self.reader = None if flat is None else wn.FixedBlockReader(guid, layout.size or 0, flat)
        self.item_names = tuple(str(getattr(it, "name", "")) for it in getattr(layout, "items", ()))


@dataclass(eq=False)
class _Registration:
    """One GUID-list entry of one provider, and what the broker remembers about it."""

    provider: WmiProvider
    provider_id: int
    info: _ClassInfo
    reg: GuidRegInfo
    names: list[str] | None  # static names; None for dynamic
    flags: int  # WNODE name flags for its buffers
    # State of the last query.
    active: bool = True
    last_blocks: Sequence[bytes] | None = None
    last_names: Sequence[str] | None = None
    last_error: str | None = None
    failures: int = 0
    last_ok: int | None = None
    pending: cf.Future[Any] | None = None
    frame: wn.FixedAllDataFrame | None = None
    name_index: dict[str, int] = field(default_factory=dict)
    # Fixed at registration, read on every query.
    class_name: str = ""
    count: int | None = None  # instances asked for in QUERY_ALL_DATA; None: dynamic
    blocking: bool = False
    event_only: bool = False

    def __post_init__(self) -> None:
        self.class_name = self.info.name
        self.count = None if self.names is None else len(self.names)
        self.blocking = bool(self.provider.may_block)
        self.event_only = bool(self.reg.flags & wn.WMIREG_FLAG_EVENT_ONLY_GUID)


class Broker:
    """Registers providers, answers WMI requests with WNODE buffers, decodes for consumers."""

    def __init__(
        self,
        schema: Schema,
        *,
        layout_for: LayoutFor | None = None,
        timeout: float = 2.0,
        clock: Callable[[], int] = time.time_ns,
        perf_clock: Callable[[], int] = time.perf_counter_ns,
        max_workers: int = 8,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        """``timeout``: seconds a provider may take per query; ``clock``: ns since 1970 (WNODE
        TimeStamps); ``buffer_size``: the first buffer the consumer API offers per GUID."""
        self.schema = schema
        self.buffer_size = buffer_size
        self.timeout = timeout
        self._layout_for = layout_for or _default_layout_for
        self._clock = clock
        self._perf_clock = perf_clock
        self._lock = threading.RLock()
        self._classes: dict[str, _ClassInfo] = {}  # lower class name
        self._by_guid: dict[uuid.UUID, _ClassInfo] = {}
        self._providers: dict[int, list[_Registration]] = {}  # id(provider) -> registrations
        self._provider_ids: dict[int, int] = {}
        self._next_id = 1
        self._allocator = BaseIndexAllocator()
        self._families: dict[tuple[str, bool], list[_ClassInfo]] = {}  # cleared on (un)register
        self._blocking: set[int] = set()  # ids of may_block providers: the pool is needed only then
        self._max_workers = max_workers
        self._executor: cf.ThreadPoolExecutor | None = None

    # --- registration ---------------------------------------------------------------------------
    def register(self, provider: WmiProvider) -> int:
        """Register every class of ``provider.guid_list``; returns the provider's ProviderId."""
        with self._lock:
            if id(provider) in self._providers:
                raise ValueError(f"provider {provider.device_instance_path!r} already registered")
            pid = self._next_id
            regs: list[_Registration] = []
            try:
                for info in provider.guid_list:
                    regs.append(self._registration(provider, pid, info))
            except Exception:
                self._allocator.release(provider)
                raise
            self._next_id += 1
            if provider.may_block:
                self._blocking.add(id(provider))
            self._providers[id(provider)] = regs
            self._provider_ids[id(provider)] = pid
            for r in regs:
                r.info.regs = (*r.info.regs, r)
            self._families = {}
            return pid

    def unregister(self, provider: WmiProvider) -> None:
        with self._lock:
            regs = self._providers.pop(id(provider), None)
            if regs is None:
                raise ValueError(f"provider {provider.device_instance_path!r} is not registered")
            self._provider_ids.pop(id(provider), None)
            self._blocking.discard(id(provider))
            self._allocator.release(provider)
            for r in regs:
                r.info.regs = tuple(x for x in r.info.regs if x is not r)
            self._families = {}

    def _registration(self, provider: WmiProvider, pid: int, reg: GuidRegInfo) -> _Registration:
        info = self._class_info(reg.class_name)
        naming = reg.naming
        flags = 0
        names: list[str] | None
        if naming is Naming.DYNAMIC:
            names = None
        elif naming is Naming.LIST:
            names = list(reg.names or ())
            check_dynamic_names(names, len(names))
            flags = wn.WNODE_FLAG_STATIC_INSTANCE_NAMES
        else:
            if naming is Naming.PDO:
                base = pdo_base_name(provider.device_instance_path)
                flags = wn.WNODE_FLAG_STATIC_INSTANCE_NAMES | wn.WNODE_FLAG_PDO_INSTANCE_NAMES
            else:
                base = reg.base_name or ""
                if not base:
                    raise InstanceNameError(f"{reg.class_name}: empty base name")
                flags = wn.WNODE_FLAG_STATIC_INSTANCE_NAMES
            start = self._allocator.claim(info.guid, base, reg.instance_count, provider)
            names = indexed_names(base, start, reg.instance_count)
        r = _Registration(provider, pid, info, reg, names, flags)
        if names is not None:
            taken = {n.lower() for x in info.regs if x.names for n in x.names}
            clash = [n for n in names if n.lower() in taken]
            if clash:
                raise InstanceNameError(
                    f"{info.name}: instance name {clash[0]!r} already registered"
                )
            r.name_index = {n.lower(): i for i, n in enumerate(names)}
        return r

    def _class_info(self, class_name: str) -> _ClassInfo:
        key = class_name.lower()
        info = self._classes.get(key)
        if info is not None:
            return info
        cls = self.schema.get(class_name)
        if cls is None:
            raise WmiStatusError(
                NtStatus.WMI_GUID_NOT_FOUND, f"class {class_name} is not in the schema"
            )
        guid = cls.guid
        if guid is None or not cls.is_wmi:
            raise WmiStatusError(
                NtStatus.WMI_GUID_NOT_FOUND, f"class {cls.name} is not a WMI class with a guid"
            )
        info = _ClassInfo(cls, guid, self._layout_for(cls, self.schema))
        self._classes[key] = info
        self._by_guid[guid] = info
        return info

    def provider_id(self, provider: WmiProvider) -> int | None:
        return self._provider_ids.get(id(provider))

    # --- calling providers ----------------------------------------------------------------------
    def _pool(self) -> cf.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = cf.ThreadPoolExecutor(self._max_workers, "iscsiprf-wmi")
            return self._executor

    def close(self) -> None:
        """Stop the worker threads used for blocking providers (a stuck call is abandoned)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, r: _Registration, first: int, count: int | None) -> cf.Future[Any] | None:
        """Submit a blocking provider's query; None if it is still busy with an earlier one."""
        if r.pending is not None and not r.pending.done():
            return None
        fut = self._pool().submit(r.provider.query_data_block, r.class_name, first, count)
        r.pending = fut
        return fut

    def _finish(
        self,
        r: _Registration,
        fut: cf.Future[Any] | None,
        deadline: float,
        count: int | None,
        now: int,
    ) -> _Got:
        if fut is None:
            return self._failed(r, "still busy with an earlier request")
        try:
            reply = fut.result(timeout=max(0.0, deadline - time.monotonic()))
        except cf.TimeoutError:
            return self._failed(r, f"did not answer within {self.timeout:g} s")
        except Exception as e:  # any provider bug is contained here
            return self._failed(r, _describe(e))
        return self._accept(r, reply, count, now)

    def _call_inline(self, r: _Registration, first: int, count: int | None, now: int) -> _Got:
        t0 = time.monotonic()
        try:
            reply = r.provider.query_data_block(r.class_name, first, count)
        except Exception as e:  # any provider bug is contained here
            return self._failed(r, _describe(e))
        if time.monotonic() - t0 > self.timeout:
            return self._failed(r, f"answered after more than {self.timeout:g} s")
        return self._accept(r, reply, count, now)

    def _accept(self, r: _Registration, reply: Any, count: int | None, now: int) -> _Got:
        """Check a reply; remember it as the last good data."""
        size = r.info.size
        # Fast path: a static-named, fixed-size class answered with a list of exact blocks.
        if (
            (type(reply) is list or type(reply) is tuple)
            and r.names is not None
            and size is not None
            and len(reply) == count
        ):
            for b in reply:
                if type(b) is not bytes or len(b) != size:
                    break
            else:
                if not r.active or r.failures:
                    self._recovered(r)
                r.last_ok = now
                if count == r.count:
                    r.last_blocks = reply
                return reply, None
        names: Sequence[str] | None = None
        if isinstance(reply, DataBlocks):
            blocks, names = reply.blocks, reply.names
        else:
            blocks = reply
        if not isinstance(blocks, list | tuple):
            return self._failed(r, f"returned {type(blocks).__name__}, not a list of data blocks")
        n = len(blocks)
        if r.names is None:  # dynamic: the provider names what it returns
            if names is None:
                return self._failed(r, "returned no instance names for a dynamic class")
            try:
                check_dynamic_names(names, n)
            except InstanceNameError as e:
                return self._failed(r, str(e))
        elif n != count:
            return self._failed(r, f"returned {n} data blocks for {count} instances")
        else:
            names = None  # static names are the broker's, whatever the provider said
        for i, b in enumerate(blocks):
            if not isinstance(b, bytes):
                return self._failed(r, f"data block {i} is {type(b).__name__}, not bytes")
            if size is not None and len(b) != size:
                return self._failed(r, f"data block {i} is {len(b)} bytes, the layout has {size}")
        if size is None:  # variable layouts: the block must decode
            for i, b in enumerate(blocks):
                try:
                    r.info.layout.unpack(b, 0)
                except Exception as e:
                    return self._failed(r, f"data block {i} does not match the layout: {e}")
        if not r.active or r.failures:
            self._recovered(r)
        r.last_ok = now
        if r.names is None or count == r.count:
            r.last_blocks, r.last_names = blocks, names
        return blocks, names

    def _recovered(self, r: _Registration) -> None:
        if not r.active:
            log.info("provider %s (%s) answers again", r.provider_id, r.class_name)
        r.active = True
        r.failures = 0
        r.last_error = None

    def _failed(self, r: _Registration, why: str) -> _Got:
        """Record a failed query (Active = FALSE from now on); the reply is "nothing new"."""
        if r.active:
            log.warning(
                "provider %s (%s, %s) failed: %s; its instances are inactive",
                r.provider_id,
                r.provider.device_instance_path,
                r.class_name,
                why,
            )
        r.active = False
        r.failures += 1
        r.last_error = why
        return None

    def _collect(
        self, regs: Sequence[_Registration], now: int | None = None
    ) -> list[tuple[_Registration, Sequence[bytes], Sequence[str] | None, bool]]:
        """Ask every registration for all its instances; blocking ones run in parallel."""
        if now is None:
            now = self._clock()
        deadline = 0.0
        started: dict[int, cf.Future[Any] | None] = {}
        if self._blocking:  # start every blocking provider first, so they run in parallel
            deadline = time.monotonic() + self.timeout
            for i, r in enumerate(regs):
                if r.blocking and not r.event_only:
                    started[i] = self._start(r, 0, r.count)
        out: list[tuple[_Registration, Sequence[bytes], Sequence[str] | None, bool]] = []
        append = out.append
        accept = self._accept
        monotonic = time.monotonic
        timeout = self.timeout
        got: _Got
        for i, r in enumerate(regs):
            if r.event_only:
                continue
            if r.blocking:
                got = self._finish(r, started[i], deadline, r.count, now)
            else:  # _call_inline, unrolled: this loop runs once per provider per query
                t0 = monotonic()
                try:
                    reply = r.provider.query_data_block(r.class_name, 0, r.count)
                except Exception as e:  # any provider bug is contained here
                    got = self._failed(r, _describe(e))
                else:
                    if monotonic() - t0 > timeout:
                        got = self._failed(r, f"answered after more than {timeout:g} s")
                    else:
                        got = accept(r, reply, r.count, now)
            if got is not None:
                append((r, got[0], got[1], True))
            elif r.last_blocks is not None:
                append((r, r.last_blocks, r.last_names, False))
        return out

    # --- request API (statuses, WNODE bytes) ----------------------------------------------------
    def _info_by_guid(self, guid: uuid.UUID | str) -> _ClassInfo | None:
        if isinstance(guid, str):
            try:
                guid = uuid.UUID(guid.strip().strip("{}"))
            except ValueError:
                return None
        info = self._by_guid.get(guid)
        return info if info is not None and info.regs else None

    def _timestamp(self) -> int:
        return self._clock() // 100 + EPOCH_1601_100NS

    def query_all_data(self, guid: uuid.UUID | str, buffer_size: int | None = None) -> WmiReply:
        """WMI_QUERY_ALL_DATA: every instance of the GUID, one WNODE per provider, chained."""
        info = self._info_by_guid(guid)
        if info is None:
            return WmiReply(NtStatus.WMI_GUID_NOT_FOUND)
        return self._query_all(info, buffer_size)

    def _query_all(self, info: _ClassInfo, buffer_size: int | None) -> WmiReply:
        now = self._clock()
        ts = now // 100 + EPOCH_1601_100NS
        parts = self._collect(info.regs, now)
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
                append(self._all_data_wnode(r, blocks, names, ts, i == last))
        if not wnodes:  # registered, but no provider has data yet
            wnodes.append(wn.encode_all_data(info.guid_le, [], [], timestamp=ts))
        buf = b"".join(wnodes)
        if buffer_size is not None and len(buf) > buffer_size:
            return self._too_small(info, len(buf), buffer_size)
        return WmiReply(NtStatus.SUCCESS, buf, frozenset(inactive) if inactive else _NONE)

    def _all_data_wnode(
        self,
        r: _Registration,
        blocks: Sequence[bytes],
        names: Sequence[str] | None,
        ts: int,
        last: bool,
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

    def _too_small(self, info: _ClassInfo, needed: int, buffer_size: int) -> WmiReply:
        if buffer_size < wn.TOO_SMALL_SIZE:
            return WmiReply(NtStatus.BUFFER_TOO_SMALL)
        return WmiReply(NtStatus.SUCCESS, wn.encode_too_small(info.guid_le, needed))

    def _find_instance(
        self, info: _ClassInfo, instance_name: str
    ) -> tuple[_Registration, int, str, bytes | None, bool] | None:
        """Registration, index and name of a named instance, with its data for dynamic ones."""
        key = instance_name.lower()
        for r in info.regs:
            if r.names is not None and key in r.name_index:
                i = r.name_index[key]
                return r, i, r.names[i], None, True
        for r in info.regs:  # dynamic names: ask the provider for its current set
            if r.names is None:
                for got_r, blocks, names, ok in self._collect([r]):
                    for i, n in enumerate(names or ()):
                        if n.lower() == key:
                            return got_r, i, n, blocks[i], ok
        return None

    def _single(
        self, guid: uuid.UUID | str, instance_name: str
    ) -> tuple[_ClassInfo, _Registration, int, bytes, bool, str] | NtStatus:
        info = self._info_by_guid(guid)
        if info is None:
            return NtStatus.WMI_GUID_NOT_FOUND
        found = self._find_instance(info, instance_name)
        if found is None:
            return NtStatus.WMI_INSTANCE_NOT_FOUND
        r, index, name, data, ok = found
        if data is None:
            if r.provider.may_block:
                deadline = time.monotonic() + self.timeout
                got = self._finish(r, self._start(r, index, 1), deadline, 1, self._clock())
            else:
                got = self._call_inline(r, index, 1, self._clock())
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
            info.guid_le,
            name,
            data,
            instance_index=index,
            flags=r.flags,
            provider_id=r.provider_id,
            timestamp=self._timestamp(),
        )
        if buffer_size is not None and len(buf) > buffer_size:
            return self._too_small(info, len(buf), buffer_size)
        return WmiReply(NtStatus.SUCCESS, buf, frozenset() if ok else frozenset({r.provider_id}))

    def query_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int
    ) -> WmiReply:
        """One data item of one instance as WNODE_SINGLE_ITEM (its bytes in the data block)."""
        info = self._info_by_guid(guid)
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
            info.guid_le,
            name,
            item_id,
            data[off : off + size],
            instance_index=index,
            flags=r.flags,
            provider_id=r.provider_id,
            timestamp=self._timestamp(),
        )
        return WmiReply(NtStatus.SUCCESS, buf, frozenset() if ok else frozenset({r.provider_id}))

    def _call_setter(
        self, guid: uuid.UUID | str, instance_name: str, call: Callable[..., Any]
    ) -> Any:
        info = self._info_by_guid(guid)
        if info is None:
            return NtStatus.WMI_GUID_NOT_FOUND
        found = self._find_instance(info, instance_name)
        if found is None:
            return NtStatus.WMI_INSTANCE_NOT_FOUND
        r, index, name, _, _ = found
        try:
            return info, r, index, name, call(r.provider, info.name, index)
        except WmiStatusError as e:
            return e.status
        except Exception as e:
            log.warning("provider %s failed a set/method request: %s", r.provider_id, _describe(e))
            return NtStatus.WMI_SET_FAILURE

    def set_single_instance(
        self, guid: uuid.UUID | str, instance_name: str, data: bytes
    ) -> WmiReply:
        got = self._call_setter(guid, instance_name, lambda p, c, i: p.set_data_block(c, i, data))
        return WmiReply(got) if isinstance(got, NtStatus) else WmiReply(NtStatus.SUCCESS)

    def set_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int, data: bytes
    ) -> WmiReply:
        info = self._info_by_guid(guid)
        if info is not None and item_id not in info.items_by_id:
            return WmiReply(NtStatus.WMI_ITEMID_NOT_FOUND)
        got = self._call_setter(
            guid, instance_name, lambda p, c, i: p.set_data_item(c, i, item_id, data)
        )
        return WmiReply(got) if isinstance(got, NtStatus) else WmiReply(NtStatus.SUCCESS)

    def execute_method(
        self, guid: uuid.UUID | str, instance_name: str, method_id: int, in_data: bytes
    ) -> WmiReply:
        """WMI_EXECUTE_METHOD; the output parameters come back as WNODE_METHOD_ITEM."""
        got = self._call_setter(
            guid, instance_name, lambda p, c, i: p.execute_method(c, i, method_id, in_data)
        )
        if isinstance(got, NtStatus):
            return WmiReply(got)
        info, r, index, name, out = got
        if not isinstance(out, bytes):
            return WmiReply(NtStatus.WMI_SET_FAILURE)
        buf = wn.encode_method_item(
            info.guid_le, name, method_id, out, instance_index=index, flags=r.flags,
            provider_id=r.provider_id, timestamp=self._timestamp(),
        )  # fmt: skip
        return WmiReply(NtStatus.SUCCESS, buf)

    # --- consumer API (dicts; raises WmiStatusError) --------------------------------------------
    def _query_all_retrying(self, info: _ClassInfo) -> WmiReply:
        """QUERY_ALL_DATA as a consumer does it: a remembered size, WNODE_TOO_SMALL -> retry."""
        size = info.size_hint or self.buffer_size
        for _ in range(MAX_TOO_SMALL_RETRIES):
            if not info.regs:  # unregistered meanwhile
                return WmiReply(NtStatus.WMI_GUID_NOT_FOUND)
            reply = self._query_all(info, size)
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

    def _decode_instances(self, info: _ClassInfo, reply: WmiReply) -> list[dict[str, Any]]:
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

    def _lookup(self, class_name: str) -> MofClass:
        cls = self.schema.get(class_name)
        if cls is None:
            raise WmiStatusError(NtStatus.WMI_GUID_NOT_FOUND, f"no class {class_name}")
        return cls

    def _family(self, class_name: str, deep: bool) -> list[_ClassInfo]:
        """The registered classes a query of ``class_name`` covers (itself, its subclasses)."""
        key = (class_name.lower(), deep)
        hit = self._families.get(key)
        if hit is not None:
            return hit
        cls = self._lookup(class_name)
        names = [cls.name] + ([c.name for c in self.schema.subclasses(cls.name)] if deep else [])
        infos = (self._classes.get(n.lower()) for n in names)
        family = [i for i in infos if i is not None and i.regs]
        self._families[key] = family
        return family

    def enumerate(self, class_name: str, *, deep: bool = True) -> list[dict[str, Any]]:
        """All instances of a class (and its subclasses unless ``deep=False``) as dicts."""
        out: list[dict[str, Any]] = []
        for info in self._family(class_name, deep):
            reply = self._query_all_retrying(info)
            if reply.status != NtStatus.SUCCESS:
                if reply.status == NtStatus.WMI_GUID_NOT_FOUND:
                    continue  # unregistered meanwhile
                raise WmiStatusError(reply.status, f"querying {info.name}")
            rows = self._decode_instances(info, reply)
            if out:
                out.extend(rows)
            else:
                out = rows  # the usual single-class case: no copy
        return out

    def sample(self, class_name: str, *, deep: bool = True) -> Sample:
        """``enumerate`` plus the times it was taken (WNODE TimeStamp and a monotonic tick)."""
        perf = self._perf_clock()
        ts = self._timestamp()
        return Sample(
            self._lookup(class_name).name, self.enumerate(class_name, deep=deep), ts, perf, 10**9
        )

    def get_instance(self, class_name: str, instance_name: str) -> dict[str, Any]:
        """One instance by name (case-insensitive), as a dict like ``enumerate``'s."""
        for info in self._family(class_name, True):
            reply = self.query_single_instance(info.guid, instance_name)
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

    def classes_with_instances(self) -> list[str]:
        """Registered classes that have (or may have, if dynamic) instances, in schema order."""
        live = {
            k
            for k, info in self._classes.items()
            if any(r.names is None or r.names for r in info.regs)
        }
        return [c.name for c in self.schema if c.name.lower() in live]

    def provider_health(self) -> list[ProviderHealth]:
        out = []
        for regs in list(self._providers.values()):
            for r in regs:
                out.append(
                    ProviderHealth(
                        r.provider_id,
                        r.provider.device_instance_path,
                        r.info.name,
                        r.active,
                        r.last_error,
                        r.failures,
                        None if r.last_ok is None else r.last_ok // 100 + EPOCH_1601_100NS,
                    )
                )
        return out

    def registered_classes(self) -> list[str]:
        return [i.name for i in self._classes.values() if i.regs]


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


def _flat_format(layout: BlockLayout) -> str | None:
    """The struct format of a block made only of fixed scalars (from the layout's items)."""
    size = layout.size
    items = getattr(layout, "items", None)
    if size is None or not items:
        return None
    fmt: list[str] = []
    pos = 0
    for it in items:
        scalar = getattr(it, "scalar", None)
        off = getattr(it, "offset", None)
        member = getattr(it, "member", None)
        if scalar is None or getattr(it, "count", None) != 1 or not isinstance(off, int):
            return None
        if getattr(member, "is_array", False) or off < pos:
            return None
        if off > pos:
            fmt.append(f"{off - pos}x")
        fmt.append(scalar.code)
        pos = off + scalar.size
    if size > pos:
        fmt.append(f"{size - pos}x")
    return "".join(fmt)


def _describe(e: BaseException) -> str:
    if isinstance(e, WmiStatusError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _item_span(layout: BlockLayout, item_name: str) -> tuple[int, int] | None:
    """Offset and size of a fixed item in the data block, from the layout's item list."""
    for it in getattr(layout, "items", ()):
        if str(getattr(it, "name", "")).lower() == item_name.lower():
            off, size = getattr(it, "offset", None), getattr(it, "size", None)
            if isinstance(off, int) and isinstance(size, int):
                return off, size
    return None


def _default_layout_for(cls: MofClass, schema: Schema) -> BlockLayout:
    from ..codegen.layout import class_layout  # the data-block layout of the header issue

    layout: BlockLayout = class_layout(cls, schema)
    return layout
