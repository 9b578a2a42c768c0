"""Benchmark `iscsiprf serve`: CIM-XML EnumerateInstances and /metrics scrapes, server side.

A raw HTTP/1.1 client (keep-alive sockets, one prepared request, responses read by
Content-Length and not parsed) drives a real `iscsiprf serve --snapshot` subprocess with 1 and
1,000 adapters, 16 concurrent clients. For each case it prints requests/s, p50/p99 latency and
the server's RSS (start, after the first 10 % of requests, at the end, and its peak). In the same
run it times prometheus_client's own `generate_latest` on the same 1,000 instances — the
reference the `/metrics` writer is measured against — and checks that both texts parse to the
same samples with prometheus_client's parser.

Then the closed-loop goals of issue 14: 16 clients, each on one keep-alive connection, enumerate
1,000 instances (a reply of about 2.5 MB) back to back for `--seconds` (10); and 50 keep-alive
scrapers of `/metrics` on the same 1,000 instances. The reference for both is measured in the
same run: a replay server (a separate process that answers every request with the reply bytes
captured from iscsiprf, nothing else), driven by the same client code. The goal is
p99 <= max(60 ms, 1.5 x the replay p99).

    PYTHONPATH=src python bench/serve.py [--requests 10000] [--clients 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from iscsiprf.mof import load_builtin_schema  # noqa: E402
from iscsiprf.serve.metrics import IscsiprfCollector, MetricsView  # noqa: E402
from iscsiprf.serve.source import load_snapshot  # noqa: E402

MM = "MSiSCSI_MMIPSECStats"
ENUM_BODY = (
    '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    '<MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
    '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH>'
    f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{MM}"/></IPARAMVALUE>'
    "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
).encode()


def enum_request() -> bytes:
    head = (
        "POST /cimom HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml; charset=utf-8\r\n"
        "CIMOperation: MethodCall\r\nCIMMethod: EnumerateInstances\r\nCIMObject: root%2Fwmi\r\n"
        f"Content-Length: {len(ENUM_BODY)}\r\n\r\n"
    )
    return head.encode() + ENUM_BODY


SCRAPE_REQUEST = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def write_snapshot(path: Path, adapters: int) -> None:
    mm = load_builtin_schema().cls(MM)
    objs: list[dict[str, Any]] = []
    for i in range(adapters):
        d: dict[str, Any] = {"InstanceName": f"ROOT\\ISCSIPRT\\{i:04d}_0", "Active": True}
        for p in mm.data_items():
            d[p.name] = (i * 7919 + (p.data_id or 0) * 104729) % 10**9
        objs.append(d)
    path.write_text(json.dumps(objs), encoding="utf-8")


class Server:
    def __init__(self, snapshot: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from iscsiprf.cli import main; main()", "serve", "--snapshot",
             str(snapshot), "--cimxml", "127.0.0.1:0", "--metrics", "127.0.0.1:0"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        self.ports: dict[str, int] = {}
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            rec = json.loads(line)
            if rec.get("event") == "listening":
                self.ports[rec["endpoint"]] = rec["port"]
            if rec.get("event") == "ready":
                break
        # Drain the access log so the pipe never fills.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr or ()], daemon=True).start()

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the server process, KiB."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            fields[k] = v.strip()
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def read_response(sock: socket.socket, buf: bytearray) -> int:
    """Read one HTTP response (Content-Length framed); return its status."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":")[1])
    need = end + length
    while len(buf) < need:
        chunk = sock.recv(max(262144, need - len(buf)))
        if not chunk:
            raise ConnectionError("short body")
        buf += chunk
    del buf[:need]
    return status


