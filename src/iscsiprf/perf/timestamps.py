"""Win32_PerfRawData's Timestamp_*/Frequency_*: filled from the clock reading of each sample.

Windows' WDM provider leaves them NULL for root\\wmi classes; iscsiprf fills them so that
two-sample counter types can be cooked from any pair of samples:

* ``Timestamp_PerfTime``/``Frequency_PerfTime``: CLOCK_MONOTONIC in ns, frequency 1e9 (live);
* ``Timestamp_Sys100NS``/``Frequency_Sys100NS``: wall clock, 100 ns units since 1601-01-01 UTC
  (the FILETIME epoch), frequency 1e7;
* ``Timestamp_Object``/``Frequency_Object``: the same as Sys100NS.

All instances of one enumeration share one reading. A snapshot file keeps the stamps it carries;
one without stamps is stamped from the file's modification time, with PerfTime then also in
100 ns units (frequency 1e7) since no monotonic reading exists for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..mof.model import Schema

FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 100 ns intervals from 1601-01-01 to 1970-01-01
SYS100NS_FREQUENCY = 10_000_000
STAMP_PROPERTIES = (
    "Timestamp_PerfTime",
    "Frequency_PerfTime",
    "Timestamp_Sys100NS",
    "Frequency_Sys100NS",
    "Timestamp_Object",
    "Frequency_Object",
)


@dataclass(frozen=True, slots=True)
class SampleTime:
    perf_time: int
    perf_frequency: int
    sys100ns: int
    object_time: int
    object_frequency: int

    @property
    def unix_seconds(self) -> float:
        return (self.sys100ns - FILETIME_UNIX_EPOCH) / SYS100NS_FREQUENCY

    def properties(self) -> dict[str, int]:
        return {
            "Timestamp_PerfTime": self.perf_time,
            "Frequency_PerfTime": self.perf_frequency,
            "Timestamp_Sys100NS": self.sys100ns,
            "Frequency_Sys100NS": SYS100NS_FREQUENCY,
            "Timestamp_Object": self.object_time,
            "Frequency_Object": self.object_frequency,
        }


def live_time() -> SampleTime:
    """A reading of the clocks now."""
    mono = time.monotonic_ns()
    sys100 = time.time_ns() // 100 + FILETIME_UNIX_EPOCH
    return SampleTime(mono, 1_000_000_000, sys100, sys100, SYS100NS_FREQUENCY)


def wall_time(unix_ns: int) -> SampleTime:
    """The stamps of a sample taken at ``unix_ns`` when only its wall-clock time is known."""
    sys100 = unix_ns // 100 + FILETIME_UNIX_EPOCH
    return SampleTime(sys100, SYS100NS_FREQUENCY, sys100, sys100, SYS100NS_FREQUENCY)


def sample_time_of(inst: Mapping[str, Any]) -> SampleTime | None:
    """The stamps an instance carries, if complete."""
    values = [inst.get(p) for p in STAMP_PROPERTIES]
    if any(not isinstance(v, int) for v in values):
        return None
    pt, pf, sys100, _, ot, of = (int(v) for v in values)  # type: ignore[arg-type]
    return SampleTime(pt, pf, sys100, ot, of)


class _Source(Protocol):
    def enumerate(self, class_name: str) -> Iterable[Mapping[str, Any]]: ...


class StampedSource:
    """Wrap a source so each enumeration is one sample: instances of Win32_Perf classes that
    carry no Timestamp_PerfTime get the stamps of one clock reading."""

    def __init__(
        self, source: _Source, schema: Schema, clock: Callable[[], SampleTime] = live_time
    ) -> None:
        self.source = source
        self.schema = schema
        self.clock = clock
        self.last_time: SampleTime | None = None
        self._stamped_classes: dict[str, bool] = {}

    def _stampable(self, class_name: str) -> bool:
        key = class_name.casefold()
        known = self._stamped_classes.get(key)
        if known is None:
            cls = self.schema.get(class_name)
            known = cls is not None and all(cls.prop(p) is not None for p in STAMP_PROPERTIES)
            self._stamped_classes[key] = known
        return known

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        instances = list(self.source.enumerate(class_name))
        reading = self.clock()  # after the read: a snapshot's clock is the file just read
        self.last_time = reading
        stamps = reading.properties()
        out: list[dict[str, Any]] = []
        for inst in instances:
            cname = str(inst.get("__CLASS") or class_name)
            if inst.get("Timestamp_PerfTime") is None and self._stampable(cname):
                out.append({**inst, **stamps})
            else:
                out.append(dict(inst))
        return out
