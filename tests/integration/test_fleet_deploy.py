"""What ships for operators, checked with the real tools: promtool on the rules, systemd-analyze
on the unit, sd_notify against a real datagram socket, and a real Prometheus scraping
`iscsiprf serve --web-config` over HTTPS with a client certificate and bcrypt basic auth."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
sys.path.insert(0, str(Path(__file__).parents[1]))
from prometheus_process import PROMTOOL, Prometheus, have_prometheus  # noqa: E402
from serve_process import REPO, child_env, iscsiprf_command, start_serve, write_snapshot  # noqa: E402

from pki import Pki, have_openssl, make_pki  # noqa: E402

pytestmark = pytest.mark.interop
DEPLOY = REPO / "deploy"
need_prometheus = pytest.mark.skipif(
    not have_prometheus(),
    reason="prometheus/promtool not installed (scripts/bootstrap installs them)",
)


@need_prometheus
def test_promtool_check_rules() -> None:
    r = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "prometheus/rules.yml")],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 18 rules found" in r.stdout


@need_prometheus
def test_promtool_test_rules() -> None:
    r = subprocess.run([PROMTOOL, "test", "rules", "rules_test.yml"], cwd=DEPLOY / "prometheus",
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_every_alert_is_unit_tested_and_documented() -> None:
    import yaml

    rules = yaml.safe_load((DEPLOY / "prometheus/rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((DEPLOY / "prometheus/rules_test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
    assert alerts == tested
    ops = (REPO / "docs/operations.md").read_text()
    assert all(f"### {a}" in ops for a in alerts)


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = (DEPLOY / "systemd/iscsiprf.service").read_text()
    for key in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "StateDirectory=iscsiprf", "CapabilityBoundingSet=CAP_NET_ADMIN", "User=iscsiprf"):  # fmt: skip
        assert key in unit
    # verify checks that ExecStart's program exists: point it at this checkout's entry point.
    exe = Path(sys.executable).parent / "iscsiprf"
    if not exe.exists():
        pytest.skip(f"{exe} not installed (pip install -e .)")
    copy = tmp_path / "iscsiprf.service"
    copy.write_text(unit.replace("/usr/local/bin/iscsiprf", str(exe)))
    r = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr
    # and verify is not blind: a misspelt directive is reported
    (tmp_path / "bad.service").write_text(unit.replace("Type=notify", "Type=notfy").replace(
        "/usr/local/bin/iscsiprf", str(exe)))  # fmt: skip
    r = subprocess.run([analyze, "verify", str(tmp_path / "bad.service")],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "Failed to parse service type" in r.stderr


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=2)
    sock_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(sock_path)
        manager.settimeout(10)
        env = {"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"}
        started = time.monotonic()
        sp = start_serve("--snapshot", str(tmp_path / "snap.json"), env=env)
        try:
            first = manager.recv(4096).decode()
            # READY only after both listeners were bound and the snapshot was read
            assert first.startswith("READY=1\nSTATUS=serving")
            assert {r["endpoint"] for r in sp.events("listening")} == {"cimxml", "metrics"}
            assert sp.events("ready")[0]["first_sample"] is True
            assert sp.events("ready")[0]["systemd"] is True
            pings = [manager.recv(4096) for _ in range(3)]
            assert pings == [b"WATCHDOG=1"] * 3
            assert time.monotonic() - started < 10
        finally:
            assert sp.stop() == 0
        rest = []
        manager.settimeout(0.5)
        try:
            while True:
                rest.append(manager.recv(4096))
        except TimeoutError:
            pass
        assert rest[-1] == b"STOPPING=1" and set(rest[:-1]) <= {b"WATCHDOG=1"}


def test_no_notify_socket_no_notifications(tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=1)
    sp = start_serve("--snapshot", str(tmp_path / "snap.json"))
    try:
        assert sp.events("ready")[0]["systemd"] is False
    finally:
        assert sp.stop() == 0


# --- web-config: HTTPS, client certificates, bcrypt users -------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if not have_openssl():
        pytest.skip("openssl is not installed")
    return make_pki(tmp_path_factory.mktemp("pki"))


def _web_config(tmp_path: Path, pki: Pki, password: str) -> Path:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    p = tmp_path / "web.yml"
    p.write_text(
        "tls_server_config:\n"
        f"  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca_cert}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    return p


def _client(pki: Pki, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    if with_cert:
        ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return ctx


def _get(url: str, ctx: ssl.SSLContext, auth: tuple[str, str] | None, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=h),
                                    context=ctx, timeout=10) as r:  # fmt: skip
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@need_prometheus
def test_prometheus_scrapes_over_https_with_client_cert_and_basic_auth(
    tmp_path: Path, pki: Pki
) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=3)
    web = _web_config(tmp_path, pki, "scrape-me")
    sp = start_serve("--snapshot", str(tmp_path / "snap.json"), "--web-config", str(web))
    prom = None
    try:
        assert sp.metrics_url.startswith("https://") and sp.cimxml_url.startswith("https://")
        target = sp.metrics_url.removeprefix("https://")
        tls = {"ca_file": str(pki.ca_cert), "cert_file": str(pki.client_cert),
               "key_file": str(pki.client_key)}  # fmt: skip
        good = {"username": "prometheus", "password": "scrape-me"}
        jobs = [
            ("iscsiprf", tls, good),
            ("wrong-password", tls, {"username": "prometheus", "password": "nope"}),
            ("no-client-cert", {"ca_file": str(pki.ca_cert)}, good),
        ]
        prom = Prometheus(tmp_path / "prom", [
            {"job_name": name, "scheme": "https", "tls_config": t, "basic_auth": a,
             "static_configs": [{"targets": [target]}]} for name, t, a in jobs
        ])  # fmt: skip
        up = prom.wait_for("up", lambda r: len(r) == 3, timeout=20)
        deadline = time.monotonic() + 20
        while {r["metric"]["job"] for r in up if r["value"][1] == "1"} != {"iscsiprf"}:
            assert time.monotonic() < deadline, up
            time.sleep(0.25)
            up = prom.query("up")
        errors = {t["labels"]["job"]: t["lastError"] for t in prom.targets()}
        assert "401" in errors["wrong-password"]
        assert errors["no-client-cert"]  # the TLS handshake was refused
        assert "401" not in errors["no-client-cert"]
        series = prom.query('iscsiprf_mmipsec_oakley_main_mode_total{job="iscsiprf"}')
        assert len(series) == 3
        build = prom.query('iscsiprf_build_info{job="iscsiprf"}')
        assert build and build[0]["metric"]["version"]
        # the CIM-XML endpoint is protected the same way
        cim = sp.cimxml_url + "/cimom"
        body = (b'<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
                b'<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames">'
                b'<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH>'
                b'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="MSiSCSI_MMIPSECStats"/></IPARAMVALUE>'
                b'</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>')  # fmt: skip
        hdrs = {"CIMOperation": "MethodCall", "CIMMethod": "EnumerateInstanceNames",
                "Content-Type": 'application/xml; charset="utf-8"'}  # fmt: skip
        status, text = _get(cim, _client(pki, True), ("prometheus", "scrape-me"), body, hdrs)
        assert status == 200 and text.count(b"<INSTANCENAME") == 3
        assert _get(cim, _client(pki, True), ("prometheus", "bad"), body, hdrs)[0] == 401
        with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
            _get(cim, _client(pki, False), ("prometheus", "scrape-me"), body, hdrs)
        # the landing page links /metrics
        status, page = _get(sp.metrics_url + "/", _client(pki, True), ("prometheus", "scrape-me"))
        assert status == 200 and b'<a href="/metrics">' in page
    finally:
        if prom is not None:
            prom.stop()
        assert sp.stop() == 0


def test_web_config_errors_are_one_line(tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=1)
    bad = tmp_path / "web.yml"
    bad.write_text("basic_auth_users:\n  prometheus: plain\n")
    cmd = [*iscsiprf_command(), "serve", "--snapshot", str(tmp_path / "snap.json")]
    r = subprocess.run([*cmd, "--web.config.file", str(bad)], capture_output=True, text=True,
                       timeout=60, env=child_env())  # fmt: skip
    assert r.returncode == 1
    assert (
        r.stderr
        == f"{bad}:2:15: error: basic_auth_users.prometheus is not a bcrypt hash ($2b$...)\n"
    )
    (tmp_path / "pw").write_text("secret\n")
    r = subprocess.run([*cmd, "--web-config", str(bad), "--user", "u", "--password-file",
                        str(tmp_path / "pw")], capture_output=True,
                       text=True, timeout=60, env=child_env())  # fmt: skip
    assert r.returncode == 2 and "replaces --user" in r.stderr


def test_exporter_metrics_and_landing_page(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    write_snapshot(tmp_path / "snap.json", adapters=2)
    sp = start_serve("--snapshot", str(tmp_path / "snap.json"))
    try:
        with urllib.request.urlopen(sp.metrics_url + "/metrics", timeout=10) as r:
            fams = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
        from iscsiprf import __version__

        (build,) = fams["iscsiprf_build_info"].samples
        assert build.labels["version"] == __version__ and build.value == 1
        (dur,) = fams["iscsiprf_scrape_duration_seconds"].samples
        assert 0 < dur.value < 5
        with urllib.request.urlopen(sp.metrics_url + "/", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/html")
            assert re.search(rb'<a href="/metrics">', r.read())
    finally:
        assert sp.stop() == 0


def test_dashboard_model() -> None:
    from iscsiprf.mof import load_builtin_schema
    from iscsiprf.serve.metrics import plan_families

    dash = json.loads((DEPLOY / "grafana/iscsiprf.json").read_text())
    assert dash["__inputs"][0]["name"] == "DS_PROMETHEUS"
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"job", "adapter"} <= names
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    for e in exprs:
        assert 'job=~"$job"' in e  # never a hard-coded job
        assert "ISCSIPRT" not in e and 'instance_name="' not in e  # never a hard-coded adapter
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}"
    titles = {p["title"] for p in dash["panels"]}
    assert {"SA state per adapter", "Negotiation and authentication failures",
            "Quick-mode bytes", "Quick-mode packet drops", "All counters per adapter"} <= titles  # fmt: skip
    (table,) = [p for p in dash["panels"] if p["title"] == "All counters per adapter"]
    pattern = re.search(r'__name__=~"([^"]+)"', table["targets"][0]["expr"])
    assert pattern is not None
    families = [f.sample_name for f in plan_families(load_builtin_schema())]
    assert len(families) == 39
    assert all(re.fullmatch(pattern.group(1), n) for n in families)