def run_load(server: Server, port: int, request: bytes, total: int, clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = [0]
    rss_marks: list[int] = []
    errors = [0]

    def client() -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        buf = bytearray()
        local: list[float] = []
        while True:
            with lock:
                if counter[0] >= total:
                    break
                counter[0] += 1
                n = counter[0]
            t0 = time.perf_counter()
            sock.sendall(request)
            if read_response(sock, buf) != 200:
                errors[0] += 1
            local.append(time.perf_counter() - t0)
            if n % max(1, total // 10) == 0:
                rss_marks.append(server.rss_kib()[0])
        sock.close()
        with lock:
            latencies.extend(local)

    rss_start = server.rss_kib()[0]
    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    rss_end, hwm = server.rss_kib()
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rss_start": rss_start,
        "rss_10pct": rss_marks[0] if rss_marks else rss_start,
        "rss_marks": rss_marks,
        "rss_end": rss_end,
        "rss_peak": hwm,
    }


REPLAY_SERVER = r"""
import socket, sys, threading
reply = open(sys.argv[1], "rb").read()
lsock = socket.create_server(("127.0.0.1", 0), backlog=1024)
print(lsock.getsockname()[1], flush=True)

def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(buf) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            buf = buf[length:]
            conn.sendall(reply)

while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


class ReplayServer:
    """The reference: a process that answers every request with the same reply bytes."""

    def __init__(self, reply: bytes, tmp: Path) -> None:
        path = tmp / "reply.bin"
        path.write_bytes(reply)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", REPLAY_SERVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def fetch_raw(port: int, request: bytes) -> bytes:
    """One whole response (head and body) as the server sent it."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(262144)
        end = buf.index(b"\r\n\r\n") + 4
        length = 0
        for line in bytes(buf[:end]).decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":")[1])
        while len(buf) < end + length:
            buf += sock.recv(262144)
        return bytes(buf[: end + length])


