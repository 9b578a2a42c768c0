"""Counters read from the schema, the formatted view, timestamps, counter paths, the sampler."""

from __future__ import annotations

from typing import Any

import pytest
from wqlperf_support import MM, QM, perf_class, quals, schema

from iscsiprf.perf import (
    CounterPathError,
    CounterSampler,
    SampleTime,
    StampedSource,
    bind_counter_path,
    class_counters,
    format_instance,
    formatted_view,
    parse_counter_path,
    wall_time,
)
from iscsiprf.perf.timestamps import FILETIME_UNIX_EPOCH, sample_time_of
from iscsiprf.wql import ListSource


def test_mmipsecstats_has_21_large_rawcounts_from_the_schema() -> None:
    cls = schema().cls(MM)
    counters = class_counters(cls)
    assert [c.name for c in counters] == [p.name for p in cls.data_items()]
    assert len(counters) == 21
    assert {c.type.name for c in counters} == {"PERF_COUNTER_LARGE_RAWCOUNT"}
    assert {(c.detail, c.detail_name, c.default_scale) for c in counters} == {(100, "NOVICE", 0)}
    assert counters[0].description and counters[0].description.startswith("An acquire")


def test_qmipsecstats_items_10_to_18_are_bulk_counts() -> None:
    counters = class_counters(schema().cls(QM))
    kinds = [c.type.name for c in counters]
    assert kinds[:9] == ["PERF_COUNTER_LARGE_RAWCOUNT"] * 9
    assert kinds[9:] == ["PERF_COUNTER_BULK_COUNT"] * 9
    assert counters[9].time_property == "Timestamp_PerfTime"
    assert counters[9].frequency_property == "Frequency_PerfTime"


def test_base_counter_lookup_and_qualifier_overrides() -> None:
    cls = perf_class(
        "T_Perf",
        [
            ("HitRatio", "PERF_RAW_FRACTION"),
            ("HitRatio_Base", "PERF_RAW_BASE"),
            ("AvgBytes", "PERF_AVERAGE_BULK"),
            ("Ops", "PERF_AVERAGE_BASE"),  # the base follows its counter
            ("Busy", "PERF_100NSEC_TIMER"),
        ],
    )
    cls.properties["busy"].qualifiers.update(quals(DefaultScale=-2, PerfDetail=300))
    by_name = {c.name: c for c in class_counters(cls)}
    assert by_name["HitRatio"].base == "HitRatio_Base"
    assert by_name["AvgBytes"].base == "Ops"
    assert by_name["Busy"].base is None
    assert (by_name["Busy"].default_scale, by_name["Busy"].detail_name) == (-2, "EXPERT")
    assert by_name["HitRatio"].detail == 200  # the class's PerfDetail
    assert by_name["Busy"].time_property == "Timestamp_Sys100NS"


def test_format_instance_cooks_and_says_what_is_missing() -> None:
    cls = perf_class(
        "T_Perf",
        [
            ("Ratio", "PERF_RAW_FRACTION"),
            ("Ratio_Base", "PERF_RAW_BASE"),
            ("Bytes", "PERF_COUNTER_BULK_COUNT"),
        ],
    )
    old = {"InstanceName": "a", "Ratio": 1, "Ratio_Base": 4, "Bytes": 1000,
           "Timestamp_PerfTime": 0, "Frequency_PerfTime": 1000}  # fmt: skip
    new = {**old, "Ratio": 3, "Bytes": 3000, "Timestamp_PerfTime": 500}
    one = format_instance(cls, new)
    assert one.values == {"InstanceName": "a", "Ratio": 75.0, "Bytes": None,
                          "Timestamp_PerfTime": 500, "Frequency_PerfTime": 1000}  # fmt: skip
    assert one.missing == {"Bytes": "PERF_COUNTER_BULK_COUNT needs two samples"}
    two = format_instance(cls, new, old)
    assert two.values["Bytes"] == 4000.0  # 2000 bytes in 0.5 s
    assert two.missing == {}


def test_formatted_view_of_mmipsecstats_equals_raw() -> None:
    inst = {
        "__CLASS": MM,
        "InstanceName": "x",
        "Active": True,
        "ActiveAcquire": 7,
        "SoftAssociations": 2**63,
    }
    out, missing = formatted_view(schema(), [inst])
    assert out == [inst] and missing == {}


def test_wall_time_uses_the_filetime_epoch() -> None:
    t = wall_time(0)
    assert t.sys100ns == FILETIME_UNIX_EPOCH == 116_444_736_000_000_000
    # 2017-07-14T02:40:00.123456789Z: 15,000,000,001,234,567 x 100 ns after 1970
    assert wall_time(1_500_000_000_123_456_789).sys100ns == 131_444_736_001_234_567
    assert t.perf_frequency == t.object_frequency == 10**7


