"""`iscsiprf mof check|classes` as a user runs them: output format and exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from iscsiprf.cli.app import cli

from shared_data import seed_class_text

PROJECT_MOF = Path(__file__).resolve().parents[2] / "src" / "iscsiprf" / "data" / "iscsiprf.mof"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_check_clean_file_exits_0_silently() -> None:
    r = run("mof", "check", str(PROJECT_MOF))
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")


def test_check_documented_class_warns_and_strict_fails(tmp_path: Path) -> None:
    doc = tmp_path / "doc.mof"
    doc.write_text(seed_class_text())
    r = run("mof", "check", str(doc))
    lines = r.stderr.splitlines()
    assert r.exit_code == 0 and len(lines) == 40
    assert (
        lines[0]
        == f"{doc}:7:51: warning: string literal continues on the next line; joined with a single space"
    )
    r = run("mof", "check", "--strict", str(doc))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0].startswith(f"{doc}:7:51: error: string literal continues")


def test_check_errors_exit_1_with_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mof"
    bad.write_text(
        'class A {\n  [read, WmiDataId(2)] uint32 x;\n  [Description("oops)] uint32 y;\n};\n'
    )
    r = run("mof", "check", str(bad))
    assert (r.exit_code, r.stderr) == (1, f"{bad}:3:16: error: unterminated string\n")


def test_usage_errors_exit_2() -> None:
    assert run("mof", "check").exit_code == 2
    assert run("mof", "check", "--frobnicate", str(PROJECT_MOF)).exit_code == 2


def test_classes_json_has_typed_qualifier_values() -> None:
    r = run("mof", "classes", "--json", str(PROJECT_MOF))
    assert r.exit_code == 0
    classes = {c["name"]: c for c in json.loads(r.stdout)}
    assert sorted(classes) == ["MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"]
    mm = classes["MSiSCSI_MMIPSECStats"]
    assert (mm["superclass"], mm["namespace"]) == ("Win32_PerfRawData", "root/wmi")
    assert mm["qualifiers"]["guid"] == "{36B58EA2-C461-4bb0-AC8E-952F59D251ED}"
    assert mm["qualifiers"]["HiPerf"] is True and mm["qualifiers"]["PerfDetail"] == 100
    props = {p["name"]: p for p in mm["properties"]}
    assert props["InstanceName"]["qualifiers"] == {"read": True, "key": True}
    acq = props["ActiveAcquire"]
    assert (acq["type"], acq["array"]) == ("uint64", False)
    assert acq["qualifiers"]["CounterType"] == 65792 and acq["qualifiers"]["WmiDataId"] == 1
    assert "\n" not in acq["qualifiers"]["Description"]
    assert [p["name"] for p in mm["properties"] if "WmiDataId" in p["qualifiers"]][
        -1
    ] == "SoftAssociations"
