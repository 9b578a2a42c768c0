"""The counters of a class, read from its schema: type, detail level, scale, base, timer.

``PerfDetail`` (NOVICE 100 … WIZARD 400) and ``DefaultScale`` (display power of ten) come from
the property, else the class, else 100 / 0. A counter's base (for fraction, average and
multi-timer types) is the property named by a ``Base`` qualifier, else ``<Name>_Base``, else the
next data item whose type is a base type (the perflib convention that the base follows).
The timestamp/frequency pair comes from ``PerfTimeStamp``/``PerfTimeFreq`` qualifiers when
present, else from the type's timer (PerfTime, Sys100NS or Object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..mof.model import MofClass, Schema
from .cooking import CookingError, Sample, cook
from .counter_types import TIMER_PROPERTIES, CounterType, counter_type

PERF_DETAIL_NAMES = {100: "NOVICE", 200: "ADVANCED", 300: "EXPERT", 400: "WIZARD"}


@dataclass(frozen=True, slots=True)
class CounterDef:
    class_name: str
    name: str
    type: CounterType
    detail: int
    default_scale: int
    description: str | None
    base: str | None  # property holding B
    time_property: str
    frequency_property: str

    @property
    def detail_name(self) -> str:
        return PERF_DETAIL_NAMES.get(self.detail, str(self.detail))

    def sample(self, inst: Mapping[str, Any]) -> Sample:
        """This counter's raw reading inside one instance."""
        return Sample(
            value=inst.get(self.name),
            base=inst.get(self.base) if self.base else None,
            time=inst.get(self.time_property),
            frequency=inst.get(self.frequency_property),
        )

    def cook(self, new: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> int | float:
        """The formatted value from the newer (and older) instance; raises CookingError."""
        return cook(self.type, self.sample(new), self.sample(old) if old is not None else None)


class UnknownCounterType(ValueError):
    pass


def _int_qualifier(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def class_counters(cls: MofClass) -> list[CounterDef]:
    """All properties of ``cls`` with a CounterType qualifier, in WmiDataId (then schema) order."""
    items = cls.data_items()
    ordered = items + [p for p in cls.properties.values() if p not in items]
    counters: list[CounterDef] = []
    class_detail = _int_qualifier(cls.qualifiers.get_value("PerfDetail"), 100)
    for index, prop in enumerate(ordered):
        code = prop.qualifiers.get_value("CounterType")
        if not isinstance(code, int) or isinstance(code, bool):
            continue
        ctype = counter_type(code)
        if ctype is None:
            raise UnknownCounterType(f"{cls.name}.{prop.name}: unknown CounterType {code}")
        base: str | None = None
        if ctype.uses_base:
            named = prop.qualifiers.get_value("Base")
            if isinstance(named, str) and cls.prop(named) is not None:
                base = cls.prop(named).name  # type: ignore[union-attr]
            elif cls.prop(prop.name + "_Base") is not None:
                base = cls.prop(prop.name + "_Base").name  # type: ignore[union-attr]
            elif index + 1 < len(ordered):
                nxt = ordered[index + 1]
                nxt_type = counter_type(_int_qualifier(nxt.qualifiers.get_value("CounterType"), -1))
                if nxt_type is not None and nxt_type.is_base:
                    base = nxt.name
        time_prop, freq_prop = TIMER_PROPERTIES[ctype.timer]
        ts = prop.qualifiers.get_value("PerfTimeStamp")
        tf = prop.qualifiers.get_value("PerfTimeFreq")
        counters.append(
            CounterDef(
                class_name=cls.name,
                name=prop.name,
                type=ctype,
                detail=_int_qualifier(prop.qualifiers.get_value("PerfDetail"), class_detail),
                default_scale=_int_qualifier(prop.qualifiers.get_value("DefaultScale"), 0),
                description=prop.description,
                base=base,
                time_property=ts if isinstance(ts, str) else time_prop,
                frequency_property=tf if isinstance(tf, str) else freq_prop,
            )
        )
    return counters


@dataclass
class FormattedInstance:
    """The Win32_PerfFormattedData view of one instance: cooked values, and why any is missing."""

    values: dict[str, Any]
    missing: dict[str, str]  # counter name -> reason it has no value


def format_instance(
    cls: MofClass,
    new: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
    counters: list[CounterDef] | None = None,
) -> FormattedInstance:
    """Cook every displayed counter of ``new`` (with ``old`` for two-sample types); other
    properties are copied; base, text and no-data counters are left out as in WMI."""
    defs = counters if counters is not None else class_counters(cls)
    by_name = {d.name: d for d in defs}
    values: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for key, value in new.items():
        d = by_name.get(key)
        if d is None:
            values[key] = value
            continue
        if not d.type.displayed:
            continue
        try:
            values[key] = d.cook(new, old)
        except CookingError as exc:
            values[key] = None
            missing[key] = str(exc)
    return FormattedInstance(values, missing)


def formatted_view(
    schema: Schema,
    instances: list[Mapping[str, Any]],
    previous: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Format many instances of ``schema``'s classes; ``previous`` maps
    (class, InstanceName) case-folded to the older sample. Returns the formatted instances and,
    per counter name, why it is missing somewhere (first reason seen)."""
    cache: dict[str, list[CounterDef]] = {}
    out: list[dict[str, Any]] = []
    missing: dict[str, str] = {}
    for inst in instances:
        cname = str(inst.get("__CLASS", ""))
        cls = schema.get(cname)
        if cls is None:
            out.append(dict(inst))
            continue
        defs = cache.setdefault(cls.name, class_counters(cls))
        key = (cls.name.casefold(), str(inst.get("InstanceName", "")).casefold())
        old = previous.get(key) if previous is not None else None
        result = format_instance(cls, inst, old, defs)
        out.append(result.values)
        for name, reason in result.missing.items():
            missing.setdefault(name, reason)
    return out, missing
