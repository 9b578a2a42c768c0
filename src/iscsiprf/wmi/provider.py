"""The provider API: what a "miniport" gives the broker, modelled on the SCSI port WMI library.

A SCSI miniport fills a ``SCSI_WMILIB_CONTEXT``: a GUID list of ``SCSIWMIGUIDREGINFO {Guid,
InstanceCount, Flags}`` and callbacks (QueryWmiRegInfo, QueryWmiDataBlock, SetWmiDataBlock,
SetWmiDataItem, ExecuteWmiMethod, WmiFunctionControl). Here:

* ``device_instance_path`` — the PDO's device instance path (``ROOT\\ISCSIPRT\\0000``); PDO-named
  classes get instance names ``<path>_<n>`` from the broker.
* ``guid_list`` — :class:`GuidRegInfo` entries naming classes of the schema (the broker finds the
  GUID there). ``instance_count=1`` is "PDO instance names, single instance"; a larger count gives
  ``_0 .. _n-1``; :data:`DYNAMIC_INSTANCE_COUNT` means the provider names its instances in every
  reply (per-session classes such as MSiSCSI_SessionStatistics ``targetname_#``).
* ``query_data_block(class_name, first_instance, count)`` returns one data block per instance,
  packed by the class layout (``codegen.layout``): the bytes a miniport writes into the WNODE.
  ``count`` is None for dynamic classes ("all of them"); the reply is then a :class:`DataBlocks`
  with ``names``. A provider never supplies ``InstanceName`` or ``Active``: the broker adds them.
* ``set_data_block`` / ``set_data_item`` / ``execute_method`` exist for writable classes and
  methods; the defaults answer as a read-only miniport does (STATUS_WMI_READ_ONLY,
  STATUS_INVALID_DEVICE_REQUEST). Raising :class:`~.status.WmiStatusError` from any callback
  reports that status to the consumer.
* ``may_block`` — True for providers that wait on I/O (a daemon socket): the broker then calls
  them on a worker thread and gives up after its timeout. In-process providers leave it False
  and are called inline (a reply that arrives after the timeout still counts as a timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .naming import Naming
from .status import NtStatus, WmiStatusError
from .wnode import (
    WMIREG_FLAG_EVENT_ONLY_GUID,
    WMIREG_FLAG_EXPENSIVE,
    WMIREG_FLAG_REMOVE_GUID,
)

DYNAMIC_INSTANCE_COUNT = 0xFFFFFFFF
# The only flags a SCSI miniport may set in its GUID list (reference §7).
MINIPORT_REG_FLAGS = WMIREG_FLAG_EXPENSIVE | WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_REMOVE_GUID


class BlockLayout(Protocol):
    """What the broker needs of a class's data-block layout (``codegen.layout.ClassLayout``)."""

    @property
    def size(self) -> int | None: ...

    def pack(self, values: Mapping[str, Any]) -> bytes: ...

    def unpack(self, buf: bytes, offset: int = 0) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class GuidRegInfo:
    """One entry of a provider's GUID list."""

    class_name: str
    instance_count: int = 1
    flags: int = 0  # WMIREG_FLAG_EXPENSIVE | WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_REMOVE_GUID
    base_name: str | None = None  # static base names <base><n> instead of PDO names
    names: tuple[str, ...] | None = None  # a static list of names instead of PDO names

    def __post_init__(self) -> None:
        if self.flags & ~MINIPORT_REG_FLAGS:
            raise ValueError(
                f"{self.class_name}: registration flags 0x{self.flags:x} beyond "
                "EXPENSIVE/EVENT_ONLY_GUID/REMOVE_GUID"
            )
        if self.base_name is not None and self.names is not None:
            raise ValueError(f"{self.class_name}: give base_name or names, not both")
        if self.names is not None and self.instance_count != len(self.names):
            object.__setattr__(self, "instance_count", len(self.names))
        if self.instance_count < 0:
            raise ValueError(f"{self.class_name}: negative instance count")

    @property
    def naming(self) -> Naming:
        if self.instance_count == DYNAMIC_INSTANCE_COUNT:
            return Naming.DYNAMIC
        if self.names is not None:
            return Naming.LIST
        if self.base_name is not None:
            return Naming.BASENAME
        return Naming.PDO

    @property
    def is_dynamic(self) -> bool:
        return self.instance_count == DYNAMIC_INSTANCE_COUNT


