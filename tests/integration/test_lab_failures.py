"""Negotiations that fail: wrong keys, proposals nobody accepts, peers that never answer."""

from __future__ import annotations

import pytest
from counter_watch import Counted

from iscsiprf.lab import scenarios
from iscsiprf.lab.observe import ENFY_NAMES

pytestmark = pytest.mark.lab

ALERT = {name: number for number, name in ENFY_NAMES.items()}
GIVE_UP = [ALERT["RETRANSMIT_SEND"], ALERT["RETRANSMIT_SEND"],
           ALERT["RETRANSMIT_SEND_TIMEOUT"], ALERT["PEER_INIT_UNREACHABLE"]]  # fmt: skip


def test_ikev1_wrong_psk(counted: Counted) -> None:
    out = scenarios.wrong_psk(counted.session, 1)
    assert out.initiate is not None and not out.initiate.ok
    # Main mode cannot decrypt the peer's message 5/6: parse errors on both sides, then A times out.
    assert out.counter_delta("A", "invalid") == 3
    assert out.counter_delta("B", "invalid") == 3
    assert out.alerts("B") == [ALERT["PARSE_ERROR_BODY"]] * 3
    assert sorted(out.alerts("A")) == sorted([ALERT["PARSE_ERROR_BODY"]] * 3 + GIVE_UP)
    assert any("decryption failed" in line for line in out.logs("A"))
    assert out.updowns("A") == out.updowns("B") == []
    # A wrong PSK in main mode is an authentication failure, not three invalid packets.
    initiator = {
        "MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1, "AcquireFailures": 1}
    }
    responder = {"MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1}}
    expected = {"A": initiator, "B": responder}
    assert counted.delta(expected) == expected


def test_ikev2_wrong_psk(counted: Counted) -> None:
    out = scenarios.wrong_psk(counted.session, 2)
    assert out.initiate is not None and not out.initiate.ok
    assert out.alerts("A") == [ALERT["LOCAL_AUTH_FAILED"]]
    assert out.alerts("B") == [ALERT["PEER_AUTH_FAILED"]]
    assert out.updowns("A") == [(False, "v2", "CONNECTING")]
    assert out.updowns("B") == [(False, "v2", "CONNECTING")]
    assert out.counter_delta("A", "invalid") == out.counter_delta("B", "invalid") == 0
    initiator = {
        "MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1, "AcquireFailures": 1}
    }
    responder = {"MM": {"AuthenticationFailures": 1, "NegotiationFailures": 1}}
    expected = {"A": initiator, "B": responder}
    assert counted.delta(expected) == expected


def test_ikev1_proposal_mismatch(counted: Counted) -> None:
    out = scenarios.proposal_mismatch(counted.session, 1)
    assert out.initiate is not None and not out.initiate.ok
    assert any("NO_PROPOSAL_CHOSEN" in line for line in out.logs("A"))
    assert any("no proposal found" in line for line in out.logs("B"))
    assert out.updowns("A") == [(False, "v1", "CONNECTING")]
    assert [up for up, _, state in out.updowns("B")] == [False]
    # IKEv1 proposal mismatches raise no alert and count nothing.
    assert out.alerts("A") == out.alerts("B") == []
    assert out.changed_counters("A") == out.changed_counters("B") == {}
    expected = {
        "A": {"MM": {"NegotiationFailures": 1, "AcquireFailures": 1}},
        "B": {"MM": {"NegotiationFailures": 1}},
    }
    assert counted.delta(expected) == expected


def test_ikev2_proposal_mismatch(counted: Counted) -> None:
    out = scenarios.proposal_mismatch(counted.session, 2)
    assert out.initiate is not None and not out.initiate.ok
    assert out.alerts("A") == [ALERT["PROPOSAL_MISMATCH_IKE"]]
    assert out.alerts("B") == [ALERT["PROPOSAL_MISMATCH_IKE"]]
    assert out.updowns("A") == [(False, "v2", "CONNECTING")]
    assert out.updowns("B") == [(False, "(unnamed)", "CONNECTING")]
    expected = {
        "A": {"MM": {"NegotiationFailures": 1, "AcquireFailures": 1}},
        "B": {"MM": {"NegotiationFailures": 1}},
    }
    assert counted.delta(expected) == expected


def test_ikev1_quick_mode_proposal_mismatch(counted: Counted) -> None:
    out = scenarios.child_proposal_mismatch(counted.session, 1)
    assert out.initiate is not None and not out.initiate.ok
    for node in "AB":
        # Main mode succeeded, quick mode did not: the IKE_SA stays, no CHILD_SA came up.
        assert out.updowns(node) == [(True, "v1", "ESTABLISHED")]
        assert out.updowns(node, "child-updown") == []
        assert out.alerts(node) == []
    assert any("NO_PROPOSAL_CHOSEN" in line for line in out.logs("A"))
    # Main mode succeeded (OakleyMainMode), quick mode failed (a negotiation failure).
    side = {"MM": {"OakleyMainMode": 1, "NegotiationFailures": 1}}
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected


def test_ikev2_child_proposal_mismatch(counted: Counted) -> None:
    out = scenarios.child_proposal_mismatch(counted.session, 2)
    assert out.initiate is not None and not out.initiate.ok
    for node in "AB":
        assert out.updowns(node) == [(True, "v2", "ESTABLISHED")]
        assert out.updowns(node, "child-updown") == []
        assert out.alerts(node) == [ALERT["PROPOSAL_MISMATCH_CHILD"],
                                    ALERT["KEEP_ON_CHILD_SA_FAILURE"]]  # fmt: skip
    side = {"MM": {"NegotiationFailures": 1}}
    expected = {"A": side, "B": side}
    assert counted.delta(expected) == expected


@pytest.mark.parametrize("version", [1, 2])
def test_no_responder_retransmit_timeout(counted: Counted, version: int) -> None:
    out = scenarios.no_responder(counted.session, version)
    assert out.initiate is not None and not out.initiate.ok
    assert 3.5 < out.initiate.seconds < 10  # fast retransmits: give-up after about 4.4 s
    assert out.alerts("A") == GIVE_UP
    assert out.alerts("B") == []
    assert any("peer not responding" in line for line in out.logs("A"))
    assert out.counter_delta("A", "ike-init-out-req") == (1 if version == 2 else 0)
    expected = {"A": {"MM": {"NegotiationFailures": 1, "AcquireFailures": 1}}}
    assert counted.delta(expected) == expected


def test_network_unreachable_on_send(counted: Counted) -> None:
    out = scenarios.network_unreachable(counted.session)
    assert out.initiate is not None and not out.initiate.ok
    unreachable = [line for line in out.logs("A") if "error writing to socket" in line]
    assert len(unreachable) == 3  # the first send and both retransmits
    assert all("Network is unreachable" in line for line in unreachable)
    assert out.alerts("A") == GIVE_UP
    assert out.alerts("B") == []
    # Every transmission failed in the IP stack: the first send and both retransmits.
    expected = {"A": {"MM": {"SendFailures": 3, "NegotiationFailures": 1, "AcquireFailures": 1}}}
    assert counted.delta(expected) == expected
