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

The class is a façade over its collaborators, one job each: ``registry.Registry`` (providers,
GUIDs, instance names), ``provider_calls.ProviderCalls`` (calling providers), ``replies``
(checking their replies), ``health`` (failures, Active, ``provider_health``),
``dispatch.Dispatcher`` and ``changes.Changes`` (the request API: queries; set and method
requests) and ``consumer.Consumer`` (the consumer API, sampling).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from ..mof.model import MofClass, Schema
from . import health
from .changes import Changes
from .consumer import MAX_TOO_SMALL_RETRIES, Consumer, Sample
from .dispatch import Dispatcher, WmiReply
from .health import EPOCH_1601_100NS, ProviderHealth
from .provider import BlockLayout, WmiProvider
from .provider_calls import ProviderCalls
from .registry import LayoutFor, Registry

DEFAULT_BUFFER_SIZE = 64 * 1024


class Broker:
    """Registers providers, answers WMI requests with WNODE buffers, decodes for consumers."""

    def __init__(
        self,
        schema: Schema | None = None,
        *,
        layout_for: LayoutFor | None = None,
        timeout: float = 2.0,
        clock: Callable[[], int] = time.time_ns,
        perf_clock: Callable[[], int] = time.perf_counter_ns,
        max_workers: int = 8,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        """``timeout``: seconds a provider may take per query; ``clock``: ns since 1970 (WNODE
        TimeStamps); ``buffer_size``: the first buffer the consumer API offers per GUID.
        Without ``schema`` the broker knows only what its providers' MofResources declare, as
        WMI learns a driver's classes from the binary MOF it registers."""
        schema = Schema() if schema is None else schema
        self.schema = schema
        self._registry = Registry(schema, layout_for or _default_layout_for)
        self._calls = ProviderCalls(self._registry, timeout, clock, max_workers)
        self._dispatcher = Dispatcher(self._registry, self._calls, clock)
        self._changes = Changes(self._registry, self._dispatcher)
        self._consumer = Consumer(self._registry, self._dispatcher, perf_clock, buffer_size)

    @property
    def timeout(self) -> float:
        """Seconds a provider may take per query (may be changed between queries)."""
        return self._calls.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._calls.timeout = seconds

    @property
    def buffer_size(self) -> int:
        """The first buffer the consumer API offers per GUID."""
        return self._consumer.buffer_size

    @buffer_size.setter
    def buffer_size(self, size: int) -> None:
        self._consumer.buffer_size = size

    # --- registration ---------------------------------------------------------------------------
    def register(self, provider: WmiProvider) -> int:
        """Register every class of ``provider.guid_list``; returns the provider's ProviderId."""
        return self._registry.register(provider)

    def unregister(self, provider: WmiProvider) -> None:
        self._registry.unregister(provider)

    def provider_id(self, provider: WmiProvider) -> int | None:
        return self._registry.provider_id(provider)

    def registered_classes(self) -> list[str]:
        return self._registry.registered_classes()

    def classes_with_instances(self) -> list[str]:
        """Registered classes that have (or may have, if dynamic) instances, in schema order."""
        return self._registry.classes_with_instances()

    # --- consumer API (dicts; raises WmiStatusError) --------------------------------------------
    def enumerate(self, class_name: str, *, deep: bool = True) -> list[dict[str, Any]]:
        """All instances of a class (and its subclasses unless ``deep=False``) as dicts."""
        return self._consumer.enumerate(class_name, deep=deep)

    def get_instance(self, class_name: str, instance_name: str) -> dict[str, Any]:
        """One instance by name (case-insensitive), as a dict like ``enumerate``'s."""
        return self._consumer.get_instance(class_name, instance_name)

    def sample(self, class_name: str, *, deep: bool = True) -> Sample:
        """``enumerate`` plus the times it was taken (WNODE TimeStamp and a monotonic tick)."""
        return self._consumer.sample(class_name, deep=deep)

    def provider_health(self) -> list[ProviderHealth]:
        return health.report(self._registry.registrations())

    # --- request API (statuses, WNODE bytes) ----------------------------------------------------
    def query_all_data(self, guid: uuid.UUID | str, buffer_size: int | None = None) -> WmiReply:
        """WMI_QUERY_ALL_DATA: every instance of the GUID, one WNODE per provider, chained."""
        return self._dispatcher.query_all_data(guid, buffer_size)

    def query_single_instance(
        self, guid: uuid.UUID | str, instance_name: str, buffer_size: int | None = None
    ) -> WmiReply:
        """WMI_QUERY_SINGLE_INSTANCE: one instance as WNODE_SINGLE_INSTANCE."""
        return self._dispatcher.query_single_instance(guid, instance_name, buffer_size)

    def query_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int
    ) -> WmiReply:
        """One data item of one instance as WNODE_SINGLE_ITEM (its bytes in the data block)."""
        return self._dispatcher.query_single_item(guid, instance_name, item_id)

    def set_single_instance(
        self, guid: uuid.UUID | str, instance_name: str, data: bytes
    ) -> WmiReply:
        return self._changes.set_single_instance(guid, instance_name, data)

    def set_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int, data: bytes
    ) -> WmiReply:
        return self._changes.set_single_item(guid, instance_name, item_id, data)

    def execute_method(
        self, guid: uuid.UUID | str, instance_name: str, method_id: int, in_data: bytes
    ) -> WmiReply:
        """WMI_EXECUTE_METHOD; the output parameters come back as WNODE_METHOD_ITEM."""
        return self._changes.execute_method(guid, instance_name, method_id, in_data)

    # --- worker threads -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker threads used for blocking providers (a stuck call is abandoned)."""
        self._calls.close()

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _default_layout_for(cls: MofClass, schema: Schema) -> BlockLayout:
    from ..codegen.layout import class_layout  # the data-block layout of the header issue

    layout: BlockLayout = class_layout(cls, schema)
    return layout


__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "EPOCH_1601_100NS",
    "MAX_TOO_SMALL_RETRIES",
    "Broker",
    "ProviderHealth",
    "Sample",
    "WmiReply",
]
