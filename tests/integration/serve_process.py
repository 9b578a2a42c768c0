"""Start `iscsiprf serve` as a real subprocess on free loopback ports, and stop it by its PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def iscsiprf_command() -> list[str]:
    return [sys.executable, "-c", "from iscsiprf.cli import main; main()"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    return env


@dataclass
class ServeProcess:
    proc: subprocess.Popen[str]
    lines: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            self.lines.append(rec)
            if rec.get("event") == "listening":
                self.urls[rec["endpoint"]] = rec["url"]

    @property
    def cimxml_url(self) -> str:
        return self.urls["cimxml"]

    @property
    def metrics_url(self) -> str:
        return self.urls["metrics"]

    def port(self, endpoint: str) -> int:
        return int(self.urls[endpoint].rsplit(":", 1)[1])

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.lines if r.get("event") == name]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=timeout)


def start_serve(
    *args: str, timeout: float = 20.0, env: dict[str, str] | None = None
) -> ServeProcess:
    """`iscsiprf serve ARGS --cimxml 127.0.0.1:0 --metrics 127.0.0.1:0`, ready to answer."""
    cmd = [
        *iscsiprf_command(),
        "serve",
        "--cimxml",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env={**child_env(), **(env or {})},
    )  # fmt: skip
    sp = ServeProcess(proc)
    threading.Thread(target=sp._pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(sp.urls) == 2 and sp.events("ready"):
            return sp
        if proc.poll() is not None:
            time.sleep(0.1)
            raise RuntimeError(f"iscsiprf serve exited {proc.returncode}: {''.join(sp.raw)}")
        time.sleep(0.05)
    sp.stop()
    raise RuntimeError(f"iscsiprf serve did not become ready: {''.join(sp.raw)}")


def write_snapshot(path: Path, adapters: int = 3) -> list[dict[str, Any]]:
    """A snapshot with `adapters` MMIPSECStats instances (values from the schema's data items)
    and one QMIPSECStats instance; returns the objects written."""
    from iscsiprf.mof import load_builtin_schema

    schema = load_builtin_schema()
    mm = schema.cls("MSiSCSI_MMIPSECStats")
    qm = schema.cls("MSiSCSI_QMIPSECStats")
    objs: list[dict[str, Any]] = []
    for i in range(adapters):
        d: dict[str, Any] = {"InstanceName": f"ROOT\\ISCSIPRT\\{i:04d}_0", "Active": i % 2 == 0}
        for p in mm.data_items():
            d[p.name] = (p.data_id or 0) * 10 + i
        objs.append(d)
    q: dict[str, Any] = {
        "__CLASS": qm.name,
        "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
        "Active": True,
    }
    for p in qm.data_items():
        q[p.name] = 2**40 + (p.data_id or 0)
    objs.append(q)
    path.write_text(json.dumps(objs), encoding="utf-8")
    return objs
