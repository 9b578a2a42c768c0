"""The sans-I/O vocabulary of the ipsec layer: typed facts that sources produce and counters consume.

Every source (vici events and pulls, error-notify records, XFRM netlink, /proc/net/xfrm_stat) is
turned into these immutable values by a pure decoder; the counter logic (`counters.py`) takes them
one at a time and never sees a socket. Tests replay recorded data through the same decoders.

`t` is the collector's monotonic receive time in seconds; decoders leave it 0.0 and the adapter
stamps it (`dataclasses.replace`). `uid` is strongSwan's IKE_SA unique id (per daemon run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class SaState(StrEnum):
    """IKE_SA states as strongSwan names them (only those the rules need)."""

    CONNECTING = "CONNECTING"
    ESTABLISHED = "ESTABLISHED"
    PASSIVE = "PASSIVE"
    REKEYING = "REKEYING"
    REKEYED = "REKEYED"
    DELETING = "DELETING"
    DESTROYING = "DESTROYING"
    CREATED = "CREATED"
    OTHER = "OTHER"

    @classmethod
    def parse(cls, text: str) -> SaState:
        try:
            return cls(text)
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True, slots=True)
class ChildSa:
    """One CHILD_SA (a quick-mode SA pair: one inbound and one outbound SA) as vici reports it."""

    uid: int
    name: str
    state: str  # INSTALLED, REKEYED, DELETING, ...
    mode: str  # TUNNEL, TRANSPORT, BEET
    protocol: str  # ESP, AH
    encr_alg: str = ""  # empty for AH; AES_GCM_16 for AEAD
    integ_alg: str = ""  # empty for AEAD
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    packets_out: int = 0

    @property
    def installed(self) -> bool:
        return self.state == "INSTALLED"


@dataclass(frozen=True, slots=True)
class IkeSa:
    """One IKE_SA (a main-mode SA for IKEv1) with its CHILD_SAs."""

    uid: int
    conn: str  # "(unnamed)" on a responder before a config matched
    version: int  # 1 or 2
    state: SaState
    initiator: bool
    children: tuple[ChildSa, ...] = ()


# --- pushed events (vici) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IkeUp:
    sa: IkeSa
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class IkeDown:
    """An IKE_SA went away. state CONNECTING = the negotiation ended without an SA."""

    sa: IkeSa
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class IkeRekey:
    old: IkeSa
    new: IkeSa
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class ChildUp:
    ike: IkeSa
    child: ChildSa
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class ChildDown:
    ike: IkeSa
    child: ChildSa
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class ChildRekey:
    ike: IkeSa
    old: ChildSa
    new: ChildSa
    t: float = 0.0


class LogKind(StrEnum):
    """The log lines the counter rules use, classified once by `vici_decode.classify_log`."""

    IKE_INITIATING = "ike-initiating"  # we start main mode / IKE_SA_INIT (acquire)
    IKE_RESPONDING = "ike-responding"  # a peer starts one with us
    IKE_ESTABLISHED = "ike-established"
    DECRYPTION_FAILED = "decryption-failed"  # IKEv1: wrong PSK shows up as this
    PEER_NOT_RESPONDING = "peer-not-responding"  # initial exchange timed out
    QM_NO_PROPOSAL = "qm-no-proposal"  # IKEv1 quick mode: NO_PROPOSAL_CHOSEN sent/received
    QM_INVALID_ID = "qm-invalid-id"  # IKEv1 quick mode: traffic selectors refused
    MM_NO_PROPOSAL = "mm-no-proposal"
    SEND_FAILED = "send-failed"  # "error writing to socket: ..."
    RECEIVE_FAILED = "receive-failed"  # "error reading socket: ..."
    SPI_ALLOC_FAILED = "spi-alloc-failed"
    INSTALL_FAILED_IN = "install-failed-in"
    INSTALL_FAILED_OUT = "install-failed-out"
    INSTALL_FAILED_BOTH = "install-failed-both"
    ESP_DECRYPT_FAILED = "esp-decrypt-failed"  # kernel-libipsec: bad ICV / decryption
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class LogLine:
    kind: LogKind
    msg: str
    group: str = ""
    level: int = 1
    uid: int | None = None  # IKE_SA the line was logged in, if any
    conn: str = ""
    t: float = 0.0


# --- error-notify --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """One error-notify record. `type` is the numeric alert (see enfy.AlertType)."""

    type: int
    message: str
    conn: str = ""
    peer_id: str = ""
    peer_addr: str = ""
    t: float = 0.0


# --- XFRM ----------------------------------------------------------------------------------------


class XfrmKind(StrEnum):
    NEWSA = "newsa"
    UPDSA = "updsa"
    DELSA = "delsa"
    EXPIRE = "expire"
    ACQUIRE = "acquire"


@dataclass(frozen=True, slots=True)
class XfrmEvent:
    kind: XfrmKind
    spi: int = 0
    proto: int = 0  # IPPROTO_ESP 50, AH 51, COMP 108
    daddr: str = ""
    saddr: str = ""
    hard: bool = False  # EXPIRE only
    t: float = 0.0


# --- pulled samples ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountersSample:
    """The global block of vici get-counters (counters plugin), name -> value."""

    values: dict[str, int]
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class StatsSample:
    """vici `stats`: what the gauges need."""

    ikesas_total: int = 0
    half_open: int = 0
    queued_jobs: int = 0  # sum of queues.{critical,high,medium,low}
    active_workers: int = 0  # sum of workers.active.*
    since: str = ""  # daemon start, identifies a daemon run
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class SasSample:
    """A complete `list-sas` snapshot."""

    sas: tuple[IkeSa, ...]
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class XfrmStatSample:
    values: dict[str, int] = field(default_factory=dict)
    t: float = 0.0


# --- adapter life cycle --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaemonSession:
    """The adapter (re)connected to a daemon run. `epoch` changes when the daemon restarted."""

    epoch: str
    counters_plugin: bool
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class DaemonLost:
    """The daemon went away (socket closed or refused)."""

    reason: str
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceError:
    """A record a decoder could not read: counted, logged, skipped."""

    source: str  # "enfy", "xfrm", "vici", ...
    reason: str
    t: float = 0.0


Event = (
    IkeUp
    | IkeDown
    | IkeRekey
    | ChildUp
    | ChildDown
    | ChildRekey
    | LogLine
    | Alert
    | XfrmEvent
    | CountersSample
    | StatsSample
    | SasSample
    | XfrmStatSample
    | DaemonSession
    | DaemonLost
    | SourceError
)
