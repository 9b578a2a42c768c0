"""An adapter as a WMI provider ("miniport"): one PDO, MSiSCSI_MMIPSECStats + MSiSCSI_QMIPSECStats.

`query_data_block` packs the current values with the class layout from `codegen`, the bytes a
miniport would write into the WNODE. While the daemon is unreachable it raises after having
answered once, so the broker keeps the last good block and reports `Active = FALSE`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..codegen.layout import class_layout
from ..mof.model import Schema
from ..wmi.provider import GuidRegInfo, Reply, WmiProvider
from ..wmi.status import NtStatus, WmiStatusError
from .mapping import MM_CLASS, QM_CLASS, check_mapping

Values = dict[str, dict[str, int]]


class IpsecProvider(WmiProvider):
    def __init__(
        self,
        device_instance_path: str,
        schema: Schema,
        values: Callable[[], Values],
        active: Callable[[], bool],
    ) -> None:
        classes = check_mapping(schema)
        self.device_instance_path = device_instance_path
        self.mof_resource = _project_bmf()  # the classes the broker learns at registration
        self.guid_list = (GuidRegInfo(MM_CLASS, 1), GuidRegInfo(QM_CLASS, 1))
        self._layouts = {name.lower(): class_layout(cls, schema) for name, cls in classes.items()}
        self._names = {name.lower(): name for name in classes}
        self._values = values
        self._active = active
        self._answered: set[str] = set()

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        key = class_name.lower()
        if key not in self._layouts:
            raise WmiStatusError(NtStatus.WMI_GUID_NOT_FOUND, f"{class_name}: not provided here")
        if first_instance != 0 or count not in (None, 1):
            raise WmiStatusError(
                NtStatus.WMI_INSTANCE_NOT_FOUND, f"{class_name}: one instance only"
            )
        if key in self._answered and not self._active():
            raise WmiStatusError(
                NtStatus.WMI_TRY_AGAIN, f"{self.device_instance_path}: IKE daemon unreachable"
            )
        self._answered.add(key)
        return [self._layouts[key].pack(self._values()[self._names[key]])]


@functools.cache
def _project_bmf() -> bytes:
    from ..mof import builtin_mof_resource

    return builtin_mof_resource()
