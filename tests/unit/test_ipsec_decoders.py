"""error-notify, XFRM netlink, xfrm_stat and vici decoders: recorded data, round trips, never-crash."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from ipsec_replay import DATA, scenario, to_vici

from iscsiprf.ipsec import enfy, vici_decode, xfrm
from iscsiprf.ipsec.events import (
    Alert,
    ChildRekey,
    ChildUp,
    IkeDown,
    IkeUp,
    LogKind,
    SourceError,
    XfrmEvent,
    XfrmKind,
)


def test_enfy_recorded_stream_in_odd_pieces() -> None:
    raw = (DATA / "v1_wrong_psk.A.enfy").read_bytes()
    sp = enfy.RecordSplitter()
    got = [a for i in range(0, len(raw), 100) for a in sp.feed(raw[i : i + 100])]
    assert [a.type for a in got if isinstance(a, Alert)] == [5, 20, 5, 20, 5, 6, 24]
    first = got[0]
    assert isinstance(first, Alert)
    assert first.message == "parsing IKE message from 10.99.0.2[500] failed"
    assert (first.conn, first.peer_addr) == ("v1", "10.99.0.2[4500]")
    assert sp.close() is None and sp.errors == 0


def test_enfy_truncated_and_garbage_are_counted_and_skipped() -> None:
    good = enfy.encode_record(Alert(25, "received IKE message with unknown SPI", "", "", ""))
    garbage = b"\xff" * enfy.RECORD_SIZE
    sp = enfy.RecordSplitter()
    out = list(sp.feed(good + garbage + good + good[:100]))
    assert [type(x) for x in out] == [Alert, SourceError, Alert]
    assert isinstance(sp.close(), SourceError)
    assert (sp.records, sp.errors) == (2, 2)


@given(st.binary(max_size=3000))
def test_enfy_never_crashes(data: bytes) -> None:
    sp = enfy.RecordSplitter()
    out = list(sp.feed(data))
    assert len(out) == len(data) // enfy.RECORD_SIZE
    sp.close()


@given(st.integers(1, 32), st.text(max_size=100), st.text(max_size=20), st.text(max_size=50))
def test_enfy_round_trip(kind: int, msg: str, conn: str, peer: str) -> None:
    msg, conn, peer = (s.replace("\0", "") for s in (msg, conn, peer))
    a = Alert(kind, msg, conn, peer, "10.0.0.1[500]")
    assert enfy.decode_record(enfy.encode_record(a)) == a


def test_xfrm_recorded_acquire_delete_expire() -> None:
    raw = (DATA / "xfrm_trap.A.netlink").read_bytes()
    events = []
    off = 0
    while off < len(raw):
        (n,) = struct.unpack_from("=I", raw, off)
        events += list(xfrm.decode_datagram(raw[off + 4 : off + 4 + n]))
        off += 4 + n
    assert [e.kind for e in events if isinstance(e, XfrmEvent)] == [
        XfrmKind.ACQUIRE,
        XfrmKind.DELSA,
        XfrmKind.EXPIRE,
    ]
    acq, dele, exp = events
    assert isinstance(acq, XfrmEvent) and (acq.daddr, acq.saddr, acq.proto) == (
        "10.99.0.2",
        "10.99.0.1",
        50,
    )
    assert isinstance(dele, XfrmEvent) and dele.spi == 0xC8D2624A
    assert isinstance(exp, XfrmEvent) and exp.hard and exp.spi == 0


def test_xfrm_newsa_built_by_offsets() -> None:
    body = bytearray(224)
    body[56:60] = bytes([192, 0, 2, 1])
    struct.pack_into("!I", body, 72, 0xDEADBEEF)
    body[76] = 50
    body[80:84] = bytes([192, 0, 2, 2])
    struct.pack_into("=H", body, 212, xfrm.AF_INET)
    msg = xfrm.encode_message(xfrm.XFRM_MSG_UPDSA, bytes(body)) + xfrm.encode_message(
        xfrm.XFRM_MSG_NEWSA, b"short"
    )
    out = list(xfrm.decode_datagram(msg))
    assert out[0] == XfrmEvent(XfrmKind.UPDSA, 0xDEADBEEF, 50, "192.0.2.1", "192.0.2.2")
    assert isinstance(out[1], SourceError)


@given(st.binary(max_size=2000))
def test_xfrm_never_crashes(data: bytes) -> None:
    for item in xfrm.decode_datagram(data):
        assert isinstance(item, XfrmEvent | SourceError)


def test_xfrm_stat_by_name() -> None:
    text = scenario("garbage_500")["nodes"]["B"]["after"]["xfrm_stat"]
    values, problems = xfrm.parse_xfrm_stat(text + "Bogus line here\nXfrmNew\t7\n")
    assert values["XfrmInNoStates"] == 0 and values["XfrmNew"] == 7
    assert len(values) >= 28 and len(problems) == 1


def test_vici_events_recorded() -> None:
    evs = scenario("child_rekey")["nodes"]["A"]["events"]
    decoded = [
        e for r in evs for e in vici_decode.decode_event(r["event"].encode(), to_vici(r["msg"]))
    ]
    assert sum(isinstance(e, IkeUp) for e in decoded) == 2
    ups = [e for e in decoded if isinstance(e, ChildUp)]
    assert [(u.ike.version, u.child.mode, u.child.state) for u in ups] == [
        (1, "TUNNEL", "INSTALLED"),
        (2, "TUNNEL", "INSTALLED"),
    ]
    rk = [e for e in decoded if isinstance(e, ChildRekey)]
    assert len(rk) == 8 and rk[0].old.uid == 6 and rk[0].new.uid == 8
    assert not any(isinstance(e, SourceError) for e in decoded)


def test_vici_down_event_and_log_kinds() -> None:
    evs = scenario("v2_wrong_psk")["nodes"]["A"]["events"]
    decoded = [e for r in evs for e in vici_decode.decode_event(r["event"], to_vici(r["msg"]))]
    down = [e for e in decoded if isinstance(e, IkeDown)]
    assert len(down) == 1 and down[0].sa.state.value == "CONNECTING" and down[0].sa.initiator
    kinds = [e.kind for e in decoded if hasattr(e, "kind")]
    assert LogKind.IKE_INITIATING in kinds
    assert (
        vici_decode.classify_log("invalid HASH_V1 payload length, decryption failed?")
        is LogKind.DECRYPTION_FAILED
    )
    assert (
        vici_decode.classify_log("error writing to socket: Network is unreachable")
        is LogKind.SEND_FAILED
    )
    assert (
        vici_decode.classify_log("unable to install inbound and outbound IPsec SA (SAD) in kernel")
        is LogKind.INSTALL_FAILED_BOTH
    )


def test_vici_bad_shapes_are_source_errors() -> None:
    assert isinstance(vici_decode.decode_event("ike-updown", b"x")[0], SourceError)
    assert isinstance(vici_decode.decode_event("ike-updown", {"a": {}, "b": {}})[0], SourceError)
    assert isinstance(
        vici_decode.decode_event("child-rekey", {"c": {"uniqueid": b"1"}})[0], SourceError
    )
    assert isinstance(vici_decode.counters_sample({"success": b"yes"}), SourceError)
    assert vici_decode.decode_event("ike-update", {}) == []


def test_same_daemon_run_tolerates_since_jitter() -> None:
    assert vici_decode.same_daemon_run("Nov 26 14:46:43 2026", "Nov 26 14:46:44 2026")
    assert not vici_decode.same_daemon_run("Nov 26 14:46:43 2026", "Nov 26 14:50:01 2026")


@given(
    st.recursive(
        st.binary(max_size=8),
        lambda c: st.dictionaries(
            st.sampled_from(["up", "uniqueid", "child-sas", "old", "new", "v1", "msg"]),
            c,
            max_size=4,
        ),
        max_leaves=12,
    )
)
def test_vici_decoder_never_crashes(msg: object) -> None:
    for name in ("ike-updown", "child-updown", "ike-rekey", "child-rekey", "log"):
        vici_decode.decode_event(name, msg)
