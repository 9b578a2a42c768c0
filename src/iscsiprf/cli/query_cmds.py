"""`iscsiprf query` (WQL over instances) and `iscsiprf counters` (typeperf-style sampling).

Both read instances from one source: a snapshot file (``--snapshot``) or the live providers
(``--config``, through :func:`_live_source`). Every user error is one line on stderr and a
non-zero exit; WQL errors point at the column (``<query>:1:COL: error: ...``).
"""

from __future__ import annotations

import csv
import io
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from ..ipsec.errors import IpsecError
from ..mof.model import Schema
from ..perf import (
    CounterPathError,
    CounterSampler,
    SampleRow,
    StampedSource,
    bind_counter_path,
    formatted_view,
    parse_counter_path,
)
from ..wmi.status import WmiStatusError
from ..wql import SnapshotError, WqlError, compile_query, dump_snapshot, snapshot_objects
from ..wql.compiler import display_order
from ..wql.render import render_csv, render_table, result_columns
from .errors import fail, fail_query
from .sources import SourceArgs, open_stamped, source_options

LOCAL_MACHINES = {".", "localhost", "127.0.0.1"}


_fail = fail


def _load_schema() -> Schema:
    """The project's compiled MOF (MSiSCSI_MMIPSECStats, its sibling and their bases)."""
    from ..mof import load_builtin_schema

    return load_builtin_schema()


def _enumerate(source: StampedSource, class_name: str) -> list[dict[str, Any]]:
    try:
        return source.enumerate(class_name)
    except (SnapshotError, IpsecError) as exc:  # a snapshot or state file gone bad meanwhile
        _fail(str(exc))
    except WmiStatusError as exc:  # the broker refused: e.g. no provider serves the class
        _fail(f"{class_name}: {exc}")


# -- query -------------------------------------------------------------------------------


@click.command("query")
@click.argument("wql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="json writes a snapshot that --snapshot reads back.",
)
@source_options(what="Answer from")
@click.option("--formatted", is_flag=True, help="Cooked values (the Win32_PerfFormattedData view).")
def query_cmd(wql: str, fmt: str, source: SourceArgs, formatted: bool) -> None:
    """Run a WQL query: SELECT *|prop,... FROM class [WHERE ...]."""
    schema = _load_schema()
    try:
        compiled = compile_query(wql, schema)
    except WqlError as exc:
        fail_query(*exc.line_col(wql), exc.message)
    instances = open_stamped(schema, source)
    matched: Sequence[Mapping[str, Any]] = compiled.filter(_enumerate(instances, compiled.cls.name))
    if formatted:
        cooked, missing = formatted_view(schema, list(matched))
        _note_single_sample(compiled.columns if not compiled.select_all else None, missing)
        matched = cooked
    rows = [compiled.project(r) for r in matched]
    if fmt == "json":
        sys.stdout.write(dump_snapshot(snapshot_objects(rows, schema)))
        return
    columns = result_columns(
        compiled.columns,
        rows,
        compiled.select_all,
        compiled.cls.name,
        lambda name: display_order(schema.cls(name)) if name in schema else [],
    )
    text = render_csv(columns, rows) if fmt == "csv" else render_table(columns, rows)
    sys.stdout.write(text)


def _note_single_sample(selected: tuple[str, ...] | None, missing: dict[str, str]) -> None:
    """Say which counters a single sample cannot cook, rather than print a made-up rate."""
    names = [n for n in missing if selected is None or n in selected]
    if not names:
        return
    click.echo(
        f"iscsiprf: note: {', '.join(names)}: {missing[names[0]]}; a single --formatted query "
        "leaves them empty (use `iscsiprf counters` with --samples 2 or more)",
        err=True,
    )


# -- counters ----------------------------------------------------------------------------


@click.command("counters")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between samples.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Number of samples [default: until ^C].",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "table"]), default="csv", show_default=True
)
@source_options(what="Sample (re-read when it changes)")
def counters_cmd(
    paths: tuple[str, ...], interval: float, samples: int | None, fmt: str, source: SourceArgs
) -> None:
    r"""Sample counters like typeperf: PATH is \Object(Instance)\Counter, with (*) and \*.

    Example: \MSiSCSI_MMIPSECStats(ROOT\ISCSIPRT\0000_0)\ActiveAcquire
    """
    schema = _load_schema()
    machine = socket.gethostname()
    selections = []
    for text in paths:
        try:
            path = parse_counter_path(text)
            if path.machine is not None and path.machine.casefold() not in _local_names(machine):
                _fail(f"{text}: only this machine ({machine}) can be sampled")
            selections.append(bind_counter_path(path, schema))
        except CounterPathError as exc:
            _fail(str(exc))
    sampler = CounterSampler(selections, open_stamped(schema, source))
    taken = 0
    try:
        while samples is None or taken < samples:
            if taken:
                time.sleep(interval)
            try:
                row = sampler.sample()
            except (SnapshotError, IpsecError) as exc:  # rewritten or gone bad between samples
                _fail(str(exc))
            except WmiStatusError as exc:
                _fail(str(exc))
            if taken == 0:
                if not sampler.columns:
                    _fail("no valid counters: no instance matches " + " ".join(paths))
                _emit_header(sampler, machine, fmt)
            _emit_row(sampler, row, machine, fmt)
            taken += 1
    except KeyboardInterrupt:
        return


def _local_names(machine: str) -> set[str]:
    return LOCAL_MACHINES | {machine.casefold(), machine.split(".")[0].casefold()}


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _zone_header() -> str:
    """typeperf's first header cell: the PDH-CSV version, time zone name and bias in minutes."""
    now = datetime.now().astimezone()
    offset = now.utcoffset()
    bias = -int(offset.total_seconds() // 60) if offset is not None else 0
    return f"(PDH-CSV 4.0) ({now.tzname()})({bias})"


def _value_text(value: int | float | None) -> str:
    if value is None:
        return " "
    if isinstance(value, int):
        return f"{value}.000000"  # exact, even for uint64 beyond float precision
    return f"{value:.6f}"


def _time_text(unix_time: float) -> str:
    stamp = datetime.fromtimestamp(unix_time).astimezone()
    return stamp.strftime("%m/%d/%Y %H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def _emit_header(sampler: CounterSampler, machine: str, fmt: str) -> None:
    if fmt == "csv":
        header = [_zone_header()] + [c.path(machine) for c in sampler.columns]
        sys.stdout.write(_csv_line(header))
    sys.stdout.flush()


def _emit_row(sampler: CounterSampler, row: SampleRow, machine: str, fmt: str) -> None:
    when = _time_text(row.unix_time)
    if fmt == "csv":
        sys.stdout.write(_csv_line([when] + [_value_text(v) for v in row.values]))
    else:
        table_rows = []
        for col, value, reason in zip(sampler.columns, row.values, row.reasons, strict=True):
            table_rows.append(
                {
                    "Time": when,
                    "Counter": f"{col.cls.name}({col.instance})\\{col.counter.name}",
                    "Value": _value_text(value).strip(),
                    "Note": reason or "",
                }
            )
        sys.stdout.write(render_table(["Time", "Counter", "Value", "Note"], table_rows) + "\n")
    sys.stdout.flush()


def register(cli: click.Group) -> None:
    """Add `query` and `counters` to the top-level group."""
    cli.add_command(query_cmd)
    cli.add_command(counters_cmd)
