"""`watch` beside a running `serve`: through its /metrics (`--url`, with the server's credentials)
or through the collector's state file (`--config`, read-only while serve holds the lock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared_data import daemonless_adapters

sys.path.insert(0, str(Path(__file__).parent))  # the helper beside this file
from serve_process import child_env, iscsiprf_command, start_serve, write_snapshot  # noqa: E402

pytestmark = pytest.mark.interop


def _watch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*iscsiprf_command(), "watch", "--once", *args],
        capture_output=True, text=True, timeout=60, env={**child_env(), "COLUMNS": "200"},
    )  # fmt: skip


def test_watch_url_reads_a_running_server_with_its_credentials(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    instances = write_snapshot(snap, adapters=2)
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    sp = start_serve("--snapshot", str(snap), "--user", "op", "--password-file", str(secret))
    try:
        url = sp.metrics_url
        r = _watch("--url", url, "--user", "op", "--password-file", str(secret))
        assert r.returncode == 0, r.stderr
        for inst in instances:
            assert inst["InstanceName"] in r.stdout
        oakley = f"{instances[1]['OakleyMainMode']:,}"
        assert "OakleyMainMode" in r.stdout and oakley in r.stdout, r.stdout
        denied = _watch("--url", url, "--user", "op", "--password-file", str(wrong))
        assert denied.returncode == 1
        assert denied.stderr == f"iscsiprf: error: GET {url}/metrics: HTTP 401 Unauthorized\n"
    finally:
        assert sp.stop() == 0


def test_watch_url_without_a_server_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _watch("--url", f"http://127.0.0.1:{port}")
    assert r.returncode == 1
    assert r.stderr.startswith(f"iscsiprf: error: GET http://127.0.0.1:{port}/metrics: ")
    assert "Traceback" not in r.stderr
    bad = _watch("--url", "http://127.0.0.1:1", "--snapshot", "x.json")
    assert bad.returncode == 2 and "not --snapshot and --url" in bad.stderr


def test_watch_config_beside_a_running_serve(tmp_path: Path) -> None:
    config = daemonless_adapters(tmp_path)
    sp = start_serve("--config", str(config))
    try:
        r = _watch("--config", str(config))
        assert r.returncode == 0, r.stderr
        assert "ROOT\\ISCSIPRT\\0007_0" in r.stdout
        assert "a collector is running on these adapters" in r.stderr
        assert "another collector" not in r.stderr
    finally:
        assert sp.stop() == 0
