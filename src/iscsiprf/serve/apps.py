"""The two HTTP apps: CIM-XML operations (DSP0200 over HTTP) and Prometheus `/metrics`.

Both answer from a `RenderCache`: identical requests of one sampling generation share one
rendering, and the shared bytes go out as they are (the response body is a tuple of buffers, the
only per-client part of a CIM-XML answer — its MESSAGE ID — in a small buffer of its own).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from html import escape
from urllib.parse import unquote

from .cimxml_ops import CimOperations, normalize_namespace, supports_protocol_version
from .cimxml_request import (
    CimRequest,
    MultipleRequestsUnsupported,
    RequestInvalid,
    RequestNotWellFormed,
    parse_request,
)
from .cimxml_response import message_head
from .http import App, HttpRequest, HttpResponse, text_response
from .metrics import CONTENT_TYPE, MetricsView, render_exporter_text
from .render_cache import RenderCache, source_generation

_BLANK_HEAD = message_head("")

CIMXML_CONTENT_TYPE = 'application/xml; charset="utf-8"'


def _cim_http_error(status: int, cim_error: str, detail: str) -> HttpResponse:
    """A request the server cannot treat as an operation: HTTP status + `CIMError` header."""
    resp = text_response(status, detail, [("CIMError", cim_error)])
    resp.log["cim_error"] = cim_error
    return resp


def _operation_key(req: CimRequest) -> bytes:
    """What the answer depends on, the MESSAGE ID aside (hashed: a body may be 1 MiB)."""
    text = repr((req.method, req.intrinsic, req.namespace, req.params))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def cimxml_app(ops: CimOperations, cache: RenderCache | None = None) -> App:
    cache = RenderCache() if cache is None else cache

    def render(cim_req: CimRequest) -> bytes:
        return ops.handle(dataclasses.replace(cim_req, message_id=""))

    def app(req: HttpRequest) -> HttpResponse:
        if req.method == "M-POST":
            # DSP0200 7.2.1: a server without M-POST answers 501 and the client retries with POST.
            return text_response(501, "use POST")
        if req.method != "POST":
            return text_response(405, "CIM-XML operations are POSTed", [("Allow", "POST")])
        operation = req.headers.get("CIMOperation")
        if operation is None or operation.strip().lower() != "methodcall":
            return _cim_http_error(
                400, "unsupported-operation", "CIMOperation: MethodCall required"
            )
        try:
            cim_req = parse_request(req.body)
        except RequestNotWellFormed as e:
            return _cim_http_error(400, "request-not-well-formed", str(e))
        except RequestInvalid as e:
            return _cim_http_error(400, "request-not-valid", str(e))
        except MultipleRequestsUnsupported as e:
            return _cim_http_error(501, "multiple-requests-unsupported", str(e))
        # DSP0200: a protocol version the server does not speak is 501, whether it is named in
        # the message or in the CIMProtocolVersion header.
        for version in (cim_req.protocol_version, req.headers.get("CIMProtocolVersion")):
            if version is not None and not supports_protocol_version(version):
                return _cim_http_error(
                    501,
                    "unsupported-protocol-version",
                    f"protocol version {version!r} is not supported (1.x is)",
                )
        method_header = req.headers.get("CIMMethod")
        if (
            method_header is not None
            and unquote(method_header).strip().lower() != cim_req.method.lower()
        ):
            return _cim_http_error(
                400, "header-mismatch", "CIMMethod header differs from the request"
            )
        object_header = req.headers.get("CIMObject")
        if (
            cim_req.intrinsic
            and object_header is not None
            and normalize_namespace(unquote(object_header))
            != normalize_namespace(cim_req.namespace)
        ):
            return _cim_http_error(
                400, "header-mismatch", "CIMObject header differs from the namespace"
            )
        shared = cache.get(
            _operation_key(cim_req), source_generation(ops.source), lambda: render(cim_req)
        )
        assert shared.startswith(_BLANK_HEAD)
        body = (message_head(cim_req.message_id), memoryview(shared)[len(_BLANK_HEAD) :])
        resp = HttpResponse(200, body, CIMXML_CONTENT_TYPE, [("CIMOperation", "MethodResponse")])
        resp.log["cim_method"] = cim_req.method
        resp.log["namespace"] = cim_req.namespace
        return resp

    return app


def metrics_app(view: MetricsView, cache: RenderCache | None = None) -> App:
    cache = RenderCache(max_entries=1) if cache is None else cache

    def app(req: HttpRequest) -> HttpResponse:
        path = req.path.split("?", 1)[0]
        if req.method not in ("GET", "HEAD"):
            return text_response(405, "GET /metrics", [("Allow", "GET, HEAD")])
        if path == "/metrics":
            if req.method == "HEAD":  # the headers only: nothing to render
                return HttpResponse(200, b"", CONTENT_TYPE)
            started = time.perf_counter()
            shared = cache.get("metrics", source_generation(view.source), view.render_text)
            try:
                health = view.source.health()
            except Exception:  # the scrape itself already reported collector_up 0
                health = {}
            # The shared rendering goes out as it is; the exporter's own lines follow it.
            exporter = render_exporter_text(health, time.perf_counter() - started)
            return HttpResponse(200, (shared, exporter), CONTENT_TYPE)
        if path == "/":
            return HttpResponse(200, _landing_page(view), "text/html; charset=utf-8")
        return text_response(404, "not found; try /metrics")

    return app


def _landing_page(view: MetricsView) -> bytes:
    """What exporters answer on `/`: a short page linking the metrics."""
    from iscsiprf import __version__

    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>iscsiprf exporter</title>'
        "</head><body><h1>iscsiprf exporter</h1>"
        f"<p>MSiSCSI_MMIPSECStats and MSiSCSI_QMIPSECStats counters, version {escape(__version__)}"
        f" ({len(view.families)} counter families).</p>"
        '<p><a href="/metrics">Metrics</a></p></body></html>\n'
    ).encode()
