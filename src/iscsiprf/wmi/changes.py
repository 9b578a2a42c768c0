"""The request API, changes: SET_SINGLE_INSTANCE, SET_SINGLE_ITEM and EXECUTE_METHOD, passed
to the provider that owns the instance. The provider's defaults answer like a read-only miniport
(STATUS_WMI_READ_ONLY, STATUS_INVALID_DEVICE_REQUEST); a provider that raises something other
than :class:`WmiStatusError` gets STATUS_WMI_SET_FAILURE.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from . import wnode as wn
from .dispatch import Dispatcher, WmiReply
from .health import describe
from .registry import Registry
from .status import NtStatus, WmiStatusError

log = logging.getLogger("iscsiprf.wmi")


class Changes:
    def __init__(self, registry: Registry, dispatcher: Dispatcher) -> None:
        self._registry = registry
        self._dispatcher = dispatcher

    def _call_setter(
        self, guid: uuid.UUID | str, instance_name: str, call: Callable[..., Any]
    ) -> Any:
        located = self._dispatcher.locate(guid, instance_name)
        if isinstance(located, NtStatus):
            return located
        info, (r, index, name, _, _) = located
        try:
            return info, r, index, name, call(r.provider, info.name, index)
        except WmiStatusError as e:
            return e.status
        except Exception as e:
            log.warning("provider %s failed a set/method request: %s", r.provider_id, describe(e))
            return NtStatus.WMI_SET_FAILURE

    def set_single_instance(
        self, guid: uuid.UUID | str, instance_name: str, data: bytes
    ) -> WmiReply:
        got = self._call_setter(guid, instance_name, lambda p, c, i: p.set_data_block(c, i, data))
        return WmiReply(got) if isinstance(got, NtStatus) else WmiReply(NtStatus.SUCCESS)

    def set_single_item(
        self, guid: uuid.UUID | str, instance_name: str, item_id: int, data: bytes
    ) -> WmiReply:
        info = self._registry.info_by_guid(guid)
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
            provider_id=r.provider_id, timestamp=self._dispatcher.timestamp(),
        )  # fmt: skip
        return WmiReply(NtStatus.SUCCESS, buf)
