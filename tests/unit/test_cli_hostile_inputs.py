"""Inputs found by review to end in an internal error before: each is now one located line
and exit status 1."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MM = "MSiSCSI_MMIPSECStats"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "iscsiprf", *args], capture_output=True,
                          text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)  # fmt: skip


def _input_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 1, r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 100_000, ["nested too deeply"]),
        ('[{"OakleyMainMode": ' + "9" * 5000 + "}]", ["digits"]),
        ('[{"InstanceName": "a\\ud800b"}]', ["not valid Unicode"]),
    ],
    ids=["deep", "huge-int", "surrogate"],
)
def test_wnode_encode_instances(tmp_path: Path, text: str, words: list[str]) -> None:
    f = tmp_path / "i.json"
    f.write_text(text)
    _input_error(_run("wnode", "encode", "--class", MM, "--instances", str(f)), str(f), *words)


def test_web_config_nested_too_deeply(tmp_path: Path) -> None:
    f = tmp_path / "web.yml"
    f.write_text("a: " + "[" * 20_000)
    snap = tmp_path / "s.json"
    snap.write_text("[]")
    r = _run("serve", "--snapshot", str(snap), "--web-config", str(f),
             "--cimxml", "127.0.0.1:0", "--metrics", "127.0.0.1:0")  # fmt: skip
    _input_error(r, str(f))


def test_a_fifo_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "ff"
    os.mkfifo(fifo)
    for args in (["wnode", "decode", str(fifo)], ["mof", "decode", str(fifo)]):
        _input_error(_run(*args), str(fifo))


@pytest.fixture
def exporter() -> Iterator[str]:
    """A loopback server answering /metrics with a counter that is not a count."""
    body = (
        b"# TYPE iscsiprf_mmipsec_oakley_main_mode_total counter\n"
        b'iscsiprf_mmipsec_oakley_main_mode_total{instance_name="x"} +Inf\n'
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_watch_url_with_a_non_finite_counter(exporter: str) -> None:
    _input_error(_run("watch", "--once", "--url", exporter), "not a counter value")


def test_counters_config_with_a_state_file_gone_bad(tmp_path: Path) -> None:
    from shared_data import daemonless_adapters

    config = daemonless_adapters(tmp_path)
    (tmp_path / "state.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    r = _run("counters", f"\\{MM}(*)\\OakleyMainMode", "--config", str(config), "--samples", "2",
             "--interval", "0")  # fmt: skip
    _input_error(r, "state.sqlite")
