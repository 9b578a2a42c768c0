"""Counter types and cooking: the documented codes, and a worked example for every type."""

from __future__ import annotations

import pytest

from iscsiprf.mof.constants import PERF_COUNTER_TYPES
from iscsiprf.perf import (
    COUNTER_TYPES,
    COUNTER_TYPES_BY_NAME,
    CounterReset,
    MissingData,
    NeedsTwoSamples,
    NoInterval,
    NotDisplayed,
    Sample,
    cook,
)

# Decimal CounterType values as the WMI "CounterType qualifier" page lists them.
DOCUMENTED = {
    "PERF_COUNTER_RAWCOUNT_HEX": 0,
    "PERF_COUNTER_LARGE_RAWCOUNT_HEX": 256,
    "PERF_COUNTER_TEXT": 2816,
    "PERF_COUNTER_RAWCOUNT": 65536,
    "PERF_COUNTER_LARGE_RAWCOUNT": 65792,
    "PERF_DOUBLE_RAW": 73728,
    "PERF_COUNTER_DELTA": 4195328,
    "PERF_COUNTER_LARGE_DELTA": 4195584,
    "PERF_SAMPLE_COUNTER": 4260864,
    "PERF_COUNTER_QUEUELEN_TYPE": 4523008,
    "PERF_COUNTER_LARGE_QUEUELEN_TYPE": 4523264,
    "PERF_COUNTER_100NS_QUEUELEN_TYPE": 5571840,
    "PERF_COUNTER_OBJ_TIME_QUEUELEN_TYPE": 6620416,
    "PERF_COUNTER_COUNTER": 272696320,
    "PERF_COUNTER_BULK_COUNT": 272696576,
    "PERF_RAW_FRACTION": 537003008,
    "PERF_LARGE_RAW_FRACTION": 537003264,
    "PERF_COUNTER_TIMER": 541132032,
    "PERF_PRECISION_SYSTEM_TIMER": 541525248,
    "PERF_100NSEC_TIMER": 542180608,
    "PERF_PRECISION_100NS_TIMER": 542573824,
    "PERF_OBJ_TIME_TIMER": 543229184,
    "PERF_PRECISION_OBJECT_TIMER": 543622400,
    "PERF_SAMPLE_FRACTION": 549585920,
    "PERF_COUNTER_TIMER_INV": 557909248,
    "PERF_100NSEC_TIMER_INV": 558957824,
    "PERF_COUNTER_MULTI_TIMER": 574686464,
    "PERF_100NSEC_MULTI_TIMER": 575735040,
    "PERF_COUNTER_MULTI_TIMER_INV": 591463680,
    "PERF_100NSEC_MULTI_TIMER_INV": 592512256,
    "PERF_AVERAGE_TIMER": 805438464,
    "PERF_ELAPSED_TIME": 807666944,
    "PERF_COUNTER_NODATA": 1073742336,
    "PERF_AVERAGE_BULK": 1073874176,
    "PERF_SAMPLE_BASE": 1073939457,
    "PERF_AVERAGE_BASE": 1073939458,
    "PERF_RAW_BASE": 1073939459,
    "PERF_LARGE_RAW_BASE": 1073939712,
    "PERF_COUNTER_MULTI_BASE": 1107494144,
    "PERF_COUNTER_HISTOGRAM_TYPE": 2147483648,
}


def test_every_documented_type_has_its_code() -> None:
    assert {t.name: t.code for t in COUNTER_TYPES.values()} == DOCUMENTED
    assert COUNTER_TYPES_BY_NAME["PERF_PRECISION_TIMESTAMP"].code == 1073939712


def test_names_known_to_the_mof_compiler_exist_here() -> None:
    assert set(PERF_COUNTER_TYPES) <= set(COUNTER_TYPES_BY_NAME)


