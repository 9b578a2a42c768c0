"""A real Prometheus scraping `iscsiprf serve` on both lab hosts, evaluating the shipped rules.

Each lab node gets its own `iscsiprf serve --config` (one adapter, a state file of its own) as
a fleet host would; Prometheus scrapes both every second and evaluates deploy/prometheus/rules.yml
every second (the authentication alert's `for:` shortened to 2 s in the test's copy). Checked
through Prometheus's HTTP API only: series and labels, a live tunnel's byte rate, restarts of the
collector without counter resets, a lost state file as docs/reliability.md describes it, the
authentication-failure alert firing for real, and every Grafana panel's PromQL returning data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from iscsiprf.lab import scenarios
from iscsiprf.lab.scenarios import LabSession
from iscsiprf.lab.topology import Lab, Node

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
from prometheus_process import Prometheus, free_port, have_prometheus  # noqa: E402
from serve_process import REPO, ServeProcess, start_serve  # noqa: E402

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        not have_prometheus(), reason="prometheus is not installed (scripts/bootstrap)"
    ),
]


def counter_names() -> list[str]:
    from iscsiprf.mof import load_builtin_schema
    from iscsiprf.serve.metrics import plan_families

    return [f.sample_name for f in plan_families(load_builtin_schema()) if f.kind == "counter"]


def direct_value(host: Host, name: str) -> float:
    """One sample read from the host's /metrics directly, as the first scrape would see it."""
    assert host.serve is not None
    with urllib.request.urlopen(host.serve.metrics_url + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")


def per_counter(fleet: Fleet, fn: str, host: str) -> dict[str, float]:
    """`fn(NAME{host=…}[5m])` for every cumulative counter (one query each: the function drops
    the metric name, so one query over all names would collide)."""
    return {n: fleet.value(f'{fn}({n}{{host="{host}"}}[5m])') for n in counter_names()}


@dataclass
class Host:
    node: Node
    config: Path
    state: Path
    cimxml: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)
    serve: ServeProcess | None = None

    def start(self) -> None:
        self.serve = start_serve(
            "--config", str(self.config),
            "--cimxml", f"127.0.0.1:{self.cimxml}", "--metrics", f"127.0.0.1:{self.metrics}",
        )  # fmt: skip

    def stop(self) -> None:
        if self.serve is not None:
            assert self.serve.stop() == 0
            self.serve = None


def _host(lab: Lab, node: Node, d: Path) -> Host:
    state = d / f"{node.key}.sqlite"
    config = d / f"{node.key}.toml"
    config.write_text(
        "[[adapter]]\n"
        f"device = '{node.device}'\n"
        f'vici = "{node.vici_uri}"\nerror_notify = "{node.enfy_uri}"\n'
        f'netns = "{node.netns}"\nstate = "{state}"\n'
    )
    return Host(node, config, state)


@dataclass
class Fleet:
    prom: Prometheus
    hosts: dict[str, Host]

    def value(self, expr: str) -> float:
        result = self.prom.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def wait_value(self, expr: str, check: Any, timeout: float = 20.0) -> float:
        result = self.prom.wait_for(expr, lambda r: len(r) == 1 and check(float(r[0]["value"][1])),
                                    timeout)  # fmt: skip
        assert len(result) == 1 and check(float(result[0]["value"][1])), (expr, result)
        return float(result[0]["value"][1])

    def scraped_since(self, key: str, t: float, timeout: float = 20.0) -> None:
        """Until Prometheus holds a successful scrape of host `key` taken after wall time `t`."""
        expr = f'timestamp(up{{host="{key}"}} == 1)'
        self.wait_value(expr, lambda v: v > t, timeout)


