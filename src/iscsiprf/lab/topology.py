"""Names, addresses and file paths of the two-node lab: pure data, no I/O except `save`/`load`.

Node A (initiator in every scenario) and node B (responder) each live in their own network namespace,
joined by a veth pair. Every address is a private 10.99.x address that exists only inside those two
namespaces; inner "LAN" addresses sit on `lo` because some kernels have no dummy links.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_DIR = Path("/tmp/iscsiprf-lab")
DEFAULT_PREFIX = "sw"
LAB_FILE = "lab.json"

# The Windows software initiator's PDO is ROOT\ISCSIPRT\0000; node B gets the next instance.
DEVICE_A = "ROOT\\ISCSIPRT\\0000"
DEVICE_B = "ROOT\\ISCSIPRT\\0001"

# Names of the connections and children loaded on both nodes.
V1_CONN, V1_CHILD = "v1", "v1c"
V2_CONN, V2_CHILD = "v2", "v2c"
# An IKEv2 connection of node A whose peer has no route inside swA: sending to it fails.
UNREACH_CONN, UNREACH_CHILD = "v2u", "v2uc"
UNREACHABLE_PEER = "10.99.200.2"


@dataclass(frozen=True)
class Node:
    """One strongSwan daemon of the lab, its namespace, addresses and files."""

    key: str
    netns: str
    veth: str
    address: str
    v1_inner: str
    v2_inner: str
    v2_id: str
    device: str
    dir: Path

    @property
    def v1_subnet(self) -> str:
        return _subnet24(self.v1_inner)

    @property
    def v2_subnet(self) -> str:
        return _subnet24(self.v2_inner)

    @property
    def strongswan_conf(self) -> Path:
        return self.dir / "strongswan.conf"

    @property
    def swanctl_conf(self) -> Path:
        return self.dir / "swanctl.conf"

    @property
    def vici_socket(self) -> Path:
        return self.dir / "charon.vici"

    @property
    def enfy_socket(self) -> Path:
        return self.dir / "charon.enfy"

    @property
    def log_file(self) -> Path:
        return self.dir / "charon.log"

    @property
    def stdout_file(self) -> Path:
        return self.dir / "daemon.stdout"

    @property
    def pid_file(self) -> Path:
        return self.dir / "daemon.pid"

    @property
    def state_file(self) -> Path:
        return self.dir / "iscsiprf.sqlite"

    @property
    def vici_uri(self) -> str:
        return f"unix://{self.vici_socket}"

    @property
    def enfy_uri(self) -> str:
        return f"unix://{self.enfy_socket}"


@dataclass(frozen=True)
class Lab:
    """The whole lab: its directory and its two nodes."""

    dir: Path
    prefix: str
    a: Node
    b: Node

    @property
    def nodes(self) -> tuple[Node, Node]:
        return (self.a, self.b)

    def peer(self, node: Node) -> Node:
        return self.b if node.key == self.a.key else self.a

    def node(self, key: str) -> Node:
        for node in self.nodes:
            if node.key == key.upper():
                return node
        raise KeyError(f"no lab node {key!r} (expected A or B)")

    @property
    def lab_file(self) -> Path:
        return self.dir / LAB_FILE

    @property
    def adapters_file(self) -> Path:
        """The `[[adapter]]` TOML for `iscsiprf serve/query/watch --config`."""
        return self.dir / "adapters.toml"

    def save(self) -> None:
        """Write the names used, so `lab down`/`status` find what `lab up` made."""
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {"prefix": self.prefix, "nodes": [_node_to_json(n) for n in self.nodes]}
        tmp = self.lab_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.lab_file)


def make_lab(directory: Path = DEFAULT_DIR, prefix: str = DEFAULT_PREFIX) -> Lab:
    """Lay out a lab; `prefix` names the namespaces `<prefix>A` and `<prefix>B`."""
    directory = Path(directory).absolute()
    a = Node(
        key="A",
        netns=f"{prefix}A",
        veth="vethA",
        address="10.99.0.1",
        v1_inner="10.99.1.1",
        v2_inner="10.99.3.1",
        v2_id="v2-A",
        device=DEVICE_A,
        dir=directory / "A",
    )
    b = Node(
        key="B",
        netns=f"{prefix}B",
        veth="vethB",
        address="10.99.0.2",
        v1_inner="10.99.2.1",
        v2_inner="10.99.4.1",
        v2_id="v2-B",
        device=DEVICE_B,
        dir=directory / "B",
    )
    return Lab(dir=directory, prefix=prefix, a=a, b=b)


def load_lab(directory: Path = DEFAULT_DIR) -> Lab | None:
    """The lab recorded in `directory`, or None when no lab was brought up there."""
    directory = Path(directory).absolute()
    try:
        data = json.loads((directory / LAB_FILE).read_text())
        a, b = (_node_from_json(n) for n in data["nodes"])
        return Lab(dir=directory, prefix=str(data["prefix"]), a=a, b=b)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{directory / LAB_FILE}: not a lab description ({exc})") from exc


def _subnet24(address: str) -> str:
    return address.rsplit(".", 1)[0] + ".0/24"


def _node_to_json(node: Node) -> dict[str, str]:
    data = asdict(node)
    data["dir"] = str(node.dir)
    return data


def _node_from_json(data: dict[str, str]) -> Node:
    fields = dict(data)
    return Node(**{**fields, "dir": Path(fields["dir"])})  # type: ignore[arg-type]
