"""Bring the lab up and down, reconfigure a node, and report its status."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import acquire_relay, daemon, iscsi_firewall, iscsi_target, netns
from .config import NodeSettings, strongswan_conf, swanctl_conf
from .control import Control
from .netns import LabError
from .topology import Lab, Node


def write_config(lab: Lab, node: Node, settings: NodeSettings) -> None:
    node.dir.mkdir(parents=True, exist_ok=True)
    node.strongswan_conf.write_text(strongswan_conf(node, settings))
    node.swanctl_conf.write_text(swanctl_conf(lab, node, settings))


def load(lab: Lab, node: Node, settings: NodeSettings) -> None:
    """Write the node's files and load its connections and secrets into the running daemon."""
    write_config(lab, node, settings)
    with Control.of(node) as control:
        control.load(lab, node, settings)


def start_node(lab: Lab, node: Node, settings: NodeSettings) -> int:
    write_config(lab, node, settings)
    pid = daemon.start(node)
    load(lab, node, settings)
    return pid


def up(
    lab: Lab,
    settings_a: NodeSettings | None = None,
    settings_b: NodeSettings | None = None,
) -> None:
    """Namespaces, veth, both daemons, connections loaded; pieces already up are kept."""
    lab.save()
    lab.adapters_file.write_text(adapters_toml(lab))
    netns.create(lab)
    chosen = {lab.a.key: settings_a or NodeSettings(), lab.b.key: settings_b or NodeSettings()}
    try:
        for node in lab.nodes:
            start_node(lab, node, chosen[node.key])
        start_iscsi(lab)
    except BaseException:
        down(lab, remove_dir=False)
        raise


def start_iscsi(lab: Lab) -> None:
    """The RFC 3723 side: cleartext-iSCSI drop rules, tgtd on node B, the acquire relay."""
    iscsi_firewall.apply(lab)
    iscsi_target.start(lab)
    acquire_relay.start(lab)


def down(lab: Lab, remove_dir: bool = False) -> None:
    """Stop the relay, tgtd and both daemons (by saved PID), delete both namespaces."""
    try:
        acquire_relay.stop(lab)
        iscsi_target.stop(lab)
        daemon.stop(lab.nodes)
    finally:
        netns.delete(lab)
        lab.lab_file.unlink(missing_ok=True)
        if remove_dir:
            shutil.rmtree(lab.dir, ignore_errors=True)


def remove_run_files(lab: Lab) -> list[Path]:
    """After `down`: remove the files the lab writes to run (configs, sockets, PID files, state
    files, the LUN image), by name, and keep its logs; return the logs kept. Nothing else in
    DIR, DIR/A or DIR/B is touched, so files of the user's that share them stay."""
    run_files: list[Path] = [lab.adapters_file, acquire_relay.pid_file(lab)]
    for node in lab.nodes:
        state = node.state_file
        run_files += [node.strongswan_conf, node.swanctl_conf, node.vici_socket, node.enfy_socket,
                      node.stdout_file, node.pid_file, state]  # fmt: skip
        run_files += [
            state.with_name(state.name + x) for x in ("-wal", "-shm", "-journal", ".lock")
        ]
    run_files += [
        iscsi_target.lun_file(lab),
        iscsi_target.pid_file(lab),
        iscsi_target.port_file(lab),
    ]
    for path in run_files:
        path.unlink(missing_ok=True)
    for node in lab.nodes:
        with contextlib.suppress(OSError):
            node.dir.rmdir()  # only when nothing is left in it
    return lab_logs(lab)


def lab_logs(lab: Lab) -> list[Path]:
    """The logs the lab writes (charon per node, tgtd, the acquire relay) that exist."""
    logs = [n.log_file for n in lab.nodes]
    logs += [iscsi_target.log_file(lab), acquire_relay.log_file(lab)]
    return [p for p in logs if p.is_file()]


def restart_node(lab: Lab, node: Node, settings: NodeSettings) -> int:
    """Stop one daemon and start it again with `settings` (for daemon-level settings)."""
    daemon.stop([node])
    return start_node(lab, node, settings)


@dataclass
class NodeStatus:
    node: Node
    netns_present: bool
    pid: int | None
    version: str = ""
    ike_sas: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def status(lab: Lab) -> list[NodeStatus]:
    present = netns.namespaces_up(lab)
    out = []
    for node in lab.nodes:
        entry = NodeStatus(node, present[node.netns], daemon.running_pid(node))
        if entry.pid is not None:
            try:
                with Control.of(node) as control:
                    entry.version = control.version().get("version", "")
                    entry.ike_sas = control.list_sas()
            except (OSError, LabError) as exc:
                entry.error = str(exc)
        out.append(entry)
    return out


def adapters_toml(lab: Lab) -> str:
    """The `[[adapter]]` tables that point iscsiprf at the lab's two daemons."""
    out = [f"# iscsiprf adapters for the lab in {lab.dir}"]
    for node in lab.nodes:
        out += [
            "",
            "[[adapter]]",
            # A TOML literal string: the backslashes of the device path stay as they are.
            f"device = '{node.device}'",
            f'vici = "{node.vici_uri}"',
            f'error_notify = "{node.enfy_uri}"',
            f'netns = "{node.netns}"',
            f'state = "{node.state_file}"',
        ]
    return "\n".join(out) + "\n"
