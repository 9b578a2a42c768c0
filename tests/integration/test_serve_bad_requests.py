"""Hostile and broken requests against a real `iscsiprf serve`: each gets the right CIM error or
HTTP status, and the server keeps serving everyone else."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pywbem = pytest.importorskip("pywbem", reason="pywbem (the reference WBEM client) is not installed")

sys.path.insert(0, str(Path(__file__).parent))  # the helper beside this file
from serve_process import ServeProcess, start_serve, write_snapshot  # noqa: E402

pytestmark = pytest.mark.interop

MM = "MSiSCSI_MMIPSECStats"
USER, PASSWORD = "monitor", "s3cret pass"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MAX_BODY = 65536

ENUM_BODY = (
    '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
    '<MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstanceNames">'
    '<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH>'
    f'<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="{MM}"/></IPARAMVALUE>'
    "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
)

ENTITY_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE CIM [\n<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
    + ']>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0">'
    '<SIMPLEREQ><IMETHODCALL NAME="&j;"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
    "</LOCALNAMESPACEPATH></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    d = tmp_path_factory.mktemp("bad")
    write_snapshot(d / "snap.json", adapters=2)
    (d / "pw").write_text(PASSWORD + "\n")
    sp = start_serve(
        "--snapshot", str(d / "snap.json"), "--user", USER, "--password-file", str(d / "pw"),
        "--max-body", str(MAX_BODY), "--read-timeout", "1", "--request-deadline", "2",
    )  # fmt: skip
    yield sp
    sp.stop()


def conn(sp: ServeProcess, password: str = PASSWORD) -> Any:
    return pywbem.WBEMConnection(
        sp.cimxml_url, (USER, password), default_namespace="root/wmi", timeout=20
    )


def raw_http(
    port: int, head: bytes, body: bytes = b"", timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; return status, headers (lower-case names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                h, _, rest = data.partition(b"\r\n\r\n")
                lengths = [
                    ln for ln in h.split(b"\r\n") if ln.lower().startswith(b"content-length:")
                ]
                if lengths and len(rest) >= int(lengths[0].split(b":")[1]):
                    break
    return parse_response(data)


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


def cim_post(body: bytes | str, auth: str | None = AUTH, extra: str = "") -> bytes:
    data = body.encode() if isinstance(body, str) else body
    head = (
        "POST /cimom HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml; charset=utf-8\r\n"
        f"CIMOperation: MethodCall\r\nCIMObject: root%2Fwmi\r\nContent-Length: {len(data)}\r\n"
        + (f"Authorization: {auth}\r\n" if auth else "")
        + extra
        + "Connection: close\r\n\r\n"
    )
    return head.encode() + data


def still_serving(sp: ServeProcess) -> None:
    assert sp.proc.poll() is None
    assert len(conn(sp).EnumerateInstanceNames(MM)) == 2


def test_malformed_xml_is_400_request_not_well_formed(served: ServeProcess) -> None:
    status, headers, _ = raw_http(served.port("cimxml"), cim_post("<CIM><MESSAGE ID='1'"))
    assert status == 400 and headers["cimerror"] == "request-not-well-formed"
    still_serving(served)


def test_xml_that_is_not_cim_is_400_request_not_valid(served: ServeProcess) -> None:
    status, headers, _ = raw_http(served.port("cimxml"), cim_post("<html><body/></html>"))
    assert status == 400 and headers["cimerror"] == "request-not-valid"
    still_serving(served)


def test_entity_bomb_is_refused_without_expanding(served: ServeProcess) -> None:
    started = time.monotonic()
    status, headers, body = raw_http(served.port("cimxml"), cim_post(ENTITY_BOMB))
    assert status == 400 and headers["cimerror"] == "request-not-well-formed"
    assert b"refused" in body
    assert time.monotonic() - started < 5
    still_serving(served)


def test_missing_cimoperation_header(served: ServeProcess) -> None:
    req = cim_post(ENUM_BODY).replace(b"CIMOperation: MethodCall\r\n", b"")
    status, headers, _ = raw_http(served.port("cimxml"), req)
    assert status == 400 and headers["cimerror"] == "unsupported-operation"


def test_wrong_namespace_unknown_class_bad_wql(served: ServeProcess) -> None:
    c = conn(served)
    for call, code in [
        (lambda: c.EnumerateInstances(MM, namespace="root/cimv2"), 3),
        (lambda: c.EnumerateInstances("NoSuchClass"), 5),
        (lambda: c.GetClass("NoSuchClass"), 6),
        (lambda: c.ExecQuery("WQL", f"SELECT * FROM {MM} WHERE Active = 'yes'"), 15),
        (lambda: c.ExecQuery("WQL", "SELECT FROM"), 15),
    ]:
        with pytest.raises(pywbem.CIMError) as info:
            call()
        assert info.value.status_code == code
    still_serving(served)


def test_wrong_password_is_401(served: ServeProcess) -> None:
    with pytest.raises(pywbem.AuthError):
        conn(served, "wrong").EnumerateInstanceNames(MM)
    status, headers, _ = raw_http(served.port("cimxml"), cim_post(ENUM_BODY, auth=None))
    assert status == 401 and headers["www-authenticate"].startswith("Basic realm=")
    still_serving(served)


def test_metrics_need_the_password_too(served: ServeProcess) -> None:
    get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    status, _, _ = raw_http(served.port("metrics"), (get + "\r\n").encode())
    assert status == 401
    status, headers, body = raw_http(
        served.port("metrics"), (get + f"Authorization: {AUTH}\r\n\r\n").encode()
    )
    assert status == 200 and b"iscsiprf_mmipsec_oakley_main_mode_total" in body


def test_oversized_body_is_413_before_reading_it(served: ServeProcess) -> None:
    head = cim_post(b"").replace(b"Content-Length: 0", f"Content-Length: {50 * MAX_BODY}".encode())
    status, _, _ = raw_http(served.port("cimxml"), head)
    assert status == 413
    # A client that sends the whole oversized body still reads the answer.
    status, _, _ = raw_http(served.port("cimxml"), cim_post(b"<" * (4 * MAX_BODY)))
    assert status == 413
    still_serving(served)


def test_slow_client_gets_408_and_does_not_block_others(served: ServeProcess) -> None:
    port = served.port("cimxml")
    result: list[bytes] = []

    def drip() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /cimom HTTP/1.1\r\n")
            data = b""
            try:
                for _ in range(
                    20
                ):  # one byte every 0.4 s: each read is in time, the request is not
                    s.sendall(b"X")
                    time.sleep(0.4)
            except OSError:
                pass
            try:
                while chunk := s.recv(4096):
                    data += chunk
            except OSError:
                pass
            result.append(data)

    t = threading.Thread(target=drip)
    t.start()
    time.sleep(0.3)
    still_serving(served)  # answered while the slow client holds its connection
    t.join(timeout=15)
    assert result and result[0].startswith(b"HTTP/1.1 408")
    # A client that stops sending its body hits the read timeout.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(cim_post(ENUM_BODY)[:-20])
        status, _, _ = parse_response(s.recv(65536))
    assert status == 408
    assert any(r.get("slow_client") for r in served.events("request"))
    still_serving(served)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests prefers these environment bundles over the CA file pywbem hands it.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    write_snapshot(tmp_path / "snap.json", adapters=1)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    sp = start_serve("--snapshot", str(tmp_path / "snap.json"),
                     "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))  # fmt: skip
    try:
        assert sp.cimxml_url.startswith("https://")
        c = pywbem.WBEMConnection(
            sp.cimxml_url, default_namespace="root/wmi", ca_certs=str(tmp_path / "cert.pem")
        )  # verified against our cert
        assert len(c.EnumerateInstances(MM)) == 1
        # Plain HTTP to the TLS port is not served.
        with pytest.raises(pywbem.Error):
            pywbem.WBEMConnection(sp.cimxml_url.replace("https", "http"), default_namespace="root/wmi",
                                  timeout=5).EnumerateInstanceNames(MM)  # fmt: skip
        assert len(c.EnumerateInstanceNames(MM)) == 1
    finally:
        assert sp.stop() == 0


def test_cimobject_header_must_name_the_request_namespace(served: ServeProcess) -> None:
    req = cim_post(ENUM_BODY).replace(b"CIMObject: root%2Fwmi", b"CIMObject: root%2Fcimv2")
    status, headers, _ = raw_http(served.port("cimxml"), req)
    assert status == 400 and headers["cimerror"] == "header-mismatch"
    req = cim_post(ENUM_BODY).replace(b"CIMObject: root%2Fwmi", b"CIMObject: ROOT/WMI")
    status, _, body = raw_http(served.port("cimxml"), req)
    assert status == 200 and body.count(b"<INSTANCENAME ") == 2


@pytest.mark.parametrize("version", ["9.9", "2.0", "1", "one.zero", ""])
def test_unsupported_protocol_version_is_501(served: ServeProcess, version: str) -> None:
    body = ENUM_BODY.replace('PROTOCOLVERSION="1.0"', f'PROTOCOLVERSION="{version}"')
    status, headers, _ = raw_http(served.port("cimxml"), cim_post(body))
    assert status == 501 and headers["cimerror"] == "unsupported-protocol-version"
    # The HTTP header of DSP0200 says the same thing the same way.
    req = cim_post(ENUM_BODY, extra="CIMProtocolVersion: 9.9\r\n")
    status, headers, _ = raw_http(served.port("cimxml"), req)
    assert status == 501 and headers["cimerror"] == "unsupported-protocol-version"


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.4"])
def test_protocol_versions_1_x_are_served(served: ServeProcess, version: str) -> None:
    body = ENUM_BODY.replace('PROTOCOLVERSION="1.0"', f'PROTOCOLVERSION="{version}"')
    status, _, text = raw_http(served.port("cimxml"), cim_post(body))
    assert status == 200 and text.count(b"<INSTANCENAME ") == 2
