"""The broker's registry: which providers registered which classes, their GUIDs, layouts and
instance names (reference §7), and the registration state each query updates.

Queries read ``ClassInfo.regs`` without a lock (the tuple is replaced, never mutated);
registering and unregistering hold the registry's lock.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

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
from .provider import BlockLayout, GuidRegInfo, WmiProvider
from .status import NtStatus, WmiStatusError

LayoutFor = Callable[[MofClass, Schema], BlockLayout]


class ClassInfo:
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
        self.regs: tuple[Registration, ...] = ()  # copy-on-write: queries read without a lock
        self.size_hint = 0  # the buffer size the last WNODE_TOO_SMALL asked for (consumer side)
        # Flat blocks (fixed-size scalars only, e.g. 21 x uint64) decode with one struct per link.
        flat = _flat_format(layout)
        self.reader = None if flat is None else wn.FixedBlockReader(guid, layout.size or 0, flat)
        self.item_names = tuple(str(getattr(it, "name", "")) for it in getattr(layout, "items", ()))


@dataclass(eq=False)
class Registration:
    """One GUID-list entry of one provider, and what the broker remembers about it."""

    provider: WmiProvider
    provider_id: int
    info: ClassInfo
    reg: GuidRegInfo
    names: list[str] | None  # static names; None for dynamic
    flags: int  # WNODE name flags for its buffers
    # State of the last query (health.py keeps it).
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


class Registry:
    """Providers, the classes they registered and the instance names they were given."""

    def __init__(self, schema: Schema, layout_for: LayoutFor) -> None:
        self.schema = schema
        self._layout_for = layout_for
        self._lock = threading.RLock()
        self.classes: dict[str, ClassInfo] = {}  # lower class name
        self._by_guid: dict[uuid.UUID, ClassInfo] = {}
        self._providers: dict[int, list[Registration]] = {}  # id(provider) -> registrations
        self._provider_ids: dict[int, int] = {}
        self._next_id = 1
        self._allocator = BaseIndexAllocator()
        self._families: dict[tuple[str, bool], list[ClassInfo]] = {}  # cleared on (un)register
        self.blocking: set[int] = set()  # ids of may_block providers: the pool is needed only then
        self._resources: set[bytes] = set()  # MofResources already loaded (each adapter ships one)

    def register(self, provider: WmiProvider) -> int:
        """Register every class of ``provider.guid_list``; returns the provider's ProviderId."""
        with self._lock:
            if id(provider) in self._providers:
                raise ValueError(f"provider {provider.device_instance_path!r} already registered")
            if provider.mof_resource is not None:
                self._load_mof_resource(provider)
            pid = self._next_id
            regs: list[Registration] = []
            try:
                for info in provider.guid_list:
                    regs.append(self._registration(provider, pid, info))
            except Exception:
                self._allocator.release(provider)
                raise
            self._next_id += 1
            if provider.may_block:
                self.blocking.add(id(provider))
            self._providers[id(provider)] = regs
            self._provider_ids[id(provider)] = pid
            for r in regs:
                r.info.regs = (*r.info.regs, r)
            self._families = {}
            return pid

    def _load_mof_resource(self, provider: WmiProvider) -> None:
        """Add the classes of a provider's binary MOF to the schema, as WMI reads a miniport's
        MofResource at registration. The same resource from many adapters is read once; a class
        that the schema already holds must be the same class (its GUID), never redefined."""
        data = provider.mof_resource
        assert data is not None
        if data in self._resources:
            return
        from ..mof import decode_bmf

        where = f"{provider.device_instance_path or type(provider).__name__}:{provider.mof_resource_name}"
        result = decode_bmf(data, where)
        if result.errors:
            raise WmiStatusError(NtStatus.INVALID_PARAMETER, str(result.errors[0]))
        new: list[MofClass] = []
        for cls in result.schema:  # check all first: a refused resource changes nothing
            held = self.schema.get(cls.name)
            if held is None:
                owner = self.schema.by_guid(cls.guid) if cls.guid is not None else None
                if owner is not None:
                    raise WmiStatusError(
                        NtStatus.INVALID_PARAMETER,
                        f"{where}: class {cls.name} reuses the guid {cls.guid} of {owner.name}",
                    )
                new.append(cls)
            elif not cls.builtin and held.guid != cls.guid:
                raise WmiStatusError(
                    NtStatus.INVALID_PARAMETER,
                    f"{where}: class {cls.name} differs from the one already registered "
                    f"(guid {cls.guid} against {held.guid})",
                )
        for cls in new:
            self.schema.add_class(cls)
        self._resources.add(data)

    def unregister(self, provider: WmiProvider) -> None:
        with self._lock:
            regs = self._providers.pop(id(provider), None)
            if regs is None:
                raise ValueError(f"provider {provider.device_instance_path!r} is not registered")
            self._provider_ids.pop(id(provider), None)
            self.blocking.discard(id(provider))
            self._allocator.release(provider)
            for r in regs:
                r.info.regs = tuple(x for x in r.info.regs if x is not r)
            self._families = {}

    def _registration(self, provider: WmiProvider, pid: int, reg: GuidRegInfo) -> Registration:
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
        r = Registration(provider, pid, info, reg, names, flags)
        if names is not None:
            taken = {n.lower() for x in info.regs if x.names for n in x.names}
            clash = [n for n in names if n.lower() in taken]
            if clash:
                raise InstanceNameError(
                    f"{info.name}: instance name {clash[0]!r} already registered"
                )
            r.name_index = {n.lower(): i for i, n in enumerate(names)}
        return r

    def _class_info(self, class_name: str) -> ClassInfo:
        key = class_name.lower()
        info = self.classes.get(key)
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
        info = ClassInfo(cls, guid, self._layout_for(cls, self.schema))
        self.classes[key] = info
        self._by_guid[guid] = info
        return info

    # --- lookups ------------------------------------------------------------------------------
    def provider_id(self, provider: WmiProvider) -> int | None:
        return self._provider_ids.get(id(provider))

    def registrations(self) -> Iterator[Registration]:
        """Every registration, provider by provider in registration order."""
        for regs in list(self._providers.values()):
            yield from regs

    def info_by_guid(self, guid: uuid.UUID | str) -> ClassInfo | None:
        """The registered class of a GUID (a UUID or its string, braces allowed)."""
        if isinstance(guid, str):
            try:
                guid = uuid.UUID(guid.strip().strip("{}"))
            except ValueError:
                return None
        info = self._by_guid.get(guid)
        return info if info is not None and info.regs else None

    def lookup(self, class_name: str) -> MofClass:
        cls = self.schema.get(class_name)
        if cls is None:
            raise WmiStatusError(NtStatus.WMI_GUID_NOT_FOUND, f"no class {class_name}")
        return cls

    def family(self, class_name: str, deep: bool) -> list[ClassInfo]:
        """The registered classes a query of ``class_name`` covers (itself, its subclasses)."""
        key = (class_name.lower(), deep)
        hit = self._families.get(key)
        if hit is not None:
            return hit
        cls = self.lookup(class_name)
        names = [cls.name] + ([c.name for c in self.schema.subclasses(cls.name)] if deep else [])
        infos = (self.classes.get(n.lower()) for n in names)
        family = [i for i in infos if i is not None and i.regs]
        self._families[key] = family
        return family

    def classes_with_instances(self) -> list[str]:
        """Registered classes that have (or may have, if dynamic) instances, in schema order."""
        live = {
            k
            for k, info in self.classes.items()
            if any(r.names is None or r.names for r in info.regs)
        }
        return [c.name for c in self.schema if c.name.lower() in live]

    def registered_classes(self) -> list[str]:
        return [i.name for i in self.classes.values() if i.regs]


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
