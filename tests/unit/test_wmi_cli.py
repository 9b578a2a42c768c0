"""`iscsiprf wnode encode|decode` through click, as a user runs them."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from iscsiprf.cli import wnode_cmds
from iscsiprf.mof import load_builtin_schema

MM = "MSiSCSI_MMIPSECStats"


@pytest.fixture(scope="module")
def cli() -> click.Group:
    group = click.Group("iscsiprf")
    wnode_cmds.register(group)
    return group


@pytest.fixture(scope="module")
def items() -> list[str]:
    return [p.name for p in load_builtin_schema().cls(MM).data_items()]


def write_instances(tmp_path: Path, rows: object) -> Path:
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(rows))
    return path


def test_encode_pdo_then_decode(cli: click.Group, items: list[str], tmp_path: Path) -> None:
    rows = [{n: 1000 * k + i for i, n in enumerate(items)} for k in range(2)]
    src = write_instances(tmp_path, rows)
    out = tmp_path / "mm.wnode"
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "wnode",
            "encode",
            "--class",
            MM,
            "--instances",
            str(src),
            "--pdo",
            "ROOT\\ISCSIPRT\\0000",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    buf = out.read_bytes()
    # 64-byte WNODE_ALL_DATA, 2 x 168 bytes of data, then names: BufferSize = 400 + 8 + 2 * 44.
    assert struct.unpack_from("<I", buf, 0)[0] == len(buf) == 496
    assert struct.unpack_from("<IIII", buf, 44) == (0x10091, 64, 2, 400)
    r = runner.invoke(cli, ["wnode", "decode", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["guid"] == "36b58ea2-c461-4bb0-ac8e-952f59d251ed"
    assert doc["flags"] == 0x10091 and doc["instance_count"] == 2
    assert doc["instances"][1] == {"InstanceName": "ROOT\\ISCSIPRT\\0000_1", **rows[1]}
    # The decode output encodes again to the same bytes.
    again = tmp_path / "again.wnode"
    src2 = tmp_path / "decoded.json"
    src2.write_text(r.output)
    r = runner.invoke(
        cli,
        [
            "wnode",
            "encode",
            "--class",
            MM,
            "--instances",
            str(src2),
            "--pdo",
            "ROOT\\ISCSIPRT\\0000",
            "-o",
            str(again),
        ],
    )
    assert r.exit_code == 0, r.output
    assert again.read_bytes() == buf


def test_encode_dynamic_names_to_stdout(cli: click.Group, items: list[str], tmp_path: Path) -> None:
    rows = [{"InstanceName": "iqn.a_1", **{n: 5 for n in items}}]
    r = CliRunner().invoke(
        cli, ["wnode", "encode", "--class", MM, "--instances", str(write_instances(tmp_path, rows))]
    )
    assert r.exit_code == 0
    buf = r.stdout_bytes
    assert (
        struct.unpack_from("<I", buf, 44)[0] == 0x11
    )  # ALL_DATA | FIXED_INSTANCE_SIZE, no static names
    assert struct.unpack_from("<H", buf, 236)[0] == len("iqn.a_1") * 2  # dynamic: NUL not counted


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"ActiveAcquire": 1}], "missing data item ActiveReceive"),
        ([{"Bogus": 1}], "has no data item 'Bogus'"),
        ({"x": 1}, "expected a JSON list"),
    ],
)
def test_encode_bad_instances(cli: click.Group, tmp_path: Path, rows: object, message: str) -> None:
    r = CliRunner().invoke(
        cli,
        [
            "wnode",
            "encode",
            "--class",
            MM,
            "--instances",
            str(write_instances(tmp_path, rows)),
            "--pdo",
            "X",
        ],
    )
    assert r.exit_code == 1
    assert r.stderr.startswith("iscsiprf: error: ") and message in r.stderr
    assert "Traceback" not in r.output


def test_encode_errors(cli: click.Group, items: list[str], tmp_path: Path) -> None:
    runner = CliRunner()
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[{")
    r = runner.invoke(
        cli, ["wnode", "encode", "--class", MM, "--instances", str(bad_json), "--pdo", "X"]
    )
    assert r.exit_code == 1 and r.stderr.startswith(f"{bad_json}:1:3: error: not valid JSON")
    good = write_instances(tmp_path, [{n: 0 for n in items}])
    r = runner.invoke(cli, ["wnode", "encode", "--class", "Nope", "--instances", str(good)])
    assert r.exit_code == 1 and "no class 'Nope'" in r.stderr
    r = runner.invoke(cli, ["wnode", "encode", "--class", MM, "--instances", str(good)])
    assert r.exit_code == 1 and "has no InstanceName" in r.stderr
    neg = write_instances(tmp_path, [{**{n: 0 for n in items}, "KeyUpdates": -1}])
    r = runner.invoke(
        cli, ["wnode", "encode", "--class", MM, "--instances", str(neg), "--pdo", "X"]
    )
    assert r.exit_code == 1 and "KeyUpdates: -1 is out of range" in r.stderr


def test_decode_rejects_truncated_and_names_field(
    cli: click.Group, items: list[str], tmp_path: Path
) -> None:
    runner = CliRunner()
    src = write_instances(tmp_path, [{n: 0 for n in items}])
    out = tmp_path / "one.wnode"
    assert (
        runner.invoke(
            cli,
            [
                "wnode",
                "encode",
                "--class",
                MM,
                "--instances",
                str(src),
                "--pdo",
                "X",
                "-o",
                str(out),
            ],
        ).exit_code
        == 0
    )
    cut = tmp_path / "cut.wnode"
    cut.write_bytes(out.read_bytes()[:100])
    r = runner.invoke(cli, ["wnode", "decode", str(cut)])
    assert r.exit_code == 1 and "BufferSize: " in r.stderr
    odd = bytearray(out.read_bytes())
    struct.pack_into("<H", odd, 236, 5)
    cut.write_bytes(bytes(odd))
    r = runner.invoke(cli, ["wnode", "decode", str(cut)])
    assert r.exit_code == 1 and "InstanceNameOffsets[0]: name length 5 is odd" in r.stderr
    r = runner.invoke(cli, ["wnode", "decode", str(tmp_path / "missing.wnode")])
    assert r.exit_code == 1 and r.stderr.startswith("iscsiprf: error: ")


SESSIONS_MOF = """
[WMI, Dynamic, Provider("WMIProv"), guid("{C827993C-6D1F-4194-9B5C-D7C0A5F1CFB7}")]
class Test_Sessions {
  [key, read] string InstanceName;
  [read] boolean Active;
  [WmiDataId(1), read] uint64 BytesSent;
  [WmiDataId(2), read] string Target;
};
"""


def test_mof_option_variable_size_round_trip(cli: click.Group, tmp_path: Path) -> None:
    mof = tmp_path / "sessions.mof"
    mof.write_text(SESSIONS_MOF)
    rows = [
        {"InstanceName": "iqn.a_1", "BytesSent": 1, "Target": "iqn.a"},
        {"InstanceName": "iqn.bbbb_2", "BytesSent": 2, "Target": "iqn.bbbb"},
    ]
    out = tmp_path / "s.wnode"
    runner = CliRunner()
    args = ["--mof", str(mof)]
    r = runner.invoke(
        cli,
        [
            "wnode",
            "encode",
            "--class",
            "Test_Sessions",
            "--instances",
            str(write_instances(tmp_path, rows)),
            "-o",
            str(out),
            *args,
        ],
    )
    assert r.exit_code == 0, r.output
    assert (
        struct.unpack_from("<I", out.read_bytes(), 44)[0] == 0x1
    )  # offset/length form, dynamic names
    r = runner.invoke(cli, ["wnode", "decode", str(out), *args])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["instances"] == rows
    r = runner.invoke(cli, ["wnode", "decode", str(out)])  # the built-in MOF has no such GUID
    assert r.exit_code == 1 and "give --class NAME" in r.stderr
    r = runner.invoke(cli, ["wnode", "decode", str(out), "--mof", str(tmp_path / "none.mof")])
    assert r.exit_code == 1 and r.stderr.startswith(f"{tmp_path / 'none.mof'}:1:1: error: ")


def test_encode_takes_what_query_format_json_writes(
    cli: click.Group, items: list[str], tmp_path: Path
) -> None:
    """`query --format json > snap.json` then `wnode encode --instances snap.json`: the
    Win32_PerfRawData clock and name properties that query writes are not data items and are
    ignored; the counters round-trip."""
    from iscsiprf.cli.app import cli as full_cli

    rows = [{"InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True,
             **{n: 7 * i + 1 for i, n in enumerate(items)}}]  # fmt: skip
    snap = write_instances(tmp_path, rows)
    runner = CliRunner()
    q = runner.invoke(full_cli, ["query", f"SELECT * FROM {MM}", "--snapshot", str(snap),
                                 "--format", "json"])  # fmt: skip
    assert q.exit_code == 0, q.output
    written = json.loads(q.stdout)
    assert "Frequency_Object" in written[0] and "Timestamp_PerfTime" in written[0]
    queried = tmp_path / "queried.json"
    queried.write_text(q.stdout)
    out = tmp_path / "mm.wnode"
    r = runner.invoke(cli, ["wnode", "encode", "--class", MM, "--instances", str(queried),
                            "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    d = runner.invoke(cli, ["wnode", "decode", str(out)])
    assert d.exit_code == 0, d.output
    (inst,) = json.loads(d.stdout)["instances"]
    assert {n: inst[n] for n in items} == {n: 7 * i + 1 for i, n in enumerate(items)}


def test_decode_input_is_bounded_and_regular(
    cli: click.Group, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device is refused without being read; a file over the bound is refused."""
    from iscsiprf.cli import inputs

    r = CliRunner().invoke(cli, ["wnode", "decode", "/dev/zero"])
    assert r.exit_code == 1 and r.stderr == "iscsiprf: error: /dev/zero: not a regular file\n"
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 64)
    big = tmp_path / "big.wnode"
    big.write_bytes(bytes(65))
    r = CliRunner().invoke(cli, ["wnode", "decode", str(big)])
    assert r.exit_code == 1 and "larger than 64 bytes" in r.stderr
