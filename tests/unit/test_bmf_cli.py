"""`iscsiprf mof decode|encode` and BMF input to `mof check|classes`, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from iscsiprf.cli.app import cli

MOF = """#pragma namespace("\\\\\\\\.\\\\root\\\\wmi")
[WMI, Dynamic, Provider("WMIProv"), guid("{11111111-2222-3333-4444-555555555555}")]
class Demo_Stats {
  [key, read] string InstanceName;
  [read] boolean Active;
  [WmiDataId(1), read, Description("Sent."): Amended] uint32 Sent;
  [WmiDataId(2), read, ValueMap{"0", "1"}, Values{"Off", "On"}] uint32 Mode;
};
"""
# The same class breaking wmimofck's rule that WmiDataIds run from 1 without a gap.
BAD = MOF.replace("WmiDataId(2)", "WmiDataId(16)")


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def _encode(tmp_path: Path, text: str, name: str) -> Path:
    src = tmp_path / f"{name}.mof"
    src.write_text(text)
    out = tmp_path / f"{name}.bmf"
    code, _, err = _run("mof", "encode", str(src), "-o", str(out))
    assert code == 0, err
    return out


def test_encode_then_decode_then_classes(tmp_path: Path) -> None:
    bmf = _encode(tmp_path, MOF, "demo")
    assert bmf.read_bytes()[:4] == b"FOMB"
    code, out, _ = _run("mof", "decode", str(bmf))
    assert code == 0
    assert "class Demo_Stats {" in out
    assert 'Description("Sent."): Amended' in out
    renamed = tmp_path / "no_extension"
    renamed.write_bytes(bmf.read_bytes())  # the signature decides, not the name
    code, out, _ = _run("mof", "classes", str(renamed))
    assert code == 0
    assert out.startswith("root/wmi:Demo_Stats {11111111-2222-3333-4444-555555555555}")
    assert _run("mof", "check", str(renamed))[0] == 0


def test_decode_several_into_a_directory(tmp_path: Path) -> None:
    a = _encode(tmp_path, MOF, "a")
    b = _encode(tmp_path, MOF.replace("Demo_Stats", "Other_Stats"), "b")
    out = tmp_path / "made" / "here"
    code, _, err = _run("mof", "decode", str(a), str(b), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.mof", "b.mof"]
    assert "class Other_Stats" in (out / "b.mof").read_text()
    assert _run("mof", "decode", str(a), str(b))[0] == 2  # several need -o DIR


def test_wmimofck_rules_warn_when_reading_and_fail_when_checking(tmp_path: Path) -> None:
    bmf = _encode(tmp_path, BAD, "bad")
    code, out, err = _run("mof", "classes", str(bmf))
    assert code == 0
    assert "Demo_Stats" in out
    assert f"{bmf}: offset " in err and ": warning: " in err
    code, _, err = _run("mof", "check", str(bmf))
    assert code == 1
    assert f"{bmf}: offset " in err and ": error: " in err
    assert _run("mof", "header", str(bmf))[0] == 1
    src = tmp_path / "bad.mof"
    assert _run("mof", "encode", "--wmi", str(src), "-o", str(tmp_path / "x.bmf"))[0] == 1


def test_broken_bmf_is_one_line_with_the_offset(tmp_path: Path) -> None:
    bmf = _encode(tmp_path, MOF, "t")
    cut = tmp_path / "cut.bmf"
    cut.write_bytes(bmf.read_bytes()[:60])
    for cmd in (["mof", "decode"], ["mof", "classes"], ["mof", "check"]):
        code, _, err = _run(*cmd, str(cut))
        assert code == 1, cmd
        assert err.startswith(f"{cut}: offset 8: error: compressed length"), err
        assert "Traceback" not in err
    code, _, err = _run("mof", "decode", str(tmp_path / "missing.bmf"))
    assert code == 1
    assert (
        err
        == f"iscsiprf: error: {tmp_path / 'missing.bmf'}: cannot read: No such file or directory\n"
    )


def test_a_directory_or_a_text_file_given_to_decode(tmp_path: Path) -> None:
    code, _, err = _run("mof", "decode", str(tmp_path))
    assert code == 1
    assert err == f"iscsiprf: error: {tmp_path}: is a directory, not a binary MOF file\n"
    mof = tmp_path / "plain.mof"
    mof.write_text(MOF)
    code, _, err = _run("mof", "decode", str(mof))
    assert code == 1
    assert err == f"{mof}: offset 0: error: not a binary MOF: no FOMB signature\n"


def test_layout_of_a_bmf(tmp_path: Path) -> None:
    bmf = _encode(tmp_path, MOF, "lay")
    code, out, err = _run("mof", "layout", str(bmf), "--json")
    assert code == 0, err
    assert '"Demo_Stats"' in out


def test_maxlen_on_an_array_of_embedded_objects_is_accepted(tmp_path: Path) -> None:
    """As wmimofck does for the WDK's msdsmdsm.mof (TargetDefaultPolicyInfo)."""
    text = MOF.replace(
        "class Demo_Stats {",
        "class Demo_Stats {\n  [WmiDataId(3), read, MaxLen(1)] Demo_Item Items[];",
    ).replace(
        "[WMI, Dynamic",
        '[WMI, guid("{11111111-2222-3333-4444-666666666666}")]\nclass Demo_Item {\n'
        "  [WmiDataId(1), read] uint32 X;\n};\n[WMI, Dynamic",
    )
    src = tmp_path / "emb.mof"
    src.write_text(text)
    assert _run("mof", "check", str(src))[0] == 0
    bad = tmp_path / "bad.mof"
    bad.write_text(MOF.replace("read, Desc", "read, MaxLen(4), Desc"))
    code, _, err = _run("mof", "check", str(bad))
    assert code == 1
    assert "MaxLen applies to strings" in err


