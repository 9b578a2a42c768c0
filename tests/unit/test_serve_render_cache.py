"""One rendering per request and source generation (serve/render_cache.py, serve/apps.py).

Sharing is proved by counting renderer calls, never by timing."""

from __future__ import annotations

import json
import os
import threading
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from iscsiprf.mof import load_builtin_schema
from iscsiprf.serve.apps import cimxml_app, metrics_app
from iscsiprf.serve.cimxml_ops import CimOperations
from iscsiprf.serve.http import HttpRequest, HttpResponse
from iscsiprf.serve.metrics import MetricsView
from iscsiprf.serve.render_cache import RenderCache, source_generation
from iscsiprf.serve.source import load_snapshot

N = 12


class GatedRenderer:
    """A renderer that blocks until released, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self) -> bytes:
        with self.lock:
            self.calls += 1
            n = self.calls
        self.entered.set()
        assert self.release.wait(10)
        return f"rendering {n}".encode()


def test_concurrent_identical_requests_share_one_rendering_per_generation() -> None:
    cache = RenderCache()
    render = GatedRenderer()
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", 1, render))) for _ in range(N)
    ]
    threads[0].start()
    assert render.entered.wait(10)  # the first caller is rendering…
    for t in threads[1:]:
        t.start()  # …and the others arrive while it does
    render.release.set()
    for t in threads:
        t.join(timeout=20)
    assert render.calls == 1
    assert len(results) == N and all(r is results[0] for r in results)  # the same object
    # Later callers of the same generation get it without rendering.
    assert cache.get("k", 1, render) is results[0] and render.calls == 1
    # A new generation renders again, once.
    assert cache.get("k", 2, render) == b"rendering 2" and render.calls == 2
    assert cache.get("k", 2, render) == b"rendering 2" and render.calls == 2
    # Another key is another rendering.
    assert cache.get("other", 2, render) == b"rendering 3" and render.calls == 3


def test_without_a_generation_only_concurrent_callers_share() -> None:
    cache = RenderCache()
    render = GatedRenderer()
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", None, render)))
        for _ in range(N)
    ]
    threads[0].start()
    assert render.entered.wait(10)
    for t in threads[1:]:
        t.start()
    render.release.set()
    for t in threads:
        t.join(timeout=20)
    assert render.calls == 1 and len(results) == N
    # Finished: the next request sees fresh data.
    assert cache.get("k", None, render) == b"rendering 2" and render.calls == 2
    assert len(cache) == 0


def test_errors_reach_every_waiter_and_are_not_kept() -> None:
    cache = RenderCache()
    gate = threading.Event()
    calls = [0]

    def broken() -> bytes:
        calls[0] += 1
        gate.wait(10)
        raise RuntimeError("source broke")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            cache.get("k", 1, broken)
        except RuntimeError as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=20)
    assert len(errors) == 4
    assert cache.get("k", 1, lambda: b"fine") == b"fine"  # the failure was not cached


def test_the_cache_is_bounded() -> None:
    cache = RenderCache(max_entries=3, max_bytes=1000)
    for i in range(10):
        cache.get(i, 1, lambda: b"x" * 100)
    assert len(cache) == 3
    for i in range(10, 20):
        cache.get(i, 1, lambda: b"x" * 600)
    assert len(cache) == 1


# --- the apps ---------------------------------------------------------------------------------------

MM = "MSiSCSI_MMIPSECStats"


def enum_body(message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="{message_id}" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        '<IMETHODCALL NAME="EnumerateInstances"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
        '<NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName">'
        f'<CLASSNAME NAME="{MM}"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>'
    ).encode()


def write_snapshot(path: Path, value: int) -> None:
    mm = load_builtin_schema().cls(MM)
    objs: list[dict[str, Any]] = []
    for i in range(3):
        d: dict[str, Any] = {"InstanceName": f"ROOT\\ISCSIPRT\\{i:04d}_0", "Active": True}
        d.update({p.name: value + i for p in mm.data_items()})
        objs.append(d)
    path.write_text(json.dumps(objs), encoding="utf-8")


def request(method: str, path: str, body: bytes = b"", **headers: str) -> HttpRequest:
    msg = Message()
    for k, v in headers.items():
        msg[k] = v
    return HttpRequest(method, path, msg, body, "test")


def body_bytes(resp: HttpResponse) -> bytes:
    return b"".join(bytes(p) for p in resp.parts())


def bump(path: Path, value: int) -> None:
    write_snapshot(path, value)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))  # a new generation for sure


def test_cimxml_app_renders_once_per_generation_for_clients_with_different_message_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = tmp_path / "snap.json"
    write_snapshot(snap, 100)
    source = load_snapshot(load_builtin_schema(), snap)
    ops = CimOperations(source)
    calls = [0]
    gate = threading.Event()
    real_handle = ops.handle

    def counting_handle(req: Any) -> bytes:
        calls[0] += 1
        gate.wait(10)
        return real_handle(req)

    monkeypatch.setattr(ops, "handle", counting_handle)
    app = cimxml_app(ops)
    responses: dict[str, HttpResponse] = {}

    def client(mid: str) -> None:
        responses[mid] = app(request("POST", "/cimom", enum_body(mid), CIMOperation="MethodCall"))

    threads = [threading.Thread(target=client, args=(str(1000 + i),)) for i in range(N)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=20)
    assert calls[0] == 1
    shared = {id(r.parts()[1].obj) for r in responses.values()}  # type: ignore[union-attr]
    assert len(shared) == 1  # every body points into the one rendering: nothing copied
    for mid, resp in responses.items():
        text = body_bytes(resp)
        assert resp.status == 200 and f'<MESSAGE ID="{mid}"'.encode() in text
        assert text.count(b"<VALUE.NAMEDINSTANCE>") == 3 and b"<VALUE>100</VALUE>" in text
    # The same generation later: still one rendering.
    app(request("POST", "/cimom", enum_body("7"), CIMOperation="MethodCall"))
    assert calls[0] == 1
    # The snapshot changes: a new generation, a new rendering with the new values.
    bump(snap, 500)
    resp = app(request("POST", "/cimom", enum_body("8"), CIMOperation="MethodCall"))
    assert calls[0] == 2 and b"<VALUE>500</VALUE>" in body_bytes(resp)


def test_metrics_app_renders_once_per_generation(tmp_path: Path) -> None:
    snap = tmp_path / "snap.json"
    write_snapshot(snap, 100)
    view = MetricsView(load_snapshot(load_builtin_schema(), snap))
    calls = [0]
    gate = threading.Event()
    real = view.render_text

    def counting() -> bytes:
        calls[0] += 1
        gate.wait(10)
        return real()

    view.render_text = counting  # type: ignore[method-assign]
    app = metrics_app(view)
    bodies: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: bodies.append(body_bytes(app(request("GET", "/metrics")))))
        for _ in range(N)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(timeout=20)
    # One shared rendering; only the exporter's own lines (scrape duration) differ after it.
    shared = {b.split(b"# HELP iscsiprf_build_info")[0] for b in bodies}
    assert calls[0] == 1 and len(bodies) == N and len(shared) == 1 and b"} 100\n" in bodies[0]
    bump(snap, 700)
    assert b"} 700\n" in body_bytes(app(request("GET", "/metrics"))) and calls[0] == 2


def test_source_generation_is_optional() -> None:
    assert source_generation(object()) is None

    class WithGeneration:
        def generation(self) -> int:
            return 42

    assert source_generation(WithGeneration()) == 42


def test_a_slow_rendering_does_not_let_finished_ones_pile_up() -> None:
    cache = RenderCache(max_entries=2)
    started, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(10)
        return b"slow"

    t = threading.Thread(target=lambda: cache.get("slow", 1, slow))
    t.start()
    assert started.wait(10)
    for i in range(6):
        assert cache.get(f"k{i}", 1, lambda i=i: f"v{i}".encode()) == f"v{i}".encode()
    assert len(cache) <= 3  # the bound, plus the one still rendering
    release.set()
    t.join(10)
