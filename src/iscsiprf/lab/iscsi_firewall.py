"""Load the cleartext-iSCSI drop rules (`iscsi_policy.nft_ruleset`) into both namespaces."""

from __future__ import annotations

import tempfile

from .iscsi_policy import NFT_TABLE, nft_ruleset
from .netns import run
from .topology import Lab, Node

NFT = "nft"


def apply(lab: Lab) -> None:
    """Replace the lab's nftables table in each namespace (idempotent, one transaction each)."""
    for node in lab.nodes:
        with tempfile.NamedTemporaryFile("w", suffix=".nft", dir=node.dir) as rules:
            rules.write(nft_ruleset(node))
            rules.flush()
            run(["ip", "netns", "exec", node.netns, NFT, "-f", rules.name])


def dropped(node: Node) -> int:
    """Packets the node's rules have dropped so far (sum of the rules' counters)."""
    shown = run(["ip", "netns", "exec", node.netns, NFT, "list", "table", "inet", NFT_TABLE]).stdout
    total = 0
    for line in shown.splitlines():
        words = line.split()
        if "drop" in words and "packets" in words:
            total += int(words[words.index("packets") + 1])
    return total
