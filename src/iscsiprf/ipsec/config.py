"""Adapter configuration: a TOML file of `[[adapter]]` tables, one per IKE daemon.

```toml
[[adapter]]
device = 'ROOT\\ISCSIPRT\\0000'          # PDO device instance path; instance name gets "_0"
vici = "unix:///var/run/charon.vici"
error_notify = "unix:///var/run/charon.enfy"
netns = "swA"                             # optional: the daemon's network namespace (XFRM)
state = "/var/lib/iscsiprf/0000.sqlite"   # optional: the SQLite state file
```

Without a file: one adapter on strongSwan's default sockets, state under /var/lib/iscsiprf/.
Problems are `ConfigError`s carrying path, line and column (`path:line:col: error: ...`).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import IpsecError

DEFAULT_DEVICE = "ROOT\\ISCSIPRT\\0000"
DEFAULT_VICI = "unix:///var/run/charon.vici"
DEFAULT_ENFY = "unix:///var/run/charon.enfy"
DEFAULT_STATE_DIR = Path("/var/lib/iscsiprf")
_KEYS = ("device", "vici", "error_notify", "netns", "state")
# A config of a thousand adapters is 200 kB; the bound keeps `/dev/zero` and the like out.
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(IpsecError):
    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: error: {message}")
        self.path, self.line, self.col, self.message = path, line, col, message


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    device: str = DEFAULT_DEVICE
    vici: str = DEFAULT_VICI
    error_notify: str = DEFAULT_ENFY
    netns: str | None = None
    state: Path = DEFAULT_STATE_DIR / "0000.sqlite"

    @property
    def vici_path(self) -> str:
        return unix_path(self.vici)

    @property
    def enfy_path(self) -> str:
        return unix_path(self.error_notify)

    @property
    def instance_name(self) -> str:
        return f"{self.device}_0"


def unix_path(uri: str) -> str:
    return uri[len("unix://") :] if uri.startswith("unix://") else uri


def default_state_path(device: str, state_dir: Path = DEFAULT_STATE_DIR) -> Path:
    """`ROOT\\ISCSIPRT\\0000` → /var/lib/iscsiprf/ROOT_ISCSIPRT_0000.sqlite."""
    return state_dir / (re.sub(r"[^A-Za-z0-9.-]+", "_", device).strip("_") + ".sqlite")


def default_config() -> list[AdapterConfig]:
    return [AdapterConfig(state=default_state_path(DEFAULT_DEVICE))]


def _tables_lines(text: str) -> list[int]:
    """1-based line numbers of the `[[adapter]]` headers, in order."""
    return [
        i
        for i, line in enumerate(text.splitlines(), 1)
        if re.match(r"\s*\[\[\s*adapter\s*\]\]", line)
    ]


def _key_place(text: str, table_line: int, key: str) -> tuple[int, int]:
    lines = text.splitlines()
    for i in range(table_line, len(lines)):
        if i > table_line and re.match(r"\s*\[", lines[i]):
            break
        m = re.match(rf"\s*({re.escape(key)})\s*=", lines[i])
        if m:
            return i + 1, m.start(1) + 1
    return table_line, 1


# TOML strings, comments and integers: enough to find a long integer outside the first two.
_TOML_INTEGER_RE = re.compile(r"""'[^'\n]*'|"(?:[^"\\\n]|\\.)*"|\#[^\n]*|([+-]?\d[\d_]*)""")


def _long_integer(text: str) -> tuple[int, int, int]:
    """Line, column and digit count of the longest integer written in `text`."""
    longest: tuple[int, int] = (0, 0)  # (digits, offset)
    for m in _TOML_INTEGER_RE.finditer(text):
        if m.group(1):
            digits = sum(c.isdigit() for c in m.group(1))
            longest = max(longest, (digits, -m.start()))
    digits, offset = longest[0], -longest[1]
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1, digits


