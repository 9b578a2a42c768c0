"""Start and stop one charon-systemd per lab node, always by the PID we saved.

`ip netns exec` execs the daemon, so the PID of the process we spawn is charon's own. charon-systemd
writes no PID file of its own, so two instances coexist on one host.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .netns import LabError
from .topology import Node

CHARON = Path("/usr/sbin/charon-systemd")
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# Daemons spawned by this process, so that we reap them (a dead child would stay a zombie).
_children: dict[int, subprocess.Popen[bytes]] = {}


def start(node: Node) -> int:
    """Start the node's daemon in its namespace, wait for its VICI socket; return its PID."""
    if (pid := running_pid(node)) is not None:
        return pid
    for stale in (node.vici_socket, node.enfy_socket):
        stale.unlink(missing_ok=True)
    env = dict(os.environ, STRONGSWAN_CONF=str(node.strongswan_conf))
    with open(node.stdout_file, "wb") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", node.netns, str(CHARON)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C on the terminal must not reach it; we stop it
        )
    _children[proc.pid] = proc
    _write_pid(node, proc.pid)
    _wait_ready(node, proc.pid)
    return proc.pid


def stop(nodes: Iterable[Node], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every node's daemon at once (each takes 1.2-1.7 s), SIGKILL what is left."""
    pids = [pid for node in nodes if (pid := running_pid(node)) is not None]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    for pid in pids:
        _reap(pid, wait=True)
    for node in nodes:
        node.pid_file.unlink(missing_ok=True)


def kill(node: Node) -> int | None:
    """SIGKILL the node's daemon (a crash, for restart tests); return the PID killed."""
    pid = running_pid(node)
    if pid is None:
        return None
    _signal(pid, signal.SIGKILL)
    _reap(pid, wait=True)
    node.pid_file.unlink(missing_ok=True)
    return pid


def running_pid(node: Node) -> int | None:
    """The saved PID if that process is still our charon, else None."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) and _is_charon(pid) else None


def _wait_ready(node: Node, pid: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
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


def _write_pid(node: Node, pid: int) -> None:
    tmp = node.pid_file.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(node.pid_file)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int, wait: bool) -> None:
    proc = _children.get(pid)
    if proc is None:
        return
    try:
        proc.wait(timeout=STOP_TIMEOUT if wait else 0)
    except subprocess.TimeoutExpired:
        return
    del _children[pid]


def _alive(pid: int) -> bool:
    _reap(pid, wait=False)
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The state letter follows the parenthesised command name; Z is a zombie.
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _is_charon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # Right after spawning, the process may still be `ip netns exec`, about to exec charon.
    return CHARON.name.encode() in cmdline