def test_plain_mof_check_reads_a_bmf_without_click(tmp_path: Path, capsys: object) -> None:
    """`mof check FILE` runs without importing click (cli/mof_check.py); a BMF goes through
    the same loader there."""
    from iscsiprf.cli import mof_check

    good = _encode(tmp_path, MOF, "good")
    bad = _encode(tmp_path, BAD, "bad")
    assert mof_check.run_plain(["mof", "check", str(good)]) == 0
    assert mof_check.run_plain(["mof", "check", str(bad)]) == 1


def test_real_values_are_written_as_mof_reals() -> None:
    from iscsiprf.mof.bmf_mof import mof_value

    assert mof_value(1e-05) == "1.0e-05"
    assert mof_value(2.5) == "2.5"
    assert float(mof_value(1e300)) == 1e300


def test_a_value_a_bmf_cannot_hold_is_an_error_at_its_place(tmp_path: Path) -> None:
    src = tmp_path / "v.mof"
    src.write_text("class A { uint8 x; };\ninstance of A { x = 300; };\n")
    code, _, err = _run("mof", "encode", str(src), "-o", str(tmp_path / "v.bmf"))
    assert code == 1
    assert err.startswith(f"{src}:2:13: error: instance of A: value 300 does not fit a uint8")
    assert not (tmp_path / "v.bmf").exists()


def test_decode_into_an_existing_directory_and_clashing_names(tmp_path: Path) -> None:
    a = _encode(tmp_path, MOF, "one")
    out = tmp_path / "out"
    out.mkdir()
    assert _run("mof", "decode", str(a), "-o", str(out))[0] == 0
    assert "class Demo_Stats" in (out / "one.mof").read_text()
    other = tmp_path / "sub"
    other.mkdir()
    b = other / "one.bmf"
    b.write_bytes(a.read_bytes())
    code, _, err = _run("mof", "decode", str(a), str(b), "-o", str(tmp_path / "both"))
    assert code == 1
    assert "would both be written as" in err
    assert not (tmp_path / "both").exists()


def test_acpi_lists_the_good_blobs_and_reports_the_bad_one(tmp_path: Path) -> None:
    from iscsiprf.mof import builtin_mof_resource

    devices = tmp_path / "sys" / "bus" / "wmi" / "devices"
    good = devices / "05901221-D566-11D1-B2F0-00A0C9062910"
    bad = devices / "05901221-D566-11D1-B2F0-00A0C9062910-1"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    (good / "bmof").write_bytes(builtin_mof_resource())
    (bad / "bmof").write_bytes(builtin_mof_resource()[:30])
    code, out, err = _run("mof", "acpi", "--root", str(tmp_path))
    assert code == 1
    assert "MSiSCSI_MMIPSECStats" in out  # the good blob is still listed
    assert f"{bad / 'bmof'}: offset" in err
    code, _, err = _run("mof", "acpi", "--root", str(tmp_path / "nowhere"))
    assert code == 1 and "no such directory" in err
