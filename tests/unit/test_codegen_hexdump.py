"""`wmimofck -x` text for synthetic bytes: 16 a line, `0x%02x`, commas, line ends."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from iscsiprf.codegen.hexdump import BYTES_PER_LINE, render_hexdump


def test_one_full_line_has_no_trailing_comma() -> None:
    text = render_hexdump(bytes(range(16)), newline="\n")
    assert text == "    " + ", ".join(f"0x{i:02x}" for i in range(16)) + "\n"


def test_the_seventeenth_byte_starts_a_new_line_and_the_first_line_keeps_its_comma() -> None:
    text = render_hexdump(bytes(range(17)), newline="\n")
    first, second, end = text.split("\n")
    assert first.endswith("0x0f,") and first.count("0x") == 16
    assert second == "    0x10"
    assert end == ""


def test_two_full_lines() -> None:
    lines = render_hexdump(bytes(32), newline="\n").splitlines()
    assert lines == ["    " + ", ".join(["0x00"] * 16) + ","] + ["    " + ", ".join(["0x00"] * 16)]


def test_lower_case_two_digits() -> None:
    assert render_hexdump(b"\x0a\xff\xab") == "    0x0a, 0xff, 0xab\r\n"


def test_crlf_by_default_on_every_line() -> None:
    text = render_hexdump(b"FOMB" * 10)
    assert text.count("\r\n") == 3 and text.count("\n") == 3 and text.endswith("\r\n")


def test_nothing_for_no_bytes() -> None:
    assert render_hexdump(b"") == ""


LINE = re.compile(r"    0x[0-9a-f]{2}(, 0x[0-9a-f]{2}){0,15}")


@given(st.binary(max_size=200))
def test_the_text_holds_the_bytes_in_order_on_full_lines(data: bytes) -> None:
    text = render_hexdump(data, newline="\r\n")
    lines = text.split("\r\n")[:-1] if data else []
    assert len(lines) == -(-len(data) // BYTES_PER_LINE)
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        assert line.endswith(",") != last
        body = line.removesuffix(",")
        assert LINE.fullmatch(body)
        assert body.count("0x") == (len(data) - 16 * i if last else 16)
    assert bytes(int(v, 16) for v in re.findall(r"0x([0-9a-f]{2})", text)) == data
