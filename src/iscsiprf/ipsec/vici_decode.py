"""vici messages (as the PyPI `vici` client returns them: dicts of bytes) → typed events. Pure.

Shapes (strongSwan 5.9.8, recorded in `tests/unit/data/ipsec/`):

* `ike-updown` / `child-updown`: `{'up': b'yes', <conn>: {...IKE_SA..., 'child-sas': {...}}}`; a
  down event has no `up` key. The IKE_SA is the one dict-valued entry.
* `ike-rekey`: `{<conn>: {'old': {...}, 'new': {...}}}`.
* `child-rekey`: `{<conn>: {...IKE_SA..., 'child-sas': {<name>: {'old': {...}, 'new': {...}}}}}`.
* `log`: `{'group', 'level', 'thread', 'ikesa-name'?, 'ikesa-uniqueid'?, 'msg'}`.
* `get-counters`: `{'counters': {'': {...global...}}, 'success': b'yes'}`.

A message that does not have the expected shape becomes a SourceError; nothing raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .events import (
    ChildDown,
    ChildRekey,
    ChildSa,
    ChildUp,
    CountersSample,
    Event,
    IkeDown,
    IkeRekey,
    IkeSa,
    IkeUp,
    LogKind,
    LogLine,
    SasSample,
    SaState,
    SourceError,
    StatsSample,
)

EVENT_NAMES = ("ike-updown", "child-updown", "ike-rekey", "child-rekey", "log")


class _Shape(Exception):
    """Internal: the message lacks something we need (turned into a SourceError)."""


def text(value: Any) -> str:
    """vici scalars are bytes; decode them (invalid UTF-8 is replaced, never fatal)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if value is None:
        return ""
    return str(value)


def integer(value: Any, default: int = 0) -> int:
    try:
        return int(text(value).strip())
    except ValueError:
        return default


def _required(d: Mapping[str, Any], key: str) -> Any:
    if key not in d:
        raise _Shape(f"missing {key!r}")
    return d[key]


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Shape(f"{what} is not a section")
    return value


