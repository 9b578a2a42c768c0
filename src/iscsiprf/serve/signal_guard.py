"""Make SIGTERM/SIGINT stop the server even when the interpreter cannot run the handler.

Python runs signal handlers in the main thread, between bytecodes. A thread that holds the
interpreter lock inside C code (a catastrophically backtracking regular expression, say) keeps
the main thread from ever running the handler, and the server ignores SIGTERM until SIGKILL.
Nothing inside the process can help then, so a tiny watcher process does: the C-level signal
handler writes the signal number to `signal.set_wakeup_fd`'s pipe without needing the lock; the
watcher reads it and, if the server has not exited `GRACE` seconds later (its end of the pipe
still open), sends SIGKILL. A server that stops normally closes the pipe and the watcher exits;
so does a server that dies any other way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from .logs import log_event

GRACE = 4.0  # seconds between the signal and SIGKILL; a clean stop takes well under one

_WATCHER = r"""
import json, os, select, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pid, grace = int(sys.argv[1]), float(sys.argv[2])
stops = {int(s) for s in sys.argv[3].split(",")}
while True:
    data = os.read(0, 64)
    if not data:
        sys.exit(0)  # the server has ended
    if stops & set(data):
        break
deadline = time.monotonic() + grace
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    ready, _, _ = select.select([0], [], [], left)
    if ready and not os.read(0, 64):
        sys.exit(0)  # ended in time
# Kill first: the log line could block on a full pipe or fail on a closed one.
os.kill(pid, signal.SIGKILL)
try:
    sys.stderr.write(json.dumps({"level": "error", "event": "forced-stop", "pid": pid,
        "reason": f"still running {grace:g} s after SIGTERM/SIGINT: the interpreter is held"}) + "\n")
    sys.stderr.flush()
except OSError:
    pass
"""


class SignalGuard:
    """The watcher process and the pipe the signal handler writes to."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, write_fd: int, previous: int) -> None:
        self._proc = proc
        self._write_fd = write_fd
        self._previous = previous

    @classmethod
    def start(cls, grace: float = GRACE) -> SignalGuard:
        """Arm the guard (main thread only, after the Python handlers are installed)."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # set_wakeup_fd needs it: the C handler must not block
        stops = f"{int(signal.SIGTERM)},{int(signal.SIGINT)}"
        try:
            proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHER, str(os.getpid()), str(grace), stops],
                stdin=read_fd, stdout=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            log_event("signal-guard", level=30, error=f"watcher not started: {e}")
            proc = None
        finally:
            os.close(read_fd)
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        return cls(proc, write_fd, previous)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        """Disarm: the watcher sees the pipe close and exits."""
        signal.set_wakeup_fd(self._previous)
        os.close(self._write_fd)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=2)
