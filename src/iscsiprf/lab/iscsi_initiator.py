"""Node A's iSCSI initiator: libiscsi (Debian's libiscsi7, the library behind `libiscsi-bin`)
driven through ctypes, run inside node A's namespace as a child process.

Why ctypes: `libiscsi-bin` ships iscsi-ls, iscsi-inq, iscsi-readcapacity16, iscsi-perf (reads
until interrupted, no size bound, no writes), iscsi-swp and iscsi-test-cu, but no tool that
moves a given number of bytes in either direction; the only Python binding on PyPI
(`cython-iscsi`, last released 2020) is unmaintained and needs a compiler. The iSCSI protocol
(login, PDUs, R2T, logout) stays in the maintained C library; this module only calls its
synchronous API: full connect (= login), READ CAPACITY(16), READ(16)/WRITE(16), logout.

`run_login(...)` spawns `ip netns exec <A> python -m iscsiprf.lab.iscsi_initiator ...`, bounds
it by a wall-clock timeout (killed by PID), and returns the JSON result it prints.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .iscsi_policy import INITIATOR_IQN, ISCSI_PORT, LUN, TARGET_IQN, Profile
from .topology import Node

LIBISCSI = "libiscsi.so.7"
SESSION_NORMAL = 2
HEADER_DIGEST_NONE = 0
CHUNK = 256 * 1024  # bytes per SCSI command: tgt's default MaxBurstLength
SCSI_STATUS_GOOD = 0


class IscsiError(Exception):
    pass


class _ReadCapacity16(ctypes.Structure):
    _fields_ = [("returned_lba", ctypes.c_uint64), ("block_length", ctypes.c_uint32)]


def _load() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(LIBISCSI)
    except OSError as exc:
        raise IscsiError(f"{LIBISCSI}: {exc} (install libiscsi-bin)") from exc
    vp, ci, cp, u64, u32 = (
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint64,
        ctypes.c_uint32,
    )
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "iscsi_create_context": (vp, [cp]),
        "iscsi_destroy_context": (ci, [vp]),
        "iscsi_set_targetname": (ci, [vp, cp]),
        "iscsi_set_session_type": (ci, [vp, ci]),
        "iscsi_set_header_digest": (ci, [vp, ci]),
        "iscsi_set_timeout": (ci, [vp, ci]),
        "iscsi_full_connect_sync": (ci, [vp, cp, ci]),
        "iscsi_logout_sync": (ci, [vp]),
        "iscsi_disconnect": (ci, [vp]),
        "iscsi_get_error": (cp, [vp]),
        "iscsi_readcapacity16_sync": (vp, [vp, ci]),
        "scsi_datain_unmarshall": (vp, [vp]),
        "scsi_free_scsi_task": (None, [vp]),
        "iscsi_read16_sync": (vp, [vp, ci, u64, u32, ci, ci, ci, ci, ci, ci]),
        "iscsi_write16_sync": (vp, [vp, ci, u64, cp, u32, ci, ci, ci, ci, ci, ci]),
    }
    for name, (restype, argtypes) in sigs.items():
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
    return lib


class Session:
    """One logged-in iSCSI session to one LUN (synchronous libiscsi calls)."""

    def __init__(self, portal: str, target: str, lun: int, initiator: str, timeout: int) -> None:
        self.lib = _load()
        self.lun = lun
        self.ctx = self.lib.iscsi_create_context(initiator.encode())
        if not self.ctx:
            raise IscsiError("iscsi_create_context failed")
        self.lib.iscsi_set_targetname(self.ctx, target.encode())
        self.lib.iscsi_set_session_type(self.ctx, SESSION_NORMAL)
        self.lib.iscsi_set_header_digest(self.ctx, HEADER_DIGEST_NONE)
        self.lib.iscsi_set_timeout(self.ctx, timeout)
        if self.lib.iscsi_full_connect_sync(self.ctx, portal.encode(), lun) != 0:
            error = self.error()
            self.lib.iscsi_destroy_context(self.ctx)
            raise IscsiError(f"login to {target} at {portal} failed: {error}")

    def error(self) -> str:
        raw = self.lib.iscsi_get_error(self.ctx)
        return raw.decode("utf-8", "replace") if raw else "unknown error"

    def _check(self, task: int | None, what: str) -> int:
        if not task:
            raise IscsiError(f"{what}: {self.error()}")
        status = ctypes.cast(task, ctypes.POINTER(ctypes.c_int))[0]
        if status != SCSI_STATUS_GOOD:
            self.lib.scsi_free_scsi_task(task)
            raise IscsiError(f"{what}: SCSI status {status}: {self.error()}")
        return task

    def capacity(self) -> tuple[int, int]:
        """(size in bytes, block size)."""
        task = self._check(self.lib.iscsi_readcapacity16_sync(self.ctx, self.lun), "READ CAPACITY")
        try:
            data = self.lib.scsi_datain_unmarshall(task)
            if not data:
                raise IscsiError("READ CAPACITY: no data")
            rc16 = ctypes.cast(data, ctypes.POINTER(_ReadCapacity16)).contents
            return (rc16.returned_lba + 1) * rc16.block_length, rc16.block_length
        finally:
            self.lib.scsi_free_scsi_task(task)

    def transfer(self, nbytes: int, block: int, write: bool) -> int:
        """Read or write `nbytes` from LBA 0 in CHUNK-sized commands; return the bytes moved."""
        done = 0
        pattern = (b"iscsiprf" * (CHUNK // 8))[:CHUNK]
        while done < nbytes:
            size = min(CHUNK, nbytes - done)
            lba = done // block
            if write:
                task = self.lib.iscsi_write16_sync(
                    self.ctx, self.lun, lba, pattern[:size], size, block, 0, 0, 0, 0, 0
                )
            else:
                task = self.lib.iscsi_read16_sync(
                    self.ctx, self.lun, lba, size, block, 0, 0, 0, 0, 0
                )
            self.lib.scsi_free_scsi_task(self._check(task, "WRITE(16)" if write else "READ(16)"))
            done += size
        return done

    def logout(self) -> bool:
        ok = bool(self.lib.iscsi_logout_sync(self.ctx) == 0)
        self.lib.iscsi_disconnect(self.ctx)
        self.lib.iscsi_destroy_context(self.ctx)
        return ok


def session_main(args: argparse.Namespace) -> dict[str, Any]:
    """Login, capacity, I/O, logout; what happened as a JSON-able dict (never raises)."""
    out: dict[str, Any] = {"login": False, "error": ""}
    started = time.monotonic()
    try:
        session = Session(args.portal, args.target, args.lun, args.initiator, args.timeout)
    except IscsiError as exc:
        out.update(error=str(exc), login_seconds=time.monotonic() - started)
        return out
    out.update(login=True, login_seconds=time.monotonic() - started)
    try:
        size, block = session.capacity()
        out.update(lun_bytes=size, block_size=block)
        nbytes = min(args.mib << 20, size)
        t0 = time.monotonic()
        out["bytes"] = session.transfer(nbytes, block, args.write)
        out["seconds"] = time.monotonic() - t0
    except IscsiError as exc:
        out["error"] = str(exc)
    out["logout"] = session.logout()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iscsiprf.lab.iscsi_initiator")
    parser.add_argument("--portal", required=True)
    parser.add_argument("--target", default=TARGET_IQN)
    parser.add_argument("--lun", type=int, default=LUN)
    parser.add_argument("--initiator", default=INITIATOR_IQN)
    parser.add_argument("--mib", type=int, default=0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--timeout", type=int, default=20, help="libiscsi's command timeout (s)")
    result = session_main(parser.parse_args(argv))
    print(json.dumps(result), flush=True)
    return 0 if result["login"] and not result["error"] else 1


@dataclass
class LoginResult:
    """What one login + I/O + logout in node A's namespace did."""

    login: bool
    error: str = ""
    login_seconds: float = 0.0
    lun_bytes: int = 0
    block_size: int = 0
    bytes: int = 0
    seconds: float = 0.0
    logout: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.login and not self.error and self.logout

    @property
    def mib_per_s(self) -> float:
        return self.bytes / (1 << 20) / self.seconds if self.seconds > 0 else 0.0


def run_login(
    node: Node, profile: Profile, mib: int, write: bool = False, timeout: float = 60.0
) -> LoginResult:
    """Log in from `node`'s namespace through `profile`'s portal, move `mib` MiB, log out.
    A run that outlives `timeout` is killed by its PID and reported as a failed login."""
    argv = [
        "ip", "netns", "exec", node.netns, sys.executable, "-m", "iscsiprf.lab.iscsi_initiator",
        "--portal", f"{profile.portal}:{ISCSI_PORT}", "--mib", str(mib),
        "--timeout", str(max(1, int(timeout))),
    ] + (["--write"] if write else [])  # fmt: skip
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        return LoginResult(False, f"no login within {timeout:.0f} s")
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        detail = stderr.decode("utf-8", "replace").strip()[-300:]
        return LoginResult(False, f"initiator failed: {detail or f'exit {proc.returncode}'}")
    known = {k: data[k] for k in LoginResult.__dataclass_fields__ if k in data and k != "raw"}
    return LoginResult(**known, raw=data)


if __name__ == "__main__":
    raise SystemExit(main())
