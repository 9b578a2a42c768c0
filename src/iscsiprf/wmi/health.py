"""Provider health: a provider that raises, answers malformed data or too late is marked
inactive (its instances keep their last good data with ``Active = FALSE``) until its next good
reply; the changes are logged on the ``iscsiprf.wmi`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from .registry import Registration
from .status import WmiStatusError

log = logging.getLogger("iscsiprf.wmi")

# 100 ns intervals between 1601-01-01 and 1970-01-01 (WNODE TimeStamp epoch).
EPOCH_1601_100NS = 116_444_736_000_000_000


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    provider_id: int
    device_instance_path: str
    class_name: str
    active: bool
    last_error: str | None
    failures: int  # consecutive failed queries
    last_ok_100ns: int | None  # WNODE-style timestamp of the last good reply


def recovered(r: Registration) -> None:
    """A good reply after failures (or the first one): active again."""
    if not r.active:
        log.info("provider %s (%s) answers again", r.provider_id, r.class_name)
    r.active = True
    r.failures = 0
    r.last_error = None


def failed(r: Registration, why: str) -> None:
    """Record a failed query: Active = FALSE from now on."""
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


def describe(e: BaseException) -> str:
    """A provider's exception as ``last_error`` shows it."""
    if isinstance(e, WmiStatusError):
        return str(e)
    return f"{type(e).__name__}: {e}"


def report(registrations: Iterable[Registration]) -> list[ProviderHealth]:
    return [
        ProviderHealth(
            r.provider_id,
            r.provider.device_instance_path,
            r.info.name,
            r.active,
            r.last_error,
            r.failures,
            None if r.last_ok is None else r.last_ok // 100 + EPOCH_1601_100NS,
        )
        for r in registrations
    ]
