"""Benchmark: the ipsec collector against two real strongSwan daemons holding 10 and 1,000 IKE SAs.

Needs root, `ip`, charon-systemd, swanctl (as the lab). Creates its own namespaces
`icb<pid>A`/`icb<pid>B` and directory, stops its daemons by PID and deletes both namespaces at the
end (also on errors). N IKEv2 connections (`b0..b{N-1}`, one CHILD_SA each, kernel-libipsec)
are initiated from A through vici; a Collector per node follows both daemons.

Prints:
* collector CPU seconds per 1,000 events while the SAs come up (CPU of the collector's threads,
  from /proc/self/task), against the CPU the vici client itself spends decoding the same kind of
  traffic (one `list-sas` of all SAs, the reference, measured in the same run);
* query latency (LiveSource.enumerate of MSiSCSI_MMIPSECStats + QMIPSECStats) with 10 and with
  1,000 SAs established, and their ratio (goal: cumulative counters independent of the SA count);
* the collector's CPU share over 30 s at one query per second with 1,000 SAs (goal: < 1 % of a core).

Usage: sudo .venv/bin/python bench/collector.py [--sas 1000] [--idle 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import vici

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from iscsiprf.ipsec.collector import Collector  # noqa: E402
from iscsiprf.ipsec.config import AdapterConfig  # noqa: E402
from iscsiprf.ipsec.live import LiveSource  # noqa: E402
from iscsiprf.ipsec.provider import IpsecProvider  # noqa: E402
from iscsiprf.mof import load_builtin_schema  # noqa: E402
from iscsiprf.wmi.broker import Broker  # noqa: E402


def sh(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def strongswan_conf(d: Path) -> str:
    return f"""charon-systemd {{
    journal {{ default = -1 }}
}}
charon {{
    load = random nonce aes sha1 sha2 hmac gmp pem pkcs1 x509 pubkey openssl kdf kernel-libipsec kernel-netlink socket-default vici counters error-notify updown
    ikesa_table_size = 1024
    plugins {{
        vici {{ socket = unix://{d}/charon.vici }}
        error-notify {{ socket = unix://{d}/charon.enfy }}
        kernel-libipsec {{ allow_peer_ts = no }}
    }}
}}
swanctl {{
    load = pem pkcs1 x509 revocation constraints pubkey openssl random
}}
"""


def swanctl_conf(me: str, peer: str, side: str, n: int) -> str:
    out = ["connections {"]
    for i in range(n):
        mine = f"10.{100 + i // 250}.{i % 250}.{1 if side == 'A' else 2}/32"
        theirs = f"10.{100 + i // 250}.{i % 250}.{2 if side == 'A' else 1}/32"
        other = "B" if side == "A" else "A"
        out.append(f"""    b{i} {{
        version = 2
        local_addrs = {me}
        remote_addrs = {peer}
        proposals = aes128gcm16-prfsha256-x25519
        rekey_time = 0
        local {{
            auth = psk
            id = b{i}-{side}
        }}
        remote {{
            auth = psk
            id = b{i}-{other}
        }}
        children {{
            b{i}c {{
                local_ts = {mine}
                remote_ts = {theirs}
                esp_proposals = aes128gcm16
                rekey_time = 0
            }}
        }}
    }}""")
    out.append(
        '}\nsecrets {\n    ike-all {\n        secret = "bench-secret-0123456789"\n    }\n}\n'
    )
    return "\n".join(out)


def thread_cpu() -> float:
    """CPU seconds of every thread but this one: the collectors' (the daemons are other processes)."""
    return time.process_time() - time.thread_time()


def connect(path: str) -> vici.Session:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return vici.Session(s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sas", type=int, default=1000)
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args()
    tag = f"icb{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="iscsiprf-bench-"))
    nodes = {"A": (f"{tag}A", "10.99.0.1", "10.99.0.2"), "B": (f"{tag}B", "10.99.0.2", "10.99.0.1")}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    collectors: list[Collector] = []
    try:
        sh(["ip", "netns", "add", nodes["A"][0]])
        sh(["ip", "netns", "add", nodes["B"][0]])
        sh(
            [
                "ip",
                "link",
                "add",
                "vbA",
                "netns",
                nodes["A"][0],
                "type",
                "veth",
                "peer",
                "name",
                "vbB",
                "netns",
                nodes["B"][0],
            ]
        )
        for side, (ns, me, _peer) in nodes.items():
            sh(["ip", "-n", ns, "addr", "add", f"{me}/24", "dev", f"vb{side}"])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            sh(["ip", "-n", ns, "link", "set", f"vb{side}", "up"])
            for i in range(args.sas):
                sh(
                    [
                        "ip",
                        "-n",
                        ns,
                        "addr",
                        "add",
                        f"10.{100 + i // 250}.{i % 250}.{1 if side == 'A' else 2}/32",
                        "dev",
                        "lo",
                    ]
                )
        for side, (ns, me, peer) in nodes.items():
            d = work / side
            d.mkdir()
            (d / "strongswan.conf").write_text(strongswan_conf(d))
            (d / "swanctl.conf").write_text(swanctl_conf(me, peer, side, args.sas))
            env = dict(os.environ, STRONGSWAN_CONF=str(d / "strongswan.conf"))
            procs[side] = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/sbin/charon-systemd"], env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            for _ in range(200):
                if (d / "charon.vici").exists():
                    try:
                        connect(str(d / "charon.vici")).stats()
                        break
                    except OSError:
                        pass
                time.sleep(0.05)
            sh(["ip", "netns", "exec", ns, "swanctl", "--load-all", "--uri", f"unix://{d}/charon.vici", "--noprompt",
                "--file", str(d / "swanctl.conf")], env=env)  # fmt: skip

        schema = load_builtin_schema()
        broker = Broker(schema)
        for i, side in enumerate("AB"):
            d = work / side
            cfg = AdapterConfig(device=f"ROOT\\ISCSIPRT\\{i:04d}", vici=f"unix://{d}/charon.vici",
                                error_notify=f"unix://{d}/charon.enfy", netns=nodes[side][0], state=d / "state.sqlite")  # fmt: skip
            col = Collector(cfg, schema).start()
            collectors.append(col)
            broker.register(IpsecProvider(cfg.device, schema, col.values, lambda c=col: c.active))
        source = LiveSource(schema, broker, {}, lambda: {}, [])
        time.sleep(1.5)

        def query() -> float:
            t0 = time.perf_counter()
            source.enumerate("MSiSCSI_MMIPSECStats")
            source.enumerate("MSiSCSI_QMIPSECStats")
            return time.perf_counter() - t0

        sess = connect(str(work / "A" / "charon.vici"))

        def bring_up(lo: int, hi: int) -> float:
            t0 = time.perf_counter()
            for i in range(lo, hi):
                list(sess.initiate({"child": f"b{i}c", "ike": f"b{i}", "timeout": 10000}))
            return time.perf_counter() - t0

        bring_up(0, 10)
        time.sleep(6)  # one list-sas period
        lat10 = statistics.median(query() for _ in range(200))

        ev0 = sum(c.engine.events for c in collectors)
        cpu0 = thread_cpu()
        took = bring_up(10, args.sas)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            v = collectors[1].values()["MSiSCSI_MMIPSECStats"]
            if v["KeyAdditions"] >= args.sas:
                break
            time.sleep(0.2)
        time.sleep(6)
        cpu1 = thread_cpu()
        events = sum(c.engine.events for c in collectors) - ev0
        per_k = (cpu1 - cpu0) / events * 1000

        ref_cpu0 = time.thread_time()
        for _ in range(5):
            sas = list(sess.list_sas())
        ref = (time.thread_time() - ref_cpu0) / 5
        assert len(sas) == args.sas

        lat1000 = statistics.median(query() for _ in range(200))
        idle0 = thread_cpu()
        t_idle = time.monotonic()
        while time.monotonic() - t_idle < args.idle:
            query()
            time.sleep(1.0)
        idle_cpu = (thread_cpu() - idle0) / (time.monotonic() - t_idle) / len(collectors)

        print(f"SAs established: {args.sas} (initiated in {took:.1f} s)")
        print(f"collector: {events} events, {per_k:.3f} CPU s per 1,000 events "
              f"(reference: the vici client decoding one list-sas of {args.sas} SAs: {ref:.3f} CPU s)")  # fmt: skip
        print(f"query latency: {lat10 * 1e3:.3f} ms with 10 SAs, {lat1000 * 1e3:.3f} ms with {args.sas} SAs, "
              f"ratio {lat1000 / lat10:.2f} (goal: ~1, independent of the SA count)")  # fmt: skip
        print(f"collector CPU at 1 query/s with {args.sas} SAs: {idle_cpu * 100:.2f} % of one core per adapter "
              f"(goal: < 1 %)")  # fmt: skip
        source.broker.close()
    finally:
        for c in collectors:
            c.close()
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns, _, _ in nodes.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
