"""Every performance-counter type of winperf.h: its code, name, and what cooking it needs.

Codes are built from the winperf.h components (size | type | subtype | timer | calculation |
display) so that each one reads as its definition; tests pin them to the documented decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..mof.constants import PERF_COMPONENTS as _C

SIZE_MASK = 0x00000300
TYPE_MASK = 0x00000C00
SUBTYPE_MASK = 0x000F0000
TIMER_MASK = 0x00300000
DISPLAY_MASK = 0xF0000000

PERF_DELTA_COUNTER = _C["PERF_DELTA_COUNTER"]
PERF_DELTA_BASE = _C["PERF_DELTA_BASE"]
PERF_INVERSE_COUNTER = _C["PERF_INVERSE_COUNTER"]
PERF_MULTI_COUNTER = _C["PERF_MULTI_COUNTER"]


def _c(*names: str, extra: int = 0) -> int:
    code = extra
    for n in names:
        code |= _C["PERF_" + n]
    return code


# Timers a counter type measures against, and the Win32_PerfRawData properties holding them.
TIMER_PERF = "perf"  # Timestamp_PerfTime / Frequency_PerfTime
TIMER_100NS = "100ns"  # Timestamp_Sys100NS / Frequency_Sys100NS
TIMER_OBJECT = "object"  # Timestamp_Object / Frequency_Object
TIMER_PROPERTIES: dict[str, tuple[str, str]] = {
    TIMER_PERF: ("Timestamp_PerfTime", "Frequency_PerfTime"),
    TIMER_100NS: ("Timestamp_Sys100NS", "Frequency_Sys100NS"),
    TIMER_OBJECT: ("Timestamp_Object", "Frequency_Object"),
}


@dataclass(frozen=True, slots=True)
class CounterType:
    name: str  # PERF_... as in winperf.h
    code: int  # the CounterType qualifier value
    samples: int  # raw samples the formula needs: 0 (not displayed), 1 or 2
    uses_base: bool  # needs the base counter (B)
    uses_time: bool  # needs a timestamp (D) and maybe its frequency (F)
    formula: str  # the display formula, N raw, B base, D time, F frequency; 0/1 = older/newer

    @property
    def timer(self) -> str:
        bits = self.code & TIMER_MASK
        if bits == _C["PERF_TIMER_100NS"]:
            return TIMER_100NS
        if bits == _C["PERF_OBJECT_TIMER"]:
            return TIMER_OBJECT
        return TIMER_PERF

    @property
    def displayed(self) -> bool:
        return self.samples > 0

    @property
    def is_base(self) -> bool:
        return (self.code & SUBTYPE_MASK) == _C["PERF_COUNTER_BASE"] and (
            self.code & TYPE_MASK
        ) == _C["PERF_TYPE_COUNTER"]

    @property
    def suffix(self) -> str:
        return {
            _C["PERF_DISPLAY_PER_SEC"]: "/sec",
            _C["PERF_DISPLAY_PERCENT"]: "%",
            _C["PERF_DISPLAY_SECONDS"]: "sec",
        }.get(self.code & DISPLAY_MASK, "")

    @property
    def is_large(self) -> bool:
        return (self.code & SIZE_MASK) == _C["PERF_SIZE_LARGE"]


def _t(name: str, code: int, samples: int, base: bool, time: bool, formula: str) -> CounterType:
    return CounterType(name, code, samples, base, time, formula)


_RATE = "(N1-N0)/((D1-D0)/F)"
_TYPES: list[CounterType] = [
    # Instantaneous values.
    _t("PERF_COUNTER_RAWCOUNT_HEX", _c("SIZE_DWORD", "TYPE_NUMBER", "NUMBER_HEX"), 1, False, False, "N"),
    _t("PERF_COUNTER_LARGE_RAWCOUNT_HEX", _c("SIZE_LARGE", "TYPE_NUMBER", "NUMBER_HEX"), 1, False, False, "N"),
    _t("PERF_COUNTER_RAWCOUNT", _c("SIZE_DWORD", "TYPE_NUMBER", "NUMBER_DECIMAL"), 1, False, False, "N"),
    _t("PERF_COUNTER_LARGE_RAWCOUNT", _c("SIZE_LARGE", "TYPE_NUMBER", "NUMBER_DECIMAL"), 1, False, False, "N"),
    _t("PERF_DOUBLE_RAW", 73728, 1, False, False, "N"),  # documented decimal; a double, not a composition
    _t("PERF_RAW_FRACTION", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_FRACTION", "DISPLAY_PERCENT"), 1, True, False, "100*N1/B1"),
    _t("PERF_LARGE_RAW_FRACTION", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_FRACTION", "DISPLAY_PERCENT"), 1, True, False, "100*N1/B1"),
    _t("PERF_ELAPSED_TIME", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_ELAPSED", "OBJECT_TIMER", "DISPLAY_SECONDS"), 1, False, True, "(D1-N1)/F"),
    # Rates over the sample interval.
    _t("PERF_COUNTER_COUNTER", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_PER_SEC"), 2, False, True, _RATE),
    _t("PERF_COUNTER_BULK_COUNT", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_PER_SEC"), 2, False, True, _RATE),
    _t("PERF_SAMPLE_COUNTER", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, True, _RATE),
    _t("PERF_COUNTER_DELTA", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_VALUE", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, False, "N1-N0"),
    _t("PERF_COUNTER_LARGE_DELTA", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_VALUE", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, False, "N1-N0"),
    # Queue lengths (time-weighted averages).
    _t("PERF_COUNTER_QUEUELEN_TYPE", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_QUEUELEN", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, True, "(N1-N0)/(D1-D0)"),
    _t("PERF_COUNTER_LARGE_QUEUELEN_TYPE", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_QUEUELEN", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, True, "(N1-N0)/(D1-D0)"),
    _t("PERF_COUNTER_100NS_QUEUELEN_TYPE", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_QUEUELEN", "TIMER_100NS", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, True, "(N1-N0)/(D1-D0)"),
    _t("PERF_COUNTER_OBJ_TIME_QUEUELEN_TYPE", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_QUEUELEN", "OBJECT_TIMER", "DELTA_COUNTER", "DISPLAY_NO_SUFFIX"), 2, False, True, "(N1-N0)/(D1-D0)"),
    # Busy-time percentages.
    _t("PERF_COUNTER_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, False, True, "100*(N1-N0)/(D1-D0)"),
    _t("PERF_100NSEC_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_100NS", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, False, True, "100*(N1-N0)/(D1-D0)"),
    _t("PERF_OBJ_TIME_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "OBJECT_TIMER", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, False, True, "100*(N1-N0)/(D1-D0)"),
    _t("PERF_COUNTER_TIMER_INV", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "INVERSE_COUNTER", "DISPLAY_PERCENT"), 2, False, True, "100*(1-(N1-N0)/(D1-D0))"),
    _t("PERF_100NSEC_TIMER_INV", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_100NS", "DELTA_COUNTER", "INVERSE_COUNTER", "DISPLAY_PERCENT"), 2, False, True, "100*(1-(N1-N0)/(D1-D0))"),
    _t("PERF_COUNTER_MULTI_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "MULTI_COUNTER", "DISPLAY_PERCENT"), 2, True, True, "100*((N1-N0)/(D1-D0))/B1"),
    _t("PERF_100NSEC_MULTI_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_100NS", "DELTA_COUNTER", "MULTI_COUNTER", "DISPLAY_PERCENT"), 2, True, True, "100*((N1-N0)/(D1-D0))/B1"),
    _t("PERF_COUNTER_MULTI_TIMER_INV", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_TICK", "DELTA_COUNTER", "MULTI_COUNTER", "INVERSE_COUNTER", "DISPLAY_PERCENT"), 2, True, True, "100*(B1-(N1-N0)/(D1-D0))/B1"),
    _t("PERF_100NSEC_MULTI_TIMER_INV", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_RATE", "TIMER_100NS", "DELTA_COUNTER", "MULTI_COUNTER", "INVERSE_COUNTER", "DISPLAY_PERCENT"), 2, True, True, "100*(B1-(N1-N0)/(D1-D0))/B1"),
    _t("PERF_PRECISION_SYSTEM_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_PRECISION", "TIMER_TICK", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, True, False, "100*(N1-N0)/(B1-B0)"),
    _t("PERF_PRECISION_100NS_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_PRECISION", "TIMER_100NS", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, True, False, "100*(N1-N0)/(B1-B0)"),
    _t("PERF_PRECISION_OBJECT_TIMER", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_PRECISION", "OBJECT_TIMER", "DELTA_COUNTER", "DISPLAY_PERCENT"), 2, True, False, "100*(N1-N0)/(B1-B0)"),
    # Ratios of two counters.
    _t("PERF_SAMPLE_FRACTION", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_FRACTION", "DELTA_COUNTER", "DELTA_BASE", "DISPLAY_PERCENT"), 2, True, False, "100*(N1-N0)/(B1-B0)"),
    _t("PERF_AVERAGE_BULK", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_FRACTION", "DISPLAY_NOSHOW"), 2, True, False, "(N1-N0)/(B1-B0)"),
    _t("PERF_AVERAGE_TIMER", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_FRACTION", "DISPLAY_SECONDS"), 2, True, True, "((N1-N0)/F)/(B1-B0)"),
    # Not displayed: bases of other counters, text, no data, histograms.
    _t("PERF_SAMPLE_BASE", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_BASE", "DISPLAY_NOSHOW", extra=1), 0, False, False, "base"),
    _t("PERF_AVERAGE_BASE", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_BASE", "DISPLAY_NOSHOW", extra=2), 0, False, False, "base"),
    _t("PERF_RAW_BASE", _c("SIZE_DWORD", "TYPE_COUNTER", "COUNTER_BASE", "DISPLAY_NOSHOW", extra=3), 0, False, False, "base"),
    _t("PERF_LARGE_RAW_BASE", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_BASE", "DISPLAY_NOSHOW"), 0, False, False, "base"),
    _t("PERF_COUNTER_MULTI_BASE", _c("SIZE_LARGE", "TYPE_COUNTER", "COUNTER_BASE", "MULTI_COUNTER", "DISPLAY_NOSHOW"), 0, False, False, "base"),
    _t("PERF_COUNTER_TEXT", _c("SIZE_VARIABLE_LEN", "TYPE_TEXT", "TEXT_UNICODE"), 0, False, False, "text"),
    _t("PERF_COUNTER_NODATA", _c("SIZE_ZERO", "DISPLAY_NOSHOW"), 0, False, False, "no data"),
    _t("PERF_COUNTER_HISTOGRAM_TYPE", 0x80000000, 0, False, False, "histogram"),
]  # fmt: skip

COUNTER_TYPES: dict[int, CounterType] = {t.code: t for t in _TYPES}
COUNTER_TYPES_BY_NAME: dict[str, CounterType] = {t.name: t for t in _TYPES}
# PERF_PRECISION_TIMESTAMP is winperf.h's alias of PERF_LARGE_RAW_BASE.
COUNTER_TYPES_BY_NAME["PERF_PRECISION_TIMESTAMP"] = COUNTER_TYPES_BY_NAME["PERF_LARGE_RAW_BASE"]


def counter_type(code: int) -> CounterType | None:
    """The counter type with CounterType qualifier value ``code`` (None if unknown)."""
    return COUNTER_TYPES.get(code)


def counter_type_by_name(name: str) -> CounterType | None:
    return COUNTER_TYPES_BY_NAME.get(name.upper())
