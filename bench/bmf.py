"""Binary MOF speed: the DMTF CIM schema 2.49 as MOF text and as BMF, and firmware blobs.

1. `iscsiprf mof encode` writes the schema's BMF (not timed). Then whole-process runs,
   alternating: `iscsiprf mof check SCHEMA.mof` against `iscsiprf mof check SCHEMA.bmf`; the
   goal is BMF <= 1/3 of the MOF time (a binary form should load faster than text).
   Then where the BMF's time goes, in this process (median of --runs): decompressing, reading
   the records, writing them as MOF, compiling that; and the floor that any pure-Python reader
   of this schema pays whatever it does with the bytes: interpreter start and imports (`mof
   check` of a one-line MOF), creating the model objects from the records with no checks at all,
   and resolving and checking the schema (what the compiler does after parsing).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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

        phases(Path(bmf).read_bytes(), Path(tmp), iscsiprf, args.runs, tm)

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


def phases(data: bytes, tmp: Path, iscsiprf: str, runs: int, text_s: float) -> None:
    """Print where a BMF check's time goes, and the floor below which no pure-Python path can
    go (the goal leaves text_s / 3 for everything)."""
    import gc

    from iscsiprf.mof.bmf_container import unpack
    from iscsiprf.mof.bmf_mof import objects_to_mof
    from iscsiprf.mof.bmf_read import read_payload
    from iscsiprf.mof.compilation import Compilation
    from iscsiprf.mof.compiler import _finish

    def median_of(fn: Callable[[], T]) -> tuple[float, T]:
        times = []
        for _ in range(runs):
            gc.disable()  # as the compiler does while it builds the schema
            t0 = time.perf_counter()
            got = fn()
            times.append(time.perf_counter() - t0)
            gc.enable()
        return statistics.median(times), got

    t_unpack, container = median_of(lambda: unpack(data))
    t_read, objs = median_of(lambda: read_payload(container.payload)[0])
    t_mof, text = median_of(lambda: objects_to_mof(objs).text())

    def parse() -> Compilation:
        comp = Compilation((), False)
        comp.parse_text(text, "cim.mof")
        return comp

    t_parse, _ = median_of(parse)
    comp_for_finish = [parse() for _ in range(runs)]
    t_finish, _ = median_of(lambda: _finish(comp_for_finish.pop()))
    t_build, _ = median_of(lambda: bare_model(objs))
    tiny = tmp / "one.mof"
    tiny.write_text("class One { uint32 V; };\n")
    t_start = statistics.median(wall([iscsiprf, "mof", "check", str(tiny)]) for _ in range(runs))
    print(
        f"where SCHEMA.bmf's time goes (in-process, median): decompress {t_unpack:.3f} s, "
        f"read records {t_read:.3f} s, write MOF {t_mof:.3f} s, parse {t_parse:.3f} s, "
        f"resolve and check {t_finish:.3f} s"
    )
    floor = t_start + t_build + t_finish
    print(
        f"floor of any pure-Python path: start+imports {t_start:.3f} s + bare model objects "
        f"{t_build:.3f} s + resolve and check {t_finish:.3f} s = {floor:.3f} s "
        f"({floor / text_s:.2f} of the MOF time) before a byte is decompressed or read; "
        f"the goal leaves {text_s / 3:.3f} s for all of it"
    )


def bare_model(objs: list[Any]) -> list[Any]:
    """The schema's classes as model objects made straight from the records, with no checks,
    no inheritance and no parameters: a lower bound on building the model from a BMF."""
    from iscsiprf.mof.bmf_objects import VT_ARRAY, VT_TYPE
    from iscsiprf.mof.model import Method, MofClass, Property, Qualifier, Qualifiers

    def quals(raw: list[Any]) -> Qualifiers:
        qs = Qualifiers()
        for q in raw:
            qs.add(Qualifier(q.name, q.value))
        return qs

    out = []
    for o in objs:
        props = {
            p.name.lower(): Property(
                p.name,
                VT_TYPE.get(p.vt & ~VT_ARRAY, "object"),
                quals(p.qualifiers),
                bool(p.vt & VT_ARRAY),
                None,
                None,
                p.value,
                o.name,
            )
            for p in o.properties
        }
        methods = {
            m.name.lower(): Method(m.name, "void", [], quals(m.qualifiers)) for m in o.methods
        }
        sup = o.system.get("__SUPERCLASS")
        out.append(MofClass(o.name, sup, "root/cimv2", quals(o.qualifiers), props, methods))
    return out


if __name__ == "__main__":
    main()