def test_stamped_source_fills_missing_stamps_with_one_reading() -> None:
    reading = SampleTime(5, 1000, FILETIME_UNIX_EPOCH + 10**7, FILETIME_UNIX_EPOCH + 10**7, 10**7)
    carried = {"__CLASS": MM, "InstanceName": "b", **wall_time(10**9).properties()}
    src = ListSource(schema(), [{"__CLASS": MM, "InstanceName": "a"}, carried])
    out = StampedSource(src, schema(), lambda: reading).enumerate(MM)
    assert sample_time_of(out[0]) == reading
    assert out[0]["Frequency_Sys100NS"] == 10**7
    assert sample_time_of(out[1]) == wall_time(10**9)  # a snapshot's own stamps are kept
    assert reading.unix_seconds == 1.0


@pytest.mark.parametrize(
    ("text", "machine", "obj", "instance", "counter"),
    [
        (
            "\\MSiSCSI_MMIPSECStats(ROOT\\ISCSIPRT\\0000_0)\\ActiveAcquire",
            None,
            MM,
            "ROOT\\ISCSIPRT\\0000_0",
            "ActiveAcquire",
        ),
        ("\\\\host\\MSiSCSI_MMIPSECStats(*)\\*", "host", MM, "*", "*"),
        ("\\X(a(b)c)\\Y", None, "X", "a(b)c", "Y"),
        ("\\X\\Y", None, "X", None, "Y"),
    ],
)
def test_parse_counter_paths(
    text: str, machine: str | None, obj: str, instance: str | None, counter: str
) -> None:
    p = parse_counter_path(text)
    assert (p.machine, p.object, p.instance, p.counter) == (machine, obj, instance, counter)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("MSiSCSI_MMIPSECStats(*)\\X", "starts with"),
        ("\\MSiSCSI_MMIPSECStats(*\\X", "not closed"),
        ("\\MSiSCSI_MMIPSECStats()\\X", "empty instance"),
        ("\\(*)\\X", "no object"),
        ("\\MSiSCSI_MMIPSECStats(*)\\", "one counter name"),
        ("\\\\host", "machine"),
        ("\\Nope(*)\\X", "unknown performance object"),
        ("\\MSiSCSI_MMIPSECStats(*)\\Nope", "no counter 'Nope'"),
        ("\\MSiSCSI_MMIPSECStats\\ActiveAcquire", "name one"),
        ("\\Win32_PerfRawData(*)\\*", "no displayed counters"),
    ],
)
def test_bad_counter_paths(text: str, fragment: str) -> None:
    with pytest.raises(CounterPathError, match=fragment.replace("(", "\\(")):
        bind_counter_path(parse_counter_path(text), schema())


class CountingSource:
    """QMIPSECStats instances whose byte counters grow by 1000 per sample."""

    def __init__(self) -> None:
        self.n = 0

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        self.n += 1
        insts = []
        for name in ("A_0", "B_0"):
            insts.append({"__CLASS": QM, "InstanceName": name, "ActiveSA": self.n,
                          "ConfidentialBytesSent": 1000 * self.n})  # fmt: skip
        if self.n > 2:
            insts.pop(0)  # A_0 goes away
        return insts


def test_sampler_cooks_from_consecutive_samples() -> None:
    times = iter(range(0, 10**9, 2 * 10**7))  # one sample every 2 s in 100 ns ticks
    clock = lambda: wall_time(next(times) * 100)  # noqa: E731
    src = StampedSource(CountingSource(), schema(), clock)
    sels = [bind_counter_path(parse_counter_path(f"\\{QM}(*)\\{c}"), schema())
            for c in ("ActiveSA", "ConfidentialBytesSent")]  # fmt: skip
    sampler = CounterSampler(sels, src)
    first = sampler.sample()
    assert [c.path("h") for c in sampler.columns] == [
        f"\\\\h\\{QM}(A_0)\\ActiveSA",
        f"\\\\h\\{QM}(B_0)\\ActiveSA",
        f"\\\\h\\{QM}(A_0)\\ConfidentialBytesSent",
        f"\\\\h\\{QM}(B_0)\\ConfidentialBytesSent",
    ]
    assert first.values == [1, 1, None, None]
    assert first.reasons[2] == "PERF_COUNTER_BULK_COUNT needs two samples"
    second = sampler.sample()
    assert second.values == [2, 2, 500.0, 500.0]  # 1000 bytes in 2 s
    assert second.unix_time - first.unix_time == pytest.approx(2.0)
    third = sampler.sample()
    assert third.values == [None, 3, None, 500.0]
    assert third.reasons[0] == "no instance 'A_0' of MSiSCSI_QMIPSECStats"
