"""WMI instance names: PDO names, static base names, static lists, dynamic names.

Rules (reference §7): a PDO registration names its instances ``<device instance path>_<n>``
with ``n = BaseIndex + i`` in decimal; WMI forms the base ``<path>_`` and treats it as a base
name. BaseIndex is 0 unless another registration of the same GUID already uses that base, in
which case WMI moves past the indexes in use. Suffixes stop at 999999.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

MAX_NAME_SUFFIX = 999_999


class Naming(Enum):
    """How a registration names its instances (WMIREG_FLAG_INSTANCE_* or dynamic)."""

    PDO = "pdo"  # <device instance path>_<n>
    BASENAME = "basename"  # <base><n>
    LIST = "list"  # a fixed list given at registration
    DYNAMIC = "dynamic"  # the provider names instances in each reply


class InstanceNameError(ValueError):
    """An instance name or naming request that WMI would not accept."""


def pdo_base_name(device_instance_path: str) -> str:
    """The base WMI forms from a PDO's device instance path: ``ROOT\\ISCSIPRT\\0000_``."""
    if not device_instance_path:
        raise InstanceNameError("device instance path is empty")
    return device_instance_path + "_"


def indexed_names(base: str, base_index: int, count: int) -> list[str]:
    """``count`` names ``<base><base_index + i>``; the largest suffix allowed is 999999."""
    if base_index < 0 or count < 0:
        raise InstanceNameError(f"negative index or count ({base_index}, {count})")
    if count and base_index + count - 1 > MAX_NAME_SUFFIX:
        raise InstanceNameError(
            f"instance index {base_index + count - 1} of {base!r} exceeds {MAX_NAME_SUFFIX}"
        )
    return [f"{base}{base_index + i}" for i in range(count)]


def pdo_instance_names(device_instance_path: str, count: int, base_index: int = 0) -> list[str]:
    """``ROOT\\ISCSIPRT\\0000`` → ``["ROOT\\ISCSIPRT\\0000_0", ...]``."""
    return indexed_names(pdo_base_name(device_instance_path), base_index, count)


def split_indexed_name(name: str, base: str) -> int | None:
    """The index of ``name`` if it is ``<base><decimal>`` (case-insensitive base), else None."""
    if len(name) <= len(base) or name[: len(base)].lower() != base.lower():
        return None
    suffix = name[len(base) :]
    if not suffix.isascii() or not suffix.isdigit():
        return None
    if len(suffix) > 1 and suffix[0] == "0":
        return None  # WMI prints indexes without leading zeros
    return int(suffix)


@dataclass(slots=True)
class _Claim:
    owner: object
    base_index: int
    count: int


class BaseIndexAllocator:
    """Hands out BaseIndex values so that names of one GUID never collide.

    Keyed by (GUID, case-folded base): two providers registering the same PDO path for the same
    class get ``_0`` and ``_1`` rather than two instances named ``_0``.
    """

    def __init__(self) -> None:
        self._claims: dict[tuple[object, str], list[_Claim]] = {}

    def claim(self, guid: object, base: str, count: int, owner: object) -> int:
        claims = self._claims.setdefault((guid, base.lower()), [])
        start = 0
        for c in sorted(claims, key=lambda c: c.base_index):
            if start + count <= c.base_index:
                break
            start = max(start, c.base_index + c.count)
        if count and start + count - 1 > MAX_NAME_SUFFIX:
            raise InstanceNameError(f"no free instance index for {base!r} below {MAX_NAME_SUFFIX}")
        claims.append(_Claim(owner, start, count))
        return start

    def release(self, owner: object) -> None:
        for key, claims in list(self._claims.items()):
            claims[:] = [c for c in claims if c.owner is not owner]
            if not claims:
                del self._claims[key]


def check_dynamic_names(names: Sequence[str], expected: int) -> None:
    """A provider's dynamic names: one per instance, non-empty, unique (case-insensitive)."""
    if len(names) != expected:
        raise InstanceNameError(f"provider gave {len(names)} names for {expected} instances")
    _check_unique(names)


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if not n:
            raise InstanceNameError("empty instance name")
        if "\x00" in n:
            raise InstanceNameError(f"instance name {n!r} contains NUL")
        k = n.lower()
        if k in seen:
            raise InstanceNameError(f"duplicate instance name {n!r}")
        seen.add(k)
