"""Mutated real blobs: every outcome is a result or a BmfError naming an offset, never another
exception, a hang, or memory that follows a declared size."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmf_support import schema_dump
from iscsiprf.mof import compile_text, decode_bmf
from iscsiprf.mof.bmf_compress import compress
from iscsiprf.mof.bmf_container import BmfError, unpack
from iscsiprf.mof.bmf_decode import read_bmf
from iscsiprf.mof.bmf_encode import encode_bmf
from iscsiprf.mof.bmf_mof import objects_to_mof
from iscsiprf.mof.bmf_read import read_payload

from shared_data import CORPUS


def _blobs() -> list[bytes]:
    paths = sorted((CORPUS / "bmof").glob("*.bmof")) + sorted((CORPUS / "wmimofck").glob("*.bmf"))
    if not paths:
        pytest.skip(f"reference blobs under {CORPUS} are not present beside the project")
    return [p.read_bytes() for p in paths]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    what = rng.randrange(5)
    if what == 0:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif what == 1:  # truncate
        del b[rng.randrange(len(b)) :]
    elif what == 2:  # a length field made absurd or off by a little
        at = rng.randrange(0, max(1, len(b) - 4)) & ~3
        v = rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, len(b), rng.randrange(1 << 32)])
        b[at : at + 4] = struct.pack("<I", v)
    elif what == 3:  # duplicate a slice
        i = rng.randrange(len(b))
        b[i:i] = b[i : i + rng.randint(1, 64)]
    else:  # delete a slice
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 64)]
    return bytes(b)


def test_mutated_compressed_blobs() -> None:
    rng = random.Random(1313)
    blobs = _blobs()
    outcomes = {"ok": 0, "error": 0}
    for _ in range(3000):
        data = _mutate(rng, rng.choice(blobs))
        try:
            read_bmf(data, "m.bmf")
            outcomes["ok"] += 1
        except BmfError as exc:
            assert exc.format("m.bmf").startswith("m.bmf: offset ")
            outcomes["error"] += 1
    assert outcomes["error"] > 1000


def test_mutated_payloads() -> None:
    """Mutations of the uncompressed payload reach the object reader (not just the stream)."""
    rng = random.Random(77)
    payloads = [unpack(b).payload for b in _blobs()]
    errors = 0
    for _ in range(3000):
        data = _mutate(rng, rng.choice(payloads))
        try:
            objs, _ = read_payload(data)
            objects_to_mof(objs)
        except BmfError:
            errors += 1
        except ValueError as exc:  # a type the MOF writer cannot spell: must be a BmfError
            pytest.fail(f"ValueError escaped: {exc}")
    assert errors > 500


def test_mutated_blobs_through_the_whole_decoder() -> None:
    rng = random.Random(5)
    payloads = [unpack(b).payload for b in _blobs()]
    for _ in range(150):
        payload = _mutate(rng, rng.choice(payloads))
        stream = compress(payload)
        data = struct.pack("<4sIII", b"FOMB", 1, len(stream), len(payload)) + stream
        result = decode_bmf(data, "m.bmf")  # never raises: problems are diagnostics
        for d in result.errors:
            assert str(d).startswith("m.bmf: offset ")


_IDENT = st.from_regex(r"[A-Z][A-Za-z0-9]{0,10}", fullmatch=True)
_TYPES = st.sampled_from(
    ["uint8", "sint8", "uint16", "sint16", "uint32", "sint32", "uint64", "sint64", "string",
     "boolean", "datetime", "real32", "real64", "char16"]
)  # fmt: skip
_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=30)


@st.composite
def _mof(draw: st.DrawFn) -> str:
    out = ['#pragma namespace("\\\\\\\\.\\\\root\\\\wmi")']
    names = draw(st.lists(_IDENT, min_size=1, max_size=3, unique_by=str.lower))
    for cname in names:
        quals = [f'guid("{{{draw(st.uuids())}}}")', "WMI"]
        if draw(st.booleans()):
            quals.append(f"Description({_q(draw(_TEXT))}): Amended")
        props = draw(st.lists(_IDENT, max_size=5, unique_by=str.lower))
        ptypes: list[tuple[str, str]] = []
        lines = [f"[{', '.join(quals)}]", f"class C{cname} {{"]
        for i, pname in enumerate(props, 1):
            t = draw(_TYPES)
            arr = draw(st.sampled_from(["", "[]", "[4]"]))
            ptypes.append((t, arr))
            pq = [f"WmiDataId({i})", "read"]
            if draw(st.booleans()):
                pq.append(
                    f"ValueMap{{{', '.join(_q(v) for v in draw(st.lists(_TEXT, max_size=3)))}}}"
                )
            if draw(st.booleans()):
                pq.append(
                    f"Values{{{', '.join(str(v) for v in draw(st.lists(st.integers(-9, 9), max_size=3)))}}}"
                )
            default = ""
            if arr == "" and draw(st.booleans()):
                default = " = " + draw(_default(t))
            lines.append(f"  [{', '.join(pq)}] {t} P{pname}{arr}{default};")
        if draw(st.booleans()):
            lines.append("  [WmiMethodId(1), Implemented] void M([in] uint32 A, [out] string B);")
        lines.append("};")
        out += lines
        if props and not ptypes[0][1] and draw(st.booleans()):  # an instance, one value set
            out.append(f"instance of C{cname} {{ P{props[0]} = {draw(_default(ptypes[0][0]))}; }};")
    return "\n".join(out) + "\n"


def _default(t: str) -> st.SearchStrategy[str]:
    """A MOF literal for a property of type t (no reals: real32 is 4 bytes in a BMF)."""
    if t.startswith(("uint", "sint")):
        bits = int(t[4:])
        lo, hi = (0, 2**bits - 1) if t[0] == "u" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return st.integers(lo, hi).map(str)
    if t == "boolean":
        return st.sampled_from(["TRUE", "FALSE"])
    if t == "datetime":
        return st.just('"20261204153000.000000+000"')
    if t in ("string",):
        return _TEXT.map(_q)
    if t == "char16":  # a char literal: the BMF holds the code unit, the schema the character
        return st.characters(min_codepoint=0, max_codepoint=0xFFFF).map(_char)
    return st.just("NULL")


def _char(c: str) -> str:
    return f"'\\{c}'" if c in "'\\" else f"'\\x{ord(c):04X}'" if c < " " else f"'{c}'"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mof())
def test_mof_to_bmf_to_mof_keeps_the_schema(text: str) -> None:
    compiled = compile_text(text, "gen.mof")
    if compiled.errors:
        return  # a generated class the compiler refuses is not this test's business
    data = encode_bmf(compiled)
    decoded = decode_bmf(data, "gen.bmf", strict=True)
    assert decoded.errors == []
    assert schema_dump(decoded) == schema_dump(compiled)
    again = compile_text(read_bmf(data, "gen.bmf").text, "again.mof")
    assert schema_dump(again) == schema_dump(compiled)
