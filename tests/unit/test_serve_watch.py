"""`watch`: rates of cumulative counters, changed cells, one frame for scripts; CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from iscsiprf.cli.app import cli
from iscsiprf.mof import load_builtin_schema
from iscsiprf.serve.query import compile_wql
from iscsiprf.serve.watch import WatchModel, render

MM = "MSiSCSI_MMIPSECStats"


def model(query: str = f"SELECT * FROM {MM}") -> WatchModel:
    schema = load_builtin_schema()
    return WatchModel(schema, compile_wql(schema, query))


def test_rates_for_cumulative_counters_only() -> None:
    m = model()
    first = m.update(
        [{"InstanceName": "A_0", "Active": True, "OakleyMainMode": 10, "ActiveAcquire": 1}], 100.0
    )
    assert first.cells[("A_0", "OakleyMainMode")].rate is None
    assert not first.cells[("A_0", "OakleyMainMode")].changed
    second = m.update(
        [{"InstanceName": "A_0", "Active": True, "OakleyMainMode": 16, "ActiveAcquire": 3}], 102.0
    )
    omm = second.cells[("A_0", "OakleyMainMode")]
    assert omm.rate == 3.0 and omm.changed
    acq = second.cells[("A_0", "ActiveAcquire")]
    assert acq.rate is None and acq.changed  # a gauge has no rate
    assert not second.cells[("A_0", "Active")].changed
    third = m.update(
        [{"InstanceName": "A_0", "Active": False, "OakleyMainMode": 2, "ActiveAcquire": 3}], 103.0
    )
    assert third.cells[("A_0", "OakleyMainMode")].rate is None  # went backwards: a reset, no rate
    assert third.cells[("A_0", "Active")].changed


def test_selected_properties_become_the_rows() -> None:
    m = model(f"SELECT OakleyMainMode, Active FROM {MM}")
    assert m.rows == ["OakleyMainMode", "Active"]


def test_render_shows_values_and_highlights() -> None:
    m = model()
    m.update([{"InstanceName": "A_0", "Active": True, "OakleyMainMode": 10}], 0.0)
    frame = m.update([{"InstanceName": "A_0", "Active": True, "OakleyMainMode": 14}], 2.0)
    console = Console(record=True, width=200, color_system="truecolor")
    console.print(render(frame))
    text = console.export_text()
    assert "A_0" in text and "OakleyMainMode" in text and "14" in text and "2.00" in text
    assert "background-color" in console.export_html()  # the changed cell


def test_watch_once_cli(tmp_path: Path) -> None:
    snap = tmp_path / "s.json"
    snap.write_text(
        json.dumps(
            [{"InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True, "OakleyMainMode": 77}]
        )
    )
    r = CliRunner().invoke(
        cli,
        [
            "watch",
            "--once",
            "--snapshot",
            str(snap),
            f"SELECT * FROM {MM} WHERE OakleyMainMode > 5",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "ROOT\\ISCSIPRT\\0000_0" in r.output and "77" in r.output
    r = CliRunner().invoke(
        cli,
        [
            "watch",
            "--once",
            "--snapshot",
            str(snap),
            f"SELECT * FROM {MM} WHERE OakleyMainMode > 100",
        ],
    )
    assert "(no instances)" in r.output


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    snap = tmp_path / "s.json"
    snap.write_text("[]")
    runner = CliRunner()
    cases = [
        (
            ["watch", "--once", "--snapshot", str(snap), "SELECT * FROM"],
            "<query>:1:14: error: ",
        ),
        (["watch", "--once", "--snapshot", str(tmp_path / "missing.json")], "iscsiprf: error:"),
        (
            ["serve", "--snapshot", str(snap), "--user", "u"],
            "--user and --password-file go together",
        ),
        (
            ["serve", "--snapshot", str(snap), "--tls-cert", str(snap)],
            "--tls-cert and --tls-key go together",
        ),
        (["serve", "--snapshot", str(snap), "--config", str(snap)], "not --config and --snapshot"),
    ]
    for args, message in cases:
        r = runner.invoke(cli, args)
        assert r.exit_code != 0
        assert message in r.output, r.output
        assert "Traceback" not in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(cli, ["serve", "--snapshot", str(bad)])
    assert r.exit_code == 1 and "bad.json" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["serve", "--snapshot", str(snap), "--cimxml", "nohost"])
    assert r.exit_code == 2 and "HOST:PORT" in r.output
