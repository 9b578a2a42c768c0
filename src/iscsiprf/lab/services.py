"""The lab's background processes (charon, tgtd, the acquire relay): started with their PID
saved in a file, checked and stopped by that PID only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

STOP_TIMEOUT = 5.0

_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    argv: Sequence[str], pid_file: Path, log_file: Path, env: dict[str, str] | None = None
) -> int:
    """Start `argv` in its own session (a Ctrl-C on the terminal must not reach it), output to
    `log_file`; save and return its PID."""
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{proc.pid}\n")
    tmp.replace(pid_file)
    return proc.pid


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The saved PID if that process is alive and its command line contains `marker`."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if marker.encode() in cmdline else None


def stop(entries: Iterable[tuple[Path, str]], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM each (pid file, marker) process at once, SIGKILL what is left after `timeout`."""
    entries = list(entries)
    pids = [pid for f, m in entries if (pid := running_pid(f, m)) is not None]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
        _reap(pid)
    for pid_file, _ in entries:
        pid_file.unlink(missing_ok=True)


def kill(pid_file: Path, marker: str) -> int | None:
    """SIGKILL the saved process at once (a crash, not a stop); return the PID killed."""
    pid = running_pid(pid_file, marker)
    if pid is None:
        return None
    _signal(pid, signal.SIGKILL)
    _reap(pid)
    pid_file.unlink(missing_ok=True)
    return pid


def alive(pid: int) -> bool:
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        del _children[pid]
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _reap(pid: int) -> None:
    """Collect a child this process started, so that it leaves no zombie behind."""
    proc = _children.pop(pid, None)
    if proc is not None:
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
