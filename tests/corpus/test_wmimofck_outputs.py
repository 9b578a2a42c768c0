"""wmimofck's `-x` and `-c` outputs for the six reference cases, byte for byte: the hex dump from
each case's .bmf (mofcomp's output), the driver template from its compiled .mof, and the
`mof header` command writing them (the corpus README gives the tool's command lines: each file
from its own run named after the case, so the template's includes name the case)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import iscsiprf.mof as mof_pkg
from iscsiprf.cli.app import cli
from iscsiprf.codegen.driver_template import render_driver_template, template_blocks
from iscsiprf.codegen.header import header_classes
from iscsiprf.codegen.hexdump import render_hexdump
from iscsiprf.mof import compile_files

from shared_data import CORPUS, need_shared, params_or_skip

CASES = sorted((CORPUS / "wmimofck").glob("*.bmf"))


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_all_six_reference_cases_are_there() -> None:
    need_shared(CORPUS / "wmimofck")
    assert [p.stem for p in CASES] == ["case00", "case01", "case02", "case03", "case04", "seedD"]
    for bmf in CASES:
        for ext in (".mof", ".x", ".c"):
            assert bmf.with_suffix(ext).is_file()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_hexdump_of_the_bmf_is_the_tools_x(bmf: Path) -> None:
    assert render_hexdump(bmf.read_bytes()).encode() == bmf.with_suffix(".x").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_template_of_the_compiled_mof_is_the_tools_c(bmf: Path) -> None:
    mof = bmf.with_suffix(".mof")
    result = compile_files([mof])
    assert not result.errors, result.errors
    text = render_driver_template(template_blocks(header_classes(result.schema)), bmf.stem)
    assert text.encode() == bmf.with_suffix(".c").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_command_x_from_the_bmf(bmf: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{bmf.stem}.x"
    res = run("mof", "header", bmf, "-x", out)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert out.read_bytes() == bmf.with_suffix(".x").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_command_header_and_c_from_the_mof(bmf: Path, tmp_path: Path) -> None:
    h, c = tmp_path / f"{bmf.stem}.h", tmp_path / f"{bmf.stem}.c"
    res = run("mof", "header", bmf.with_suffix(".mof"), "-o", h, "-c", c)
    assert res.exit_code == 0, res.output
    assert h.read_bytes() == bmf.with_suffix(".h").read_bytes()
    assert c.read_bytes() == bmf.with_suffix(".c").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_command_header_and_c_from_the_bmf(bmf: Path, tmp_path: Path) -> None:
    """wmimofck's own input: with the BMF decoder the files equal the tool's; without it the
    command says what is missing and writes nothing."""
    h, c = tmp_path / f"{bmf.stem}.h", tmp_path / f"{bmf.stem}.c"
    res = run("mof", "header", bmf, "-o", h, "-c", c)
    if getattr(mof_pkg, "decode_bmf", None) is None:
        assert res.exit_code == 1
        assert "reading a binary MOF needs the BMF decoder" in res.stderr
        assert not h.exists() and not c.exists()
    else:
        assert res.exit_code == 0, res.output
        assert h.read_bytes() == bmf.with_suffix(".h").read_bytes()
        assert c.read_bytes() == bmf.with_suffix(".c").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_command_x_from_the_mof(bmf: Path, tmp_path: Path) -> None:
    """With the BMF encoder, -x of the MOF text equals the tool's dump of mofcomp's BMF (the
    encoder reproduces mofcomp's bytes); without it the command says what is missing."""
    out = tmp_path / f"{bmf.stem}.x"
    res = run("mof", "header", bmf.with_suffix(".mof"), "-x", out)
    if getattr(mof_pkg, "encode_bmf", None) is None:
        assert res.exit_code == 1
        assert "-x of MOF text needs the BMF encoder" in res.stderr
        assert not out.exists()
    else:
        assert res.exit_code == 0, res.output
        assert out.read_bytes() == bmf.with_suffix(".x").read_bytes()


@pytest.mark.parametrize("bmf", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_command_writes_all_three_and_names_the_includes_after_x(
    bmf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All three files in one run, the template named after `-c` and including after `-x`:
    the tool's files with only those names changed. The BMF comes from mofcomp here (an
    encoder that returns the case's .bmf), so the run needs no codec of ours."""
    monkeypatch.setattr(mof_pkg, "encode_bmf", lambda schema: bmf.read_bytes(), raising=False)
    h, x, c = tmp_path / "out.h", tmp_path / "blob.x", tmp_path / "myDrv.c"
    res = run("mof", "header", bmf.with_suffix(".mof"), "-o", h, "-x", x, "-c", c)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    case, prefix = bmf.stem, bmf.stem[0].upper() + bmf.stem[1:]
    tool_h = bmf.with_suffix(".h").read_bytes()
    assert h.read_bytes() == tool_h.replace(f"_{case}_h_".encode(), b"_out_h_")
    assert x.read_bytes() == bmf.with_suffix(".x").read_bytes()
    tool_c = bmf.with_suffix(".c").read_bytes()
    expected = tool_c.replace(f'"{case}.'.encode(), b'"blob.').replace(prefix.encode(), b"MyDrv")
    assert c.read_bytes() == expected
    assert b'#include "blob.h"\r\n' in expected and prefix.encode() not in expected
