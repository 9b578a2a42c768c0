"""Start and stop one charon-systemd per lab node, always by the PID we saved.

`ip netns exec` execs the daemon, so the PID of the process we spawn is charon's own. charon-systemd
writes no PID file of its own, so two instances coexist on one host.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from . import services
from .netns import LabError
from .topology import Node

CHARON = Path("/usr/sbin/charon-systemd")
READY_TIMEOUT = 10.0
STOP_TIMEOUT = services.STOP_TIMEOUT

MARKER = CHARON.name  # also in `ip netns exec NS charon-systemd`, before it execs charon


def start(node: Node) -> int:
    """Start the node's daemon in its namespace, wait for its VICI socket; return its PID."""
    if (pid := running_pid(node)) is not None:
        return pid
    for stale in (node.vici_socket, node.enfy_socket):
        stale.unlink(missing_ok=True)
    env = dict(os.environ, STRONGSWAN_CONF=str(node.strongswan_conf))
    argv = ["ip", "netns", "exec", node.netns, str(CHARON)]
    pid = services.spawn(argv, node.pid_file, node.stdout_file, env=env)
    _wait_ready(node, pid)
    return pid


def stop(nodes: Iterable[Node], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every node's daemon at once (each takes 1.2-1.7 s), SIGKILL what is left."""
    services.stop([(node.pid_file, MARKER) for node in nodes], timeout)


def kill(node: Node) -> int | None:
    """SIGKILL the node's daemon (a crash, for restart tests); return the PID killed."""
    return services.kill(node.pid_file, MARKER)


def running_pid(node: Node) -> int | None:
    """The saved PID if that process is still our charon, else None."""
    return services.running_pid(node.pid_file, MARKER)


def _wait_ready(node: Node, pid: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not services.alive(pid):
            output = node.stdout_file.read_text(errors="replace").strip()[-500:]
            raise LabError(f"charon of node {node.key} exited at start: {output or 'no output'}")
        if node.vici_socket.exists() and _vici_answers(node.vici_socket):
            return
        time.sleep(0.05)
    raise LabError(f"charon of node {node.key} (pid {pid}): no VICI socket after {READY_TIMEOUT}s")


def _vici_answers(path: Path) -> bool:
    # Import here: the daemon module stays usable (stop, status) without the vici package.
    import vici

    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2.0)
            sock.connect(str(path))
            vici.Session(sock).version()
        return True
    except (OSError, vici.exception.SessionException):
        return False
