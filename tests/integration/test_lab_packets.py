"""Crafted packets from node A's namespace to node B's IKE port."""

from __future__ import annotations

import pytest
from counter_watch import Counted

from iscsiprf.lab import scenarios
from iscsiprf.lab.observe import ENFY_NAMES

pytestmark = pytest.mark.lab

ALERT = {name: number for number, name in ENFY_NAMES.items()}


def test_malformed_header(counted: Counted) -> None:
    out = scenarios.malformed_header(counted.session)
    assert out.changed_counters("B") == {"invalid": 1}
    assert out.alerts("B") == [ALERT["PARSE_ERROR_HEADER"]]
    assert any("invalid IKE header" in line for line in out.logs("B"))
    assert out.alerts("A") == [] and out.changed_counters("A") == {}
    expected = {"B": {"MM": {"InvalidPackets": 1}}}
    assert counted.delta(expected) == expected


def test_malformed_body(counted: Counted) -> None:
    out = scenarios.malformed_body(counted.session)
    assert out.changed_counters("B") == {"invalid": 1, "ike-init-out-resp": 1}
    assert out.alerts("B") == [ALERT["PARSE_ERROR_BODY"]]
    expected = {"B": {"MM": {"InvalidPackets": 1}}}
    assert counted.delta(expected) == expected


def test_ikev1_unknown_cookie(counted: Counted) -> None:
    out = scenarios.unknown_cookie_v1(counted.session)
    assert out.changed_counters("B") == {"invalid-spi": 1}
    (alert,) = [r.data for r in out.records["B"] if r.source == "enfy"]
    assert alert["type"] == ALERT["INVALID_IKE_SPI"]
    assert alert["str"].startswith("received IKE message with unknown SPI from 10.99.0.1[")
    expected = {"B": {"MM": {"InvalidCookiesReceived": 1}}}
    assert counted.delta(expected) == expected


def test_ikev2_unknown_spi(counted: Counted) -> None:
    out = scenarios.unknown_spi_v2(counted.session)
    assert out.changed_counters("B") == {"invalid-spi": 1}
    assert out.alerts("B") == [ALERT["INVALID_IKE_SPI"]]
    expected = {"B": {"MM": {"InvalidCookiesReceived": 1}}}
    assert counted.delta(expected) == expected
