"""Replay recorded lab scenarios (tests/unit/data/ipsec/) through the decoders and the counter engine.

Each `<scenario>.json` was recorded from two real charon 5.9.8 daemons (A initiates, B responds) in
network namespaces: per node the samples before and after (`stats`, global `get-counters`,
`list-sas`, `/proc/net/xfrm_stat`), every vici event with its receive time, and the raw
error-notify byte stream in `<scenario>.<node>.enfy` (XFRM netlink datagrams, length-prefixed, in
`<scenario>.<node>.netlink`). vici scalars were stored as text; `to_vici` turns them back into the
bytes the vici client hands us, so the bytes decoding is exercised too.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

from iscsiprf.ipsec import enfy, vici_decode, xfrm
from iscsiprf.ipsec.counters import SETTLE, CounterEngine
from iscsiprf.ipsec.events import DaemonSession, Event, XfrmStatSample
from iscsiprf.mof import load_builtin_schema
from iscsiprf.mof.model import Schema

DATA = Path(__file__).parent / "data" / "ipsec"


def schema() -> Schema:
    return load_builtin_schema()


def to_vici(x: Any) -> Any:
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, dict):
        return {k: to_vici(v) for k, v in x.items()}
    if isinstance(x, list):
        return [to_vici(v) for v in x]
    return x


@cache
def scenario(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return doc


def stamp(e: Event, t: float) -> Event:
    return dataclasses.replace(e, t=t)


def sample_events(snap: dict[str, Any], t: float) -> list[Event]:
    out: list[Event] = []
    stats = vici_decode.stats_sample(to_vici(snap["stats"]))
    counters = vici_decode.counters_sample(to_vici(snap["counters_global"]))
    sas = vici_decode.sas_sample(to_vici(snap["list_sas"]))
    values, problems = xfrm.parse_xfrm_stat(snap["xfrm_stat"])
    assert not problems
    for e in (stats, counters, sas, XfrmStatSample(values)):
        out.append(stamp(e, t))
    return out


def netlink_events(name: str, node: str, t: float) -> list[Event]:
    path = DATA / f"{name}.{node}.netlink"
    if not path.exists():
        return []
    raw = path.read_bytes()
    out: list[Event] = []
    off = 0
    while off < len(raw):
        (n,) = struct.unpack_from("=I", raw, off)
        out.extend(stamp(e, t) for e in xfrm.decode_datagram(raw[off + 4 : off + 4 + n]))
        off += 4 + n
    return out


def _uid_of(msg: dict[str, Any]) -> int | None:
    if "ikesa-uniqueid" in msg:
        return int(msg["ikesa-uniqueid"])
    for v in msg.values():
        if isinstance(v, dict) and "uniqueid" in v:
            return int(v["uniqueid"])
    return None


def node_events(name: str, node: str) -> tuple[list[Event], list[Event], float]:
    """(events up to and including the "before" samples, the rest, the end time)."""
    doc = scenario(name)["nodes"][node]
    recorded = doc["events"]
    t0 = recorded[0]["t"] - 1.0 if recorded else 1000.0
    epoch = doc["before"]["stats"]["uptime"]["since"]
    head: list[Event] = [DaemonSession(epoch, True, t=t0 - 0.5)]
    head += sample_events(doc["before"], t0)
    after_epoch = doc["after"]["stats"]["uptime"]["since"]
    restarted = not vici_decode.same_daemon_run(after_epoch, epoch)
    body: list[Event] = []
    t_last = t0
    max_uid = 0
    for rec in recorded:
        t_last = rec["t"]
        uid = _uid_of(rec["msg"])
        if restarted and uid is not None and uid < max_uid:
            # the recorder reconnected to the restarted daemon here (its unique ids start over)
            body.append(DaemonSession(after_epoch, True, t=t_last))
            restarted = False
        max_uid = max(max_uid, uid or 0)
        body += [
            stamp(e, t_last) for e in vici_decode.decode_event(rec["event"], to_vici(rec["msg"]))
        ]
    splitter = enfy.RecordSplitter()
    body += [stamp(e, t_last) for e in splitter.feed((DATA / f"{name}.{node}.enfy").read_bytes())]
    body += netlink_events(name, node, t_last)
    if restarted:
        body.append(DaemonSession(after_epoch, True, t=t_last + 0.1))
    body += sample_events(doc["after"], t_last + 0.5)
    return head, body, t_last + 10.0


def deltas(name: str, node: str) -> dict[str, dict[str, int]]:
    """Counter values after the scenario minus those after the "before" samples; only changes."""
    head, body, end = node_events(name, node)
    eng = CounterEngine(schema())
    eng.feed_all(head)
    before = eng.values(head[-1].t + SETTLE)
    eng.feed_all(body)
    after = eng.values(end)
    return {
        cls: {k: v - before[cls][k] for k, v in row.items() if v != before[cls][k]}
        for cls, row in after.items()
    }