@pytest.fixture(scope="module")
def fleet(lab_session: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    d = tmp_path_factory.mktemp("fleet")
    hosts = {n.key: _host(lab_session.lab, n, d) for n in lab_session.lab.nodes}
    rules = (REPO / "deploy/prometheus/rules.yml").read_text()
    auth_for = "increase(iscsiprf_mmipsec_authentication_failures_total[5m]) > 0\n        for: 1m"
    assert auth_for in rules
    (d / "rules.yml").write_text(rules.replace(auth_for, auth_for.replace("1m", "2s")))
    prom = None
    try:
        for h in hosts.values():
            h.start()
        prom = Prometheus(d / "prom", [{
            "job_name": "iscsiprf",
            "static_configs": [{"targets": [f"127.0.0.1:{h.metrics}"], "labels": {"host": k}}
                               for k, h in hosts.items()],
        }], rule_files=[d / "rules.yml"])  # fmt: skip
        fleet = Fleet(prom, hosts)
        up = prom.wait_for('up{job="iscsiprf"} == 1', lambda r: len(r) == 2)
        assert len(up) == 2, prom.targets()
        yield fleet
    finally:
        if prom is not None:
            prom.stop()
        for h in hosts.values():
            h.stop()


def test_series_and_labels(fleet: Fleet, labs: LabSession) -> None:
    prom = fleet.prom
    for key, host in fleet.hosts.items():
        name = f"{host.node.device}_0"
        (s,) = prom.query(f'iscsiprf_mmipsec_oakley_main_mode_total{{host="{key}"}}')
        assert s["metric"] == {
            "__name__": "iscsiprf_mmipsec_oakley_main_mode_total", "job": "iscsiprf",
            "instance": f"127.0.0.1:{host.metrics}", "host": key, "instance_name": name,
        }  # fmt: skip
        # all 39 counter families, one series each (one adapter per host)
        families = prom.query(f'{{__name__=~"iscsiprf_(mm|qm)ipsec_.+", host="{key}"}}')
        assert len(families) == 39
        assert {f["metric"]["instance_name"] for f in families} == {name}
        # (an earlier test may have restarted a daemon: the collector reconnects within 5 s)
        for health in (f'iscsiprf_instance_active{{host="{key}", class="MSiSCSI_MMIPSECStats"}}',
                       f'iscsiprf_adapter_up{{host="{key}"}}', f'iscsiprf_collector_up{{host="{key}"}}'):  # fmt: skip
            fleet.wait_value(health, lambda v: v == 1)
    # the shipped rules load and evaluate without error
    groups = prom.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == 18
    deadline = time.monotonic() + 10
    while any(r["health"] != "ok" for r in rules) and time.monotonic() < deadline:
        time.sleep(0.5)
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
    assert all(r["health"] == "ok" for r in rules), [r for r in rules if r["health"] != "ok"]


def _ping(lab: Lab, src: str, dst: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.a.netns, "ping", "-q", "-c", str(count), "-i", "0.2",
         "-s", "1000", "-I", src, dst],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_rate_of_a_live_tunnels_bytes(fleet: Fleet, labs: LabSession) -> None:
    assert labs.initiate(2).ok
    ping = _ping(labs.lab, "10.99.3.1", "10.99.4.1", 60)
    try:
        # ping sends 5 packets/s of about 1 kB each way; the collector samples SA bytes once a
        # second, and the first 5 s windows mix in the idle time before the ping (measured
        # here: 2.5-3.3 kB/s once steady), so "well above nothing" is what is asserted
        steady = lambda v: 1000 < v < 50_000  # noqa: E731
        sent = fleet.wait_value(
            'rate(iscsiprf_qmipsec_tunnel_bytes_sent_total{host="A"}[5s])', steady
        )
        received = fleet.wait_value(
            'rate(iscsiprf_qmipsec_tunnel_bytes_received_total{host="B"}[5s])', steady
        )
        print(f"tunnel bytes/s: A sent {sent:.0f}, B received {received:.0f}")
        shown = 'rate(iscsiprf_qmipsec_tunnel_bytes_sent_total{host="A"}[5s])'
        print(json.dumps(fleet.prom.api("query", query=shown), indent=1))  # the README shows it
        assert fleet.value('iscsiprf_qmipsec_active_sa{host="A"}') >= 1
    finally:
        if ping.poll() is None:
            os.kill(ping.pid, signal.SIGTERM)
        ping.wait(timeout=10)


def test_restarting_the_collector_is_no_counter_reset(fleet: Fleet, labs: LabSession) -> None:
    a = fleet.hosts["A"]
    mm = 'iscsiprf_mmipsec_oakley_main_mode_total{host="A"}'
    earlier = fleet.value(mm)
    assert labs.initiate(1).ok
    before = fleet.wait_value(mm, lambda v: v == earlier + 1)
    for _ in range(2):  # twice: a restart right after a restart loses nothing either
        a.stop()
        restarted = time.time()
        a.start()
        assert direct_value(a, "iscsiprf_mmipsec_oakley_main_mode_total") == before
        fleet.scraped_since("A", restarted)
    assert fleet.value(mm) == before
    resets = per_counter(fleet, "resets", "A")
    assert len(resets) == 16 + 15  # every cumulative counter of both classes
    assert set(resets.values()) == {0.0}


def test_a_lost_state_file_is_one_counter_reset(fleet: Fleet, labs: LabSession) -> None:
    """docs/reliability.md: without its state file the collector starts over from zero and
    counts the SAs that are still up once; Prometheus sees one counter reset, so rate() and
    increase() stay right (never negative) while the absolute totals start over."""
    a = fleet.hosts["A"]
    mm = 'iscsiprf_mmipsec_oakley_main_mode_total{host="A"}'
    earlier = fleet.value(mm)
    assert labs.initiate(1).ok
    fleet.wait_value(mm, lambda v: v == earlier + 1)
    labs.reset()  # a second main mode after the first is gone: the total is then above what
    assert labs.initiate(1).ok  # a fresh collector can recount (the one SA still up)
    before = fleet.wait_value(mm, lambda v: v == earlier + 2)
    a.stop()
    for p in a.state.parent.glob(a.state.name + "*"):
        p.unlink()
    restarted = time.time()
    a.start()
    # READY came after a complete first sample: the first scrape already has the recount
    direct = direct_value(a, "iscsiprf_mmipsec_oakley_main_mode_total")
    fleet.scraped_since("A", restarted)
    after = fleet.value(mm)
    print(f"OakleyMainMode of A: {earlier:.0f} -> {before:.0f}, state file lost -> {after:.0f}")
    assert direct == after == 1  # the one IKEv1 SA still up, counted once
    assert after < before
    assert fleet.value(f"resets({mm}[5m])") == 1
    increases = per_counter(fleet, "increase", "A")
    assert min(increases.values()) >= 0
    assert a.state.exists()  # a new state file was started


def test_wrong_psk_fires_the_authentication_alert(fleet: Fleet, labs: LabSession) -> None:
    out = scenarios.wrong_psk(labs, 2)
    assert out.initiate is not None and not out.initiate.ok
    deadline = time.monotonic() + 30
    firing: list[dict[str, Any]] = []
    seen_pending = False
    while time.monotonic() < deadline:
        alerts = [a for a in fleet.prom.api("alerts")["alerts"]
                  if a["labels"]["alertname"] == "IscsiprfAuthenticationFailures"]  # fmt: skip
        seen_pending |= any(a["state"] == "pending" for a in alerts)
        firing = [a for a in alerts if a["state"] == "firing"]
        if {a["labels"]["host"] for a in firing} == {"A", "B"}:
            break
        time.sleep(0.25)
    assert {a["labels"]["host"] for a in firing} == {"A", "B"}, firing
    assert all(a["labels"]["severity"] == "critical" for a in firing)
    assert "authentication failures in 5 minutes" in firing[0]["annotations"]["description"]
    (rule,) = [r for g in fleet.prom.api("rules")["groups"] for r in g["rules"]
               if r["name"] == "IscsiprfAuthenticationFailures"]  # fmt: skip
    assert rule["state"] == "firing"
    print(json.dumps(firing[0], indent=1))  # the README shows this


def test_every_dashboard_panel_returns_data(fleet: Fleet, labs: LabSession) -> None:
    dash = json.loads((REPO / "deploy/grafana/iscsiprf.json").read_text())
    # what Grafana substitutes: one job, all hosts, the two adapters as an escaped regex
    names = [f"{h.node.device}_0" for h in fleet.hosts.values()]
    adapters = "|".join(n.replace("\\", "\\\\\\\\") for n in names)
    subst = {"$__rate_interval": "10s", "$job": "iscsiprf", "$instance": ".+",
             "$adapter": f"({adapters})"}  # fmt: skip
    checked = 0
    for panel in dash["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for k, v in subst.items():
                expr = expr.replace(k, v)
            assert "$" not in expr, expr
            result = fleet.prom.query(expr)
            assert result, f"{panel['title']}: {expr} returned nothing"
            if "instance_name" in expr:
                assert {r["metric"].get("instance_name") for r in result} <= set(names)
            checked += 1
    assert checked == sum(len(p["targets"]) for p in dash["panels"])
    (table,) = [p for p in dash["panels"] if p["title"] == "All counters per adapter"]
    expr = table["targets"][0]["expr"]
    for k, v in subst.items():
        expr = expr.replace(k, v)
    assert len(fleet.prom.query(expr)) == 2 * 39
