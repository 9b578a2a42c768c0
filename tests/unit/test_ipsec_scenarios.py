"""Counter rules per scenario, replayed from recordings of two real strongSwan 5.9.8 daemons.

A initiates, B responds (see tests/unit/ipsec_replay.py for what was recorded). Each test states
the exact deltas on both sides; anything not listed must stay unchanged.
"""

from __future__ import annotations

import dataclasses

import pytest
from ipsec_replay import deltas, node_events, schema

from iscsiprf.ipsec.counters import SETTLE, CounterEngine
from iscsiprf.ipsec.events import (
    ChildSa,
    ChildUp,
    IkeSa,
    LogKind,
    LogLine,
    SasSample,
    SaState,
    StatsSample,
    XfrmStatSample,
)
from iscsiprf.ipsec.mapping import MM_CLASS, QM_CLASS

MM, QM = MM_CLASS, QM_CLASS
CHILD_UP = {"TotalGetSPI": 1, "KeyAdditions": 1, "KeyUpdates": 1, "ConnectionListSize": 1}
QM_UP = {"ActiveSA": 1, "KeyAdditions": 1, "ActiveTunnels": 1}


def check(scenario: str, node: str, mm: dict[str, int], qm: dict[str, int]) -> None:
    got = deltas(scenario, node)
    # gauges of the stats sample (queue lengths) move with the daemon's own load: ignore them
    for g in ("ActiveReceive", "ReceiveHeapSize"):
        got[MM].pop(g, None)
    assert got[MM] == mm
    assert got[QM] == qm


def test_success_v1() -> None:
    for node in "AB":
        check("v1_success", node, {**CHILD_UP, "OakleyMainMode": 1, "OakleyQuickMode": 1}, QM_UP)


def test_success_v2() -> None:
    # IKEv2 has no main/quick mode: Oakley counters stay, SA installs count
    for node in "AB":
        check("v2_success", node, CHILD_UP, QM_UP)


def test_wrong_psk_v1() -> None:
    # 3 undecryptable main-mode messages each side: one AuthenticationFailure, no InvalidPackets
    check(
        "v1_wrong_psk",
        "A",
        {"AuthenticationFailures": 1, "NegotiationFailures": 1, "AcquireFailures": 1},
        {},
    )
    pending = {"ActiveAcquire": 1, "AcquireHeapSize": 1}  # B's half-open SA waits for its timeout
    check("v1_wrong_psk", "B", {"AuthenticationFailures": 1, "NegotiationFailures": 1, **pending},
          {"PendingKeyOperations": 1})  # fmt: skip


def test_wrong_psk_v2() -> None:
    check(
        "v2_wrong_psk",
        "A",
        {"AuthenticationFailures": 1, "NegotiationFailures": 1, "AcquireFailures": 1},
        {},
    )
    check("v2_wrong_psk", "B", {"AuthenticationFailures": 1, "NegotiationFailures": 1}, {})


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_proposal_mismatch_ike(version: str) -> None:
    check(
        f"{version}_ike_proposal_mismatch",
        "A",
        {"NegotiationFailures": 1, "AcquireFailures": 1},
        {},
    )
    check(f"{version}_ike_proposal_mismatch", "B", {"NegotiationFailures": 1}, {})


def test_proposal_mismatch_esp_v1() -> None:
    # main mode succeeds, quick mode fails: one MM SA and one negotiation failure
    for node in "AB":
        check("v1_esp_proposal_mismatch", node, {"OakleyMainMode": 1, "NegotiationFailures": 1}, {})


def test_proposal_mismatch_esp_v2() -> None:
    for node in "AB":
        check("v2_esp_proposal_mismatch", node, {"NegotiationFailures": 1}, {})


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_no_responder(version: str) -> None:
    check(f"{version}_no_responder", "A", {"NegotiationFailures": 1, "AcquireFailures": 1}, {})
    check(f"{version}_no_responder", "B", {}, {})


def test_net_unreachable() -> None:
    # every (re)transmit refused by the stack: 3 sends, then the negotiation fails
    check(
        "v2_net_unreachable",
        "A",
        {"SendFailures": 3, "NegotiationFailures": 1, "AcquireFailures": 1},
        {},
    )


@pytest.mark.parametrize("scenario", ["garbage_500", "v2_bad_length_500", "v2_garbage_sa_500"])
def test_garbage(scenario: str) -> None:
    check(scenario, "B", {"InvalidPackets": 1}, {})
    check(scenario, "A", {}, {})


@pytest.mark.parametrize("scenario", ["v2_unknown_spi_500", "v1_unknown_cookie_500"])
def test_unknown_spi(scenario: str) -> None:
    check(scenario, "B", {"InvalidCookiesReceived": 1}, {})