def _sole_section(msg: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The one dict-valued entry of an updown/rekey message: (conn name, IKE_SA section)."""
    sections = [(k, v) for k, v in msg.items() if isinstance(v, Mapping)]
    if len(sections) != 1:
        raise _Shape(f"expected one IKE_SA section, found {len(sections)}")
    return text(sections[0][0]), sections[0][1]


def child_sa(d: Mapping[str, Any]) -> ChildSa:
    return ChildSa(
        uid=integer(_required(d, "uniqueid")),
        name=text(d.get("name")),
        state=text(d.get("state")),
        mode=text(d.get("mode")),
        protocol=text(d.get("protocol")),
        encr_alg=text(d.get("encr-alg")),
        integ_alg=text(d.get("integ-alg")),
        bytes_in=integer(d.get("bytes-in")),
        bytes_out=integer(d.get("bytes-out")),
        packets_in=integer(d.get("packets-in")),
        packets_out=integer(d.get("packets-out")),
    )


def ike_sa(conn: str, d: Mapping[str, Any], with_children: bool = True) -> IkeSa:
    children: tuple[ChildSa, ...] = ()
    if with_children and isinstance(d.get("child-sas"), Mapping):
        children = tuple(child_sa(_mapping(c, "child-sas entry")) for c in d["child-sas"].values())
    return IkeSa(
        uid=integer(_required(d, "uniqueid")),
        conn=conn,
        version=integer(d.get("version"), 0),
        state=SaState.parse(text(d.get("state"))),
        initiator=text(d.get("initiator")) == "yes",
        children=children,
    )


# --- log lines -----------------------------------------------------------------------------------

_LOG_RULES: tuple[tuple[re.Pattern[str], LogKind], ...] = tuple(
    (re.compile(p), k)
    for p, k in (
        (r"^initiating (?:Main Mode |Aggressive Mode )?IKE_SA ", LogKind.IKE_INITIATING),
        (r" is initiating an? (?:Main Mode |Aggressive Mode )?IKE_SA$", LogKind.IKE_RESPONDING),
        (r"^IKE_SA \S+\[\d+\] established between ", LogKind.IKE_ESTABLISHED),
        (r"decryption failed\?$", LogKind.DECRYPTION_FAILED),
        (r"^establishing IKE_SA failed, peer not responding", LogKind.PEER_NOT_RESPONDING),
        (r"^received NO_PROPOSAL_CHOSEN error notify$", LogKind.QM_NO_PROPOSAL),
        (r"^no matching proposal found, sending NO_PROPOSAL_CHOSEN", LogKind.QM_NO_PROPOSAL),
        (r"^received INVALID_ID_INFORMATION error notify$", LogKind.QM_INVALID_ID),
        (r"^no matching CHILD_SA config found", LogKind.QM_INVALID_ID),
        (r"^no proposal found$", LogKind.MM_NO_PROPOSAL),
        (r"^error writing to socket", LogKind.SEND_FAILED),
        (r"^error reading (?:from )?socket", LogKind.RECEIVE_FAILED),
        (r"unable to allocate SPIs? from kernel", LogKind.SPI_ALLOC_FAILED),
        (r"^unable to install inbound and outbound IPsec SA", LogKind.INSTALL_FAILED_BOTH),
        (r"^unable to install inbound IPsec SA", LogKind.INSTALL_FAILED_IN),
        (r"^unable to install outbound IPsec SA", LogKind.INSTALL_FAILED_OUT),
        (r"ESP decryption or ICV verification failed", LogKind.ESP_DECRYPT_FAILED),
    )
)


def classify_log(msg: str) -> LogKind:
    for pattern, kind in _LOG_RULES:
        if pattern.search(msg):
            return kind
    return LogKind.OTHER


def log_line(msg: Mapping[str, Any]) -> LogLine:
    line = text(_required(msg, "msg"))
    uid = integer(msg["ikesa-uniqueid"], -1) if "ikesa-uniqueid" in msg else -1
    return LogLine(
        kind=classify_log(line),
        msg=line,
        group=text(msg.get("group")),
        level=integer(msg.get("level"), 1),
        uid=uid if uid >= 0 else None,
        conn=text(msg.get("ikesa-name")),
    )


# --- events --------------------------------------------------------------------------------------


def _decode(name: str, msg: Mapping[str, Any]) -> list[Event]:
    if name == "log":
        return [log_line(msg)]
    if name == "ike-updown":
        conn, sa = _sole_section(msg)
        ike = ike_sa(conn, sa, with_children=False)
        return [IkeUp(ike) if text(msg.get("up")) == "yes" else IkeDown(ike)]
    if name == "child-updown":
        conn, sa = _sole_section(msg)
        ike = ike_sa(conn, sa)
        if not ike.children:
            raise _Shape("child-updown without a CHILD_SA")
        up = text(msg.get("up")) == "yes"
        return [ChildUp(ike, c) if up else ChildDown(ike, c) for c in ike.children]
    if name == "ike-rekey":
        conn, sa = _sole_section(msg)
        old = ike_sa(conn, _mapping(_required(sa, "old"), "old"), with_children=False)
        new = ike_sa(conn, _mapping(_required(sa, "new"), "new"), with_children=False)
        return [IkeRekey(old, new)]
    if name == "child-rekey":
        conn, sa = _sole_section(msg)
        ike = ike_sa(conn, sa, with_children=False)
        pairs = _mapping(_required(sa, "child-sas"), "child-sas")
        out: list[Event] = []
        for pair in pairs.values():
            pair = _mapping(pair, "child-sas entry")
            old_child = child_sa(_mapping(_required(pair, "old"), "old"))
            new_child = child_sa(_mapping(_required(pair, "new"), "new"))
            out.append(ChildRekey(ike, old_child, new_child))
        return out
    return []


def decode_event(name: str | bytes, msg: Any) -> list[Event]:
    """One vici event → events (a child-rekey may carry several pairs); [] for names we ignore."""
    event_name = text(name)
    if not isinstance(msg, Mapping):
        return [SourceError("vici", f"{event_name}: message is not a section")]
    try:
        return _decode(event_name, msg)
    except _Shape as exc:
        return [SourceError("vici", f"{event_name}: {exc}")]


# --- pulled samples ------------------------------------------------------------------------------


def _section(msg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = msg.get(key)
    return value if isinstance(value, Mapping) else {}


def stats_sample(msg: Any) -> StatsSample | SourceError:
    if not isinstance(msg, Mapping):
        return SourceError("vici", "stats: not a section")
    ikesas, queues, workers, uptime = (
        _section(msg, k) for k in ("ikesas", "queues", "workers", "uptime")
    )
    active = _section(workers, "active")
    return StatsSample(
        ikesas_total=integer(ikesas.get("total")),
        half_open=integer(ikesas.get("half-open")),
        queued_jobs=sum(integer(v) for v in queues.values()),
        active_workers=sum(integer(v) for v in active.values()),
        since=text(uptime.get("since")),
    )


def counters_sample(msg: Any) -> CountersSample | SourceError:
    """The global block ('' section) of a get-counters answer."""
    if not isinstance(msg, Mapping) or not isinstance(msg.get("counters"), Mapping):
        return SourceError("vici", "get-counters: no counters section")
    block = msg["counters"].get("")
    if block is None:
        block = msg["counters"].get(b"")
    if not isinstance(block, Mapping):
        return SourceError("vici", "get-counters: no global block")
    return CountersSample({text(k): integer(v) for k, v in block.items()})


def sas_sample(items: Sequence[Any]) -> SasSample | SourceError:
    """A consumed `list_sas()` generator (list of `{conn: {...}}`) → snapshot."""
    sas: list[IkeSa] = []
    try:
        for item in items:
            conn, sa = _sole_section(_mapping(item, "list-sas entry"))
            sas.append(ike_sa(conn, sa))
    except _Shape as exc:
        return SourceError("vici", f"list-sas: {exc}")
    return SasSample(tuple(sas))


def parse_since(since: str) -> datetime | None:
    """`stats` uptime.since ("Nov 26 14:43:51 2026") → datetime; None if unreadable."""
    try:
        return datetime.strptime(" ".join(since.split()), "%b %d %H:%M:%S %Y")
    except ValueError:
        return None


def same_daemon_run(since_a: str, since_b: str, tolerance: float = 2.0) -> bool:
    """Do two `uptime.since` values name the same daemon run?

    charon prints `since` as now minus uptime, so one run's value jitters by a second between
    calls (observed: 14:46:43 then 14:46:44); two runs differ by at least their restart time.
    """
    a, b = parse_since(since_a), parse_since(since_b)
    if a is None or b is None:
        return since_a == since_b
    return abs((a - b).total_seconds()) <= tolerance
