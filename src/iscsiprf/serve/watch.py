"""`iscsiprf watch`: a perfmon-like live table of the counters (report view: one row per
counter, one column pair per instance — raw value and per-second rate)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from iscsiprf.mof.model import Schema

from .metrics import gauge_properties
from .query import ServedQuery
from .source import InstanceSource, instances_of

CHANGED = "bold black on yellow"


@dataclass(slots=True)
class Cell:
    value: Any
    rate: float | None  # per second, cumulative counters only, from the previous sample
    changed: bool


@dataclass(slots=True)
class Frame:
    class_name: str
    rows: list[str]  # property names, Active first
    instances: list[str]  # InstanceName, in source order
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (instance, row)
    sample: int = 0
    elapsed: float | None = None


class WatchModel:
    """Pure: turns successive samples into frames (rates, changed cells)."""

    def __init__(self, schema: Schema, query: ServedQuery) -> None:
        cls = schema.cls(query.class_name)
        self.class_name = cls.name
        if query.properties is None:
            names = ["Active", *(p.name for p in cls.data_items())]
        else:
            names = [n for n in query.properties if not n.startswith("__")]
        keys = {k.name for k in cls.keys()}
        self.rows = [n for n in names if n not in keys and cls.prop(n) is not None]
        gauges = gauge_properties().get(cls.name.lower(), frozenset())
        self.cumulative = {
            p.name
            for p in cls.data_items()
            if p.name.lower() not in gauges and p.type.startswith(("uint", "sint"))
        }
        self._prev: dict[str, Mapping[str, Any]] = {}
        self._prev_t: float | None = None
        self._samples = 0

    def update(self, instances: Sequence[Mapping[str, Any]], t: float) -> Frame:
        self._samples += 1
        dt = None if self._prev_t is None else t - self._prev_t
        frame = Frame(self.class_name, self.rows, [], sample=self._samples, elapsed=dt)
        current: dict[str, Mapping[str, Any]] = {}
        for inst in instances:
            name = str(inst.get("InstanceName", ""))
            current[name] = inst
            frame.instances.append(name)
            before = self._prev.get(name)
            for row in self.rows:
                v = inst.get(row)
                old = before.get(row) if before is not None else None
                rate = None
                if (
                    row in self.cumulative
                    and dt
                    and isinstance(v, int)
                    and isinstance(old, int)
                    and v >= old
                ):
                    rate = (v - old) / dt
                changed = before is not None and old != v
                frame.cells[(name, row)] = Cell(v, rate, changed)
        self._prev, self._prev_t = current, t
        return frame


def _show(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v)


def render(frame: Frame) -> Table:
    interval = "" if frame.elapsed is None else f", {frame.elapsed:.1f} s since the last"
    table = Table(
        title=f"{frame.class_name} — sample {frame.sample}{interval}",
        caption="/s: per-second rate of cumulative counters; highlighted: changed since the last sample",
    )
    table.add_column("Counter", style="bold")
    for name in frame.instances:
        table.add_column(name, justify="right")
        table.add_column("/s", justify="right", style="cyan")
    for row in frame.rows:
        cells: list[Text | str] = [row]
        for name in frame.instances:
            c = frame.cells.get((name, row))
            if c is None:
                cells += ["-", ""]
                continue
            cells.append(Text(_show(c.value), style=CHANGED if c.changed else ""))
            cells.append("" if c.rate is None else f"{c.rate:.2f}")
        table.add_row(*cells)
    if not frame.instances:
        table.add_row("(no instances)")
    return table


def sample(source: InstanceSource, query: ServedQuery) -> list[Mapping[str, Any]]:
    return [inst for _, inst in instances_of(source, query.class_name) if query.matches(inst)]


def watch(
    source: InstanceSource,
    query: ServedQuery,
    *,
    interval: float = 1.0,
    once: bool = False,
    console: Console | None = None,
) -> None:
    console = console or Console()
    model = WatchModel(source.schema, query)
    frame = model.update(sample(source, query), time.monotonic())
    if once or not console.is_terminal:
        # Not a terminal: one frame per sample, one after the other (like typeperf).
        console.print(render(frame))
        while not once:
            time.sleep(interval)
            console.print(render(model.update(sample(source, query), time.monotonic())))
        return
    with Live(render(frame), console=console, auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            frame = model.update(sample(source, query), time.monotonic())
            live.update(render(frame), refresh=True)
