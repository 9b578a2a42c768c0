"""`iscsiprf lab iscsi` command-line errors that need no lab."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from iscsiprf.cli import lab_cmds


def group() -> click.Group:
    cli = click.Group("iscsiprf")
    lab_cmds.register(cli)
    return cli


def test_without_a_lab_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(group(), ["lab", "iscsi", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("iscsiprf: error: ")


def test_mib_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    for value in ("0", "65", "x"):
        result = CliRunner().invoke(
            group(), ["lab", "iscsi", "--dir", str(tmp_path), "--mib", value]
        )
        assert result.exit_code == 2, value
        assert "--mib" in result.output


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(group(), ["lab", "iscsi", "--profile", "ikev3"])
    assert result.exit_code == 2


def test_help_names_the_options() -> None:
    result = CliRunner().invoke(group(), ["lab", "iscsi", "--help"])
    assert result.exit_code == 0
    for option in ("--dir", "--mib", "--write", "--profile"):
        assert option in result.output
