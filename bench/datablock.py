"""Pack + unpack of MSiSCSI_MMIPSECStats data blocks from and to dicts.

Compares `ClassLayout.pack`/`unpack` (the layout compiled from the project's own MOF) with a
bare baseline doing the same work in the same run: `struct.Struct('<21Q')` packing the dict's
values in item order and `dict(zip(names, values))` after unpacking. Goal: within 1.5x.

Run: PYTHONPATH=src .venv/bin/python bench/datablock.py [BLOCKS]
"""

from __future__ import annotations

import operator
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from iscsiprf.codegen.layout import class_layout
from iscsiprf.mof import load_builtin_schema

CLASS = "MSiSCSI_MMIPSECStats"


def _best_of(rounds: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    blocks = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    schema = load_builtin_schema()
    layout = class_layout(schema.cls(CLASS), schema)
    names = [it.name for it in layout.items]
    rows = [{n: (i * 31 + k) % 2**64 for k, n in enumerate(names)} for i in range(blocks)]

    bare = struct.Struct(f"<{len(names)}Q")
    values_of = operator.itemgetter(*names)  # the fastest plain way to take the values in order

    def baseline() -> None:
        for row in rows:
            buf = bare.pack(*values_of(row))
            dict(zip(names, bare.unpack(buf)))  # noqa: B905 (no keyword cost in the baseline)

    pack, unpack = layout.pack, layout.unpack

    def ours() -> None:
        for row in rows:
            unpack(pack(row))

    # Same bytes, same values, before timing anything.
    assert layout.pack(rows[1]) == bare.pack(*[rows[1][n] for n in names])
    assert layout.unpack(layout.pack(rows[1])) == rows[1]

    t_base = _best_of(5, baseline)
    t_ours = _best_of(5, ours)
    print(f"{CLASS}: {len(names)} items, {layout.size} bytes per block, {blocks} blocks")
    print(
        f"baseline struct.Struct('<{len(names)}Q') + dict(zip): {blocks / t_base:12,.0f} blocks/s"
    )
    print(f"iscsiprf ClassLayout.pack + unpack:          {blocks / t_ours:12,.0f} blocks/s")
    print(f"ratio (ours / baseline time): {t_ours / t_base:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
