"""The exporter-toolkit web-config reader: TLS settings, bcrypt users, and errors with a place."""

from __future__ import annotations

import base64
import ssl
import time
from pathlib import Path

import bcrypt
import pytest

from iscsiprf.serve.webconfig import BcryptAuth, WebConfigError, load_web_config
from pki import Pki, have_openssl, make_pki

pytestmark = pytest.mark.skipif(not have_openssl(), reason="openssl is not installed")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "web.yml"
    p.write_text(text)
    return p


def test_full_config_relative_paths_and_client_certs(tmp_path: Path, pki: Pki) -> None:
    for f in (pki.server_cert, pki.server_key, pki.ca_cert):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    cfg = load_web_config(
        write(
            tmp_path,
            f"""
tls_server_config:
  cert_file: {pki.server_cert.name}
  key_file: {pki.server_key.name}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {pki.ca_cert.name}
  min_version: TLS13
basic_auth_users:
  prometheus: {hashed("s3cret")}
""",
        )
    )
    assert cfg.ssl_context is not None and cfg.auth is not None
    assert cfg.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert cfg.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert cfg.auth.check(basic("prometheus", "s3cret")) == "prometheus"
    assert cfg.auth.check(basic("prometheus", "wrong")) is None
    assert cfg.auth.check(basic("nobody", "s3cret")) is None
    assert cfg.auth.check(None) is None
    assert cfg.auth.check("Basic !!!") is None
    assert cfg.auth.check("Bearer abc") is None


def test_default_tls_version_and_no_client_certs(tmp_path: Path, pki: Pki) -> None:
    cfg = load_web_config(write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                                          f"  key_file: {pki.server_key}\n"))  # fmt: skip
    assert cfg.ssl_context is not None and cfg.auth is None
    assert cfg.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert cfg.ssl_context.verify_mode == ssl.CERT_NONE


def test_empty_file_is_plain_http(tmp_path: Path) -> None:
    cfg = load_web_config(write(tmp_path, ""))
    assert cfg.ssl_context is None and cfg.auth is None


def test_passed_credentials_are_remembered_not_rehashed() -> None:
    slow = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=12)).decode()  # about 0.2 s per check
    auth = BcryptAuth({"u": slow.encode()})
    t0 = time.perf_counter()
    assert auth.check(basic("u", "pw")) == "u"
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(20):
        assert auth.check(basic("u", "pw")) == "u"
    assert time.perf_counter() - t0 < first  # 20 cached checks cost less than one bcrypt
    assert auth.check(basic("u", "other")) is None  # a wrong password is never cached as good


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("tls_server_config: [\n", ":2:1: error: ", "expected"),
        ("nonsense: 1\n", ":1:1: error: ", "unknown key 'nonsense'"),
        ("- a\n", ":1:1: error: ", "must be a mapping"),
        ("basic_auth_users:\n  u: plaintext\n", ":2:6: error: ", "not a bcrypt hash"),
        ("basic_auth_users:\n  u: 7\n", ":2:6: error: ", "must be a string"),
        ("tls_server_config:\n  cert_file: x\n", ":2:3: error: ", "needs cert_file and key_file"),
        ("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
         ":2:14: error: ", "is not a readable file"),
        ("http_server_config:\n  http2: false\n", ":1:1: error: ", "not supported"),
        ("tls_server_config:\n  cipher_suites: []\n", ":2:3: error: ", "'cipher_suites' is not supported"),
    ],
)  # fmt: skip
def test_errors_name_the_place(tmp_path: Path, text: str, where: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(WebConfigError) as e:
        load_web_config(p)
    assert str(e.value).startswith(f"{p}{where}"), str(e.value)
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("tls_extra", "message"),
    [
        ("  client_auth_type: RequireAnyClientCert\n", "not supported"),
        ("  client_auth_type: Sometimes\n", "is not one of"),
        ("  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
        ("  min_version: TLS9\n", "min_version: 'TLS9' is not one of"),
    ],
)
def test_tls_errors(tmp_path: Path, pki: Pki, tls_extra: str, message: str) -> None:
    p = write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                        f"  key_file: {pki.server_key}\n{tls_extra}")  # fmt: skip
    with pytest.raises(WebConfigError, match=message) as e:
        load_web_config(p)
    assert str(e.value).startswith(f"{p}:")


def test_key_that_does_not_match(tmp_path: Path, pki: Pki) -> None:
    p = write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                        f"  key_file: {pki.client_key}\n")  # fmt: skip
    with pytest.raises(WebConfigError, match="cannot load certificate and key"):
        load_web_config(p)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match="not a regular file"):
        load_web_config(tmp_path)
    with pytest.raises(WebConfigError, match="no such file"):
        load_web_config(tmp_path / "missing.yml")
    big = tmp_path / "big.yml"
    big.write_bytes(b"#" * ((1 << 20) + 1))
    with pytest.raises(WebConfigError, match="larger than"):
        load_web_config(big)
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"basic_auth_users:\n  u: \xff\n")
    with pytest.raises(WebConfigError, match=r"offset 23: error: not UTF-8"):
        load_web_config(bad)
