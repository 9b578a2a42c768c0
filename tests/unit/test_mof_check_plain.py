"""Plain `mof check` command lines run without click, and answer exactly as the click command
does; every other form is left to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from iscsiprf.cli import mof_check
from iscsiprf.cli.app import cli

from shared_data import seed_class_text


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "base.mof").write_text("class Base { uint8 a; };\n")
    made = {
        "clean": "class A { [key] string Name; };\n",
        "doc": seed_class_text(),  # 40 join warnings; errors under --strict
        "bad": "class B {\n  uint32 x\n};\n",
        "inc": '#pragma include("base.mof")\nclass C : Base { uint8 b; };\n',
    }
    for name, text in made.items():
        (tmp_path / f"{name}.mof").write_text(text)
    return {"dir": str(tmp_path), "inc_dir": str(tmp_path / "inc")} | {
        name: str(tmp_path / f"{name}.mof") for name in made
    }


MAIN = "from iscsiprf.cli import main; main()"  # the console script's entry point

PLAIN = [
    ["{clean}"],
    ["{doc}"],
    ["--strict", "{doc}"],
    ["{doc}", "--strict"],
    ["{bad}"],
    ["{clean}", "{bad}", "{doc}"],
    ["-I", "{inc_dir}", "{inc}"],
    ["{inc}"],  # base.mof not found: an error with its place
    ["{dir}/missing.mof"],
    ["--strict", "--strict", "{clean}"],
]

LEFT_TO_CLICK = [
    [],
    ["--help"],
    ["-h", "{clean}"],
    ["--frobnicate", "{clean}"],
    ["--", "{clean}"],
    ["-I"],
    ["-I", "{clean}", "{clean}"],  # a file where a directory belongs
    ["-I{inc_dir}", "{inc}"],
    ["{dir}"],  # a directory where a file belongs
    ["--strict"],
    [""],
]


def _argv(template: list[str], files: dict[str, str]) -> list[str]:
    return ["mof", "check", *(a.format(**files) for a in template)]


@pytest.mark.parametrize("template", PLAIN)
def test_plain_forms_answer_as_click_does(
    template: list[str], files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(template, files)
    assert mof_check.plain_arguments(argv) is not None
    status = mof_check.run_plain(argv)
    plain = (status, *capsys.readouterr())
    by_click = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert plain == (by_click.exit_code, by_click.stdout, by_click.stderr)


@pytest.mark.parametrize("template", LEFT_TO_CLICK)
def test_other_forms_are_left_to_click(template: list[str], files: dict[str, str]) -> None:
    argv = _argv(template, files)
    assert mof_check.plain_arguments(argv) is None
    assert mof_check.run_plain(argv) is None
    assert mof_check.plain_arguments(["mof", "classes", files["clean"]]) is None


def test_plain_check_does_not_import_click(files: dict[str, str]) -> None:
    code = (
        "import sys\n"
        "from iscsiprf.cli import mof_check\n"
        f"status = mof_check.run_plain(['mof', 'check', {files['bad']!r}])\n"
        "print(status, 'click' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout == "1 False\n", r.stderr


def test_check_reads_a_pipe_to_its_end() -> None:
    # A pipe has no size to read by: /dev/stdin is read until its end.
    text = (
        "class Piped {\n" + "".join(f"  uint32 x{n};\n" for n in range(5000)) + "  uint32 y\n};\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", MAIN, "mof", "check", "/dev/stdin"],
        input=text,
        capture_output=True,
        text=True,
    )
    assert (r.returncode, r.stderr) == (1, "/dev/stdin:5003:1: error: missing ';' before '}'\n")


def test_warnings_of_piped_input_keep_their_places() -> None:
    # Warnings are placed after the whole input is parsed; a pipe cannot be read again, so its
    # text is kept (a regular file's is released and read back).
    r = subprocess.run(
        [sys.executable, "-c", MAIN, "mof", "check", "/dev/stdin"],
        input=seed_class_text(),
        capture_output=True,
        text=True,
    )
    lines = r.stderr.splitlines()
    assert r.returncode == 0 and len(lines) == 40
    assert lines[0].startswith("/dev/stdin:7:51: warning: string literal continues")
