"""WQL and counters over the real broker: provider -> data block -> WNODE -> instances -> filter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wqlperf_support import MM, QM

from iscsiprf.codegen.layout import class_layout
from iscsiprf.mof import load_builtin_schema
from iscsiprf.perf import (
    CounterSampler,
    SampleTime,
    StampedSource,
    bind_counter_path,
    parse_counter_path,
)
from iscsiprf.wmi.broker import Broker
from iscsiprf.wmi.provider import ValuesProvider
from iscsiprf.wql import run_query


@pytest.fixture
def broker() -> Iterator[tuple[Broker, list[ValuesProvider]]]:
    schema = load_builtin_schema()
    layouts = {c: class_layout(schema.cls(c), schema) for c in (MM, QM)}
    items = {c: [p.name for p in schema.cls(c).data_items()] for c in (MM, QM)}
    b = Broker(schema)
    providers = []
    for k in range(3):
        values = {c: [{name: k * 10 + i for i, name in enumerate(items[c])}] for c in (MM, QM)}
        p = ValuesProvider(f"ROOT\\ISCSIPRT\\{k:04d}", layouts, values)
        b.register(p)
        providers.append(p)
    yield b, providers
    b.close()


def test_query_through_the_broker(broker: tuple[Broker, list[ValuesProvider]]) -> None:
    b, _ = broker
    schema = load_builtin_schema()
    q = "SELECT ActiveAcquire FROM MSiSCSI_MMIPSECStats WHERE ActiveAcquire >= 10 AND Active = TRUE"
    assert run_query(q, schema, b).instances == [
        {"__CLASS": MM, "InstanceName": "ROOT\\ISCSIPRT\\0001_0", "ActiveAcquire": 10},
        {"__CLASS": MM, "InstanceName": "ROOT\\ISCSIPRT\\0002_0", "ActiveAcquire": 20},
    ]
    every = run_query("SELECT * FROM Win32_PerfRawData", schema, b).instances
    assert sorted({r["__CLASS"] for r in every}) == [MM, QM] and len(every) == 6


def test_counters_through_the_broker(broker: tuple[Broker, list[ValuesProvider]]) -> None:
    b, providers = broker
    schema = load_builtin_schema()
    readings = iter(
        [SampleTime(0, 10**9, 0, 0, 10**7), SampleTime(2 * 10**9, 10**9, 2 * 10**7, 0, 10**7)]
    )
    src = StampedSource(b, schema, lambda: next(readings))
    path = parse_counter_path(f"\\{QM}(ROOT\\ISCSIPRT\\0001_0)\\TunnelBytesSent")
    sampler = CounterSampler([bind_counter_path(path, schema)], src)
    assert sampler.sample().values == [None]
    providers[1].update(QM, 0, {"TunnelBytesSent": 10 + 16 + 4000})  # 4000 more bytes in 2 s
    assert sampler.sample().values == [2000.0]