def test_type_properties() -> None:
    bulk = COUNTER_TYPES_BY_NAME["PERF_COUNTER_BULK_COUNT"]
    assert (bulk.samples, bulk.suffix, bulk.timer, bulk.is_large) == (2, "/sec", "perf", True)
    raw = COUNTER_TYPES_BY_NAME["PERF_COUNTER_LARGE_RAWCOUNT"]
    assert (raw.samples, raw.suffix, raw.uses_time) == (1, "", False)
    assert COUNTER_TYPES_BY_NAME["PERF_100NSEC_TIMER"].timer == "100ns"
    assert COUNTER_TYPES_BY_NAME["PERF_ELAPSED_TIME"].timer == "object"
    assert COUNTER_TYPES_BY_NAME["PERF_RAW_BASE"].is_base
    assert not COUNTER_TYPES_BY_NAME["PERF_RAW_FRACTION"].is_base


S = Sample
# (type, newer sample, older sample, expected display value), each computed by hand.
WORKED = [
    ("PERF_COUNTER_RAWCOUNT", S(42), None, 42),
    ("PERF_COUNTER_LARGE_RAWCOUNT", S(2**64 - 1), None, 2**64 - 1),  # exact, no float rounding
    ("PERF_COUNTER_RAWCOUNT_HEX", S(0xFF), None, 255),
    ("PERF_COUNTER_LARGE_RAWCOUNT_HEX", S(0x1_0000_0000), None, 4294967296),
    ("PERF_DOUBLE_RAW", S(3), None, 3.0),
    ("PERF_RAW_FRACTION", S(25, base=200), None, 12.5),  # 100*25/200
    ("PERF_LARGE_RAW_FRACTION", S(1, base=4), None, 25.0),
    # started at 100 s, now 130 s, in 100 ns ticks: (D-N)/F = 300e6/1e7 = 30 s
    ("PERF_ELAPSED_TIME", S(1_000_000_000, time=1_300_000_000, frequency=10**7), None, 30.0),
    # 150 events in 3 s (3e6 ticks at 1 MHz): 50/s
    ("PERF_COUNTER_COUNTER", S(250, time=4_000_000, frequency=10**6), S(100, time=1_000_000), 50.0),
    ("PERF_COUNTER_BULK_COUNT", S(10**10, time=2 * 10**9, frequency=10**9), S(0, time=0), 5e9),
    ("PERF_SAMPLE_COUNTER", S(40, time=500, frequency=1000), S(10, time=0), 60.0),
    ("PERF_COUNTER_DELTA", S(19), S(7), 12),
    ("PERF_COUNTER_LARGE_DELTA", S(2**40 + 5), S(2**40), 5),
    # queue-length sum 3000 over 1000 ticks: 3 queued on average
    ("PERF_COUNTER_QUEUELEN_TYPE", S(3000, time=1000), S(0, time=0), 3.0),
    ("PERF_COUNTER_LARGE_QUEUELEN_TYPE", S(4500, time=1500), S(1500, time=500), 3.0),
    ("PERF_COUNTER_100NS_QUEUELEN_TYPE", S(5 * 10**7, time=10**7), S(0, time=0), 5.0),
    ("PERF_COUNTER_OBJ_TIME_QUEUELEN_TYPE", S(200, time=100), S(0, time=0), 2.0),
    # busy 250 of 1000 ticks: 25 %
    ("PERF_COUNTER_TIMER", S(250, time=1000), S(0, time=0), 25.0),
    ("PERF_100NSEC_TIMER", S(2_500_000, time=10**7), S(0, time=0), 25.0),
    ("PERF_OBJ_TIME_TIMER", S(600, time=2000), S(100, time=1000), 50.0),
    # idle 750 of 1000 ticks: 25 % busy
    ("PERF_COUNTER_TIMER_INV", S(750, time=1000), S(0, time=0), 25.0),
    ("PERF_100NSEC_TIMER_INV", S(9 * 10**6, time=10**7), S(0, time=0), 10.0),
    # 4 items busy 2000 item-ticks in 1000 ticks: 100*2/4 = 50 %
    ("PERF_COUNTER_MULTI_TIMER", S(2000, base=4, time=1000), S(0, base=4, time=0), 50.0),
    ("PERF_100NSEC_MULTI_TIMER", S(10**7, base=2, time=10**7), S(0, base=2, time=0), 50.0),
    # 4 items idle 1000 item-ticks in 1000 ticks: 100*(4-1)/4 = 75 %
    ("PERF_COUNTER_MULTI_TIMER_INV", S(1000, base=4, time=1000), S(0, base=4, time=0), 75.0),
    ("PERF_100NSEC_MULTI_TIMER_INV", S(3 * 10**7, base=4, time=10**7), S(0, base=4, time=0), 25.0),
    # the base is the counter's own timestamp: 300 of 1000 = 30 %
    ("PERF_PRECISION_SYSTEM_TIMER", S(300, base=2000), S(0, base=1000), 30.0),
    ("PERF_PRECISION_100NS_TIMER", S(500, base=1500), S(250, base=1000), 50.0),
    ("PERF_PRECISION_OBJECT_TIMER", S(100, base=100), S(0, base=0), 100.0),
    # 5 hits of 10 lookups: 50 %
    ("PERF_SAMPLE_FRACTION", S(15, base=30), S(10, base=20), 50.0),
    # 4096 bytes in 4 operations: 1024 per operation
    ("PERF_AVERAGE_BULK", S(4096, base=4), S(0, base=0), 1024.0),
    # 3000 ticks at 1 kHz = 3 s over 6 operations: 0.5 s each
    ("PERF_AVERAGE_TIMER", S(3000, base=6, frequency=1000), S(0, base=0), 0.5),
]


