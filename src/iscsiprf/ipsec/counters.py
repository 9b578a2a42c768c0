"""The counter logic, pure: events and pulled samples in, MM/QM counter values out.

`CounterEngine.feed(event)` applies the rules of `mapping.py`; `values(now)` returns
`{class_name: {property: value}}` for both classes. No I/O, no clock: times come with the events.

Invariants:
* Cumulative values only grow. Pulled totals (counters plugin, xfrm_stat) are turned into deltas
  against a baseline; a value lower than its baseline is a reset (daemon restart, reset-counters)
  and counts from zero.
* Nothing is counted twice: per daemon run (`epoch`) every IKE_SA and CHILD_SA is tracked by its
  unique id, and each fact (established, failed, auth failed, installed, deleted) is counted once
  per id, whether it arrives as an event, a log line or a `list-sas` snapshot. A tracked id is
  forgotten only when a snapshot *requested after* we last heard of it no longer lists it.
* Error-notify records and log lines travel on different sockets, so an IKEv1 `decryption failed?`
  line and the PARSE_ERROR_BODY / `invalid` it goes with arrive in either order: "invalid" units
  wait `SETTLE` seconds for a matching decryption-failure credit before they count as InvalidPackets.
* `snapshot()` / `CounterEngine.restore()` carry everything across restarts of iscsiprf.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..mof.model import Schema
from .enfy import AlertType
from .events import (
    Alert,
    ChildDown,
    ChildRekey,
    ChildSa,
    ChildUp,
    CountersSample,
    DaemonLost,
    DaemonSession,
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
    XfrmEvent,
    XfrmKind,
    XfrmStatSample,
)
from .mapping import MM_CLASS, QM_CLASS, RULES, Kind, check_mapping

SETTLE = 1.0  # seconds an "invalid" unit waits for a decryption-failure credit
CREDIT_TTL = 5.0  # seconds a decryption-failure credit waits for its "invalid" unit
STATE_VERSION = 1

_PENDING_CHILD_STATES = frozenset({"CREATED", "INSTALLING", "REKEYING", "UPDATING"})

# xfrm_stat field -> (class, property)
XFRM_STAT_RULES: dict[str, tuple[str, str]] = {
    "XfrmInNoStates": (QM_CLASS, "BadSPIPackets"),
    "XfrmInStateProtoError": (QM_CLASS, "PacketsNotAuthenticated"),
    "XfrmInStateSeqError": (QM_CLASS, "PacketsWithReplayDetection"),
    "XfrmAcquireError": (MM_CLASS, "AcquireFailures"),
}


@dataclass(slots=True)
class _IkeTrack:
    version: int = 0
    initiator: bool | None = None
    established: bool = False
    counted_up: bool = False
    failed: bool = False
    auth_failed: bool = False
    heard: float = 0.0  # last time an event or log named this id


@dataclass(slots=True)
class _ChildTrack:
    bytes_in: int = 0
    bytes_out: int = 0
    categories: tuple[str, ...] = ()  # byte counters this SA feeds, by direction prefix
    installed_counted: bool = False
    deleted: bool = False
    live: bool = False  # INSTALLED and not yet down/replaced
    tunnel: bool = False
    heard: float = 0.0


def _categories(child: ChildSa) -> tuple[str, ...]:
    """Which byte counters a CHILD_SA feeds ("Confidential", "Authenticated", "Tunnel", ...)."""
    cats: list[str] = []
    encr = child.encr_alg.upper()
    if child.protocol.upper() == "ESP" and encr not in ("", "NULL"):
        cats.append("Confidential")
    if child.protocol.upper() == "AH":  # the MOF: "bytes sent using the AH protocol"
        cats.append("Authenticated")
    mode = child.mode.upper()
    if mode == "TUNNEL":
        cats.append("Tunnel")
    elif mode == "TRANSPORT":
        cats.append("Transport")
    return tuple(cats)


class CounterEngine:
    """Counter state of one adapter (one IKE daemon)."""

    def __init__(self, schema: Schema) -> None:
        self._classes = check_mapping(schema)
        self.totals: dict[str, dict[str, int]] = {
            c: {name: 0 for name, r in RULES[c].items() if r.kind is Kind.CUMULATIVE} for c in RULES
        }
        self.epoch: str | None = None
        self.counters_plugin = False
        self.connected = False
        self._plugin_base: dict[str, int] | None = None
        self._xfrm_base: dict[str, int] | None = None
        self._ikes: dict[int, _IkeTrack] = {}
        self._children: dict[int, _ChildTrack] = {}
        self._invalid_units: deque[float] = deque()  # arrival times of unresolved units
        self._credits: deque[float] = deque()  # arrival times of decryption-failure credits
        self._stats = StatsSample()
        self._pending_ops = 0
        self.events = 0
        self.source_errors = 0
        self.last_sample_t: float | None = None

    # --- counting helpers --------------------------------------------------------------------

    def _add(self, cls: str, prop: str, n: int = 1) -> None:
        if n > 0:
            self.totals[cls][prop] += n  # KeyError = a rule missing from mapping.py

    def _ike(self, uid: int, t: float) -> _IkeTrack:
        tr = self._ikes.get(uid)
        if tr is None:
            tr = self._ikes[uid] = _IkeTrack()
        tr.heard = max(tr.heard, t)
        return tr

    def _child(self, child: ChildSa, t: float) -> _ChildTrack:
        tr = self._children.get(child.uid)
        if tr is None:
            tr = self._children[child.uid] = _ChildTrack(categories=_categories(child))
            tr.tunnel = child.mode.upper() == "TUNNEL"
        tr.heard = max(tr.heard, t)
        return tr

    def _ike_established(self, sa: IkeSa, t: float) -> None:
        tr = self._ike(sa.uid, t)
        tr.version = sa.version or tr.version
        tr.established = True
        if not tr.counted_up:
            tr.counted_up = True
            if tr.version == 1:
                self._add(MM_CLASS, "OakleyMainMode")

    def _ike_failed(self, uid: int, t: float, initiator: bool | None = None) -> None:
        tr = self._ike(uid, t)
        if initiator is not None:
            tr.initiator = initiator
        if tr.established or tr.failed:
            return
        tr.failed = True
        self._add(MM_CLASS, "NegotiationFailures")
        if tr.initiator:
            self._add(MM_CLASS, "AcquireFailures")

    def _child_installed(self, ike: IkeSa, child: ChildSa, t: float) -> None:
        tr = self._child(child, t)
        self._bytes(tr, child)
        if tr.installed_counted:
            return
        tr.installed_counted = True
        tr.live = not tr.deleted
        self._add(MM_CLASS, "KeyAdditions")  # the outbound SA
        self._add(MM_CLASS, "KeyUpdates")  # the inbound SA
        self._add(MM_CLASS, "TotalGetSPI")  # its inbound SPI
        self._add(QM_CLASS, "KeyAdditions")
        if ike.version == 1:
            self._add(MM_CLASS, "OakleyQuickMode")

    def _child_deleted(self, child: ChildSa, t: float) -> None:
        tr = self._child(child, t)
        self._bytes(tr, child)
        tr.live = False
        if tr.installed_counted and not tr.deleted:
            self._add(QM_CLASS, "KeyDeletions")
        tr.deleted = True

    def _bytes(self, tr: _ChildTrack, child: ChildSa) -> None:
        """Per-SA byte counters only grow; add what grew since we last saw them."""
        d_in = child.bytes_in - tr.bytes_in
        d_out = child.bytes_out - tr.bytes_out
        for cat in tr.categories:
            self._add(QM_CLASS, f"{cat}BytesReceived", d_in)
            self._add(QM_CLASS, f"{cat}BytesSent", d_out)
        tr.bytes_in = max(tr.bytes_in, child.bytes_in)
        tr.bytes_out = max(tr.bytes_out, child.bytes_out)

    def _invalid_unit(self, t: float, n: int = 1) -> None:
        self._invalid_units.extend([t] * n)

    def advance(self, now: float) -> None:
        """Resolve "invalid" units against decryption-failure credits; expire old credits."""
        while self._invalid_units and self._credits:
            self._invalid_units.popleft()
            self._credits.popleft()
        while self._invalid_units and now - self._invalid_units[0] >= SETTLE:
            self._invalid_units.popleft()
            self._add(MM_CLASS, "InvalidPackets")
        while self._credits and now - self._credits[0] >= CREDIT_TTL:
            self._credits.popleft()

    # --- events ------------------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        self.events += 1
        t = event.t
        if isinstance(event, LogLine):
            self._log(event)
        elif isinstance(event, IkeUp):
            self._ike_established(event.sa, t)
            self._ike(event.sa.uid, t).initiator = event.sa.initiator
        elif isinstance(event, IkeDown):
            if event.sa.state is SaState.CONNECTING:
                self._ike_failed(event.sa.uid, t, event.sa.initiator)
        elif isinstance(event, IkeRekey):
            self._ike_established(event.new, t)
        elif isinstance(event, ChildUp):
            self._ike_established(event.ike, t)
            self._child_installed(event.ike, event.child, t)
        elif isinstance(event, ChildDown):
            self._child_deleted(event.child, t)
        elif isinstance(event, ChildRekey):
            known = self._children.get(event.new.uid)
            if known is None or not known.installed_counted:  # once per new CHILD_SA
                self._add(QM_CLASS, "ReKeys")
            self._child_deleted(event.old, t)
            self._child_installed(event.ike, event.new, t)
        elif isinstance(event, Alert):
            self._alert(event)
        elif isinstance(event, XfrmEvent):
            if event.kind is XfrmKind.EXPIRE and event.hard and event.spi == 0:
                self._add(MM_CLASS, "AcquireFailures")  # a larval acquire state expired
        elif isinstance(event, CountersSample):
            self._counters(event)
        elif isinstance(event, XfrmStatSample):
            self._xfrm_stat(event)
        elif isinstance(event, StatsSample):
            self._stats = event
            self.last_sample_t = t
        elif isinstance(event, SasSample):
            self._sas(event)
        elif isinstance(event, DaemonSession):
            self._session(event)
        elif isinstance(event, DaemonLost):
            self.connected = False
        elif isinstance(event, SourceError):
            self.source_errors += 1
        self.advance(t)

    def feed_all(self, events: Iterable[Event]) -> None:
        for e in events:
            self.feed(e)

    def _log(self, e: LogLine) -> None:
        k, uid, t = e.kind, e.uid, e.t
        if k is LogKind.SEND_FAILED:
            self._add(MM_CLASS, "SendFailures")
        elif k is LogKind.RECEIVE_FAILED:
            self._add(MM_CLASS, "ReceiveFailures")
        elif k is LogKind.ESP_DECRYPT_FAILED:
            self._add(QM_CLASS, "PacketsNotAuthenticated")
        elif k is LogKind.SPI_ALLOC_FAILED:
            self._add(MM_CLASS, "GetSPIFailures")
            self._add(MM_CLASS, "TotalGetSPI")
        elif k in (
            LogKind.INSTALL_FAILED_IN,
            LogKind.INSTALL_FAILED_OUT,
            LogKind.INSTALL_FAILED_BOTH,
        ):
            if k is not LogKind.INSTALL_FAILED_OUT:
                self._add(MM_CLASS, "KeyUpdateFailures")
            if k is not LogKind.INSTALL_FAILED_IN:
                self._add(MM_CLASS, "KeyAdditionFailures")
            self._add(MM_CLASS, "TotalGetSPI")  # the inbound SPI had been allocated
            self._add(MM_CLASS, "NegotiationFailures")  # the CHILD_SA/QM ended without an SA
        if uid is None:
            return
        if k is LogKind.IKE_INITIATING:
            tr = self._ike(uid, t)
            tr.initiator = True
            tr.version = tr.version or (1 if "Mode IKE_SA" in e.msg else 2)
        elif k is LogKind.IKE_RESPONDING:
            tr = self._ike(uid, t)
            tr.initiator = False
            tr.version = tr.version or (1 if "Mode IKE_SA" in e.msg else 2)
        elif k is LogKind.IKE_ESTABLISHED:
            self._ike(uid, t).established = True
        elif k is LogKind.DECRYPTION_FAILED:
            tr = self._ike(uid, t)
            if not tr.established:  # main mode: the key (from the PSK) is wrong
                self._credits.append(t)
                if not tr.auth_failed:
                    tr.auth_failed = True
                    self._add(MM_CLASS, "AuthenticationFailures")
                self._ike_failed(uid, t)
        elif k is LogKind.PEER_NOT_RESPONDING:
            self._ike_failed(uid, t, initiator=True)
        elif k in (LogKind.QM_NO_PROPOSAL, LogKind.QM_INVALID_ID):
            tr = self._ike(uid, t)
            if tr.established:
                self._add(MM_CLASS, "NegotiationFailures")  # a quick mode failed
            else:
                self._ike_failed(uid, t)
        elif k is LogKind.MM_NO_PROPOSAL:
            self._ike_failed(uid, t)

    def _alert(self, a: Alert) -> None:
        kind = a.type
        if kind in (AlertType.LOCAL_AUTH_FAILED, AlertType.PEER_AUTH_FAILED):
            self._add(MM_CLASS, "AuthenticationFailures")
        elif kind in (AlertType.PROPOSAL_MISMATCH_CHILD, AlertType.TS_MISMATCH):
            self._add(MM_CLASS, "NegotiationFailures")
        elif kind in (AlertType.PARSE_ERROR_HEADER, AlertType.PARSE_ERROR_BODY):
            if not self.counters_plugin:
                self._invalid_unit(a.t)
        elif kind == AlertType.INVALID_IKE_SPI:
            if not self.counters_plugin:
                self._add(MM_CLASS, "InvalidCookiesReceived")

    def _counters(self, s: CountersSample) -> None:
        base = self._plugin_base or {}
        delta = {}
        for name, value in s.values.items():
            old = base.get(name, 0)
            delta[name] = value - old if value >= old else value  # lower = reset
        self._plugin_base = dict(s.values)
        if not self.counters_plugin:
            return
        self._invalid_unit(s.t, delta.get("invalid", 0))
        self._add(MM_CLASS, "InvalidCookiesReceived", delta.get("invalid-spi", 0))

    def _xfrm_stat(self, s: XfrmStatSample) -> None:
        base = self._xfrm_base
        self._xfrm_base = dict(s.values)
        if base is None:  # first look at this namespace: the baseline
            return
        for name, (cls, prop) in XFRM_STAT_RULES.items():
            if name in s.values:
                old = base.get(name, 0)
                value = s.values[name]
                self._add(cls, prop, value - old if value >= old else value)

    def _sas(self, s: SasSample) -> None:
        seen_ike: set[int] = set()
        seen_child: set[int] = set()
        pending = 0
        for sa in s.sas:
            seen_ike.add(sa.uid)
            if sa.state is SaState.CONNECTING:
                pending += 1
            elif sa.state is SaState.ESTABLISHED:
                self._ike_established(sa, s.t)
                tr = self._ikes[sa.uid]
                tr.initiator = sa.initiator
            for c in sa.children:
                seen_child.add(c.uid)
                if c.state in _PENDING_CHILD_STATES:
                    pending += 1
                if c.installed:
                    self._child_installed(sa, c, s.t)
                elif c.state in ("DELETING", "DELETED"):
                    if c.uid in self._children:
                        self._child_deleted(c, s.t)
                else:
                    ctr = self._children.get(c.uid)
                    if ctr is not None:  # REKEYED (IKEv1 keeps it until it expires) etc.
                        self._bytes(ctr, c)
                        ctr.live = False
        self._pending_ops = pending
        # forget what is gone: absent from a snapshot requested after we last heard of it
        for uid in [u for u, tr in self._ikes.items() if u not in seen_ike and tr.heard < s.t]:
            del self._ikes[uid]
        for uid in [
            u for u, tr in self._children.items() if u not in seen_child and tr.heard < s.t
        ]:
            del self._children[uid]
        self.last_sample_t = s.t

    def _session(self, e: DaemonSession) -> None:
        self.connected = True
        if e.epoch != self.epoch:  # a new daemon run: its ids and totals start afresh
            if self.epoch is not None:  # the old run's SAs died with it
                for tr in self._children.values():
                    if tr.installed_counted and not tr.deleted:
                        self._add(QM_CLASS, "KeyDeletions")
            self.epoch = e.epoch
            self._ikes.clear()
            self._children.clear()
            self._plugin_base = None
        self.counters_plugin = e.counters_plugin

    # --- output ------------------------------------------------------------------------------

    def _gauges(self) -> dict[str, dict[str, int]]:
        live = [c for c in self._children.values() if c.live]
        st = self._stats
        return {
            MM_CLASS: {
                "ActiveAcquire": st.half_open,
                "ActiveReceive": st.queued_jobs,
                "AcquireHeapSize": st.half_open,
                "ReceiveHeapSize": st.queued_jobs,
                "ConnectionListSize": len(live),
            },
            QM_CLASS: {
                "ActiveSA": len(live),
                "PendingKeyOperations": self._pending_ops,
                "ActiveTunnels": sum(1 for c in live if c.tunnel),
            },
        }

    def values(self, now: float | None = None) -> dict[str, dict[str, int]]:
        """All data items of both classes, in WmiDataId order, keyed by property name."""
        if now is not None:
            self.advance(now)
        gauges = self._gauges()
        out: dict[str, dict[str, int]] = {}
        for cname, cls in self._classes.items():
            row: dict[str, int] = {}
            for p in cls.data_items():
                kind = RULES[cname][p.name].kind
                if kind is Kind.CUMULATIVE:
                    row[p.name] = self.totals[cname][p.name]
                elif kind is Kind.GAUGE:
                    row[p.name] = gauges[cname][p.name]
                else:
                    row[p.name] = 0
            out[cname] = row
        return out

    # --- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able image of everything needed to continue after a restart of iscsiprf.

        Unresolved "invalid" units are saved as counted (a restart must not lose them).
        """
        totals = {c: dict(v) for c, v in self.totals.items()}
        totals[MM_CLASS]["InvalidPackets"] += max(0, len(self._invalid_units) - len(self._credits))
        return {
            "version": STATE_VERSION,
            "totals": totals,
            "epoch": self.epoch,
            "plugin_base": self._plugin_base,
            "xfrm_base": self._xfrm_base,
            "ikes": {str(u): _ike_state(tr) for u, tr in self._ikes.items()},
            "children": {str(u): _child_state(tr) for u, tr in self._children.items()},
            "stats": {"half_open": self._stats.half_open, "queued": self._stats.queued_jobs,
                      "workers": self._stats.active_workers},
            "pending_ops": self._pending_ops,
        }  # fmt: skip

    @classmethod
    def restore(cls, schema: Schema, image: dict[str, Any] | None) -> CounterEngine:
        """An engine continuing from `snapshot()`; a damaged image keeps at least its totals."""
        try:
            return cls._restore(schema, image)
        except (TypeError, ValueError, KeyError, AttributeError):
            eng = cls(schema)
            totals = image.get("totals", {}) if isinstance(image, dict) else {}
            for cname, values in totals.items() if isinstance(totals, dict) else ():
                for prop, v in values.items() if isinstance(values, dict) else ():
                    if cname in eng.totals and prop in eng.totals[cname] and isinstance(v, int):
                        eng.totals[cname][prop] = v
            return eng

    @classmethod
    def _restore(cls, schema: Schema, image: dict[str, Any] | None) -> CounterEngine:
        eng = cls(schema)
        if not image or image.get("version") != STATE_VERSION:
            return eng
        for cname, values in image.get("totals", {}).items():
            for prop, v in values.items():
                if cname in eng.totals and prop in eng.totals[cname]:
                    eng.totals[cname][prop] = int(v)
        eng.epoch = image.get("epoch")
        eng._plugin_base = image.get("plugin_base")
        eng._xfrm_base = image.get("xfrm_base")
        # times in the image are from another process's clock: reset them to "long ago"
        for u, d in image.get("ikes", {}).items():
            eng._ikes[int(u)] = _IkeTrack(**d, heard=0.0)
        for u, d in image.get("children", {}).items():
            d = dict(d)
            d["categories"] = tuple(d.get("categories", ()))
            eng._children[int(u)] = _ChildTrack(**d, heard=0.0)
        st = image.get("stats", {})
        eng._stats = StatsSample(
            half_open=int(st.get("half_open", 0)),
            queued_jobs=int(st.get("queued", 0)),
            active_workers=int(st.get("workers", 0)),
        )
        eng._pending_ops = int(image.get("pending_ops", 0))
        return eng


def _ike_state(tr: _IkeTrack) -> dict[str, Any]:
    return {"version": tr.version, "initiator": tr.initiator, "established": tr.established,
            "counted_up": tr.counted_up, "failed": tr.failed, "auth_failed": tr.auth_failed}  # fmt: skip


def _child_state(tr: _ChildTrack) -> dict[str, Any]:
    return {"bytes_in": tr.bytes_in, "bytes_out": tr.bytes_out, "categories": list(tr.categories),
            "installed_counted": tr.installed_counted, "deleted": tr.deleted, "live": tr.live,
            "tunnel": tr.tunnel}  # fmt: skip