@dataclass(frozen=True, slots=True)
class DataBlocks:
    """A reply with instance names (dynamic classes) or with explicit per-instance blocks."""

    blocks: Sequence[bytes]
    names: Sequence[str] | None = None


Reply = Sequence[bytes] | DataBlocks


class WmiProvider:
    """Base class for providers; subclasses set the two attributes and answer queries."""

    device_instance_path: str = ""
    guid_list: Sequence[GuidRegInfo] = ()
    may_block: bool = False
    mof_resource_name: str = "MofResource"
    # The binary MOF (`mofcomp -B` output) the provider ships, as a miniport ships its
    # MofResource: registering adds its classes to the broker's schema (see registry.py).
    mof_resource: bytes | None = None

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        raise WmiStatusError(NtStatus.WMI_GUID_NOT_FOUND, f"{class_name}: no data")

    def set_data_block(self, class_name: str, instance_index: int, data: bytes) -> None:
        raise WmiStatusError(NtStatus.WMI_READ_ONLY, f"{class_name} is read-only")

    def set_data_item(
        self, class_name: str, instance_index: int, item_id: int, data: bytes
    ) -> None:
        raise WmiStatusError(NtStatus.WMI_READ_ONLY, f"{class_name} is read-only")

    def execute_method(
        self, class_name: str, instance_index: int, method_id: int, in_data: bytes
    ) -> bytes:
        raise WmiStatusError(
            NtStatus.INVALID_DEVICE_REQUEST, f"{class_name} has no method {method_id}"
        )

    def function_control(self, class_name: str, collection: bool, enable: bool) -> None:
        """WMI_ENABLE/DISABLE_COLLECTION (collection=True) or _EVENTS; default: nothing to do."""


class ValuesProvider(WmiProvider):
    """An in-memory provider: item values per class, packed with the class layout at each query.

    The shape of tests, benchmarks and simple adapters: ``values[class_name]`` is a list of dicts
    (one per instance, PDO names ``_0.._n-1``), each holding the class's data items.
    """

    def __init__(
        self,
        device_instance_path: str,
        layouts: Mapping[str, BlockLayout],
        values: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        self.device_instance_path = device_instance_path
        self._layouts = dict(layouts)
        self._values = {k: [dict(v) for v in vs] for k, vs in values.items()}
        self._lock = threading.Lock()
        self.guid_list = tuple(GuidRegInfo(c, len(vs)) for c, vs in self._values.items())

    def update(self, class_name: str, instance_index: int, values: Mapping[str, Any]) -> None:
        with self._lock:
            self._values[class_name][instance_index].update(values)

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        pack = self._layouts[class_name].pack
        with self._lock:
            rows = self._values[class_name]
            if count == 1:
                return [pack(rows[first_instance])]
            end = len(rows) if count is None else first_instance + count
            return [pack(v) for v in rows[first_instance:end]]

    def set_data_block(self, class_name: str, instance_index: int, data: bytes) -> None:
        raise WmiStatusError(NtStatus.WMI_READ_ONLY, f"{class_name} is read-only")


class BlocksProvider(WmiProvider):
    """A provider that serves ready-made data blocks (recorded data, tests)."""

    def __init__(
        self,
        device_instance_path: str,
        blocks: Mapping[str, Sequence[bytes]],
        guid_list: Sequence[GuidRegInfo] | None = None,
        dynamic_names: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.device_instance_path = device_instance_path
        self.blocks = {k: list(v) for k, v in blocks.items()}
        self.dynamic_names = {k: list(v) for k, v in (dynamic_names or {}).items()}
        self.guid_list = tuple(guid_list or (GuidRegInfo(c, len(b)) for c, b in blocks.items()))

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        rows = self.blocks[class_name]
        if count is None:
            return DataBlocks(rows, self.dynamic_names.get(class_name))
        return rows[first_instance : first_instance + count]
