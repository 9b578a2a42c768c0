"""ipsec layer: live MSiSCSI_MMIPSECStats / MSiSCSI_QMIPSECStats from strongSwan and Linux XFRM.

Pure core: `events` (vocabulary), `enfy`, `xfrm`, `vici_decode` (decoders), `mapping` (the
counter rules), `counters` (the engine). I/O edges: `strongswan`, `netlink_xfrm`, `state`,
`collector`, `provider`, `live` (entry points `open_collector`, `open_source`).
"""

from __future__ import annotations

from typing import Any

from .errors import IpsecError
from .state import CollectorRunning

__all__ = ["CollectorRunning", "IpsecError", "open_collector", "open_source"]


def open_collector(config_path: Any) -> Any:
    """`iscsiprf serve --config F`: start collecting (see `live.open_collector`)."""
    from .live import open_collector as _open

    return _open(config_path)


def open_source(config_path: Any) -> Any:
    """Read-only `iscsiprf query|counters --config F`, and `watch` beside a running serve (see
    `live.open_source`)."""
    from .live import open_source as _open

    return _open(config_path)
