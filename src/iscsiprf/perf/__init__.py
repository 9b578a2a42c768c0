"""Performance-counter semantics: counter types, cooking raw -> formatted, counter paths."""

from .cooking import (
    CookingError,
    CounterReset,
    MissingData,
    NeedsTwoSamples,
    NoInterval,
    NotDisplayed,
    Sample,
    cook,
)
from .counter_types import COUNTER_TYPES, COUNTER_TYPES_BY_NAME, CounterType, counter_type
from .counters import CounterDef, FormattedInstance, class_counters, format_instance, formatted_view
from .paths import CounterPath, CounterPathError, bind_counter_path, parse_counter_path
from .sampler import CounterColumn, CounterSampler, SampleRow
from .timestamps import SampleTime, StampedSource, live_time, wall_time

__all__ = [
    "COUNTER_TYPES",
    "COUNTER_TYPES_BY_NAME",
    "CookingError",
    "CounterColumn",
    "CounterDef",
    "CounterPath",
    "CounterPathError",
    "CounterReset",
    "CounterSampler",
    "CounterType",
    "FormattedInstance",
    "MissingData",
    "NeedsTwoSamples",
    "NoInterval",
    "NotDisplayed",
    "Sample",
    "SampleRow",
    "SampleTime",
    "StampedSource",
    "bind_counter_path",
    "class_counters",
    "cook",
    "counter_type",
    "format_instance",
    "formatted_view",
    "live_time",
    "parse_counter_path",
    "wall_time",
]