def _top_key_place(text: str) -> tuple[int, int]:
    """Where the top-level `adapter` key is written (`adapter = ...` or a table header)."""
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*(?:\[\[?\s*)?(adapter)\b", line)
        if m:
            return i, m.start(1) + 1
    return 1, 1


def _toml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def parse_config(
    text: str, path: str = "<config>", state_dir: Path = DEFAULT_STATE_DIR
) -> list[AdapterConfig]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise ConfigError(path, line, col, re.sub(r"\s*\(at line.*\)$", "", str(exc))) from None
    except ValueError:  # an integer too long for Python to convert (over 4,300 digits)
        line, col, digits = _long_integer(text)
        raise ConfigError(path, line, col, f"integer of {digits:,} digits is too long") from None
    extra = [k for k in doc if k != "adapter"]
    if extra:
        line = next((i for i, s in enumerate(text.splitlines(), 1) if extra[0] in s), 1)
        raise ConfigError(
            path, line, 1, f"unknown top-level key {extra[0]!r} (expected [[adapter]] tables)"
        )
    tables = doc.get("adapter", [])
    if isinstance(tables, dict):
        line, col = _top_key_place(text)
        raise ConfigError(
            path, line, col, "adapter must be [[adapter]] tables (write [[adapter]], not [adapter])"
        )
    if not isinstance(tables, list):
        line, col = _top_key_place(text)
        raise ConfigError(
            path, line, col, f"adapter must be [[adapter]] tables, found {_toml_kind(tables)}"
        )
    if not tables:
        raise ConfigError(path, *_top_key_place(text), "no [[adapter]] table")
    for n, table in enumerate(tables):
        if not isinstance(table, dict):
            line, col = _top_key_place(text)
            raise ConfigError(
                path,
                line,
                col,
                f"adapter must be [[adapter]] tables; item {n + 1} is {_toml_kind(table)}",
            )
    heads = _tables_lines(text)
    out: list[AdapterConfig] = []
    seen: dict[str, int] = {}
    for n, table in enumerate(tables):
        head = heads[n] if n < len(heads) else 1
        out.append(_adapter(table, text, path, head, state_dir))
        for what in ("device", "state"):
            value = str(getattr(out[-1], what))
            key = f"{what}:{value}"
            if key in seen:
                line, col = _key_place(text, head, what) if what in table else (head, 1)
                raise ConfigError(
                    path, line, col, f"{what} {value!r} is already used by adapter {seen[key] + 1}"
                )
            seen[key] = n
    return out


def _adapter(table: Any, text: str, path: str, head: int, state_dir: Path) -> AdapterConfig:
    def fail(key: str | None, message: str) -> ConfigError:
        line, col = _key_place(text, head, key) if key else (head, 1)
        return ConfigError(path, line, col, message)

    for key, value in table.items():
        if key not in _KEYS:
            raise fail(key, f"unknown key {key!r} in [[adapter]] (known: {', '.join(_KEYS)})")
        if not isinstance(value, str) or not value:
            raise fail(key, f"{key} must be a non-empty string")
    device = table.get("device", DEFAULT_DEVICE)
    if device.endswith("_0") or "/" in device:
        raise fail(
            "device", f"device {device!r} must be a device instance path such as {DEFAULT_DEVICE!r}"
        )
    for key in ("vici", "error_notify"):
        if key in table and not table[key].startswith("unix://"):
            raise fail(key, f"{key} must be a unix:// URI, got {table[key]!r}")
    state = Path(table["state"]) if "state" in table else default_state_path(device, state_dir)
    return AdapterConfig(
        device=device,
        vici=table.get("vici", DEFAULT_VICI),
        error_notify=table.get("error_notify", DEFAULT_ENFY),
        netns=table.get("netns"),
        state=state,
    )


def load_config(path: str | Path | None) -> list[AdapterConfig]:
    """The adapters of a config file, or the default adapter when path is None."""
    if path is None:
        return default_config()
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:  # closes fd
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError(str(p), 1, 1, "cannot read: not a regular file")
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(str(p), 1, 1, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            str(p), 1, 1, f"larger than {MAX_CONFIG_BYTES >> 20} MiB, the most a config may be"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(p), 1, 1, "not UTF-8 text") from None
    return parse_config(text, str(p))
