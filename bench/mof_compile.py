"""Compile the DMTF CIM schema 2.49 with `iscsiprf mof check` and with pywbem's MOFCompiler.

Each run is a whole process (interpreter start-up and imports included; nothing cached between
runs), the two alternate, and the script prints both medians, the ratio and both peak RSS.
Usage: python bench/mof_compile.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT.parent / "shared" / "corpus" / "cim" / "cim_schema_2.49.0Final-MOFs.zip"
ENTRY = "cim_schema_2.49.0.mof"

PYWBEM_SCRIPT = """
import sys
from pywbem import MOFCompiler
from pywbem._mof_compiler import MOFWBEMConnection
conn = MOFWBEMConnection()
compiler = MOFCompiler(conn, search_paths=[sys.argv[1]], verbose=False, log_func=lambda *a: None)
compiler.compile_file(sys.argv[2], "root/cimv2")
n = len(conn.classes["root/cimv2"])
assert n == 1631, n
"""


def run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    iscsiprf = shutil.which("iscsiprf") or str(Path(sys.executable).with_name("iscsiprf"))
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(ZIP) as z:
            z.extractall(tmp)
        entry = str(Path(tmp) / ENTRY)
        ours_cmd = [iscsiprf, "mof", "check", entry]
        theirs_cmd = [sys.executable, "-c", PYWBEM_SCRIPT, tmp, entry]
        run(theirs_cmd)  # pywbem writes its parser tables on first use; not timed
        ours: list[tuple[float, int]] = []
        theirs: list[tuple[float, int]] = []
        for _ in range(args.runs):
            ours.append(run(ours_cmd))
            theirs.append(run(theirs_cmd))
    om = statistics.median(w for w, _ in ours)
    tm = statistics.median(w for w, _ in theirs)
    orss = max(r for _, r in ours)
    trss = max(r for _, r in theirs)
    print(f"CIM schema 2.49 (1,631 classes), {args.runs} alternating whole-process runs each")
    print(f"iscsiprf mof check       median {om:.3f} s   peak RSS {orss / 1024:.1f} MiB")
    print(f"pywbem 1.9.1 MOFCompiler median {tm:.3f} s   peak RSS {trss / 1024:.1f} MiB")
    print(f"speed-up {tm / om:.1f}x (goal >= 10x); memory ratio {orss / trss:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
