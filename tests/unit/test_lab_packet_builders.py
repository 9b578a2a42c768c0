"""Crafted IKE packets of the lab (pure builders)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iscsiprf.lab import packets


def parse(header: bytes) -> tuple[bytes, bytes, int, int, int, int, int, int]:
    spi_i, spi_r = header[:8], header[8:16]
    return (spi_i, spi_r, *struct.unpack("!BBBBII", header[16:28]))  # type: ignore[return-value]


@given(
    st.binary(min_size=8, max_size=8),
    st.binary(min_size=8, max_size=8),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
)
def test_header_round_trip(
    spi_i: bytes, spi_r: bytes, np: int, ver: int, exch: int, flags: int, mid: int, length: int
) -> None:
    raw = packets.ike_header(spi_i, spi_r, np, ver, exch, flags, mid, length)
    assert len(raw) == packets.HEADER_LEN
    assert parse(raw) == (spi_i, spi_r, np, ver, exch, flags, mid, length)


def test_header_rejects_short_spis() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        packets.ike_header(b"1234", bytes(8), 0, 0x20, 34, 8, 0, 28)


def test_v1_unknown_cookie_is_an_encrypted_main_mode_message() -> None:
    raw = packets.v1_unknown_cookie()
    _, spi_r, np, ver, exch, flags, mid, length = parse(raw)
    assert (ver, exch, flags, mid, np) == (0x10, 2, 0x01, 0, 5)
    assert length == len(raw) == 68
    assert spi_r != bytes(8)  # a responder cookie nobody issued


def test_v2_packets_have_the_documented_shape() -> None:
    bad = packets.v2_header_bad_length()
    assert len(bad) == 28 and parse(bad)[7] == 999
    sa = packets.v2_sa_init_garbage_sa()
    assert parse(sa)[2] == packets.PAYLOAD_V2_SA and parse(sa)[7] == len(sa) == 28 + 24
    unknown = packets.v2_unknown_spi()
    assert parse(unknown)[4] == packets.EXCH_V2_IKE_AUTH and parse(unknown)[6] == 1
    assert packets.garbage() == b"\x01" * 10
    assert parse(packets.unsupported_version())[3] == 0x30


def test_natt_and_esp_framing() -> None:
    assert packets.natt_ike(b"IKE") == b"\0\0\0\0IKE"
    assert packets.esp(0xDEADBEEF, 1, b"x") == bytes.fromhex("deadbeef00000001") + b"x"
