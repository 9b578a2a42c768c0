"""Take counter samples from a source and cook them row by row, as typeperf does.

Sans I/O apart from the source it is given: the caller decides when to call :meth:`sample`.
Wildcards are expanded on the first sample; an instance that disappears later gives empty values.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..mof.model import MofClass
from .cooking import CookingError
from .counters import CounterDef
from .paths import CounterSelection
from .timestamps import FILETIME_UNIX_EPOCH, SYS100NS_FREQUENCY


class _Source(Protocol):
    def enumerate(self, class_name: str) -> Iterable[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class CounterColumn:
    cls: MofClass
    instance: str
    counter: CounterDef

    def path(self, machine: str) -> str:
        return f"\\\\{machine}\\{self.cls.name}({self.instance})\\{self.counter.name}"


@dataclass
class SampleRow:
    unix_time: float
    values: list[int | float | None]
    reasons: list[str | None]  # why a value is None


@dataclass
class CounterSampler:
    selections: list[CounterSelection]
    source: _Source
    columns: list[CounterColumn] = field(default_factory=list)
    samples_taken: int = 0
    _previous: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)

    def _read(self) -> tuple[dict[tuple[str, str], Mapping[str, Any]], list[tuple[MofClass, str]]]:
        """One enumeration per class: (class, instance) -> instance, in enumeration order."""
        current: dict[tuple[str, str], Mapping[str, Any]] = {}
        order: list[tuple[MofClass, str]] = []
        seen_classes: set[str] = set()
        for sel in self.selections:
            key = sel.cls.name.casefold()
            if key in seen_classes:
                continue
            seen_classes.add(key)
            for inst in self.source.enumerate(sel.cls.name):
                if str(inst.get("__CLASS", sel.cls.name)).casefold() != key:
                    continue  # a subclass is another object
                name = inst.get("InstanceName")
                if isinstance(name, str):
                    current[(key, name.casefold())] = inst
                    order.append((sel.cls, name))
        return current, order

    def _expand(self, order: list[tuple[MofClass, str]]) -> None:
        seen: set[tuple[str, str, str]] = set()
        for sel in self.selections:
            instances = [n for c, n in order if c is sel.cls and sel.matches_instance(n)]
            if not instances and not sel.all_instances and sel.path.instance:
                instances = [sel.path.instance]  # stays empty until the instance appears
            for name in instances:
                for counter in sel.counters:
                    key = (sel.cls.name.casefold(), name.casefold(), counter.name)
                    if key not in seen:
                        seen.add(key)
                        self.columns.append(CounterColumn(sel.cls, name, counter))

    def sample(self) -> SampleRow:
        current, order = self._read()
        if self.samples_taken == 0:
            self._expand(order)
        self.samples_taken += 1
        values: list[int | float | None] = []
        reasons: list[str | None] = []
        stamps: list[int] = []
        for col in self.columns:
            key = (col.cls.name.casefold(), col.instance.casefold())
            new = current.get(key)
            if new is None:
                values.append(None)
                reasons.append(f"no instance {col.instance!r} of {col.cls.name}")
                continue
            sys100 = new.get("Timestamp_Sys100NS")
            if isinstance(sys100, int):
                stamps.append(sys100)
            try:
                values.append(col.counter.cook(new, self._previous.get(key)))
                reasons.append(None)
            except CookingError as exc:
                values.append(None)
                reasons.append(str(exc))
        self._previous = current
        when = (max(stamps) - FILETIME_UNIX_EPOCH) / SYS100NS_FREQUENCY if stamps else time.time()
        return SampleRow(when, values, reasons)
