"""The two HTTP apps: CIM-XML operations (DSP0200 over HTTP) and Prometheus `/metrics`."""

from __future__ import annotations

import time
from html import escape
from urllib.parse import unquote

from .cimxml_ops import CimOperations, normalize_namespace
from .cimxml_request import (
    MultipleRequestsUnsupported,
    RequestInvalid,
    RequestNotWellFormed,
    parse_request,
)
from .http import App, HttpRequest, HttpResponse, text_response
from .metrics import CONTENT_TYPE, MetricsView, render_exporter_text

CIMXML_CONTENT_TYPE = 'application/xml; charset="utf-8"'


def _cim_http_error(status: int, cim_error: str, detail: str) -> HttpResponse:
    """A request the server cannot treat as an operation: HTTP status + `CIMError` header."""
    resp = text_response(status, detail, [("CIMError", cim_error)])
    resp.log["cim_error"] = cim_error
    return resp


def cimxml_app(ops: CimOperations) -> App:
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
        body = ops.handle(cim_req)
        resp = HttpResponse(200, body, CIMXML_CONTENT_TYPE, [("CIMOperation", "MethodResponse")])
        resp.log["cim_method"] = cim_req.method
        resp.log["namespace"] = cim_req.namespace
        return resp

    return app


def metrics_app(view: MetricsView) -> App:
    def app(req: HttpRequest) -> HttpResponse:
        path = req.path.split("?", 1)[0]
        if req.method not in ("GET", "HEAD"):
            return text_response(405, "GET /metrics", [("Allow", "GET, HEAD")])
        if path == "/metrics":
            started = time.perf_counter()
            body = view.render_text()
            try:
                health = view.source.health()
            except Exception:  # the scrape itself already reported collector_up 0
                health = {}
            body += render_exporter_text(health, time.perf_counter() - started)
            return HttpResponse(200, b"" if req.method == "HEAD" else body, CONTENT_TYPE)
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
