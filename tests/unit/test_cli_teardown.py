"""`mof check|classes` end without freeing the compiled schema object by object (os._exit),
yet lose no output and keep their exit status; other commands exit normally."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_MOF = Path(__file__).resolve().parents[2] / "src" / "iscsiprf" / "data" / "iscsiprf.mof"

# Runs the real entry point; an atexit handler shows whether the interpreter tore down normally.
_MAIN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("normal interpreter exit\\n"))
from iscsiprf.cli import main
sys.argv = ["iscsiprf", *sys.argv[1:]]
main()
"""


def run(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _MAIN, *args], stdout=stdout, stderr=subprocess.PIPE, text=True
    )


def test_check_ends_without_teardown_and_keeps_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mof"
    bad.write_text("class A {\n  uint32 x\n};\n")
    r = run("mof", "check", str(bad))
    assert r.returncode == 1
    assert r.stderr == f"{bad}:3:1: error: missing ';' before '}}'\n"
    r = run("mof", "check", str(PROJECT_MOF))
    assert (r.returncode, r.stderr) == (0, "")


def test_classes_output_is_complete_after_fast_exit() -> None:
    r = run("mof", "classes", "--json", str(PROJECT_MOF))
    assert (r.returncode, r.stderr) == (0, "")
    names = [c["name"] for c in json.loads(r.stdout)]
    assert names == ["MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"]


def test_reader_going_away_is_quiet(tmp_path: Path) -> None:
    big = tmp_path / "big.mof"  # a JSON listing far larger than a pipe's buffer
    big.write_text("".join(f'[Description("{"x" * 500}")] class C{n} {{}};\n' for n in range(500)))
    proc = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "mof", "classes", "--json", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode()
    assert (proc.wait(timeout=60), err) == (0, "")


def test_other_commands_exit_normally() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stderr == "normal interpreter exit\n"
