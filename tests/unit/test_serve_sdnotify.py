"""sd_notify over a real datagram socket, as systemd passes it in $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from iscsiprf.serve.sdnotify import Notifier


def test_path_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(path)
        s.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": path})
        assert n.enabled
        assert n.ready("serving")
        assert s.recv(4096) == b"READY=1\nSTATUS=serving"
        assert n.watchdog() and s.recv(4096) == b"WATCHDOG=1"
        assert n.stopping() and s.recv(4096) == b"STOPPING=1"


def test_abstract_socket() -> None:
    name = f"iscsiprf-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(2)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert s.recv(4096) == b"READY=1"


def test_no_manager_is_quiet(tmp_path: Path) -> None:
    assert not Notifier({}).enabled and not Notifier({}).ready()
    # a manager that went away: the service goes on
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).ready()
    assert not Notifier({"NOTIFY_SOCKET": "relative/path"}).enabled


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({"WATCHDOG_USEC": "4000000"}, 4.0),
        ({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}, 4.0),
        ({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}, None),  # for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "x"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], seconds: float | None) -> None:
    assert Notifier(env).watchdog_seconds == seconds
