"""I/O: NETLINK_XFRM multicast and /proc/net/xfrm_stat, read inside the daemon's network namespace.

`setns(2)` moves only the calling thread, so `XfrmReader` runs in its own thread: it enters the
namespace once (`/var/run/netns/<name>`), opens the netlink socket there and reads
`/proc/thread-self/net/xfrm_stat` of that namespace. Decoding is in `xfrm.py` (pure).
"""

from __future__ import annotations

import ctypes
import os
import socket
import time
from collections.abc import Callable

from .events import Event, SourceError, XfrmStatSample
from .xfrm import SA_EVENT_GROUPS, decode_datagram, parse_xfrm_stat

NETLINK_XFRM = 6
CLONE_NEWNET = 0x40000000


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace `name` (as `ip netns exec` does)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def read_xfrm_stat() -> XfrmStatSample | SourceError:
    try:
        with open("/proc/thread-self/net/xfrm_stat", encoding="ascii") as f:
            text = f.read()
    except OSError as exc:
        return SourceError("xfrm_stat", str(exc))
    values, problems = parse_xfrm_stat(text)
    if problems and not values:
        return SourceError("xfrm_stat", problems[0])
    return XfrmStatSample(values)


def run_reader(
    netns: str | None,
    emit: Callable[[Event], None],
    stopped: Callable[[], bool],
    interval: float = 1.0,
) -> None:
    """Thread body: XFRM events and an xfrm_stat sample every `interval` seconds until stopped."""
    try:
        if netns:
            enter_netns(netns)
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
        sock.bind((0, SA_EVENT_GROUPS))
        sock.settimeout(interval)
    except OSError as exc:
        emit(
            SourceError("xfrm", f"cannot open NETLINK_XFRM{f' in {netns}' if netns else ''}: {exc}")
        )
        return
    next_stat = 0.0
    with sock:
        while not stopped():
            now = time.monotonic()
            if now >= next_stat:
                emit(read_xfrm_stat())
                next_stat = now + interval
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:  # ENOBUFS: the kernel dropped events for us
                emit(SourceError("xfrm", f"netlink receive: {exc}"))
                continue
            for item in decode_datagram(data):
                emit(item)
