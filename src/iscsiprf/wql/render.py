"""Query results as text: a table (or a list when there are many columns), CSV, or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Like PowerShell's Format-Table/Format-List choice: many columns read better as a list.
MAX_TABLE_COLUMNS = 5


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def result_columns(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    select_all: bool,
    class_name: str,
    order_of: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """The columns to print: the query's, plus ``__CLASS`` when instances of subclasses came
    back; for ``SELECT *`` the properties of every class returned (``order_of`` gives a class's
    property order), in the order the classes first appear."""
    classes: list[str] = []
    for r in rows:
        c = str(r.get("__CLASS", class_name))
        if c not in classes:
            classes.append(c)
    if all(c.casefold() == class_name.casefold() for c in classes):
        return list(columns)
    out = ["__CLASS"]
    if not select_all:
        return out + [c for c in columns if c != "__CLASS"]
    for c in classes:
        names = order_of(c) if order_of is not None else []
        names = names or [k for r in rows if r.get("__CLASS") == c for k in r]
        out.extend(n for n in names if n not in out and not n.startswith("__"))
    return out


def render_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    if len(columns) > MAX_TABLE_COLUMNS:
        return render_list(columns, rows)
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(_is_number(r.get(c)) for r in rows) for c in columns]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out) + "\n"


def render_list(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    width = max(len(c) for c in columns)
    blocks = []
    for r in rows:
        blocks.append("\n".join(f"{c.ljust(width)} : {cell(r.get(c))}".rstrip() for c in columns))
    return "\n\n".join(blocks) + "\n"


def render_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([cell(r.get(c)) for c in columns])
    return buf.getvalue()


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
