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
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {proc.stderr.decode()[-2000:]}")
    return took


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
        text_runs: list[float] = []
        bin_runs: list[float] = []
        for _ in range(args.runs):
            text_runs.append(wall([iscsiprf, "mof", "check", mof]))
            bin_runs.append(wall([iscsiprf, "mof", "check", bmf]))
        tm = statistics.median(text_runs)
        bm = statistics.median(bin_runs)
        size = Path(bmf).stat().st_size
        print(f"CIM schema 2.49: mof encode {encode_s:.1f} s -> {size:,} bytes of BMF")
        print(f"iscsiprf mof check SCHEMA.mof  median {tm:.3f} s ({args.runs} runs)")
        print(f"iscsiprf mof check SCHEMA.bmf  median {bm:.3f} s")
        print(f"BMF / MOF time ratio {bm / tm:.2f} (goal <= 0.33)")

        blobs = sorted((CORPUS / "bmof").glob("*.bmof"))
        paths = []
        for i in range(args.blobs):
            src = blobs[i % len(blobs)]
            dst = Path(tmp) / f"blob{i:03d}.bmof"
            dst.write_bytes(src.read_bytes())
            paths.append(str(dst))
        out = str(Path(tmp) / "decoded")
        runs = [wall([iscsiprf, "mof", "decode", *paths, "-o", out]) for _ in range(args.runs)]
        m = statistics.median(runs)
        ref = C_DECODER_114 * args.blobs / 114
        print(
            f"one mof decode process over {args.blobs} firmware blobs: median {m:.3f} s, "
            f"{1000 * m / args.blobs:.2f} ms per blob"
        )
        print(f"against a C decoder started per blob ({ref:.2f} s): {m / ref:.2f}x (goal <= 3x)")


if __name__ == "__main__":
    main()
