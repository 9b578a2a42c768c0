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
