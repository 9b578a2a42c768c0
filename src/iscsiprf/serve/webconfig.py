"""The exporter-toolkit web configuration file (`--web-config FILE`, as node_exporter reads it).

Prometheus exporters share one YAML format for TLS and basic authentication:

```yaml
tls_server_config:
  cert_file: server.crt          # relative paths are relative to this file
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
basic_auth_users:
  prometheus: $2b$12$...         # bcrypt hash
```

`load_web_config` turns it into what `ServerConfig` takes: an `ssl.SSLContext` and an auth
object (`BcryptAuth`, beside `http.BasicAuth`). Keys are checked strictly, as exporter-toolkit
does; a mistake is reported as `FILE:LINE:COL: error: MESSAGE`. YAML parsing is PyYAML's and the
hash check is the `bcrypt` package's: nothing of either is written here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import yaml

MAX_FILE = 1 << 20  # a web-config is a few hundred bytes

_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# exporter-toolkit's names. Python's ssl module verifies every client certificate it asks for,
# so Go's "ask but do not verify" modes (RequestClientCert, RequireAnyClientCert) have no
# equivalent and are refused rather than silently made stricter or looser.
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
_TOP_KEYS = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
)


class WebConfigError(Exception):
    """The message is complete: `FILE:LINE:COL: error: ...` or `FILE: error: ...`."""


class BcryptAuth:
    """HTTP Basic authentication against bcrypt hashes (exporter-toolkit's `basic_auth_users`).

    A bcrypt check costs tens of milliseconds by design; a scraper sends the same credentials
    every few seconds, so credentials that passed are remembered (as a keyed digest, never the
    password) and later requests cost a hash lookup.
    """

    realm = "iscsiprf"

    def __init__(self, users: dict[str, bytes], cache_size: int = 256) -> None:
        self._users = dict(users)
        self._any_hash = next(iter(self._users.values()))
        self._key = os.urandom(32)
        self._ok: set[bytes] = set()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def check(self, header: str | None) -> str | None:
        """The user name when the Authorization header carries the right credentials."""
        if not header or header[:6].lower() != "basic ":
            return None
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return None
        user_b, sep, password = raw.partition(b":")
        if not sep or len(raw) > 4096:
            return None
        try:
            user = user_b.decode("utf-8")
        except UnicodeDecodeError:
            return None
        digest = hmac.new(self._key, raw, hashlib.sha256).digest()
        with self._lock:
            if digest in self._ok:
                return user
        hashed = self._users.get(user)
        # An unknown user is checked against a known hash too, so that the time an answer takes
        # does not tell whether the user exists. bcrypt uses at most 72 bytes of a password.
        ok = bcrypt.checkpw(password[:72], hashed or self._any_hash)
        if not ok or hashed is None:
            return None
        with self._lock:
            if len(self._ok) >= self._cache_size:
                self._ok.clear()
            self._ok.add(digest)
        return user


@dataclass(frozen=True, slots=True)
class WebConfig:
    ssl_context: ssl.SSLContext | None
    auth: BcryptAuth | None


def _where(path: str, node: yaml.Node) -> str:
    mark = node.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _error(path: str, node: yaml.Node | None, message: str) -> WebConfigError:
    if node is None:
        return WebConfigError(f"{path}: error: {message}")
    return WebConfigError(f"{_where(path, node)}: error: {message}")


def _mapping(path: str, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _error(path, node, f"{what} must be a mapping")
    out: list[tuple[str, yaml.Node, yaml.Node]] = []
    seen: set[str] = set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _error(path, key, f"{what}: keys must be plain names")
        if key.value in seen:
            raise _error(path, key, f"{what}: {key.value!r} given twice")
        seen.add(key.value)
        out.append((key.value, key, value))
    return out


def _scalar(path: str, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
        raise _error(path, node, f"{what} must be a string")
    return str(node.value)


def _file(base: Path, path: str, node: yaml.Node, what: str) -> str:
    name = _scalar(path, node, what)
    if not name:
        raise _error(path, node, f"{what} is empty")
    full = Path(name) if os.path.isabs(name) else base / name
    if not full.is_file():
        raise _error(path, node, f"{what} {str(full)!r} is not a readable file")
    return str(full)


def _tls(path: str, base: Path, node: yaml.Node) -> ssl.SSLContext | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return None
    fields = {k: (kn, v) for k, kn, v in _mapping(path, node, "tls_server_config")}
    for key, (kn, _) in fields.items():
        if key not in _TLS_KEYS:
            raise _error(
                path,
                kn,
                f"tls_server_config: {key!r} is not supported (known: {', '.join(_TLS_KEYS)})",
            )
    if "cert_file" not in fields or "key_file" not in fields:
        raise _error(path, node, "tls_server_config needs cert_file and key_file")
    cert = _file(base, path, fields["cert_file"][1], "cert_file")
    key = _file(base, path, fields["key_file"][1], "key_file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # exporter-toolkit's default
    for name, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        if name in fields:
            vnode = fields[name][1]
            text = _scalar(path, vnode, name)
            if text not in _TLS_VERSIONS:
                raise _error(
                    path, vnode, f"{name}: {text!r} is not one of {', '.join(_TLS_VERSIONS)}"
                )
            setattr(ctx, attr, _TLS_VERSIONS[text])
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise _error(
            path, fields["cert_file"][1], f"cannot load certificate and key: {e}"
        ) from None
    mode = ssl.CERT_NONE
    if "client_auth_type" in fields:
        anode = fields["client_auth_type"][1]
        text = _scalar(path, anode, "client_auth_type")
        if text in _UNSUPPORTED_CLIENT_AUTH:
            raise _error(
                path, anode, f"client_auth_type {text} is not supported: use "
                "RequireAndVerifyClientCert or VerifyClientCertIfGiven with client_ca_file",
            )  # fmt: skip
        if text not in _CLIENT_AUTH:
            raise _error(
                path, anode, f"client_auth_type: {text!r} is not one of {', '.join(_CLIENT_AUTH)}"
            )
        mode = _CLIENT_AUTH[text]
    if "client_ca_file" in fields:
        ca = _file(base, path, fields["client_ca_file"][1], "client_ca_file")
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as e:
            raise _error(path, fields["client_ca_file"][1], f"cannot load client CA: {e}") from None
        if "client_auth_type" not in fields:
            mode = ssl.CERT_REQUIRED  # exporter-toolkit: a CA without a type means verify
    elif mode != ssl.CERT_NONE:
        raise _error(
            path, fields["client_auth_type"][1], "this client_auth_type needs client_ca_file"
        )
    ctx.verify_mode = mode
    return ctx


def _users(path: str, node: yaml.Node) -> BcryptAuth | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return None
    users: dict[str, bytes] = {}
    for user, knode, vnode in _mapping(path, node, "basic_auth_users"):
        if ":" in user or not user:
            raise _error(path, knode, f"basic_auth_users: {user!r} is not a valid user name")
        hashed = _scalar(path, vnode, f"basic_auth_users.{user}").encode("utf-8", "replace")
        if not hashed.startswith((b"$2a$", b"$2b$", b"$2y$")) or len(hashed) != 60:
            raise _error(path, vnode, f"basic_auth_users.{user} is not a bcrypt hash ($2b$...)")
        try:
            bcrypt.checkpw(b"", hashed)
        except ValueError:
            raise _error(
                path, vnode, f"basic_auth_users.{user} is not a valid bcrypt hash"
            ) from None
        users[user] = hashed
    return BcryptAuth(users) if users else None


def load_web_config(file: str | Path) -> WebConfig:
    """Read and check a web-config file; raises `WebConfigError` with the place of the problem."""
    path = str(file)
    try:
        if not os.path.exists(path):
            raise WebConfigError(f"{path}: error: no such file")
        if not os.path.isfile(path):
            raise WebConfigError(f"{path}: error: not a regular file")
        with open(path, "rb") as f:
            data = f.read(MAX_FILE + 1)
    except OSError as e:
        raise WebConfigError(f"{path}: error: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_FILE:
        raise WebConfigError(f"{path}: error: larger than {MAX_FILE} bytes")
    try:
        text = data.decode("utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as e:
        raise WebConfigError(f"{path}: offset {e.start}: error: not UTF-8 text") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise WebConfigError(f"{where}: error: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise WebConfigError(f"{path}: error: {e}") from None
    except RecursionError:  # a web config is a few flat mappings; this is an attack
        raise WebConfigError(f"{path}: error: YAML nested too deeply") from None
    if root is None:
        return WebConfig(None, None)  # an empty file: plain HTTP, no auth (as exporter-toolkit)
    base = Path(path).resolve().parent
    ctx: ssl.SSLContext | None = None
    auth: BcryptAuth | None = None
    for key, knode, value in _mapping(path, root, "the web configuration"):
        if key == "tls_server_config":
            ctx = _tls(path, base, value)
        elif key == "basic_auth_users":
            auth = _users(path, value)
        elif key == "http_server_config":
            raise _error(path, knode, "http_server_config is not supported (HTTP/1.1 only)")
        else:
            raise _error(path, knode, f"unknown key {key!r} (known: {', '.join(_TOP_KEYS[:2])})")
    return WebConfig(ctx, auth)
