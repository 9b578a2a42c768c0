"""Create and delete the lab's two network namespaces with `ip` (iproute2); both are idempotent."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .iscsi_policy import inner_addresses
from .topology import Lab, Node


class LabError(Exception):
    """A lab step failed; the message says which and why."""


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; a failure becomes a LabError naming the command and its stderr."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)}: timed out") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LabError(f"{' '.join(argv)}: {detail or f'exit status {proc.returncode}'}")
    return proc


def list_namespaces() -> set[str]:
    out = run(["ip", "netns", "list"]).stdout
    # Lines look like "swA (id: 3)" or just "swA".
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def namespaces_up(lab: Lab) -> dict[str, bool]:
    present = list_namespaces()
    return {node.netns: node.netns in present for node in lab.nodes}


def create(lab: Lab) -> None:
    """Namespaces, the veth pair, and every address of the layout; existing pieces are kept."""
    present = list_namespaces()
    for node in lab.nodes:
        if node.netns not in present:
            run(["ip", "netns", "add", node.netns])
    a, b = lab.a, lab.b
    if not _link_exists(a) or not _link_exists(b):
        # A half-made pair (one end missing) cannot be repaired; remove the rest first.
        for node in (a, b):
            if _link_exists(node):
                run(["ip", "-n", node.netns, "link", "del", node.veth])
        run(
            ["ip", "link", "add", a.veth, "netns", a.netns, "type", "veth"]
            + ["peer", "name", b.veth, "netns", b.netns]
        )
    for node in lab.nodes:
        _ensure_address(node, f"{node.address}/24", node.veth)
        for inner in (node.v1_inner, node.v2_inner, *inner_addresses(lab, node)):
            _ensure_address(node, f"{inner}/32", "lo")
        run(["ip", "-n", node.netns, "link", "set", "lo", "up"])
        run(["ip", "-n", node.netns, "link", "set", node.veth, "up"])


def delete(lab: Lab) -> None:
    """Delete both namespaces (which removes the veth pair, TUN devices and routes)."""
    present = list_namespaces()
    for node in lab.nodes:
        if node.netns in present:
            run(["ip", "netns", "del", node.netns])


def set_link(node: Node, up: bool) -> None:
    run(["ip", "-n", node.netns, "link", "set", node.veth, "up" if up else "down"])


def _link_exists(node: Node) -> bool:
    return run(["ip", "-n", node.netns, "link", "show", node.veth], check=False).returncode == 0


def _ensure_address(node: Node, cidr: str, dev: str) -> None:
    shown = run(["ip", "-n", node.netns, "-o", "addr", "show", "dev", dev]).stdout
    if f" {cidr} " not in shown:
        run(["ip", "-n", node.netns, "addr", "add", cidr, "dev", dev])
