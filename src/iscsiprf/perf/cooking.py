"""Raw -> formatted ("cooked") counter values, one formula per counter type.

A :class:`Sample` is what one raw reading of one counter gives: its value N, its base B (for
types that divide by another counter), and the timestamp D and frequency F of the timer the type
measures against. Two-sample types take the older and the newer sample. When a value cannot be
computed the functions raise a :class:`CookingError` that says why, instead of inventing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .counter_types import CounterType


@dataclass(frozen=True, slots=True)
class Sample:
    value: int | float | None  # N
    base: int | float | None = None  # B
    time: int | None = None  # D, in ticks of the type's timer
    frequency: int | None = None  # F, ticks per second


class CookingError(Exception):
    """No formatted value for this counter and these samples; ``str(err)`` says why."""


class NotDisplayed(CookingError):
    pass


class NeedsTwoSamples(CookingError):
    pass


class MissingData(CookingError):
    pass


class CounterReset(CookingError):
    pass


class NoInterval(CookingError):
    pass


def cook(ctype: CounterType, new: Sample, old: Sample | None = None) -> int | float:
    """The display value of ``ctype`` from ``new`` (and ``old`` for two-sample types)."""
    if not ctype.displayed:
        raise NotDisplayed(f"{ctype.name} is not displayed")
    n1 = _need(new.value, "the counter value")
    if ctype.samples == 2 and old is None:
        raise NeedsTwoSamples(f"{ctype.name} needs two samples")
    name = ctype.name
    formula = _FORMULAS[name]
    return formula(ctype, new, old, n1)


def _need(value: int | float | None, what: str) -> int | float:
    if value is None:
        raise MissingData(f"{what} is NULL")
    return value


def _delta(new: int | float | None, old: int | float | None, what: str) -> int | float:
    n1 = _need(new, what)
    n0 = _need(old, what)
    if n1 < n0:
        raise CounterReset(f"{what} went backwards ({n0} -> {n1}): counter reset")
    return n1 - n0


def _interval(new: Sample, old: Sample) -> int | float:
    d = _delta(new.time, old.time, "the timestamp")
    if d == 0:
        raise NoInterval("no time passed between the samples")
    return d


def _base_delta(new: Sample, old: Sample) -> int | float:
    b = _delta(new.base, old.base, "the base")
    if b == 0:
        raise NoInterval("the base did not change between the samples")
    return b


def _freq(sample: Sample) -> int | float:
    f = _need(sample.frequency, "the timer frequency")
    if f <= 0:
        raise MissingData("the timer frequency is 0")
    return f


def _raw(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> int | float:
    return float(n1) if ct.name == "PERF_DOUBLE_RAW" else n1


def _raw_fraction(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    b = _need(new.base, "the base")
    if b == 0:
        raise NoInterval("the base is 0")
    return 100.0 * n1 / b


def _elapsed(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    d = _need(new.time, "the timestamp")
    return (d - n1) / _freq(new)


def _rate(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    assert old is not None
    dn = _delta(n1, old.value, "the counter")
    return dn / (_interval(new, old) / _freq(new))


def _delta_value(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> int | float:
    assert old is not None
    return _delta(n1, old.value, "the counter")


def _per_tick(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    assert old is not None
    return _delta(n1, old.value, "the counter") / _interval(new, old)


def _timer(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    return 100.0 * _per_tick(ct, new, old, n1)


def _timer_inv(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    return 100.0 * (1.0 - _per_tick(ct, new, old, n1))


def _multi(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    b = _need(new.base, "the base")
    if b == 0:
        raise NoInterval("the base (number of items) is 0")
    return 100.0 * _per_tick(ct, new, old, n1) / b


def _multi_inv(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    b = _need(new.base, "the base")
    if b == 0:
        raise NoInterval("the base (number of items) is 0")
    return 100.0 * (b - _per_tick(ct, new, old, n1)) / b


def _fraction_of_base(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    assert old is not None
    return 100.0 * _delta(n1, old.value, "the counter") / _base_delta(new, old)


def _average(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    assert old is not None
    return _delta(n1, old.value, "the counter") / _base_delta(new, old)


def _average_timer(ct: CounterType, new: Sample, old: Sample | None, n1: int | float) -> float:
    assert old is not None
    seconds = _delta(n1, old.value, "the counter") / _freq(new)
    return seconds / _base_delta(new, old)


_FORMULAS = {
    "PERF_COUNTER_RAWCOUNT_HEX": _raw,
    "PERF_COUNTER_LARGE_RAWCOUNT_HEX": _raw,
    "PERF_COUNTER_RAWCOUNT": _raw,
    "PERF_COUNTER_LARGE_RAWCOUNT": _raw,
    "PERF_DOUBLE_RAW": _raw,
    "PERF_RAW_FRACTION": _raw_fraction,
    "PERF_LARGE_RAW_FRACTION": _raw_fraction,
    "PERF_ELAPSED_TIME": _elapsed,
    "PERF_COUNTER_COUNTER": _rate,
    "PERF_COUNTER_BULK_COUNT": _rate,
    "PERF_SAMPLE_COUNTER": _rate,
    "PERF_COUNTER_DELTA": _delta_value,
    "PERF_COUNTER_LARGE_DELTA": _delta_value,
    "PERF_COUNTER_QUEUELEN_TYPE": _per_tick,
    "PERF_COUNTER_LARGE_QUEUELEN_TYPE": _per_tick,
    "PERF_COUNTER_100NS_QUEUELEN_TYPE": _per_tick,
    "PERF_COUNTER_OBJ_TIME_QUEUELEN_TYPE": _per_tick,
    "PERF_COUNTER_TIMER": _timer,
    "PERF_100NSEC_TIMER": _timer,
    "PERF_OBJ_TIME_TIMER": _timer,
    "PERF_COUNTER_TIMER_INV": _timer_inv,
    "PERF_100NSEC_TIMER_INV": _timer_inv,
    "PERF_COUNTER_MULTI_TIMER": _multi,
    "PERF_100NSEC_MULTI_TIMER": _multi,
    "PERF_COUNTER_MULTI_TIMER_INV": _multi_inv,
    "PERF_100NSEC_MULTI_TIMER_INV": _multi_inv,
    "PERF_PRECISION_SYSTEM_TIMER": _fraction_of_base,
    "PERF_PRECISION_100NS_TIMER": _fraction_of_base,
    "PERF_PRECISION_OBJECT_TIMER": _fraction_of_base,
    "PERF_SAMPLE_FRACTION": _fraction_of_base,
    "PERF_AVERAGE_BULK": _average,
    "PERF_AVERAGE_TIMER": _average_timer,
}
