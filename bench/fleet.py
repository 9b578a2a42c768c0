"""Fleet scale, as a real Prometheus measures it.

Starts N `iscsiprf serve --snapshot` processes with 1 adapter and N with 100 adapters (both
classes per adapter), plus one reference target: a minimal Python HTTP server that replays the
exact bytes of a 100-adapter scrape (no source read, no formatting). Debian's Prometheus scrapes
all of them every second for a bounded time, with `--enable-feature=extra-scrape-metrics` so that
it records the body size. Reported per target, from Prometheus's own series:
`scrape_duration_seconds` p50/p99, `scrape_samples_scraped`, `scrape_body_size_bytes`; per
iscsiprf process its CPU time (from /proc) per scrape and in percent of one core, and its own
`iscsiprf_scrape_duration_seconds` (source read + formatting) p50/p99.

Goal: a 100-adapter scrape under 20 ms p99 as Prometheus measures it.

    PYTHONPATH=src .venv/bin/python bench/fleet.py [--servers N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "integration"))  # the test suite's process helpers

from prometheus_process import Prometheus, free_port, have_prometheus  # noqa: E402
from serve_process import ServeProcess, start_serve  # noqa: E402

from iscsiprf.mof import load_builtin_schema  # noqa: E402

GOAL_P99 = 0.020
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The reference: the same bytes from a server that does nothing else (stdlib http.server).
REPLAY = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
body = open(sys.argv[1], "rb").read()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""


def write_snapshot(path: Path, adapters: int) -> None:
    schema = load_builtin_schema()
    objs: list[dict[str, Any]] = []
    for cls_name in ("MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"):
        cls = schema.cls(cls_name)
        for i in range(adapters):
            d: dict[str, Any] = {"__CLASS": cls.name, "InstanceName": f"ROOT\\ISCSIPRT\\{i:04d}_0",
                                 "Active": True}  # fmt: skip
            for p in cls.data_items():
                d[p.name] = (i * 7919 + (p.data_id or 0) * 104729) % 10**9
            objs.append(d)
    path.write_text(json.dumps(objs), encoding="utf-8")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, default=3, help="servers of each size (default 3)")
    ap.add_argument("--seconds", type=float, default=30.0, help="scraping time (default 30)")
    args = ap.parse_args()
    if not have_prometheus():
        print(
            "bench/fleet.py: needs Debian's prometheus package (scripts/bootstrap)", file=sys.stderr
        )
        return 1
    work = Path(tempfile.mkdtemp(prefix="iscsiprf-fleet-"))
    servers: list[tuple[str, int, ServeProcess]] = []
    replay: subprocess.Popen[bytes] | None = None
    prom: Prometheus | None = None
    try:
        for adapters in (1, 100):
            snap = work / f"snap-{adapters}.json"
            write_snapshot(snap, adapters)
            for i in range(args.servers):
                sp = start_serve("--snapshot", str(snap))
                sp.lines.clear()  # its access log is not kept
                servers.append((f"iscsiprf-{adapters}-{i}", adapters, sp))
        # the reference replays what a 100-adapter server answers
        big = next(sp for _, a, sp in servers if a == 100)
        with urllib.request.urlopen(big.metrics_url + "/metrics", timeout=10) as r:
            (work / "replay.txt").write_bytes(r.read())
        replay_port = free_port()
        replay = subprocess.Popen([sys.executable, "-c", REPLAY, str(work / "replay.txt"),
                                   str(replay_port)])  # fmt: skip
        targets = [(name, sp.metrics_url.removeprefix("http://")) for name, _, sp in servers]
        targets.append(("replay-100", f"127.0.0.1:{replay_port}"))
        prom = Prometheus(work / "prom", [
            {"job_name": name, "static_configs": [{"targets": [addr]}]} for name, addr in targets
        ], extra_args=["--enable-feature=extra-scrape-metrics"])  # fmt: skip
        # warm-up: every target scraped once (first connections, first renderings) before timing
        prom.wait_for("up == 1", lambda r: len(r) == len(targets), timeout=30)
        time.sleep(2)
        cpu0 = {name: cpu_seconds(sp.proc.pid) for name, _, sp in servers}
        prom_cpu0 = cpu_seconds(prom.proc.pid)
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        cpu = {name: cpu_seconds(sp.proc.pid) - cpu0[name] for name, _, sp in servers}
        prom_cpu = cpu_seconds(prom.proc.pid) - prom_cpu0
        prom_rss = rss_mib(prom.proc.pid)
        with urllib.request.urlopen(prom.url + "/metrics", timeout=10) as r:
            own = r.read().decode()
        head_series = next(float(line.split()[1]) for line in own.splitlines()
                           if line.startswith("prometheus_tsdb_head_series "))  # fmt: skip
        window = f"{int(elapsed)}s"

        def per_job(expr: str) -> dict[str, float]:
            return {r["metric"]["job"]: float(r["value"][1]) for r in prom.query(expr)}  # type: ignore[union-attr]

        p50 = per_job(f"quantile_over_time(0.5, scrape_duration_seconds[{window}])")
        p99 = per_job(f"quantile_over_time(0.99, scrape_duration_seconds[{window}])")
        own50 = per_job(f"quantile_over_time(0.5, iscsiprf_scrape_duration_seconds[{window}])")
        own99 = per_job(f"quantile_over_time(0.99, iscsiprf_scrape_duration_seconds[{window}])")
        count = per_job(f"count_over_time(scrape_duration_seconds[{window}])")
        samples = per_job(f"avg_over_time(scrape_samples_scraped[{window}])")
        size = per_job(f"avg_over_time(scrape_body_size_bytes[{window}])")
        up = per_job("up")
    finally:
        if prom is not None:
            prom.stop()
        if replay is not None:
            os.kill(replay.pid, signal.SIGTERM)
            replay.wait(timeout=10)
        for _, _, sp in servers:
            sp.stop()

    print(f"iscsiprf fleet benchmark — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"Prometheus scraping {len(targets)} targets every 1 s for {elapsed:.0f} s")  # fmt: skip
    print(f"{'target':<16}{'up':>3}{'scrapes':>9}{'p50 ms':>9}{'p99 ms':>9}{'samples':>9}"
          f"{'bytes':>10}{'CPU %':>7}{'CPU ms/scrape':>15}{'own p50/p99 ms':>16}")  # fmt: skip

    def own(name: str) -> str:
        """iscsiprf's own iscsiprf_scrape_duration_seconds: reading the source and formatting."""
        if name not in own50 or name not in cpu:  # the replay repeats a captured value
            return "-"
        return f"{1000 * own50[name]:.2f}/{1000 * own99[name]:.2f}"

    for name, _ in targets:
        c = cpu.get(name)
        cpu_pct = f"{100 * c / elapsed:7.1f}" if c is not None else f"{'-':>7}"
        cpu_per = (
            f"{1000 * c / max(count.get(name, 1), 1):15.2f}" if c is not None else f"{'-':>15}"
        )
        print(f"{name:<16}{up.get(name, 0):>3.0f}{count.get(name, 0):>9.0f}"
              f"{1000 * p50.get(name, float('nan')):>9.2f}{1000 * p99.get(name, float('nan')):>9.2f}"
              f"{samples.get(name, 0):>9.0f}{size.get(name, 0):>10.0f}{cpu_pct}{cpu_per}"
              f"{own(name):>16}")  # fmt: skip
    per_second = sum(samples.values())  # every target is scraped once a second
    print(f"Prometheus: {per_second:.0f} samples/s ingested, CPU {100 * prom_cpu / elapsed:.1f} % "
          f"of a core = {1e6 * prom_cpu / elapsed / per_second:.1f} µs per sample; "
          f"{head_series:.0f} head series, RSS {prom_rss:.0f} MiB")  # fmt: skip
    big_p99 = max(p99[n] for n, a, _ in servers if a == 100)
    big_p50 = max(p50[n] for n, a, _ in servers if a == 100)
    ref = p99.get("replay-100", float("nan"))
    print(f"Reference (replay-100: the same bytes from a server that only replays them): p50 "
          f"{1000 * p50.get('replay-100', float('nan')):.2f} ms, p99 {1000 * ref:.2f} ms → "
          f"worst 100-adapter iscsiprf p99 / replay p99 = {big_p99 / ref:.2f}×")  # fmt: skip
    verdict = "met" if big_p99 < GOAL_P99 else "NOT met"
    print(
        f"Goal: 100-adapter scrape p99 < {1000 * GOAL_P99:.0f} ms as Prometheus measures it: "
        f"{verdict} (worst p99 {1000 * big_p99:.2f} ms, worst p50 {1000 * big_p50:.2f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
