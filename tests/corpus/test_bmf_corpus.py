"""The real binary MOFs: mofcomp's output beside its MOF source, and firmware BMOF blobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmf_support import schema_dump
from iscsiprf.mof import compile_files, decode_bmf
from iscsiprf.mof.bmf_container import unpack
from iscsiprf.mof.bmf_decode import read_bmf
from iscsiprf.mof.compiler import compile_text

from shared_data import CORPUS, need_shared

CASES = ["case00", "case01", "case02", "case03", "case04", "seedD"]
BLOBS = ["006", "062", "066", "069", "081", "103", "112"]


def _case(name: str, ext: str) -> Path:
    return need_shared(CORPUS / "wmimofck" / f"{name}.{ext}")


def _blob(name: str) -> Path:
    return need_shared(CORPUS / "bmof" / f"{name}.bmof")


@pytest.mark.parametrize("name", CASES)
def test_case_decodes_to_the_schema_of_its_mof(name: str) -> None:
    bmf = _case(name, "bmf")
    decoded = decode_bmf(bmf.read_bytes(), str(bmf), strict=True)
    assert decoded.errors == []
    compiled = compile_files([_case(name, "mof")])
    assert compiled.errors == []
    assert schema_dump(decoded) == schema_dump(compiled)
    assert decoded.user_classes()


@pytest.mark.parametrize("name", CASES + BLOBS)
def test_header_lengths_are_what_the_stream_gives(name: str) -> None:
    path = _blob(name) if name in BLOBS else _case(name, "bmf")
    data = path.read_bytes()
    c = unpack(data)
    assert len(c.payload) == int.from_bytes(data[12:16], "little")
    assert c.payload[:4] == b"FOMB"


@pytest.mark.parametrize("name", BLOBS)
def test_firmware_blob_decodes_and_recompiles_to_the_same_schema(name: str) -> None:
    path = _blob(name)
    data = path.read_bytes()
    decoded = decode_bmf(data, str(path))
    assert decoded.errors == []
    assert decoded.user_classes() or decoded.schema.instances
    text = read_bmf(data, str(path)).text
    again = compile_text(text, "decoded.mof")
    assert schema_dump(again) == schema_dump(decoded)


def test_firmware_padding_is_ignored_with_a_warning() -> None:
    data = _blob("062").read_bytes()
    padded = data + b"\0" * 13
    result = decode_bmf(padded, "x.bmof")
    assert result.errors == []
    warn = [str(d) for d in result.warnings if "padding" in d.message]
    assert warn == [
        f"x.bmof: offset {len(data)}: warning: 13 zero padding past the compressed stream ignored"
    ]
    assert schema_dump(result) == schema_dump(decode_bmf(data, "x.bmof"))


@pytest.mark.parametrize("name", CASES)
def test_encode_gives_mofcomps_payload_byte_for_byte(name: str) -> None:
    from iscsiprf.mof.bmf_encode import encode_bmf, encode_payload

    compiled = compile_files([_case(name, "mof")])
    want = unpack(_case(name, "bmf").read_bytes()).payload
    assert encode_payload(compiled) == want
    assert unpack(encode_bmf(compiled)).payload == want


@pytest.mark.parametrize("name", CASES)
def test_header_from_the_bmf_equals_wmimofcks(name: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from iscsiprf.cli.app import cli

    got = CliRunner().invoke(cli, ["mof", "header", str(_case(name, "bmf"))])
    assert got.exit_code == 0, got.output
    assert got.stdout_bytes == _case(name, "h").read_bytes()


@pytest.mark.parametrize("name", BLOBS)
def test_firmware_reencodes_to_the_same_schema(name: str) -> None:
    from iscsiprf.mof.bmf_encode import encode_bmf

    path = _blob(name)
    decoded = decode_bmf(path.read_bytes(), str(path))
    again = decode_bmf(encode_bmf(decoded), "again.bmf")
    assert schema_dump(again) == schema_dump(decoded)


def test_acpi_lists_the_firmware_classes_of_a_sysfs_tree(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from iscsiprf.cli.app import cli

    dev = tmp_path / "sys" / "bus" / "wmi" / "devices"
    for i, name in enumerate(["062", "112"]):
        d = dev / f"05901221-D566-11D1-B2F0-00A0C9062910-{i}"
        d.mkdir(parents=True)
        (d / "bmof").write_bytes(_blob(name).read_bytes())
    (dev / "ABBC0F6A-8EA1-11D1-00A0-C90629100000").mkdir()  # a device without bmof
    got = CliRunner().invoke(cli, ["mof", "acpi", "--root", str(tmp_path)])
    assert got.exit_code == 0, got.output
    want = [
        c.name for n in ["062", "112"] for c in decode_bmf(_blob(n).read_bytes(), n).user_classes()
    ]
    lines = got.stdout.splitlines()
    assert [ln.split(":")[1].split(" ")[0] for ln in lines] == want
    js = CliRunner().invoke(cli, ["mof", "acpi", "--root", str(tmp_path), "--json"])
    import json

    assert [c["name"] for c in json.loads(js.stdout)] == want


@pytest.mark.parametrize("name", CASES)
def test_encode_gives_mofcomps_whole_file(name: str) -> None:
    """The compressor makes mofcomp's choices too: the whole .bmf is identical."""
    from iscsiprf.mof.bmf_encode import encode_bmf

    assert encode_bmf(compile_files([_case(name, "mof")])) == _case(name, "bmf").read_bytes()


