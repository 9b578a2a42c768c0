"""One error dialect for every command: the same bad inputs give the same kind of line and the
same exit status everywhere (1 for an input, 2 for a malformed command line), never a traceback.

Each command runs as a real process, as a user runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MM_PATH = "\\MSiSCSI_MMIPSECStats(*)\\ActiveAcquire"
QUERY = "SELECT * FROM MSiSCSI_MMIPSECStats"

# command name -> the command line with {} where the input file goes
COMMANDS: dict[str, list[str]] = {
    "mof check": ["mof", "check", "{}"],
    "mof classes": ["mof", "classes", "{}"],
    "mof header": ["mof", "header", "{}"],
    "mof layout": ["mof", "layout", "{}"],
    "wnode decode": ["wnode", "decode", "{}"],
    "wnode encode": ["wnode", "encode", "--class", "MSiSCSI_MMIPSECStats", "--instances", "{}"],
    "query --snapshot": ["query", QUERY, "--snapshot", "{}"],
    "query --config": ["query", QUERY, "--config", "{}"],
    "counters --snapshot": ["counters", MM_PATH, "--samples", "1", "--snapshot", "{}"],
    "serve --snapshot": [
        "serve",
        "--cimxml",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--snapshot",
        "{}",
    ],  # fmt: skip
    "watch --snapshot": ["watch", "--once", "--snapshot", "{}"],
    "watch --config": ["watch", "--once", "--config", "{}"],
}

# What each command reads, spelled wrong in its own format: the error names a line and column.
BAD_CONTENT = {
    "mof": "class A {\n  uint32 x\n};\n",
    "json": '[{"InstanceName": "x",\n',
    "toml": "[[adapter]\ndevice = 1\n",
    "wnode": "this is not a WNODE buffer, only some text of the same length as one..........\n",
}
KIND = {
    "mof": "mof",
    "wnode decode": "wnode",
    "query --config": "toml",
    "watch --config": "toml",
}


def _kind(name: str) -> str:
    return KIND.get(name) or KIND.get(name.split()[0]) or "json"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "iscsiprf", *args],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _line(args: list[str], path: Path | str) -> list[str]:
    return [str(path) if a == "{}" else a for a in args]


def _one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if not line.startswith("iscsiprf: note:")]
    assert len(lines) >= 1, r.stderr
    return lines[0]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_missing_file_is_an_input_error(name: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.input"
    r = _run(_line(COMMANDS[name], missing))
    assert r.returncode == 1, (name, r.stderr)
    line = _one_line_error(r)
    assert str(missing) in line and "No such file" in line, line
    assert re.match(rf"({re.escape(str(missing))}(:\d+:\d+)?: error: |iscsiprf: error: )", line)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_directory_is_an_input_error(name: str, tmp_path: Path) -> None:
    r = _run(_line(COMMANDS[name], tmp_path))
    assert r.returncode == 1, (name, r.stderr)
    line = _one_line_error(r)
    assert str(tmp_path) in line and ("directory" in line or "regular file" in line), line


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_bad_content_is_located(name: str, tmp_path: Path) -> None:
    kind = _kind(name)
    bad = tmp_path / f"bad.{kind}"
    bad.write_text(BAD_CONTENT[kind])
    r = _run(_line(COMMANDS[name], bad))
    assert r.returncode == 1, (name, r.stderr)
    line = _one_line_error(r)
    place = re.escape(str(bad))
    if kind == "wnode":
        assert re.match(rf"{place}: offset \d+: error: ", line), line
    else:
        assert re.match(rf"{place}:\d+:\d+: error: ", line), line


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_unknown_option_is_a_bad_command_line(name: str, tmp_path: Path) -> None:
    r = _run([*_line(COMMANDS[name], tmp_path / "x"), "--no-such-option"])
    assert r.returncode == 2, (name, r.stderr)
    assert "No such option" in r.stderr and "--no-such-option" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["query", "SELECT * FROM"],
        ["watch", "--once", "--snapshot", "x.json", "SELECT * FROM"],
    ],
    ids=["query", "watch"],
)
def test_a_bad_wql_argument_is_located_input(args: list[str]) -> None:
    r = _run(args)
    assert r.returncode == 1, r.stderr
    assert re.match(r"<query>:1:14: error: ", _one_line_error(r)), r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["mof", "header"],
        ["wnode", "decode"],
        ["query"],
        ["counters", MM_PATH, "--samples", "0"],
        ["serve", "--cimxml", "nohost"],
        ["watch", "--interval", "0"],
    ],
    ids=["header-no-file", "decode-no-file", "query-no-wql", "samples-0", "address", "interval"],
)
def test_malformed_command_lines_exit_2(args: list[str]) -> None:
    r = _run(args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