def test_child_rekey() -> None:
    # rekey every ~2 s for 7 s: IKEv1 rekey collisions made duplicate children (8 child-rekey
    # events, two of them for an already replaced SA): every installed SA counts, each once
    mm = {"OakleyMainMode": 1, "OakleyQuickMode": 7, "TotalGetSPI": 10, "KeyAdditions": 10,
          "KeyUpdates": 10, "ConnectionListSize": 4}  # fmt: skip
    qm = {"ActiveSA": 4, "KeyAdditions": 10, "KeyDeletions": 6, "ReKeys": 8, "ActiveTunnels": 4}
    for node in "AB":
        check("child_rekey", node, mm, qm)


def test_daemon_restart() -> None:
    # B's daemon restarts with v1+v2 up; A re-initiates v2. Nothing is counted twice on B,
    # and the SAs that died with the old run count as deleted.
    mm = {"OakleyMainMode": 1, "OakleyQuickMode": 1, "TotalGetSPI": 3, "KeyAdditions": 3,
          "KeyUpdates": 3, "ConnectionListSize": 1}  # fmt: skip
    check(
        "b_restart",
        "A",
        mm,
        {"ActiveSA": 1, "KeyAdditions": 3, "KeyDeletions": 2, "ActiveTunnels": 1},
    )
    check(
        "b_restart",
        "B",
        mm,
        {"ActiveSA": 1, "KeyAdditions": 3, "KeyDeletions": 2, "ActiveTunnels": 1},
    )


def test_xfrm_larval_expire() -> None:
    # kernel backend, trap policy: ACQUIRE → child fails → larval state hard-expires (SPI 0)
    check("xfrm_trap", "A", {"NegotiationFailures": 1, "AcquireFailures": 1}, {})


def test_xfrm_install_failure() -> None:
    # the kernel refuses the SAs: both directions fail, the CHILD_SA negotiation fails
    check("xfrm_trap", "B", {"KeyAdditionFailures": 1, "KeyUpdateFailures": 1, "TotalGetSPI": 1,
                             "NegotiationFailures": 1}, {})  # fmt: skip


def test_events_replayed_twice_count_once() -> None:
    """Reconnect overlap: the same events and snapshots fed again change nothing."""
    head, body, end = node_events("child_rekey", "B")
    eng = CounterEngine(schema())
    eng.feed_all(head + body)
    once = eng.values(end)
    eng.feed_all(
        [dataclasses.replace(e, t=e.t + 0.001) for e in body if not isinstance(e, XfrmStatSample)]
    )
    assert eng.values(end + 1) == {**once, MM: {**once[MM]}}


def test_restart_of_iscsiprf_loses_nothing() -> None:
    """Stop after half the events, restore from the snapshot, continue: same totals as straight."""
    head, body, end = node_events("child_rekey", "A")
    straight = CounterEngine(schema())
    straight.feed_all(head + body)
    half = len(body) // 2
    first = CounterEngine(schema())
    first.feed_all(head + body[:half])
    second = CounterEngine.restore(schema(), first.snapshot())
    second.feed_all([head[0], *body[half:]])  # reconnect: the session, then the rest
    assert second.values(end) == straight.values(end)


def _ike(uid: int, *children: ChildSa) -> IkeSa:
    return IkeSa(uid, "c", 1, SaState.ESTABLISHED, True, children)


def test_bytes_ledger() -> None:
    """Per-SA bytes only add what grew; a rekey's new SA starts at 0 without a dip."""
    eng = CounterEngine(schema())
    c1 = ChildSa(1, "c", "INSTALLED", "TUNNEL", "ESP", "AES_CBC", "HMAC_SHA2_256_128", 100, 40)
    eng.feed(ChildUp(_ike(1, c1), c1, t=1))
    eng.feed(SasSample((_ike(1, dataclasses.replace(c1, bytes_in=300, bytes_out=90)),), t=2))
    c2 = ChildSa(2, "c", "INSTALLED", "TRANSPORT", "ESP", "AES_GCM_16", "", 10, 5)
    eng.feed(
        SasSample(
            (_ike(1, dataclasses.replace(c1, state="REKEYED", bytes_in=310, bytes_out=95), c2),),
            t=3,
        )
    )
    qm = eng.values(4)[QM]
    assert (qm["TunnelBytesReceived"], qm["TunnelBytesSent"]) == (310, 95)
    assert (qm["TransportBytesReceived"], qm["TransportBytesSent"]) == (10, 5)
    assert qm["ConfidentialBytesReceived"] == 320
    assert qm["AuthenticatedBytesReceived"] == 0  # AH only; these SAs are ESP
    assert qm["ActiveSA"] == 1 and qm["ActiveTunnels"] == 0  # c1 REKEYED, c2 transport
    # c1 disappears (sample requested after we last heard of it): totals stay
    eng.feed(SasSample((_ike(1, c2),), t=5))
    assert eng.values(6)[QM]["TunnelBytesReceived"] == 310


