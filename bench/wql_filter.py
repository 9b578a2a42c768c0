"""WQL filter throughput: the compiled WHERE matcher against a hand-written Python filter.

    PYTHONPATH=src .venv/bin/python bench/wql_filter.py [N]

Builds N MSiSCSI_MMIPSECStats instance dicts (as the broker hands them out), then times
``CompiledQuery.filter`` for a few WHERE clauses against the same condition written directly as a
Python list comprehension (the reference, the fastest a per-row Python test can be), in this run.
t/tref = time of the compiled filter / time of the reference (1.00 = as fast as hand-written).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from iscsiprf.mof import load_builtin_schema
from iscsiprf.wql import compile_query

CASES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("(none)", lambda r: True),
    ("ActiveAcquire > 5", lambda r: r.get("ActiveAcquire") is not None and r["ActiveAcquire"] > 5),
    (
        "Active = TRUE AND OakleyMainMode >= 100 OR NegotiationFailures <> 0",
        lambda r: (
            (r["Active"] is True and r["OakleyMainMode"] >= 100) or r["NegotiationFailures"] != 0
        ),
    ),
    (
        "InstanceName LIKE 'ROOT\\\\ISCSIPRT\\\\00%[13579]_0'",
        lambda r: (
            r["InstanceName"].upper().startswith("ROOT\\ISCSIPRT\\00")
            and r["InstanceName"][-3] in "13579"
        ),
    ),
    (
        "NOT (InstanceName = 'root\\\\iscsiprt\\\\0042_0') AND __CLASS = 'MSiSCSI_MMIPSECStats'",
        lambda r: (
            r["InstanceName"].casefold() != "root\\iscsiprt\\0042_0"
            and r["__CLASS"] == "MSiSCSI_MMIPSECStats"
        ),
    ),
]


def instances(n: int) -> list[dict[str, Any]]:
    cls = load_builtin_schema().cls("MSiSCSI_MMIPSECStats")
    items = [p.name for p in cls.data_items()]
    out = []
    for i in range(n):
        inst: dict[str, Any] = {
            "__CLASS": cls.name,
            "InstanceName": f"ROOT\\ISCSIPRT\\{i:04d}_0",
            "Active": i % 7 != 0,
        }
        for j, name in enumerate(items):
            inst[name] = (i * 31 + j * 17) % 211
        out.append(inst)
    return out


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    schema = load_builtin_schema()
    rows = instances(n)
    print(f"{n} instances of MSiSCSI_MMIPSECStats; best of 5 runs")
    print(f"{'WHERE':<72} {'compiled/s':>12} {'python/s':>12} {'t/tref':>6}")
    for where, reference in CASES:
        text = "SELECT * FROM MSiSCSI_MMIPSECStats" + (
            "" if where == "(none)" else " WHERE " + where
        )
        t_compile = best_of(5, lambda text=text: compile_query(text, schema))
        q = compile_query(text, schema)
        got = q.filter(rows)
        want = [r for r in rows if reference(r)]
        assert got == want, f"{where}: {len(got)} != {len(want)}"
        t_ours = best_of(5, lambda q=q: q.filter(rows))
        t_ref = best_of(5, lambda ref=reference: [r for r in rows if ref(r)])
        print(f"{where[:72]:<72} {n / t_ours:>12,.0f} {n / t_ref:>12,.0f} {t_ours / t_ref:>6.2f}"
              f"   (compile {t_compile * 1e6:.0f} us, {len(got)} match)")  # fmt: skip


if __name__ == "__main__":
    main()
