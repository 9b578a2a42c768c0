"""The mapping of MSiSCSI_MMIPSECStats / MSiSCSI_QMIPSECStats counters to Linux sources, written once.

Each rule is keyed by the property name as the schema spells it; `check_mapping(schema)` fails
when a rule names a property the class lacks, or a data item has no rule, so the mapping can never
drift from the MOF. The rule texts here are also what `docs/counters.md` shows (a unit test keeps
the page in step with this table).

Kinds: CUMULATIVE (monotonic total kept by `counters.CounterEngine`), GAUGE (sampled at query
time), UNOBSERVABLE (Linux has no such event: always 0).
Confidence: H direct equivalent, M derivable with stated caveats, L approximation / none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..mof.model import MofClass, Schema
from .errors import IpsecError

MM_CLASS = "MSiSCSI_MMIPSECStats"
QM_CLASS = "MSiSCSI_QMIPSECStats"


class Kind(StrEnum):
    CUMULATIVE = "cumulative"
    GAUGE = "gauge"
    UNOBSERVABLE = "unobservable"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    source: str
    rule: str
    confidence: str  # H, M, L
    blind: str  # what Linux cannot observe
    proved_by: str  # the tests that pin the rule


_V = "tests/unit/test_ipsec_scenarios.py"

MM_RULES: dict[str, Rule] = {
    "ActiveAcquire": Rule(
        Kind.GAUGE,
        "vici `stats`",
        "`ikesas.half-open`: IKE_SAs in negotiation now",
        "L",
        "strongSwan has no acquire queue; kernel-libipsec ignores trap policies",
        f"{_V}::test_gauges_from_samples",
    ),
    "ActiveReceive": Rule(
        Kind.GAUGE,
        "vici `stats`",
        "jobs queued (`queues.*` summed): received messages wait there",
        "L",
        "received IKE messages are not queued separately from other jobs",
        f"{_V}::test_gauges_from_samples",
    ),
    "AcquireFailures": Rule(
        Kind.CUMULATIVE,
        "vici log + `ike-updown`; XFRM",
        "negotiations this daemon initiated that ended without an IKE SA (once per IKE_SA), "
        "+ hard EXPIRE of a larval acquire state (SPI 0), + Δ`XfrmAcquireError`",
        "M",
        "acquires for which charon never started a negotiation",
        f"{_V}::test_no_responder, test_xfrm_larval_expire",
    ),
    "ReceiveFailures": Rule(
        Kind.CUMULATIVE,
        "vici log",
        "log `error reading socket` / `error reading from socket`",
        "L",
        "receive errors the socket does not report to charon",
        f"{_V}::test_socket_errors",
    ),
    "SendFailures": Rule(
        Kind.CUMULATIVE,
        "vici log",
        "log `error writing to socket: …` (e.g. Network is unreachable)",
        "H",
        "—",
        f"{_V}::test_net_unreachable",
    ),
    "AcquireHeapSize": Rule(
        Kind.GAUGE,
        "vici `stats`",
        "`ikesas.half-open` (the same structure as ActiveAcquire)",
        "L",
        "no separate acquire heap",
        f"{_V}::test_gauges_from_samples",
    ),
    "ReceiveHeapSize": Rule(
        Kind.GAUGE,
        "vici `stats`",
        "queued jobs + busy workers",
        "L",
        "no IKE receive buffer count",
        f"{_V}::test_gauges_from_samples",
    ),
    "NegotiationFailures": Rule(
        Kind.CUMULATIVE,
        "vici `ike-updown`, log; error-notify",
        "IKE_SA: down while CONNECTING, `peer not responding`, MM auth failure, `no proposal` "
        "(once per IKE_SA); CHILD/QM: alerts PROPOSAL_MISMATCH_CHILD, TS_MISMATCH, IKEv1 "
        "NO_PROPOSAL_CHOSEN / INVALID_ID_INFORMATION on an established IKE_SA, SA install failure",
        "M",
        "a responder's IKEv1 MM that the peer abandons before it fails here",
        f"{_V}::test_wrong_psk_v1, test_wrong_psk_v2, test_proposal_mismatch_ike, "
        "test_proposal_mismatch_esp_v1, test_proposal_mismatch_esp_v2, test_no_responder",
    ),
    "AuthenticationFailures": Rule(
        Kind.CUMULATIVE,
        "error-notify; vici log",
        "alerts LOCAL_AUTH_FAILED, PEER_AUTH_FAILED; IKEv1 main mode: `decryption failed?` "
        "before the IKE SA is established (a wrong PSK), once per IKE_SA",
        "M",
        "an IKEv1 wrong PSK looks like corruption; the two cannot be told apart",
        f"{_V}::test_wrong_psk_v1, test_wrong_psk_v2",
    ),
    "InvalidCookiesReceived": Rule(
        Kind.CUMULATIVE,
        "counters plugin; error-notify",
        "Δ`invalid-spi` (counters plugin), else alert INVALID_IKE_SPI (IKEv1 cookie = IKE SPI)",
        "H",
        "—",
        f"{_V}::test_unknown_spi",
    ),
    "TotalGetSPI": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`, log",
        "one inbound SPI per CHILD_SA installed or failed to install, + SPI allocation failures",
        "M",
        "SPIs allocated for negotiations that failed before install (ALLOCSPI is not multicast)",
        f"{_V}::test_success_v1, test_child_rekey",
    ),
    "KeyAdditions": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`",
        "outbound SAs installed: one per CHILD_SA up or rekeyed in (once per CHILD_SA)",
        "H",
        "—",
        f"{_V}::test_success_v1, test_child_rekey",
    ),
    "KeyUpdates": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`",
        "inbound SAs installed: one per CHILD_SA up or rekeyed in (once per CHILD_SA)",
        "H",
        "—",
        f"{_V}::test_success_v1, test_child_rekey",
    ),
    "GetSPIFailures": Rule(
        Kind.CUMULATIVE,
        "vici log",
        "log `unable to allocate SPI(s) from kernel`",
        "L",
        "never provoked in the lab",
        f"{_V}::test_install_failure_logs",
    ),
    "KeyAdditionFailures": Rule(
        Kind.CUMULATIVE,
        "vici log",
        "log `unable to install [inbound and ]outbound IPsec SA (SAD) in kernel`",
        "H",
        "—",
        f"{_V}::test_xfrm_install_failure",
    ),
    "KeyUpdateFailures": Rule(
        Kind.CUMULATIVE,
        "vici log",
        "log `unable to install inbound [and outbound ]IPsec SA (SAD) in kernel`",
        "H",
        "—",
        f"{_V}::test_xfrm_install_failure",
    ),
    "ConnectionListSize": Rule(
        Kind.GAUGE,
        "vici `list-sas` + child events",
        "CHILD_SAs INSTALLED now",
        "H",
        "—",
        f"{_V}::test_gauges_from_samples",
    ),
    "OakleyMainMode": Rule(
        Kind.CUMULATIVE,
        "vici `ike-updown`, `ike-rekey`, `list-sas`",
        "IKEv1 IKE_SAs established (main and aggressive mode, rekeys included), once per IKE_SA; "
        "IKEv2 not counted",
        "H",
        "main vs aggressive mode are not told apart",
        f"{_V}::test_success_v1, test_success_v2",
    ),
    "OakleyQuickMode": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`",
        "CHILD_SAs of IKEv1 IKE_SAs installed (quick mode, rekeys included), once per CHILD_SA; "
        "IKEv2 not counted",
        "H",
        "—",
        f"{_V}::test_success_v1, test_child_rekey",
    ),
    "InvalidPackets": Rule(
        Kind.CUMULATIVE,
        "counters plugin; error-notify",
        "Δ`invalid` (counters plugin), else alerts PARSE_ERROR_HEADER/BODY; minus one per IKEv1 "
        "main-mode `decryption failed?` (counted as AuthenticationFailures)",
        "H",
        "IKE version 3.0 headers (only logged at level 1 as unsupported)",
        f"{_V}::test_garbage, test_wrong_psk_v1",
    ),
    "SoftAssociations": Rule(
        Kind.UNOBSERVABLE,
        "—",
        "always 0",
        "L",
        "strongSwan never falls back to clear text for a failed negotiation",
        "—",
    ),
}

QM_RULES: dict[str, Rule] = {
    "ActiveSA": Rule(
        Kind.GAUGE,
        "vici `list-sas` + child events",
        "CHILD_SAs INSTALLED now (one per SA pair)",
        "H",
        "—",
        f"{_V}::test_gauges_from_samples",
    ),
    "PendingKeyOperations": Rule(
        Kind.GAUGE,
        "vici `list-sas`",
        "IKE_SAs CONNECTING + CHILD_SAs CREATED/INSTALLING/REKEYING in the last snapshot",
        "M",
        "operations queued inside charon's task manager",
        f"{_V}::test_gauges_from_samples",
    ),
    "KeyAdditions": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`",
        "CHILD_SAs installed (up or rekeyed in), once per CHILD_SA",
        "H",
        "—",
        f"{_V}::test_success_v1, test_child_rekey",
    ),
    "KeyDeletions": Rule(
        Kind.CUMULATIVE,
        "vici `child-updown`, `child-rekey`",
        "CHILD_SAs deleted: down event or replaced by a rekey, once per CHILD_SA",
        "M",
        "an IKEv1 REKEYED SA is counted when replaced, although it lives on until its lifetime ends",
        f"{_V}::test_child_rekey, test_daemon_restart",
    ),
    "ReKeys": Rule(
        Kind.CUMULATIVE,
        "vici `child-rekey`",
        "`child-rekey` events (both sides of a collision count)",
        "H",
        "—",
        f"{_V}::test_child_rekey",
    ),
    "ActiveTunnels": Rule(
        Kind.GAUGE,
        "vici `list-sas` + child events",
        "CHILD_SAs INSTALLED in TUNNEL mode now",
        "H",
        "—",
        f"{_V}::test_gauges_from_samples",
    ),
    "BadSPIPackets": Rule(
        Kind.CUMULATIVE,
        "/proc/net/xfrm_stat",
        "Δ`XfrmInNoStates`",
        "M",
        "kernel-libipsec logs unknown-SPI ESP only at level 2 (not on vici)",
        f"{_V}::test_xfrm_stat_deltas",
    ),
    "PacketsNotDecrypted": Rule(
        Kind.UNOBSERVABLE,
        "—",
        "always 0",
        "L",
        "Linux reports no decryption failure apart from the ICV check (see PacketsNotAuthenticated)",
        "—",
    ),
    "PacketsNotAuthenticated": Rule(
        Kind.CUMULATIVE,
        "/proc/net/xfrm_stat; vici log",
        "Δ`XfrmInStateProtoError` (kernel ESP), log `ESP decryption or ICV verification failed` "
        "(kernel-libipsec)",
        "M",
        "per-SA integrity failures are not split from other ESP errors",
        f"{_V}::test_xfrm_stat_deltas, test_esp_icv_log",
    ),
    "PacketsWithReplayDetection": Rule(
        Kind.CUMULATIVE,
        "/proc/net/xfrm_stat",
        "Δ`XfrmInStateSeqError`",
        "H",
        "kernel-libipsec does not report replays",
        f"{_V}::test_xfrm_stat_deltas",
    ),
    "ConfidentialBytesSent": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "Σ `bytes-out` of ESP CHILD_SAs with an encryption algorithm (per-SA maxima, summed)",
        "H",
        "bytes of an SA that ends between two samples after the last sample",
        f"{_V}::test_bytes_ledger",
    ),
    "ConfidentialBytesReceived": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "as above, `bytes-in`",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
    "AuthenticatedBytesSent": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "Σ `bytes-out` of AH CHILD_SAs (the MOF: bytes sent using the AH protocol; ESP's own "
        "integrity protection is not AH and stays in ConfidentialBytes)",
        "H",
        "as above; AH needs the kernel backend (kernel-libipsec has ESP only)",
        f"{_V}::test_bytes_ledger",
    ),
    "AuthenticatedBytesReceived": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "as above, `bytes-in`",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
    "TransportBytesSent": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "Σ `bytes-out` of TRANSPORT-mode CHILD_SAs",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
    "TransportBytesReceived": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "as above, `bytes-in`",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
    "TunnelBytesSent": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "Σ `bytes-out` of TUNNEL-mode CHILD_SAs",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
    "TunnelBytesReceived": Rule(
        Kind.CUMULATIVE,
        "vici `list-sas`, child events",
        "as above, `bytes-in`",
        "H",
        "as above",
        f"{_V}::test_bytes_ledger",
    ),
}

RULES: dict[str, dict[str, Rule]] = {MM_CLASS: MM_RULES, QM_CLASS: QM_RULES}

# The lab integration tests (real daemons) that assert each counter's deltas.
_F, _K = "tests/integration/test_lab_failures.py", "tests/integration/test_lab_kernel.py"
_P, _S = "tests/integration/test_lab_packets.py", "tests/integration/test_lab_success.py"
_R = "tests/integration/test_lab_restart.py"
_SUCCESS = f"{_S}::test_ikev1_main_mode_and_quick_mode, test_ikev2_sa_init_and_auth"
_INSTALL = f"{_K}::test_ikev1_quick_mode_install_failure, test_ikev2_child_install_failure"
INTEGRATION: dict[str, str] = {
    "AcquireFailures": f"{_F}::test_no_responder_retransmit_timeout",
    "SendFailures": f"{_F}::test_network_unreachable_on_send",
    "NegotiationFailures": f"{_F}::test_ikev1_wrong_psk, test_ikev2_proposal_mismatch, "
    "test_ikev1_quick_mode_proposal_mismatch, test_no_responder_retransmit_timeout",
    "AuthenticationFailures": f"{_F}::test_ikev1_wrong_psk, test_ikev2_wrong_psk",
    "InvalidCookiesReceived": f"{_P}::test_ikev1_unknown_cookie, test_ikev2_unknown_spi",
    "InvalidPackets": f"{_P}::test_malformed_header, test_malformed_body; {_F}::test_ikev1_wrong_psk",
    "TotalGetSPI": _SUCCESS,
    "KeyAdditions": f"{_SUCCESS}, test_child_sa_rekey",
    "KeyUpdates": _SUCCESS,
    "KeyAdditionFailures": _INSTALL,
    "KeyUpdateFailures": _INSTALL,
    "OakleyMainMode": _SUCCESS,
    "OakleyQuickMode": f"{_SUCCESS}, test_child_sa_rekey",
    "ReKeys": f"{_S}::test_child_sa_rekey",
    "KeyDeletions": f"{_S}::test_child_sa_rekey; {_R}::test_daemon_killed_and_restarted",
    "ConnectionListSize": _SUCCESS,
    "ActiveSA": _SUCCESS,
    "ActiveTunnels": _SUCCESS,
}


class MappingError(IpsecError):
    """The mapping and the schema disagree (a programming error, reported with the names)."""


def check_mapping(schema: Schema) -> dict[str, MofClass]:
    """Validate RULES against the schema; return the two classes by name."""
    classes: dict[str, MofClass] = {}
    for class_name, rules in RULES.items():
        cls = schema.get(class_name)
        if cls is None:
            raise MappingError(f"schema has no class {class_name}")
        items = {p.name for p in cls.data_items()}
        unknown = sorted(set(rules) - items)
        if unknown:
            raise MappingError(f"{class_name}: mapping names properties the class lacks: {unknown}")
        missing = sorted(items - set(rules))
        if missing:
            raise MappingError(f"{class_name}: data items without a mapping rule: {missing}")
        classes[class_name] = cls
    return classes


def markdown_rows(schema: Schema) -> list[str]:
    """One Markdown table row per counter, in WmiDataId order (docs/counters.md is built from it)."""
    rows: list[str] = []
    for class_name, cls in check_mapping(schema).items():
        short = "MM" if class_name == MM_CLASS else "QM"
        for p in cls.data_items():
            r = RULES[class_name][p.name]
            meaning = " ".join((p.description or "").split())
            proved = r.proved_by
            if p.name in INTEGRATION and not (class_name == QM_CLASS and p.name == "KeyAdditions"):
                proved = f"{proved}; {INTEGRATION[p.name]}"
            rows.append(
                f"| {short} {p.data_id} | {p.name} | {meaning} | {r.kind.value} | {r.source} | "
                f"{r.rule} | {r.confidence} | {r.blind} | {proved} |"
            )
    return rows
