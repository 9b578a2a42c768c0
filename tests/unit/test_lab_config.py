"""The lab's generated strongSwan configuration (pure)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from iscsiprf.lab import config, topology
from iscsiprf.lab.config import NodeSettings, Timers

LAB = topology.make_lab(Path("/tmp/x-lab"), "tst")


def test_libipsec_backend_is_loaded_before_netlink() -> None:
    plugins = config.charon_plugins("libipsec")
    assert plugins.index("kernel-libipsec") < plugins.index("kernel-netlink")
    assert "kernel-libipsec" not in config.charon_plugins("netlink")
    for needed in ("vici", "counters", "error-notify", "socket-default", "openssl"):
        assert needed in plugins


def test_strongswan_conf_points_at_the_node_files() -> None:
    text = config.strongswan_conf(LAB.b, NodeSettings(retransmit_tries=3))
    assert "vici { socket = unix:///tmp/x-lab/B/charon.vici }" in text
    assert "error-notify { socket = unix:///tmp/x-lab/B/charon.enfy }" in text
    assert "path = /tmp/x-lab/B/charon.log" in text
    assert "retransmit_tries = 3" in text
    # One setting per line: no line carries two assignments.
    assert all(line.count(" = ") <= 1 for line in text.splitlines())
    assert text.count("{") == text.count("}")


def test_connections_mirror_each_other() -> None:
    a = config.connections(LAB, LAB.a, NodeSettings())
    b = config.connections(LAB, LAB.b, NodeSettings())
    assert set(a) == {"v1", "v2", "v2u"} and set(b) == {"v1", "v2"}
    assert a["v1"]["version"] == "1" and a["v1"]["aggressive"] == "no"
    assert a["v1"]["local_addrs"] == b["v1"]["remote_addrs"] == ["10.99.0.1"]
    assert a["v2"]["local"] == {"auth": "psk", "id": "v2-A"}
    assert b["v2"]["remote"] == {"auth": "psk", "id": "v2-A"}
    a_child = a["v1"]["children"]["v1c"]  # type: ignore[index]
    b_child = b["v1"]["children"]["v1c"]  # type: ignore[index]
    assert a_child["local_ts"] == b_child["remote_ts"] == ["10.99.1.0/24"]
    assert a["v2u"]["remote_addrs"] == [topology.UNREACHABLE_PEER]


def test_settings_reach_the_connection() -> None:
    settings = NodeSettings(
        v2_ike_proposals="aes256-sha512-modp4096, aes128-sha256-modp2048",
        start_action="start",
        encap=False,
        timers=Timers(child_rekey_time="4s", child_life_time="30s", child_rand_time="1s"),
    )
    v2 = config.connections(LAB, LAB.a, settings)["v2"]
    assert v2["proposals"] == ["aes256-sha512-modp4096", "aes128-sha256-modp2048"]
    assert v2["encap"] == "no"
    child = v2["children"]["v2c"]  # type: ignore[index]
    assert (child["start_action"], child["rekey_time"], child["life_time"], child["rand_time"]) == (
        "start",
        "4s",
        "30s",
        "1s",
    )
    assert (
        "life_time" not in config.connections(LAB, LAB.a, NodeSettings())["v2"]["children"]["v2c"]
    )  # type: ignore[index,operator]


def test_secrets_follow_the_psk_settings() -> None:
    wrong = dataclasses.replace(NodeSettings(), v1_psk="other")
    secrets = config.secrets(LAB, LAB.b, wrong)
    assert secrets["ike-v1"] == {
        "type": "IKE",
        "data": "other",
        "owners": ["10.99.0.2", "10.99.0.1"],
    }
    assert secrets["ike-v2"]["owners"] == ["v2-B", "v2-A"]


def test_swanctl_conf_renders_the_same_connections() -> None:
    text = config.swanctl_conf(LAB, LAB.a, NodeSettings())
    assert text.count("{") == text.count("}")
    assert "        proposals = aes128-sha256-modp2048" in text
    assert "                local_ts = 10.99.1.0/24" in text
    assert 'secret = "v1-shared-secret-0123456789"' in text
    names = re.findall(r"^    (\w[\w-]*) \{$", text, re.M)
    assert names == ["v1", "v2", "v2u", "ike-v1", "ike-v2"]