@pytest.mark.parametrize("name", BLOBS)
def test_compressing_a_firmware_payload_gives_its_stream(name: str) -> None:
    from iscsiprf.mof.bmf_compress import compress

    data = _blob(name).read_bytes()
    csize = int.from_bytes(data[8:12], "little")
    assert compress(unpack(data).payload) == data[16 : 16 + csize]


def test_classflags_and_namespace_strings_survive_decode_and_encode(tmp_path: Path) -> None:
    """081's objects carry __CLASSFLAGS 0x40 (`#pragma classflags("forceupdate")`) and a
    namespace spelled `root\\default`: both come back in the re-encoded objects."""
    from iscsiprf.mof.bmf_encode import encode_bmf
    from iscsiprf.mof.bmf_read import read_payload

    data = _blob("081").read_bytes()
    text = read_bmf(data, "081.bmof").text
    assert '#pragma classflags("forceupdate")' in text
    src = tmp_path / "081.mof"
    src.write_text(text)
    again = encode_bmf(compile_files([src]))

    def system(blob: bytes) -> set[tuple[tuple[str, object], ...]]:
        # A set: 081 defines WMIEvent twice, and the compiled schema keeps the later one.
        return {tuple(sorted(o.system.items())) for o in read_payload(unpack(blob).payload)[0]}

    assert system(again) == system(data)


@pytest.mark.parametrize("name", ["006", "062", "066", "069", "103", "112"])
def test_firmware_decoded_to_mof_encodes_to_its_own_payload(name: str, tmp_path: Path) -> None:
    """mofcomp wrote these blobs too: their decoded MOF, encoded again, gives the very payload
    (in/out parameters, MAX before ID, string arrays and their padding, embedded objects,
    superclasses)."""
    from iscsiprf.mof.bmf_encode import encode_payload

    data = _blob(name).read_bytes()
    src = tmp_path / f"{name}.mof"
    src.write_text(read_bmf(data, src.name).text)
    assert encode_payload(compile_files([src])) == unpack(data).payload


def test_081_every_object_encodes_to_mofcomps_bytes(tmp_path: Path) -> None:
    """081 defines WMIEvent twice, so its payload cannot come back whole (the schema keeps one
    definition); each object written from its decoded MOF is one of mofcomp's, byte for byte,
    its 18 ValueMap/Values string arrays (padded by their last string) included."""
    from iscsiprf.mof.bmf_encode import encode_payload
    from iscsiprf.mof.bmf_read import read_payload

    data = _blob("081").read_bytes()
    src = tmp_path / "081.mof"
    src.write_text(read_bmf(data, src.name).text)

    def objects(payload: bytes) -> list[bytes]:
        objs = read_payload(payload)[0]
        return [
            payload[
                o.offset : o.offset + int.from_bytes(payload[o.offset : o.offset + 4], "little")
            ]
            for o in objs
        ]

    want = objects(unpack(data).payload)
    got = objects(encode_payload(compile_files([src])))
    assert len(got) == len(want) - 1
    assert all(o in want for o in got)
