"""The BMF container: header checks, DS decompression, the compressor, bad streams."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.mof import is_bmf
from iscsiprf.mof.bmf_compress import compress
from iscsiprf.mof.bmf_container import MAX_PAYLOAD, BmfError, decompress, unpack


def _bmf(payload: bytes, stream: bytes | None = None) -> bytes:
    s = compress(payload) if stream is None else stream
    return struct.pack("<4sIII", b"FOMB", 1, len(s), len(payload)) + s


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000) | st.text(max_size=1500).map(lambda t: t.encode("utf-16-le")))
def test_compress_then_decompress_gives_the_bytes_back(data: bytes) -> None:
    assert unpack(_bmf(data)).payload == data


def test_long_runs_use_overlapping_copies() -> None:
    data = b"ab" * 5000 + bytes(range(256)) * 3
    s = compress(data)
    assert len(s) < len(data) // 4
    assert decompress(s, 0, len(s), len(data)) == data


def test_signature_decides() -> None:
    assert is_bmf(_bmf(b"x"))
    assert not is_bmf(b"#pragma namespace")


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"FOMB\x01\x00", 6, "ends inside the 16-byte BMF header"),
        (struct.pack("<4sIII", b"MOFB", 1, 0, 0), 0, "no FOMB signature"),
        (struct.pack("<4sIII", b"FOMB", 2, 0, 0), 4, "version 2"),
        (struct.pack("<4sIII", b"FOMB", 1, 100, 4), 8, "runs past the end"),
        (struct.pack("<4sIII", b"FOMB", 1, 4, MAX_PAYLOAD + 1) + b"DS\0\1", 12, "larger than"),
        (struct.pack("<4sIII", b"FOMB", 1, 4, 4) + b"XX\0\1", 16, "does not start with DS"),
    ],
)
def test_bad_headers_name_the_offset(data: bytes, offset: int, words: str) -> None:
    with pytest.raises(BmfError) as exc:
        unpack(data)
    assert exc.value.offset == offset
    assert words in exc.value.message
    assert exc.value.format("f.bmf").startswith(f"f.bmf: offset {offset}: error: ")


def test_copy_before_the_start_of_the_output_is_an_error() -> None:
    # literal 'A' (tag 2, 7 bits), then a copy 5 back (tag 0, offset 5) of length 2 ("1").
    bits = (2 | (ord("A") << 2)) | ((5 << 2) << 9) | (1 << 17)
    stream = b"DS\0\1" + bits.to_bytes(3, "little")
    with pytest.raises(BmfError, match="5 bytes back at output byte 1"):
        unpack(_bmf(b"AAA", stream))


def test_absurd_declared_size_fails_where_the_stream_ends() -> None:
    data = bytearray(_bmf(b"hello world"))
    struct.pack_into("<I", data, 12, 60 << 20)  # declared 60 MiB, the stream holds 11 bytes
    with pytest.raises(BmfError, match="after 11 of the declared"):
        unpack(bytes(data))


def test_stream_that_holds_more_than_declared() -> None:
    data = bytearray(_bmf(b"hello world"))
    struct.pack_into("<I", data, 12, 5)
    with pytest.raises(BmfError, match="no end mark after the last of the 5 bytes"):
        unpack(bytes(data))


def test_bytes_past_the_compressed_stream_are_reported() -> None:
    good = _bmf(b"payload")
    c = unpack(good + b"\x01\x02")
    assert c.payload == b"payload"
    assert c.warnings == [(len(good), "2 bytes past the compressed stream ignored")]
