"""Prometheus families planned from the schema; the fast writer agrees with prometheus_client."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from iscsiprf.mof import load_builtin_schema
from iscsiprf.mof.model import Schema
from iscsiprf.serve.metrics import (
    IscsiprfCollector,
    MetricsView,
    class_prefix,
    plan_families,
    snake,
)

MM = "MSiSCSI_MMIPSECStats"


class ListSource:
    """A tiny in-memory InstanceSource for unit tests."""

    def __init__(self, instances: list[dict[str, Any]], fail: bool = False) -> None:
        self._schema = load_builtin_schema()
        self.instances = instances
        self.fail = fail

    @property
    def schema(self) -> Schema:
        return self._schema

    def enumerate(self, class_name: str) -> list[dict[str, Any]]:
        if self.fail:
            raise OSError("daemon gone")
        return [i for i in self.instances if i.get("__CLASS", MM).lower() == class_name.lower()]

    def get(self, class_name: str, instance_name: str) -> dict[str, Any] | None:
        return None

    def health(self) -> Mapping[str, Any]:
        return {"events_processed": 12, "source_errors": 1, "last_success": 1_700_000_000.5}

    def close(self) -> None:
        pass


def adapter(name: str, base: int) -> dict[str, Any]:
    d: dict[str, Any] = {"__CLASS": MM, "InstanceName": name, "Active": True}
    for p in load_builtin_schema().cls(MM).data_items():
        d[p.name] = base + (p.data_id or 0)
    return d


def samples(text: str) -> set[tuple[Any, ...]]:
    return {
        (f.name, f.type, s.name, tuple(sorted(s.labels.items())), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [("OakleyMainMode", "oakley_main_mode"), ("TotalGetSPI", "total_get_spi"), ("GetSPIFailures", "get_spi_failures"),
     ("ActiveSA", "active_sa"), ("InvalidCookiesReceived", "invalid_cookies_received"), ("Frequency_PerfTime", "frequency_perf_time")],
)  # fmt: skip
def test_snake(name: str, expected: str) -> None:
    assert snake(name) == expected


def test_class_prefix() -> None:
    assert class_prefix(MM) == "mmipsec"
    assert class_prefix("MSiSCSI_QMIPSECStats") == "qmipsec"
    assert class_prefix("MSiSCSI_SessionStatistics") == "session"


def test_plan_has_one_family_per_counter_with_gauges_marked() -> None:
    fams = [f for f in plan_families(load_builtin_schema()) if f.cls.name == MM]
    assert len(fams) == 21
    by = {f.prop.name: f for f in fams}
    assert by["OakleyMainMode"].name == "iscsiprf_mmipsec_oakley_main_mode"
    assert by["OakleyMainMode"].kind == "counter" and by["OakleyMainMode"].sample_name.endswith(
        "_total"
    )
    gauges = sorted(f.prop.name for f in fams if f.kind == "gauge")
    assert gauges == [
        "AcquireHeapSize",
        "ActiveAcquire",
        "ActiveReceive",
        "ConnectionListSize",
        "ReceiveHeapSize",
    ]
    assert "main mode" in by["OakleyMainMode"].help.lower()
    assert "\n" not in by["ActiveAcquire"].help


def test_fast_writer_matches_prometheus_client() -> None:
    src = ListSource([adapter("ROOT\\ISCSIPRT\\0000_0", 0), adapter("ROOT\\ISCSIPRT\\0001_0", 100),
                      {"__CLASS": "MSiSCSI_QMIPSECStats", "InstanceName": "X_0", "Active": False, "ActiveSA": 3}])  # fmt: skip
    view = MetricsView(src)
    registry = CollectorRegistry()
    registry.register(IscsiprfCollector(view))
    ours = view.render_text().decode()
    assert samples(ours) == samples(generate_latest(registry).decode())
    fams = {f.name: f for f in text_string_to_metric_families(ours)}
    assert fams["iscsiprf_qmipsec_active_sa"].samples[0].value == 3
    assert fams["iscsiprf_collector_events_processed"].samples[0].value == 12
    assert fams["iscsiprf_collector_up"].samples[0].value == 1
    active = {s.labels["instance_name"]: s.value for s in fams["iscsiprf_instance_active"].samples}
    assert active == {"ROOT\\ISCSIPRT\\0000_0": 1, "ROOT\\ISCSIPRT\\0001_0": 1, "X_0": 0}


def test_values_change_between_scrapes() -> None:
    inst = adapter("A_0", 0)
    src = ListSource([inst])
    view = MetricsView(src)
    assert (
        b'iscsiprf_mmipsec_oakley_main_mode_total{instance_name="A_0"} 18\n' in view.render_text()
    )
    inst["OakleyMainMode"] = 19
    inst["ActiveAcquire"] = None
    text = view.render_text()
    assert b'iscsiprf_mmipsec_oakley_main_mode_total{instance_name="A_0"} 19\n' in text
    assert b"iscsiprf_mmipsec_active_acquire{" not in text


def test_a_failing_source_reports_down_instead_of_raising() -> None:
    view = MetricsView(ListSource([], fail=True))
    fams = {f.name: f for f in text_string_to_metric_families(view.render_text().decode())}
    assert fams["iscsiprf_collector_up"].samples[0].value == 0
    assert not fams["iscsiprf_mmipsec_oakley_main_mode"].samples


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_instance_name_survives_the_text_format(name: str) -> None:
    view = MetricsView(ListSource([adapter(name, 5)]))
    fams = {f.name: f for f in text_string_to_metric_families(view.render_text().decode())}
    (s,) = [s for s in fams["iscsiprf_mmipsec_oakley_main_mode"].samples]
    assert s.labels["instance_name"] == name and s.value == 23


def test_render_is_fast_enough_to_matter() -> None:
    """Not a timing assertion: checks the writer handles 1,000 instances and says how long."""
    view = MetricsView(ListSource([adapter(f"ROOT\\ISCSIPRT\\{i:04d}_0", i) for i in range(1000)]))
    t = time.perf_counter()
    text = view.render_text()
    assert text.count(b"\n") > 21 * 1000
    print(f"render_text 1,000 instances: {(time.perf_counter() - t) * 1000:.1f} ms")
