"""`iscsiprf serve --config` wires the ipsec layer's live collector (no IKE daemon here: the
adapter's instance is served with Active = FALSE, and shutdown closes the collector)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from shared_data import daemonless_adapters

pywbem = pytest.importorskip("pywbem", reason="pywbem (the reference WBEM client) is not installed")

sys.path.insert(0, str(Path(__file__).parent))  # the helper beside this file
from serve_process import start_serve  # noqa: E402

pytestmark = pytest.mark.interop


def test_live_source_without_a_daemon(tmp_path: Path) -> None:
    config = daemonless_adapters(tmp_path)
    sp = start_serve("--config", str(config))
    try:
        conn = pywbem.WBEMConnection(sp.cimxml_url, default_namespace="root/wmi", timeout=20)
        (inst,) = conn.EnumerateInstances("MSiSCSI_MMIPSECStats")
        assert inst["InstanceName"] == "ROOT\\ISCSIPRT\\0007_0"
        assert inst["Active"] is False
        assert inst.properties["OakleyMainMode"].type == "uint64"
        with urllib.request.urlopen(sp.metrics_url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        assert (
            'iscsiprf_instance_active{class="MSiSCSI_MMIPSECStats",instance_name="ROOT\\\\ISCSIPRT\\\\0007_0"} 0'
            in text
        )
        assert "iscsiprf_collector_events_processed_total" in text
    finally:
        assert sp.stop() == 0
    assert sp.events("stopped")


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    import subprocess

    from serve_process import child_env, iscsiprf_command

    r = subprocess.run([*iscsiprf_command(), "serve", "--config", str(tmp_path / "missing.toml")],
                       capture_output=True, text=True, timeout=60, env=child_env())  # fmt: skip
    assert r.returncode == 1  # a missing input, not a bad command line
    assert r.stderr.startswith(f"{tmp_path / 'missing.toml'}:1:1: error: cannot read")
    assert "Traceback" not in r.stderr