def test_gauges_from_samples() -> None:
    eng = CounterEngine(schema())
    eng.feed(StatsSample(ikesas_total=7, half_open=2, queued_jobs=3, active_workers=4, t=1))
    c = ChildSa(1, "c", "INSTALLED", "TUNNEL", "ESP", "AES_CBC", "HMAC_SHA2_256_128")
    connecting = IkeSa(2, "d", 2, SaState.CONNECTING, True)
    eng.feed(SasSample((_ike(1, c), connecting), t=2))
    v = eng.values(3)
    assert v[MM]["ActiveAcquire"] == v[MM]["AcquireHeapSize"] == 2
    assert (v[MM]["ActiveReceive"], v[MM]["ReceiveHeapSize"]) == (3, 3)
    assert v[MM]["ConnectionListSize"] == v[QM]["ActiveSA"] == v[QM]["ActiveTunnels"] == 1
    assert v[QM]["PendingKeyOperations"] == 1


def test_xfrm_stat_deltas() -> None:
    eng = CounterEngine(schema())
    eng.feed(
        XfrmStatSample(
            {"XfrmInNoStates": 5, "XfrmInStateProtoError": 1, "XfrmInStateSeqError": 0}, t=1
        )
    )
    eng.feed(XfrmStatSample({"XfrmInNoStates": 9, "XfrmInStateProtoError": 4, "XfrmInStateSeqError": 2,
                             "XfrmAcquireError": 1}, t=2))  # fmt: skip
    v = eng.values(3)
    assert v[QM]["BadSPIPackets"] == 4
    assert v[QM]["PacketsNotAuthenticated"] == 3
    assert v[QM]["PacketsWithReplayDetection"] == 2
    assert v[MM]["AcquireFailures"] == 1
    # namespace recreated: counters restart lower → counted from zero, never backwards
    eng.feed(XfrmStatSample({"XfrmInNoStates": 1}, t=4))
    assert eng.values(5)[QM]["BadSPIPackets"] == 5


def test_esp_icv_log() -> None:
    eng = CounterEngine(schema())
    eng.feed(LogLine(LogKind.ESP_DECRYPT_FAILED, "ESP decryption or ICV verification failed", t=1))
    assert eng.values(2)[QM]["PacketsNotAuthenticated"] == 1


def test_socket_errors() -> None:
    eng = CounterEngine(schema())
    eng.feed(LogLine(LogKind.RECEIVE_FAILED, "error reading socket: x", t=1))
    eng.feed(LogLine(LogKind.SEND_FAILED, "error writing to socket: y", t=1))
    v = eng.values(2)[MM]
    assert (v["ReceiveFailures"], v["SendFailures"]) == (1, 1)


def test_install_failure_logs() -> None:
    eng = CounterEngine(schema())
    eng.feed(LogLine(LogKind.SPI_ALLOC_FAILED, "unable to allocate SPIs from kernel", uid=1, t=1))
    eng.feed(
        LogLine(
            LogKind.INSTALL_FAILED_IN,
            "unable to install inbound IPsec SA (SAD) in kernel",
            uid=1,
            t=1,
        )
    )
    v = eng.values(2)[MM]
    assert (
        v["GetSPIFailures"],
        v["TotalGetSPI"],
        v["KeyUpdateFailures"],
        v["KeyAdditionFailures"],
    ) == (1, 2, 1, 0)


def test_invalid_units_wait_for_decryption_credit() -> None:
    """The PARSE_ERROR_BODY may arrive before the `decryption failed?` line: it must wait."""
    from iscsiprf.ipsec.events import Alert, DaemonSession

    eng = CounterEngine(schema())
    eng.feed(DaemonSession("run", counters_plugin=False, t=0))
    eng.feed(LogLine(LogKind.IKE_INITIATING, "initiating Main Mode IKE_SA v1[1] to x", uid=1, t=1))
    eng.feed(Alert(5, "parsing IKE message from x failed", t=1.0))
    assert eng.values(1.0 + SETTLE / 2)[MM]["InvalidPackets"] == 0
    eng.feed(
        LogLine(
            LogKind.DECRYPTION_FAILED,
            "invalid HASH_V1 payload length, decryption failed?",
            uid=1,
            t=1.1,
        )
    )
    eng.feed(Alert(4, "parsing IKE header from y failed", t=1.2))  # genuine garbage
    v = eng.values(10)[MM]
    assert (v["InvalidPackets"], v["AuthenticationFailures"], v["NegotiationFailures"]) == (1, 1, 1)
    assert v["AcquireFailures"] == 1
