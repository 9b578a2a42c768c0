"""`iscsiprf serve` as a process: option ranges, a taken port, and SIGTERM under load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from iscsiprf.cli.serve_cmds import serve_cmd

sys.path.insert(0, str(Path(__file__).parent))  # the helper beside this file
from serve_process import child_env, iscsiprf_command, start_serve, write_snapshot  # noqa: E402

MM = "MSiSCSI_MMIPSECStats"


# --- option ranges: a usage error (exit 2) naming the option, before anything starts --------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--read-timeout", "-1"),
        ("--read-timeout", "nan"),
        ("--read-timeout", "inf"),
        ("--read-timeout", "0"),
        ("--max-body", "-1"),
        ("--max-body", "0"),
        ("--request-deadline", "-5"),
        ("--request-deadline", "0"),
        ("--request-deadline", "nan"),
        ("--request-deadline", "1e400"),
    ],
)
def test_out_of_range_options_are_usage_errors(option: str, value: str, tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=1)
    result = CliRunner().invoke(
        serve_cmd, ["--snapshot", str(tmp_path / "snap.json"), option, value]
    )
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output


# --- a taken port: exit 1 at once, naming the address ------------------------------------------


@pytest.mark.parametrize("endpoint", ["--metrics", "--cimxml"])
def test_a_taken_port_is_an_error_naming_the_address(endpoint: str, tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=1)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        args = {"--cimxml": "127.0.0.1:0", "--metrics": "127.0.0.1:0"}
        args[endpoint] = f"127.0.0.1:{port}"
        proc = subprocess.run(
            [*iscsiprf_command(), "serve", "--snapshot", str(tmp_path / "snap.json"),
             "--cimxml", args["--cimxml"], "--metrics", args["--metrics"]],
            capture_output=True, text=True, env=child_env(), timeout=30,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert (
        f"iscsiprf: error: cannot listen on 127.0.0.1:{port}: Address already in use" in proc.stderr
    )


# --- SIGTERM stops the server within seconds, whatever its clients do ---------------------------


def test_sigterm_stops_the_server_with_requests_in_flight(tmp_path: Path) -> None:
    write_snapshot(tmp_path / "snap.json", adapters=1000)
    sp = start_serve("--snapshot", str(tmp_path / "snap.json"))
    port = sp.port("cimxml")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        '<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances">'
        '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH>'
        f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{MM}"/></IPARAMVALUE>'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()
    request = (
        f"POST /cimom HTTP/1.1\r\nHost: x\r\nCIMOperation: MethodCall\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    stop = threading.Event()

    def enumerate_forever() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                while not stop.is_set():
                    s.sendall(request)
                    s.recv(65536)  # read a little: the big answer stays in flight
        except OSError:
            pass

    def send_headers_slowly() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"POST /cimom HTTP/1.1\r\n")
                while not stop.wait(0.2):
                    s.sendall(b"X")
        except OSError:
            pass

    clients = [threading.Thread(target=enumerate_forever) for _ in range(4)]
    clients.append(threading.Thread(target=send_headers_slowly))
    for t in clients:
        t.start()
    try:
        time.sleep(1.0)
        assert sp.proc.poll() is None
        started = time.monotonic()
        os.kill(sp.proc.pid, signal.SIGTERM)
        code = sp.proc.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert code == 0
        assert sp.events("stopped")
    finally:
        stop.set()
        for t in clients:
            t.join(timeout=10)
        sp.stop()


GUARDED = textwrap.dedent(
    """
    import re, signal, sys, threading, time
    from iscsiprf.serve.signal_guard import SignalGuard
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    guard = SignalGuard.start(grace=2.0)
    def hold_the_interpreter():
        # Catastrophic backtracking: the regex engine keeps the interpreter lock for ages.
        re.match(r"(a|aa)*c", "a" * 60)
    print("ready", flush=True)  # before: once the thread runs, this thread may never again
    threading.Thread(target=hold_the_interpreter, daemon=True).start()
    while not done.wait(0.5):
        pass
    guard.stop()
    """
)


@pytest.mark.parametrize("log_read", [True, False], ids=["stderr-read", "stderr-closed"])
def test_the_signal_guard_ends_a_process_whose_interpreter_is_held(log_read: bool) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", GUARDED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=child_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # the regex now holds the lock: Python handlers cannot run
        assert proc.stderr is not None
        if not log_read:
            proc.stderr.close()  # nobody reads the log any more: the kill must not depend on it
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=15)
        assert time.monotonic() - started < 5
        assert code == -signal.SIGKILL
        if log_read:
            assert "forced-stop" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_signal_guard_leaves_a_clean_stop_alone() -> None:
    script = textwrap.dedent(
        """
        import signal, threading
        from iscsiprf.serve.signal_guard import SignalGuard
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *a: done.set())
        guard = SignalGuard.start(grace=2.0)
        print(guard.pid, flush=True)
        done.wait(20)
        guard.stop()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert proc.stdout is not None
    watcher = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(watcher, 0)  # the watcher is gone too (and was reaped)
