"""Node B's iSCSI target: Debian's userspace `tgtd`, one file-backed LUN, managed with `tgtadm`.

tgtd listens only on the two portal addresses (never on the veth address), and its ACL admits
only the two initiator addresses. Its management socket is `/var/run/tgtd/socket.<port>` in
the shared filesystem, so each lab picks its own control port (saved in `B/tgtd.port`): two labs
on one host do not talk to each other's tgtd.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from . import services
from .iscsi_policy import ISCSI_PORT, LUN, LUN_MIB, PROFILES, TARGET_IQN
from .netns import LabError, run
from .topology import Lab

TGTD = "/usr/sbin/tgtd"
TGTADM = "tgtadm"
SOCKET_DIR = Path("/var/run/tgtd")
READY_TIMEOUT = 10.0
TID = 1


def lun_file(lab: Lab) -> Path:
    return lab.b.dir / "lun0.img"


def pid_file(lab: Lab) -> Path:
    return lab.b.dir / "tgtd.pid"


def port_file(lab: Lab) -> Path:
    return lab.b.dir / "tgtd.port"


def log_file(lab: Lab) -> Path:
    return lab.b.dir / "tgtd.log"


def running_pid(lab: Lab) -> int | None:
    return services.running_pid(pid_file(lab), "tgtd")


def control_port(lab: Lab) -> int:
    try:
        return int(port_file(lab).read_text().strip())
    except (FileNotFoundError, ValueError):
        raise LabError(f"no tgtd control port in {port_file(lab)}: is the lab up?") from None


def start(lab: Lab) -> int:
    """Start tgtd in node B's namespace with the LUN and portals; return its PID (kept if up)."""
    if (pid := running_pid(lab)) is not None:
        return pid
    lab.b.dir.mkdir(parents=True, exist_ok=True)
    lun = lun_file(lab)
    if not lun.exists() or lun.stat().st_size < LUN_MIB << 20:
        with open(lun, "ab") as f:
            f.truncate(LUN_MIB << 20)
    port = _free_control_port(lab)
    port_file(lab).write_text(f"{port}\n")
    first, *others = (p.portal for p in PROFILES.values())
    pid = services.spawn(
        ["ip", "netns", "exec", lab.b.netns, TGTD, "-f", "-C", str(port),
         "--iscsi", f"portal={first}:{ISCSI_PORT}"],
        pid_file(lab), log_file(lab),
    )  # fmt: skip
    try:
        _wait_ready(lab, pid, port)
        adm = _tgtadm(port)
        for portal in others:
            run(
                [
                    *adm,
                    "--op",
                    "new",
                    "--mode",
                    "portal",
                    "--param",
                    f"portal={portal}:{ISCSI_PORT}",
                ]
            )
        run([*adm, "--op", "new", "--mode", "target", "--tid", str(TID), "-T", TARGET_IQN])
        run([*adm, "--op", "new", "--mode", "logicalunit", "--tid", str(TID),
             "--lun", str(LUN), "-b", str(lun)])  # fmt: skip
        for profile in PROFILES.values():
            # Only the initiator addresses the policy protects may log in.
            run([*adm, "--op", "bind", "--mode", "target", "--tid", str(TID),
                 "-I", profile.initiator])  # fmt: skip
    except BaseException:
        stop(lab)
        raise
    return pid


def stop(lab: Lab) -> None:
    """Shut tgtd down the way its systemd unit does (it ignores SIGTERM): delete the target,
    then the system; SIGTERM/SIGKILL by PID only if it is still there."""
    pid = running_pid(lab)
    if pid is None:
        services.stop([(pid_file(lab), "tgtd")])  # removes a stale PID file
        return
    try:
        adm = _tgtadm(control_port(lab))
        run([*adm, "--op", "delete", "--mode", "target", "--tid", str(TID), "--force"], check=False)
        run([TGTADM, "-C", adm[2], "--op", "delete", "--mode", "system"], check=False)
    except LabError:
        pass  # no control port known: fall through to the signals
    deadline = time.monotonic() + 2.0
    while services.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    services.stop([(pid_file(lab), "tgtd")], timeout=1.0)
    # tgtd leaves its management socket and lock file behind; they are this lab's.
    try:
        port = control_port(lab)
    except LabError:
        return
    for leftover in (f"socket.{port}", f"socket.{port}.lock"):
        (SOCKET_DIR / leftover).unlink(missing_ok=True)
    port_file(lab).unlink(missing_ok=True)


def _tgtadm(port: int) -> list[str]:
    return [TGTADM, "-C", str(port), "--lld", "iscsi"]


def _free_control_port(lab: Lab) -> int:
    """A control port no tgtd socket uses yet, starting from one derived from the lab's path."""
    seed = int.from_bytes(hashlib.sha256(str(lab.dir).encode()).digest()[:4], "big")
    for i in range(1000):
        port = 2000 + (seed + i) % 30000  # tgtd takes at most 32767
        if not (SOCKET_DIR / f"socket.{port}").exists():
            return port
    raise LabError(f"no free tgtd control port under {SOCKET_DIR}")


def _wait_ready(lab: Lab, pid: int, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not services.alive(pid):
            tail = log_file(lab).read_text(errors="replace").strip()[-400:]
            raise LabError(f"tgtd of node B exited at start: {tail or 'no output'}")
        probe = run([*_tgtadm(port), "--op", "show", "--mode", "target"], check=False)
        if probe.returncode == 0:
            return
        time.sleep(0.05)
    raise LabError(f"tgtd of node B (pid {pid}): no answer on control port {port}")
