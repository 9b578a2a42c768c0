"""`Broker` is a façade over its collaborators: what its users could set on it before the split
(``timeout``, ``buffer_size``) still acts on the next query."""

from __future__ import annotations

import time
from typing import Any

from iscsiprf.codegen.layout import class_layout
from iscsiprf.mof import load_builtin_schema
from iscsiprf.wmi import Broker, ValuesProvider
from iscsiprf.wmi.provider import Reply

MM = "MSiSCSI_MMIPSECStats"


class SlowProvider(ValuesProvider):
    calls = 0

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        self.calls += 1
        time.sleep(0.05)
        return super().query_data_block(class_name, first_instance, count)


def _broker(**kw: Any) -> tuple[Broker, SlowProvider]:
    schema = load_builtin_schema()
    layout = class_layout(schema.cls(MM), schema)
    items = {p.name: 1 for p in schema.cls(MM).data_items()}
    broker = Broker(schema, **kw)
    provider = SlowProvider("ROOT\\ISCSIPRT\\0000", {MM: layout}, {MM: [items]})
    broker.register(provider)
    return broker, provider


def test_timeout_set_on_the_broker_governs_the_next_query() -> None:
    broker, _ = _broker(timeout=5.0)
    assert broker.timeout == 5.0
    assert [r["Active"] for r in broker.enumerate(MM)] == [True]
    broker.timeout = 0.01  # the 50 ms provider is now late
    assert broker.timeout == 0.01
    assert [r["Active"] for r in broker.enumerate(MM)] == [False]
    assert "after more than 0.01 s" in str(broker.provider_health()[0].last_error)


def test_buffer_size_set_on_the_broker_is_the_first_offer() -> None:
    broker, provider = _broker()
    broker.enumerate(MM)
    assert provider.calls == 1  # 64 KiB: the answer fits the first offer
    other, provider = _broker()
    other.buffer_size = 100  # smaller than the answer: WNODE_TOO_SMALL, then a retry
    assert other.buffer_size == 100
    rows = other.enumerate(MM)
    assert provider.calls == 2
    assert [r["InstanceName"] for r in rows] == ["ROOT\\ISCSIPRT\\0000_0"]
