"""wmi layer: the WMI runtime between providers ("miniports") and consumers.

* :mod:`.provider` — the provider API (GUID list, ``query_data_block`` returning data blocks).
* :mod:`.broker` — ``Broker``, the WMI service as one object: a façade over
  :mod:`.registry` (providers, GUIDs, instance names), :mod:`.provider_calls` (calling
  providers), :mod:`.replies` (checking what they answer), :mod:`.health` (failures, Active),
  :mod:`.dispatch` and :mod:`.changes` (the request API: statuses and WNODE bytes) and
  :mod:`.consumer` (the consumer API: ``enumerate`` / ``get_instance`` / ``sample``).
* :mod:`.wnode` — the WNODE codec, bytes <-> objects, byte-exact to ``wmistr.h`` on x64.
* :mod:`.naming` — instance names (PDO, base name, list, dynamic).
* :mod:`.status` — NTSTATUS values and :class:`WmiStatusError`.
"""

from .broker import Broker, ProviderHealth, Sample, WmiReply
from .naming import Naming
from .provider import (
    DYNAMIC_INSTANCE_COUNT,
    BlocksProvider,
    DataBlocks,
    GuidRegInfo,
    ValuesProvider,
    WmiProvider,
)
from .status import NtStatus, WmiStatusError
from .wnode import WnodeError

__all__ = [
    "DYNAMIC_INSTANCE_COUNT",
    "BlocksProvider",
    "Broker",
    "DataBlocks",
    "GuidRegInfo",
    "Naming",
    "NtStatus",
    "ProviderHealth",
    "Sample",
    "ValuesProvider",
    "WmiProvider",
    "WmiReply",
    "WmiStatusError",
    "WnodeError",
]
