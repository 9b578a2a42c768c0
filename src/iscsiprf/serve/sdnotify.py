"""systemd's notify protocol (sd_notify(3)): `READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=`.

The protocol is one datagram of `KEY=VALUE` lines sent to the AF_UNIX socket named in
`$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`). It is a dozen lines,
so it is written here rather than pulled in as a dependency (python-systemd needs libsystemd's
headers to build; the pure-Python packages are unmaintained). Without `$NOTIFY_SOCKET` (not
under systemd, or not `Type=notify`) every call does nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class Notifier:
    """Sends notifications to the service manager named by the environment, if any."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        name = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if name.startswith("@"):
            self.address = "\0" + name[1:]  # abstract namespace
        elif name.startswith("/"):
            self.address = name
        self.watchdog_seconds = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send one datagram; False when there is no manager or it could not be reached (a
        service must keep serving even if its manager went away)."""
        if self.address is None:
            return False
        data = "\n".join(lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.settimeout(1.0)
                s.connect(self.address)
                s.sendall(data)
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """`WatchdogSec=` as systemd passes it (`WATCHDOG_USEC`, for `WATCHDOG_PID` if set)."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None  # meant for another process (e.g. our parent shell)
    return int(usec) / 1e6
