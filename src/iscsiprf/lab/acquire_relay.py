"""The acquire relay: on kernel-libipsec, turn "no SA for this trap" into a negotiation.

With kernel ESP, a packet that hits a trap policy makes the kernel send an XFRM acquire and
charon negotiates that child. strongSwan 5.9's userspace ESP (kernel-libipsec, which the lab
needs on kernels without ESP) routes the packet into its TUN device, finds the trap policy but no
SA, and only logs `could not find an outbound IPsec SA for reqid {N}, dropping packet`: it has no
acquire. The relay follows that line in each node's `charon.log` and asks the same node (over
VICI) to initiate the child whose fixed reqid it names (`iscsi_policy.BY_REQID`), as the kernel's
acquire would. The packet that triggered it is dropped all the same (as with a kernel acquire);
TCP's retransmission carries the login once the SA is up.

Like the kernel (whose larval state suppresses new acquires for a while), the relay starts one
negotiation per reqid at a time and, after a failed one, ignores that reqid for HOLDOFF seconds.

Run as `python -m iscsiprf.lab.acquire_relay --dir LAB_DIR` (the lab starts it, stops it by PID).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import vici

from . import services
from .iscsi_policy import BY_REQID
from .netns import LabError
from .topology import Lab, Node, load_lab

DROP_LINE = re.compile(r"could not find an outbound IPsec SA for reqid \{(\d+)\}")
# An IKEv1 negotiation with a wrong PSK gives up after 4.4 s in the lab; a login's SYNs are sent
# at 0, 1, 3, 7 and 15 s: 4 s of quiet cover the one at 7 s, so one login attempt of up to 15 s
# starts one negotiation, and a new login soon after a failure is not held back for long.
HOLDOFF = 4.0
AFTER_SUCCESS = 0.5
READY_TIMEOUT = 10.0
POLL = 0.05
MARKER = "iscsiprf.lab.acquire_relay"


def pid_file(lab: Lab) -> Path:
    return lab.dir / "acquire-relay.pid"


def log_file(lab: Lab) -> Path:
    return lab.dir / "acquire-relay.log"


def running_pid(lab: Lab) -> int | None:
    return services.running_pid(pid_file(lab), MARKER)


def start(lab: Lab) -> int:
    """Start the relay for `lab` (kept when it runs already); return its PID."""
    if (pid := running_pid(lab)) is not None:
        return pid
    # -u: its log lines reach the file as they happen.
    argv = [sys.executable, "-u", "-m", MARKER, "--dir", str(lab.dir)]
    pid = services.spawn(argv, pid_file(lab), log_file(lab), env=dict(os.environ))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and services.alive(pid):
        text = log_file(lab).read_text(errors="replace")
        if all(f"node {n.key}: listening" in text for n in lab.nodes):
            return pid
        time.sleep(0.05)
    tail = log_file(lab).read_text(errors="replace").strip()[-300:]
    stop(lab)
    raise LabError(f"acquire relay did not attach to both daemons: {tail or 'no output'}")


def stop(lab: Lab) -> None:
    services.stop([(pid_file(lab), MARKER)], timeout=2.0)


def reqid_of(message: str) -> int | None:
    """The reqid named by libipsec's drop line, or None for any other log message."""
    match = DROP_LINE.search(message)
    return int(match.group(1)) if match else None


class NodeRelay:
    """Follows one node's log events and initiates the child of a dropped packet's reqid."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._busy: set[int] = set()
        self._quiet_until: dict[int, float] = {}

    def run(self) -> None:
        """Follow the node's charon.log (its filelog logs ESP at level 2; charon restarts it
        empty, `append = no`): reading the file costs the daemon nothing, where a VICI `log`
        subscription makes charon encode and send every level-1 message to us (with one, a
        test reading the collector's state right after a main mode failed more often)."""
        print(f"node {self.node.key}: listening", flush=True)
        position, inode, partial = None, None, b""
        while True:
            try:
                with open(self.node.log_file, "rb") as log:
                    stat = os.fstat(log.fileno())
                    if position is None:
                        position = stat.st_size  # start: only what is logged from now on
                    elif stat.st_ino != inode or stat.st_size < position:
                        position, partial = 0, b""  # a new daemon run: a new file
                    inode = stat.st_ino
                    log.seek(position)
                    data = log.read(1 << 20)
                    position += len(data)
            except FileNotFoundError:
                data = b""
            *lines, partial = (partial + data).split(b"\n")
            for line in lines:
                reqid = reqid_of(line.decode("utf-8", "replace"))
                if reqid is not None:
                    self.acquire(reqid)
            if not data:
                time.sleep(POLL)

    def acquire(self, reqid: int) -> None:
        profile = BY_REQID.get(reqid)
        if profile is None:
            return
        with self._lock:
            if reqid in self._busy or time.monotonic() < self._quiet_until.get(reqid, 0.0):
                return
            self._busy.add(reqid)
        threading.Thread(target=self._initiate, args=(reqid,), daemon=True).start()

    def _initiate(self, reqid: int) -> None:
        profile = BY_REQID[reqid]
        started = time.monotonic()
        ok, error, skipped = False, "", False
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(60)
                sock.connect(str(self.node.vici_socket))
                session = vici.Session(sock)
                # A drop line delivered late, after the SA went up, must not start a second one.
                skipped = _installed(session, profile.child)
                if not skipped:
                    request = {"ike": profile.conn, "child": profile.child, "timeout": 30000}
                    for _ in session.initiate(request):
                        pass
            ok = True
        except (OSError, vici.exception.SessionException, vici.exception.CommandException) as exc:
            error = str(exc)
        took = time.monotonic() - started
        with self._lock:
            self._busy.discard(reqid)
            self._quiet_until[reqid] = time.monotonic() + (AFTER_SUCCESS if ok else HOLDOFF)
        if skipped:
            return
        outcome = f"{'established' if ok else 'failed'} in {took * 1000:.0f} ms"
        if error:
            outcome += f" ({error.removeprefix('Command failed: ')})"
        print(
            f"{time.strftime('%H:%M:%S')} node {self.node.key}: acquire reqid {{{reqid}}} -> "
            f"initiate {profile.conn}/{profile.child}: {outcome}",
            flush=True,
        )


def _installed(session: vici.Session, child: str) -> bool:
    for item in session.list_sas():
        for sa in item.values():
            for entry in sa.get("child-sas", {}).values():
                if _text(entry.get("name")) == child and _text(entry.get("state")) == "INSTALLED":
                    return True
    return False


def _text(value: object) -> str:
    """vici message keys are str, values bytes."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MARKER, description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    lab = load_lab(args.dir)
    if lab is None:
        print(f"no lab in {args.dir}", file=sys.stderr)
        return 1
    threads = [
        threading.Thread(target=NodeRelay(node).run, name=f"relay-{node.key}", daemon=True)
        for node in lab.nodes
    ]
    for thread in threads:
        thread.start()
    print(f"acquire relay for the lab in {lab.dir}: reqids {sorted(BY_REQID)}", flush=True)
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
