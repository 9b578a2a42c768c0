"""`iscsiprf lab` error paths that need no root and no daemon."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from iscsiprf.cli import lab_cmds


def group() -> click.Group:
    cli = click.Group("iscsiprf")
    lab_cmds.register(cli)
    return cli


def test_status_without_a_lab_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(group(), ["lab", "status", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"iscsiprf: error: no lab in {tmp_path} (start one with `iscsiprf lab up`)"
    ]


def test_status_of_a_corrupt_lab_file_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "lab.json").write_text("not json")
    result = CliRunner().invoke(group(), ["lab", "status", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("iscsiprf: error: ")
    assert "not a lab description" in result.output
    assert "Traceback" not in result.output


def test_lab_help_lists_the_commands() -> None:
    result = CliRunner().invoke(group(), ["lab", "--help"])
    assert result.exit_code == 0
    for name in ("up", "down", "status", "demo"):
        assert f"  {name}" in result.output