@pytest.mark.parametrize(("name", "new", "old", "expected"), WORKED, ids=[w[0] for w in WORKED])
def test_worked_example(name: str, new: Sample, old: Sample | None, expected: float) -> None:
    value = cook(COUNTER_TYPES_BY_NAME[name], new, old)
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)


def test_every_displayed_type_has_a_worked_example() -> None:
    displayed = {t.name for t in COUNTER_TYPES.values() if t.displayed}
    assert displayed == {w[0] for w in WORKED}


@pytest.mark.parametrize(
    "name",
    ["PERF_RAW_BASE", "PERF_LARGE_RAW_BASE", "PERF_AVERAGE_BASE", "PERF_SAMPLE_BASE",
     "PERF_COUNTER_MULTI_BASE", "PERF_COUNTER_TEXT", "PERF_COUNTER_NODATA",
     "PERF_COUNTER_HISTOGRAM_TYPE"],
)  # fmt: skip
def test_bases_text_and_nodata_are_not_displayed(name: str) -> None:
    with pytest.raises(NotDisplayed):
        cook(COUNTER_TYPES_BY_NAME[name], S(1, base=1, time=1, frequency=1))


def test_two_sample_types_refuse_one_sample() -> None:
    for t in COUNTER_TYPES.values():
        if t.samples == 2:
            with pytest.raises(NeedsTwoSamples, match="needs two samples"):
                cook(t, S(5, base=5, time=5, frequency=5))


def test_a_counter_reset_is_rejected_not_turned_into_a_huge_rate() -> None:
    bulk = COUNTER_TYPES_BY_NAME["PERF_COUNTER_BULK_COUNT"]
    with pytest.raises(CounterReset, match="went backwards"):
        cook(bulk, S(5, time=20, frequency=10), S(100, time=10))
    with pytest.raises(CounterReset):
        cook(bulk, S(500, time=5, frequency=10), S(100, time=10))


def test_no_interval_zero_base_and_nulls() -> None:
    bulk = COUNTER_TYPES_BY_NAME["PERF_COUNTER_BULK_COUNT"]
    with pytest.raises(NoInterval):
        cook(bulk, S(5, time=10, frequency=10), S(1, time=10))
    with pytest.raises(NoInterval):
        cook(COUNTER_TYPES_BY_NAME["PERF_RAW_FRACTION"], S(5, base=0))
    with pytest.raises(MissingData):
        cook(bulk, S(5, time=10, frequency=None), S(1, time=0))
    with pytest.raises(MissingData):
        cook(COUNTER_TYPES_BY_NAME["PERF_COUNTER_RAWCOUNT"], S(None))
