"""The exporter's own metrics, the landing page, READY's wait for a first sample, and the
liveness the watchdog pings vouch for."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from iscsiprf import __version__
from iscsiprf.mof import load_builtin_schema
from iscsiprf.serve.apps import metrics_app
from iscsiprf.serve.http import HttpRequest
from iscsiprf.serve.metrics import MetricsView, render_exporter_text
from iscsiprf.serve.server import ServeOptions, Service, _wait_first_sample
from iscsiprf.serve.source import load_snapshot


class HealthOnly:
    def __init__(self, health: Mapping[str, Any] | None) -> None:
        self.value = health

    def health(self) -> Mapping[str, Any]:
        if self.value is None:
            raise OSError("not yet")
        return self.value


def test_exporter_families_parse_with_per_adapter_health() -> None:
    health = {"adapters": [
        {"device": "ROOT\\ISCSIPRT\\0000", "active": True, "source_errors": 2, "last_success": 1.5e9},
        {"device": "ROOT\\ISCSIPRT\\0001", "active": False, "source_errors": 0, "last_success": None},
    ]}  # fmt: skip
    fams = {
        f.name: f
        for f in text_string_to_metric_families(render_exporter_text(health, 0.0042).decode())
    }
    (build,) = fams["iscsiprf_build_info"].samples
    assert build.labels["version"] == __version__ and build.value == 1
    assert fams["iscsiprf_scrape_duration_seconds"].samples[0].value == 0.0042
    up = {s.labels["device"]: s.value for s in fams["iscsiprf_adapter_up"].samples}
    assert up == {"ROOT\\ISCSIPRT\\0000": 1, "ROOT\\ISCSIPRT\\0001": 0}
    errors = {s.labels["device"]: s.value for s in fams["iscsiprf_adapter_source_errors"].samples}
    assert errors == {"ROOT\\ISCSIPRT\\0000": 2, "ROOT\\ISCSIPRT\\0001": 0}
    last = fams["iscsiprf_adapter_last_success_timestamp_seconds"].samples
    assert [(s.labels["device"], s.value) for s in last] == [("ROOT\\ISCSIPRT\\0000", 1.5e9)]


def test_snapshot_source_has_no_adapter_families() -> None:
    text = render_exporter_text({"source": "snapshot x"}, 0.001).decode()
    assert "iscsiprf_build_info" in text and "iscsiprf_adapter_" not in text


def _write_snapshot(path: Path) -> None:
    path.write_text(
        '[{"InstanceName": "ROOT\\\\ISCSIPRT\\\\0000_0", "Active": true, "OakleyMainMode": 3}]'
    )


def test_metrics_app_appends_exporter_families_and_serves_a_landing_page(tmp_path: Path) -> None:
    _write_snapshot(tmp_path / "s.json")
    app = metrics_app(MetricsView(load_snapshot(load_builtin_schema(), tmp_path / "s.json")))

    def get(path: str) -> Any:
        return app(HttpRequest("GET", path, {}, b"", "test"))  # type: ignore[arg-type]

    resp = get("/metrics")
    text = b"".join(bytes(p) for p in resp.parts()).decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"iscsiprf_mmipsec_oakley_main_mode", "iscsiprf_build_info",
            "iscsiprf_scrape_duration_seconds"} <= names  # fmt: skip
    page = get("/")
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert b'<a href="/metrics">' in page.body


def test_first_sample_wait() -> None:
    done = threading.Event()
    assert _wait_first_sample(HealthOnly({"last_success": 1.0}), 5, done)  # type: ignore[arg-type]
    t0 = time.monotonic()
    assert not _wait_first_sample(HealthOnly({"last_success": None}), 0.3, done)  # type: ignore[arg-type]
    assert 0.3 <= time.monotonic() - t0 < 2
    assert not _wait_first_sample(HealthOnly(None), 0.1, done)  # type: ignore[arg-type]
    later = HealthOnly({"last_success": None})
    threading.Timer(0.2, lambda: setattr(later, "value", {"last_success": 2.0})).start()
    assert _wait_first_sample(later, 5, done)  # type: ignore[arg-type]
    # a live collector: every adapter connected and sampled a pull period after that
    adapters = [{"device": "D0", "active": False, "last_success": time.time()}]
    live = HealthOnly({"last_success": time.time(), "adapters": adapters})
    assert not _wait_first_sample(live, 0.3, done)  # type: ignore[arg-type]  # not connected
    adapters[0]["active"] = True
    t0 = time.monotonic()
    stamp = threading.Event()

    def sampling() -> None:  # the collector's samples, every 0.2 s
        while not stamp.wait(0.2):
            adapters[0]["last_success"] = time.time()

    threading.Thread(target=sampling, daemon=True).start()
    try:
        assert _wait_first_sample(live, 5, done)  # type: ignore[arg-type]
    finally:
        stamp.set()
    assert 1.0 <= time.monotonic() - t0 < 3  # a whole pull period after the connection
    done.set()  # a signal ends the wait at once
    t0 = time.monotonic()
    assert not _wait_first_sample(HealthOnly({"last_success": None}), 5, done)  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 1


def test_service_alive_only_while_both_endpoints_run(tmp_path: Path) -> None:
    _write_snapshot(tmp_path / "s.json")
    source = load_snapshot(load_builtin_schema(), tmp_path / "s.json")
    service = Service(source, ServeOptions(cimxml=("127.0.0.1", 0), metrics=("127.0.0.1", 0)))
    assert not service.alive()  # bound, not yet serving
    service.start()
    try:
        assert service.alive()
        service.servers[1].stop()  # one listener gone: no more watchdog pings
        assert not service.alive()
    finally:
        service.stop()
