"""The lab's RFC 3723 policy, acquire relay parsing and the iSCSI report (pure parts)."""

from __future__ import annotations

from pathlib import Path

from iscsiprf.lab import config, iscsi_policy, iscsi_step, topology
from iscsiprf.lab.acquire_relay import reqid_of
from iscsiprf.lab.config import NodeSettings
from iscsiprf.lab.iscsi_initiator import LoginResult
from iscsiprf.lab.iscsi_policy import PROFILES

LAB = topology.make_lab(Path("/tmp/x-lab"), "tst")


def _child(node: topology.Node, conn: str, child: str) -> dict[str, object]:
    conns = config.connections(LAB, node, NodeSettings())
    children = conns[conn]["children"]
    assert isinstance(children, dict)
    found = children[child]
    assert isinstance(found, dict)
    return found


def test_iscsi_children_protect_exactly_tcp_3260_between_initiator_and_portal() -> None:
    for profile in PROFILES.values():
        a = _child(LAB.a, profile.conn, profile.child)
        b = _child(LAB.b, profile.conn, profile.child)
        assert a["local_ts"] == b["remote_ts"] == [f"{profile.initiator}/32[tcp]"]
        assert a["remote_ts"] == b["local_ts"] == [f"{profile.portal}/32[tcp/3260]"]
        assert a["start_action"] == b["start_action"] == "trap"
        assert a["reqid"] == b["reqid"] == str(profile.reqid)
        assert a["mode"] == "tunnel"
    # IKEv1 is RFC 3723's main mode with a pre-shared key; IKEv2 is RFC 7146's profile.
    v1 = config.connections(LAB, LAB.a, NodeSettings())["v1"]
    assert v1["version"] == "1" and v1["aggressive"] == "no"
    assert v1["local"] == {"auth": "psk", "id": "10.99.0.1"}
    assert config.connections(LAB, LAB.a, NodeSettings())["v2"]["version"] == "2"


def test_iscsi_children_can_be_left_out_or_unrouted() -> None:
    none = config.connections(LAB, LAB.a, NodeSettings(iscsi_start_action=None))
    assert "v1i" not in none["v1"]["children"]  # type: ignore[operator]
    unrouted = NodeSettings(iscsi_start_action="none")
    assert config.connections(LAB, LAB.a, unrouted)["v1"]["children"]["v1i"]["start_action"] == (  # type: ignore[index]
        "none"
    )


def test_swanctl_conf_shows_the_iscsi_selectors() -> None:
    text = config.swanctl_conf(LAB, LAB.b, NodeSettings())
    assert "local_ts = 10.99.6.1/32[tcp/3260]" in text
    assert "remote_ts = 10.99.5.1/32[tcp]" in text
    assert "reqid = 41" in text and "reqid = 42" in text


def test_inner_addresses_per_node() -> None:
    assert iscsi_policy.inner_addresses(LAB, LAB.a) == ["10.99.5.1", "10.99.7.1"]
    assert iscsi_policy.inner_addresses(LAB, LAB.b) == ["10.99.6.1", "10.99.8.1"]
    assert iscsi_policy.BY_REQID[41].child == "v1i"
    assert PROFILES["ikev2"].portal_url == "iscsi://10.99.8.1:3260/iqn.2026-12.lab.iscsiprf:lun0/1"


def test_nft_rules_drop_only_unprotected_iscsi_on_the_veth() -> None:
    text = iscsi_policy.nft_ruleset(LAB.b)
    rules = [line.strip() for line in text.splitlines() if line.strip().endswith("drop")]
    assert rules == [
        'iifname "vethB" tcp dport 3260 meta ipsec missing counter drop',
        'iifname "vethB" tcp sport 3260 meta ipsec missing counter drop',
        'oifname "vethB" tcp dport 3260 rt ipsec missing counter drop',
        'oifname "vethB" tcp sport 3260 rt ipsec missing counter drop',
    ]
    # Loading it twice replaces the table instead of failing or duplicating it.
    assert text.startswith("table inet iscsiprf_iscsi\ndelete table inet iscsiprf_iscsi\n")


def test_relay_recognises_libipsecs_drop_line_only() -> None:
    assert reqid_of("could not find an outbound IPsec SA for reqid {41}, dropping packet") == 41
    assert reqid_of("no matching outbound IPsec policy for fe80::1 == ff02::2 [58]") is None
    assert reqid_of("") is None


def test_diff_and_busier_direction() -> None:
    before = {"A": {"QM": {"TunnelBytesSent": 10, "TunnelBytesReceived": 5}, "MM": {"X": 1}}}
    after = {"A": {"QM": {"TunnelBytesSent": 110, "TunnelBytesReceived": 2005}, "MM": {"X": 1}}}
    delta = iscsi_step.diff(before, after)
    assert delta == {"A": {"QM": {"TunnelBytesSent": 100, "TunnelBytesReceived": 2000}}}
    assert iscsi_step.busier_bytes(delta, "A") == 2000
    assert iscsi_step.busier_bytes(delta, "B") == 0


def test_report_names_login_size_throughput_and_deltas() -> None:
    login = LoginResult(True, "", 1.02, 64 << 20, 512, 4 << 20, 0.5, True)
    delta = {"A": {"MM": {"OakleyMainMode": 1}, "QM": {"TunnelBytesReceived": 4358484}}}
    run = iscsi_step.IscsiRun(PROFILES["ikev1"], 4, False, login, delta, tunnel_up=True)
    text = "\n".join(iscsi_step.describe(run, LAB))
    assert "login: ok in 1.02 s" in text
    assert "LUN size: 64 MiB (131072 blocks of 512 bytes)" in text
    assert "read 4 MiB in 0.50 s: 8.0 MiB/s" in text
    assert "MM: OakleyMainMode +1" in text
    assert "4358484 for 4194304 payload bytes (x1.039)" in text
    assert "tunnel v1/v1i: INSTALLED" in text
    assert "(node B, target):\n    nothing moved" in text


def test_failed_login_report() -> None:
    run = iscsi_step.IscsiRun(PROFILES["ikev2"], 1, True, LoginResult(False, "no login"), {})
    text = "\n".join(iscsi_step.describe(run, LAB))
    assert "login: FAILED: no login" in text and "wrote" not in text


def test_iscsi_packages_are_installed_by_bootstrap_and_lab_up() -> None:
    from iscsiprf.lab import install

    bootstrap = (Path(__file__).parents[2] / "scripts" / "bootstrap").read_text()
    apt = bootstrap[
        bootstrap.index("APT_PACKAGES=(") : bootstrap.index(")", bootstrap.index("APT_PACKAGES=("))
    ]
    for package in ("tgt", "libiscsi-bin", "nftables"):
        assert package in install.REQUIRED  # `lab up --install`, `lab demo`
        assert f" {package}" in apt or f"\n{package}" in apt
