"""The lab's RFC 3723 policy for iSCSI: addresses, traffic selectors, IQNs, nftables rules (pure).

Node A is the iSCSI initiator, node B the target (tgtd). Each IKE profile protects its own
initiator/portal address pair, so the two profiles never compete for the same packets:

* IKEv1 (RFC 3723: main mode, pre-shared key): child `v1i` of connection `v1`,
  initiator 10.99.5.1 -> portal 10.99.6.1:3260;
* IKEv2 (RFC 7146): child `v2i` of connection `v2`, initiator 10.99.7.1 -> portal 10.99.8.1:3260.

The traffic selectors name TCP and, on the target side, port 3260: ESP protects exactly the
iSCSI connections between the two addresses. The inner addresses sit on `lo` (like the ping
tunnels' ones): kernel-libipsec routes a tunnel only when its selectors differ from the peer's
outer address.

Both children are `start_action = trap` with a fixed reqid, so a login starts the negotiation
(on kernel-libipsec through `acquire_relay`, which maps the reqid back to the child).
"""

from __future__ import annotations

from dataclasses import dataclass

from .topology import V1_CHILD, V1_CONN, V2_CHILD, V2_CONN, Lab, Node

ISCSI_PORT = 3260
TARGET_IQN = "iqn.2026-12.lab.iscsiprf:lun0"
INITIATOR_IQN = "iqn.2026-12.lab.iscsiprf:initiator-a"
LUN = 1  # tgt keeps LUN 0 for its controller
LUN_MIB = 64


@dataclass(frozen=True)
class Profile:
    """One IKE version's iSCSI child: the connection it belongs to and its two addresses."""

    name: str  # "ikev1" / "ikev2"
    version: int
    conn: str
    child: str
    reqid: int
    initiator: str  # on node A's lo
    portal: str  # on node B's lo

    @property
    def portal_url(self) -> str:
        """libiscsi's URL of the LUN."""
        return f"iscsi://{self.portal}:{ISCSI_PORT}/{TARGET_IQN}/{LUN}"

    @property
    def ping_child(self) -> str:
        """The ping tunnel's child of the same connection."""
        return V1_CHILD if self.version == 1 else V2_CHILD


PROFILES: dict[str, Profile] = {
    "ikev1": Profile("ikev1", 1, V1_CONN, "v1i", 41, "10.99.5.1", "10.99.6.1"),
    "ikev2": Profile("ikev2", 2, V2_CONN, "v2i", 42, "10.99.7.1", "10.99.8.1"),
}
BY_REQID = {p.reqid: p for p in PROFILES.values()}


def profile_for(version: int) -> Profile:
    return PROFILES["ikev1" if version == 1 else "ikev2"]


def inner_addresses(lab: Lab, node: Node) -> list[str]:
    """The iSCSI addresses node `node` carries on its `lo`."""
    is_a = node.key == lab.a.key
    return [p.initiator if is_a else p.portal for p in PROFILES.values()]


def traffic_selectors(lab: Lab, node: Node, profile: Profile) -> tuple[str, str]:
    """(local_ts, remote_ts) of the iSCSI child on `node`: the initiator's any TCP port, the
    portal's TCP port 3260."""
    initiator = f"{profile.initiator}/32[tcp]"
    portal = f"{profile.portal}/32[tcp/{ISCSI_PORT}]"
    return (initiator, portal) if node.key == lab.a.key else (portal, initiator)


NFT_TABLE = "iscsiprf_iscsi"


def nft_ruleset(node: Node) -> str:
    """nftables rules that drop every TCP/3260 packet crossing the node's veth in the clear.

    ESP (UDP/4500 with kernel-libipsec, IP protocol 50 with kernel ESP) is untouched. With
    kernel-libipsec the protected iSCSI traffic enters and leaves through the tunnel device
    (`ipsec0`), never the veth; with kernel ESP it crosses the veth's hooks in the clear, but
    with an XFRM bundle on its route (`rt ipsec exists`) on the way out and a secpath
    (`meta ipsec exists`) on the way in, so only unprotected iSCSI matches. Loaded as one
    transaction (`nft -f`), replacing an older copy of the table."""
    veth = node.veth
    return "\n".join(
        [
            f"table inet {NFT_TABLE}",
            f"delete table inet {NFT_TABLE}",
            f"table inet {NFT_TABLE} {{",
            "    chain input {",
            "        type filter hook input priority 0; policy accept;",
            f'        iifname "{veth}" tcp dport {ISCSI_PORT} meta ipsec missing counter drop',
            f'        iifname "{veth}" tcp sport {ISCSI_PORT} meta ipsec missing counter drop',
            "    }",
            "    chain output {",
            "        type filter hook output priority 0; policy accept;",
            f'        oifname "{veth}" tcp dport {ISCSI_PORT} rt ipsec missing counter drop',
            f'        oifname "{veth}" tcp sport {ISCSI_PORT} rt ipsec missing counter drop',
            "    }",
            "}",
            "",
        ]
    )
