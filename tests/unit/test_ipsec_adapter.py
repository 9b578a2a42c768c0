"""The I/O adapter, collector, provider and one-shot reader against a fake charon (no root).

The fake speaks real vici and error-notify framing and answers with recorded lab data, so this
runs the whole path: sockets → decoders → engine → state file → WMI broker instances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_charon import FakeCharon
from ipsec_replay import scenario

from iscsiprf.ipsec import enfy
from iscsiprf.ipsec.events import Alert
from iscsiprf.ipsec.live import LiveSource, open_collector, open_source
from iscsiprf.ipsec.state import read_state

MM = "MSiSCSI_MMIPSECStats"
NAME = "ROOT\\ISCSIPRT\\0007_0"


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def mm(src: LiveSource) -> dict[str, Any]:
    (inst,) = src.enumerate(MM)
    return inst


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[FakeCharon, Path]]:
    fake = FakeCharon(tmp_path)
    fake.sas = scenario("v1_success")["nodes"]["A"]["after"]["list_sas"]  # one IKEv1 SA + child up
    fake.start()
    cfg = tmp_path / "adapters.toml"
    cfg.write_text(
        "[[adapter]]\ndevice = 'ROOT\\ISCSIPRT\\0007'\n"
        f'vici = "unix://{fake.vici_path}"\nerror_notify = "unix://{fake.enfy_path}"\n'
        f'state = "{tmp_path / "state.sqlite"}"\n'
    )
    yield fake, cfg
    fake.stop()


def test_collector_end_to_end(lab: tuple[FakeCharon, Path]) -> None:
    fake, cfg = lab
    src = open_collector(cfg)
    try:
        wait_for(
            lambda: mm(src)["OakleyMainMode"] == 1 and fake.listeners > 0 and fake.enfy_clients > 0
        )
        inst = mm(src)
        assert (
            inst["InstanceName"],
            inst["Active"],
            inst["OakleyQuickMode"],
            inst["ConnectionListSize"],
        ) == (NAME, True, 1, 1)

        # a recorded IKEv2 auth failure arrives as an event and an alert
        for rec in scenario("v2_wrong_psk")["nodes"]["A"]["events"]:
            fake.push_event(rec["event"], rec["msg"])
        fake.push_enfy(
            enfy.encode_record(
                Alert(2, "local authentication failed", "v2", "v2-B", "10.99.0.2[4500]")
            )
        )
        fake.push_enfy(b"\xee" * enfy.RECORD_SIZE)  # garbage: counted, skipped
        took = wait_for(
            lambda: mm(src)["AuthenticationFailures"] == 1 and mm(src)["NegotiationFailures"] == 1
        )
        assert took < 2.0
        assert mm(src)["AcquireFailures"] == 1
        assert src.health()["source_errors"] >= 1

        # the daemon dies: the instance stays with its last values, Active goes FALSE
        fake.stop()
        down = wait_for(lambda: not mm(src)["Active"], timeout=15)
        assert mm(src)["OakleyMainMode"] == 1
        fake.start()
        up = wait_for(lambda: mm(src)["Active"], timeout=30)
        assert down < 2.0 and up < 6.0
        assert mm(src)["OakleyMainMode"] == 1  # the SA listed again is not counted twice
        gaps = src.health()["adapters"][0]["gaps"]
        assert gaps and gaps[-1]["kind"] == "daemon" and gaps[-1]["length"] > 0
    finally:
        src.close()

    # one-shot reader: state file + fresh gauges, never writes
    one = open_source(cfg)
    inst = mm(one)
    assert (
        inst["Active"],
        inst["AuthenticationFailures"],
        inst["OakleyMainMode"],
        inst["ConnectionListSize"],
    ) == (True, 1, 1, 1)
    assert one.notes == []
    fake.stop()
    one = open_source(cfg)
    inst = mm(one)
    assert (inst["Active"], inst["AuthenticationFailures"]) == (False, 1)
    assert any("does not answer" in n for n in one.notes)


def test_restart_of_iscsiprf_counts_nothing_twice(lab: tuple[FakeCharon, Path]) -> None:
    fake, cfg = lab
    src = open_collector(cfg)
    try:
        wait_for(lambda: mm(src)["OakleyMainMode"] == 1)
    finally:
        src.close()
    src = open_collector(cfg)  # the same SA is still listed: it was counted already
    try:
        wait_for(lambda: fake.listeners > 0)
        time.sleep(1.5)
        assert (mm(src)["OakleyMainMode"], mm(src)["KeyAdditions"]) == (1, 1)
    finally:
        src.close()
    got = read_state(cfg.parent / "state.sqlite")
    assert got is not None
    assert [g.kind for g in got[1]] == ["collector"]  # the restart is recorded as a gap


def test_one_shot_without_state_notes_it(lab: tuple[FakeCharon, Path]) -> None:
    _fake, cfg = lab
    one = open_source(cfg)
    inst = mm(one)
    assert inst["Active"] and inst["ConnectionListSize"] == 1 and inst["OakleyMainMode"] == 0
    assert any("no state file" in n for n in one.notes)


def test_event_flood_never_blocks_a_query(tmp_path: Path) -> None:
    """Queries read the values the engine last published, and it publishes between bounded
    batches: a query is answered mid-flood with partial progress, and the whole flood is counted
    afterwards."""
    from iscsiprf.ipsec.collector import Collector
    from iscsiprf.ipsec.config import AdapterConfig
    from iscsiprf.ipsec.events import Alert
    from iscsiprf.mof import load_builtin_schema

    cfg = AdapterConfig(
        vici=f"unix://{tmp_path}/none.vici",
        error_notify=f"unix://{tmp_path}/none.enfy",
        state=tmp_path / "state.sqlite",
    )
    col = Collector(cfg, load_builtin_schema(), xfrm=False)
    n = 200_000
    invalid_spi = 25  # error-notify INVALID_IKE_SPI -> InvalidCookiesReceived
    for _ in range(n):
        col._queue.put(Alert(invalid_spi, "received IKE message with unknown SPI", t=1.0))
    col.start()
    try:
        answered_during_flood = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pending = col._queue.qsize()
            got = col.values()["MSiSCSI_MMIPSECStats"]["InvalidCookiesReceived"]
            if pending > 0 and 0 < got < n:  # answered mid-flood, with partial progress
                answered_during_flood = True
            if got == n:
                break
            time.sleep(0.01)
        assert answered_during_flood
        assert col.values()["MSiSCSI_MMIPSECStats"]["InvalidCookiesReceived"] == n
        assert col.health()["events_processed"] >= n
    finally:
        col.close()
