"""Binary MOF speed: the DMTF CIM schema 2.49 as MOF text and as BMF, and firmware blobs.

1. `iscsiprf mof encode` writes the schema's BMF (not timed). Then whole-process runs,
   alternating: `iscsiprf mof check SCHEMA.mof` against `iscsiprf mof check SCHEMA.bmf`; the
   goal is BMF <= 1/3 of the MOF time (a binary form should load faster than text).
2. One `iscsiprf mof decode -o DIR` process over 114 firmware blobs (the corpus blobs, cycled),
   interpreter start included, against the reference: a C decoder started once per blob took
   about 0.27 s for 114 blobs on this machine; the goal is within 3x of that.

Usage: python bench/bmf.py [--runs N] [--blobs N]
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
CORPUS = ROOT.parent / "shared" / "corpus"
ZIP = CORPUS / "cim" / "cim_schema_2.49.0Final-MOFs.zip"
ENTRY = "cim_schema_2.49.0.mof"
C_DECODER_114 = 0.27  # seconds for 114 blobs, one C process each (measured on this machine)


def wall(cmd: list[str]) -> float:
    return timed(cmd)[0]


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one child process. CPU time is the
    figure to read when other work shares the machine: wall time then counts the waiting."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {err[-2000:]}")
    return took, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--blobs", type=int, default=114)
    args = ap.parse_args()
    iscsiprf = shutil.which("iscsiprf") or str(Path(sys.executable).with_name("iscsiprf"))
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(ZIP) as z:
            z.extractall(tmp)
        mof = str(Path(tmp) / ENTRY)
        bmf = str(Path(tmp) / "cim.bmf")
        t0 = time.perf_counter()
        wall([iscsiprf, "mof", "encode", mof, "-o", bmf])
        encode_s = time.perf_counter() - t0
        text_runs: list[tuple[float, float]] = []
        bin_runs: list[tuple[float, float]] = []
        for _ in range(args.runs):
            text_runs.append(timed([iscsiprf, "mof", "check", mof]))
            bin_runs.append(timed([iscsiprf, "mof", "check", bmf]))
        tm, tc = (statistics.median(x) for x in zip(*text_runs, strict=True))
        bm, bc = (statistics.median(x) for x in zip(*bin_runs, strict=True))
        size = Path(bmf).stat().st_size
        print(f"CIM schema 2.49: mof encode {encode_s:.1f} s -> {size:,} bytes of BMF")
        print(
            f"iscsiprf mof check SCHEMA.mof  median {tm:.3f} s wall, {tc:.3f} s CPU ({args.runs} runs)"
        )
        print(f"iscsiprf mof check SCHEMA.bmf  median {bm:.3f} s wall, {bc:.3f} s CPU")
        print(f"BMF / MOF time ratio {bm / tm:.2f} wall, {bc / tc:.2f} CPU (goal <= 0.33)")

        blobs = sorted((CORPUS / "bmof").glob("*.bmof"))
        paths = []
        for i in range(args.blobs):
            src = blobs[i % len(blobs)]
            dst = Path(tmp) / f"blob{i:03d}.bmof"
            dst.write_bytes(src.read_bytes())
            paths.append(str(dst))
        out = str(Path(tmp) / "decoded")
        runs = [timed([iscsiprf, "mof", "decode", *paths, "-o", out]) for _ in range(args.runs)]
        m, c = (statistics.median(x) for x in zip(*runs, strict=True))
        ref = C_DECODER_114 * args.blobs / 114
        print(
            f"one mof decode process over {args.blobs} firmware blobs: median {m:.3f} s wall "
            f"({1000 * m / args.blobs:.2f} ms per blob), {c:.3f} s CPU "
            f"({1000 * c / args.blobs:.2f} ms per blob)"
        )
        print(
            f"against a C decoder started per blob ({ref:.2f} s): {m / ref:.2f}x wall, "
            f"{c / ref:.2f}x CPU (goal <= 3x)"
        )


if __name__ == "__main__":
    main()