def closed_loop(port: int, request: bytes, clients: int, seconds: float) -> dict[str, float]:
    """`clients` keep-alive connections, each sending the request back to back for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        buf = bytearray()
        local: list[float] = []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            sock.sendall(request)
            if read_response(sock, buf) != 200:
                errors[0] += 1
            local.append(time.perf_counter() - t0)
        sock.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    start.wait()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def goal_case(
    label: str, port: int, request: bytes, clients: int, seconds: float, tmp: Path
) -> tuple[float, float]:
    """Closed loop against iscsiprf and against a replay of its reply; (ours, replay) p99 ms."""
    replay = ReplayServer(fetch_raw(port, request), tmp)
    try:
        ref = closed_loop(replay.port, request, clients, seconds)
    finally:
        replay.stop()
    ours = closed_loop(port, request, clients, seconds)
    goal = max(60.0, 1.5 * ref["p99_ms"])
    for name, r in (("replay server (reference)", ref), ("iscsiprf serve", ours)):
        print(
            f"  {label}, {name:<26} {r['requests']:>6} req  {r['rps']:>7.1f} req/s  "
            f"p50 {r['p50_ms']:>7.1f} ms  p99 {r['p99_ms']:>7.1f} ms  errors {r['errors']:.0f}"
        )
    verdict = "met" if ours["p99_ms"] <= goal else "NOT met"
    print(
        f"  → p99 {ours['p99_ms']:.1f} ms vs replay {ref['p99_ms']:.1f} ms "
        f"({ours['p99_ms'] / ref['p99_ms']:.2f}×); goal ≤ max(60 ms, 1.5× replay) = {goal:.1f} ms: {verdict}"
    )
    return ours["p99_ms"], ref["p99_ms"]


def show(label: str, r: dict[str, Any]) -> None:
    marks = r["rss_marks"][1:] or [r["rss_end"]]
    print(
        f"{label:<44} {r['requests']:>6} req  {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:>7.2f} ms  "
        f"p99 {r['p99_ms']:>7.2f} ms  errors {r['errors']}\n"
        f"{'':<44} RSS MiB: start {r['rss_start'] / 1024:.1f}, after 10 % {r['rss_10pct'] / 1024:.1f}, "
        f"then {min(marks) / 1024:.1f}..{max(marks) / 1024:.1f} at each further 10 %, "
        f"end {r['rss_end'] / 1024:.1f}, peak {r['rss_peak'] / 1024:.1f}"
    )


def samples(text: str) -> set[tuple[Any, ...]]:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if not s.name.endswith("_timestamp_seconds")
    }


def reference(snapshot: Path, rounds: int) -> tuple[float, float]:
    """p50 of prometheus_client.generate_latest and of our writer, in-process, same data."""
    view = MetricsView(load_snapshot(load_builtin_schema(), snapshot))
    registry = CollectorRegistry()
    registry.register(IscsiprfCollector(view))
    gen_times, fast_times = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        ref = generate_latest(registry)
        gen_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours = view.render_text()
        fast_times.append(time.perf_counter() - t)
    same = samples(ref.decode()) == samples(ours.decode())
    print(
        f"  prometheus_client parser: both texts parse, same samples: {same} ({len(samples(ours.decode()))} samples)"
    )
    return statistics.median(gen_times) * 1000, statistics.median(fast_times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--reference-rounds", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each closed loop")
    ap.add_argument("--scrapers", type=int, default=50)
    ap.add_argument("--goals-only", action="store_true", help="only the closed-loop goals")
    args = ap.parse_args()
    print(f"iscsiprf serve benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{args.clients} concurrent clients, {args.requests} requests per case")  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        snap = Path(tmp) / "goal1000.json"
        write_snapshot(snap, 1000)
        server = Server(snap)
        try:
            print(f"Closed loops on 1,000 instances, {args.seconds:g} s each:")
            goal_case(f"EnumerateInstances, {args.clients} clients", server.ports["cimxml"],
                      enum_request(), args.clients, args.seconds, Path(tmp))  # fmt: skip
            goal_case(f"/metrics, {args.scrapers} scrapers", server.ports["metrics"],
                      SCRAPE_REQUEST, args.scrapers, args.seconds, Path(tmp))  # fmt: skip
        finally:
            server.stop()
        if args.goals_only:
            return
        for adapters in (1, 1000):
            snap = Path(tmp) / f"snap{adapters}.json"
            write_snapshot(snap, adapters)
            server = Server(snap)
            try:
                for name, port, req in (
                    ("EnumerateInstances", server.ports["cimxml"], enum_request()),
                    ("/metrics scrape", server.ports["metrics"], SCRAPE_REQUEST),
                ):
                    one = run_load(server, port, req, max(50, args.requests // 50), 1)
                    show(f"{name}, {adapters} adapter(s), 1 client", one)
                    r = run_load(server, port, req, args.requests, args.clients)
                    show(f"{name}, {adapters} adapter(s), {args.clients} clients", r)
                    results[f"{name}/{adapters}/1"] = one
                    results[f"{name}/{adapters}/n"] = r
            finally:
                server.stop()
        print("Reference, in-process, the same 1,000 instances:")
        gen_ms, fast_ms = reference(Path(tmp) / "snap1000.json", args.reference_rounds)
    print(f"  prometheus_client generate_latest p50 {gen_ms:.1f} ms; iscsiprf writer p50 {fast_ms:.1f} ms "
          f"→ {gen_ms / fast_ms:.1f}× faster")  # fmt: skip
    scrape = results["/metrics scrape/1000/1"]["p50_ms"]
    print(f"  HTTP scrape of 1,000 instances p50 {scrape:.1f} ms (1 client) vs generate_latest alone "
          f"{gen_ms:.1f} ms → {gen_ms / scrape:.1f}×")  # fmt: skip
    enum1 = results["EnumerateInstances/1000/1"]["p50_ms"]
    enumn = results["EnumerateInstances/1000/n"]["p50_ms"]
    print(f"Goals: 1,000-instance enumeration p50 < 100 ms: {enum1:.1f} ms (1 client), {enumn:.1f} ms "
          f"({args.clients} clients); 1,000-instance scrape p50 < 100 ms: {scrape:.1f} ms (1 client), "
          f"{results['/metrics scrape/1000/n']['p50_ms']:.1f} ms ({args.clients} clients)")  # fmt: skip


if __name__ == "__main__":
    main()
