"""Successful negotiations and rekeys, seen by both daemons."""

from __future__ import annotations

import pytest
from counter_watch import Counted

from iscsiprf.lab import scenarios

pytestmark = pytest.mark.lab

# What one CHILD_SA (an inbound + an outbound SA) adds on each side.
CHILD_SA = {"TotalGetSPI": 1, "KeyAdditions": 1, "KeyUpdates": 1}


def assert_one_tunnel(counted: Counted) -> None:
    """The gauges with one CHILD_SA installed and nothing in negotiation."""
    for node in "AB":
        gauges = counted.watch.gauges(node)
        assert gauges["MM"]["ConnectionListSize"] == 1
        assert gauges["MM"]["ActiveAcquire"] == gauges["MM"]["AcquireHeapSize"] == 0
        assert gauges["QM"] == {"ActiveSA": 1, "PendingKeyOperations": 0, "ActiveTunnels": 1}


def test_ikev1_main_mode_and_quick_mode(counted: Counted) -> None:
    out = scenarios.establish(counted.session, 1)
    assert out.initiate is not None and out.initiate.ok, out.initiate
    for node in "AB":
        assert out.updowns(node) == [(True, "v1", "ESTABLISHED")]
        assert out.updowns(node, "child-updown") == [(True, "v1", "ESTABLISHED")]
        (event,) = out.events(node, "ike-updown")
        assert event["v1"]["version"] == "1"
        # The counters plugin ignores IKEv1 exchanges entirely.
        assert out.changed_counters(node) == {}
        assert out.alerts(node) == []
    assert any("initiating Main Mode IKE_SA v1" in line for line in out.logs("A"))
    side = {
        "MM": {"OakleyMainMode": 1, "OakleyQuickMode": 1, **CHILD_SA},
        "QM": {"KeyAdditions": 1},
    }
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected
    assert_one_tunnel(counted)


def test_ikev2_sa_init_and_auth(counted: Counted) -> None:
    out = scenarios.establish(counted.session, 2)
    assert out.initiate is not None and out.initiate.ok, out.initiate
    for node in "AB":
        assert out.updowns(node) == [(True, "v2", "ESTABLISHED")]
        assert out.updowns(node, "child-updown") == [(True, "v2", "ESTABLISHED")]
        assert out.alerts(node) == []
    a, b = out.changed_counters("A"), out.changed_counters("B")
    for name in ("ike-init-out-req", "ike-init-in-resp", "ike-auth-out-req", "ike-auth-in-resp"):
        assert a[name] == 1
    for name in ("ike-init-in-req", "ike-init-out-resp", "ike-auth-in-req", "ike-auth-out-resp"):
        assert b[name] == 1
    # No Oakley (IKEv1) counts for IKEv2; the CHILD_SA counts as for quick mode.
    side = {"MM": dict(CHILD_SA), "QM": {"KeyAdditions": 1}}
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected
    assert_one_tunnel(counted)


@pytest.mark.parametrize("version", [1, 2])
def test_child_sa_rekey(counted: Counted, version: int) -> None:
    assert counted.session.initiate(version).ok
    counted.rebase()
    out = scenarios.child_rekey(counted.session, version)
    child = "v1c" if version == 1 else "v2c"
    for node in "AB":
        (rekey,) = out.events(node, "child-rekey")
        conn = rekey["v1" if version == 1 else "v2"]
        (pair,) = conn["child-sas"].values()
        assert pair["old"]["name"] == child and pair["new"]["name"] == child
        assert pair["old"]["spi-in"] != pair["new"]["spi-in"]
        # The counters plugin counts CHILD_SA rekeys of both versions.
        assert out.counter_delta(node, "child-rekey") == 1
        assert out.updowns(node) == []
    # A new CHILD_SA replaces the old one: one more SA pair, the old one deleted, one rekey.
    mm = {**CHILD_SA, "OakleyQuickMode": 1} if version == 1 else dict(CHILD_SA)
    side = {"MM": mm, "QM": {"KeyAdditions": 1, "KeyDeletions": 1, "ReKeys": 1}}
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected


def test_child_sa_rekeyed_by_its_timer(counted: Counted) -> None:
    out = scenarios.timed_child_rekey(counted.session, 1)
    for node in "AB":
        assert len(out.events(node, "child-rekey")) == 1
        assert out.updowns(node) == [(True, "v1", "ESTABLISHED"), (False, "v1", "DELETING")]
    # Established (1 CHILD_SA), rekeyed once (a 2nd), then both sides deleted everything.
    mm = {"OakleyMainMode": 1, "OakleyQuickMode": 2, "TotalGetSPI": 2, "KeyAdditions": 2,
          "KeyUpdates": 2}  # fmt: skip
    side = {"MM": mm, "QM": {"KeyAdditions": 2, "KeyDeletions": 2, "ReKeys": 1}}
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected
