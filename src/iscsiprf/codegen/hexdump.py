"""The C text `wmimofck -x` writes: a binary MOF's bytes as the body of a C byte array.

A driver that reports its MOF through a query (not as a resource) includes this text between the
braces of `UCHAR <Name>BinaryMofData[] = { ... };`. The format, checked byte for byte against
the tool's output: 16 bytes a line, each line four spaces then `0x%02x` values joined by `, `;
every line but the last ends with a comma; every line ends with CRLF (the tool's own lines).
"""

from __future__ import annotations

__all__ = ["BYTES_PER_LINE", "render_hexdump"]

BYTES_PER_LINE = 16
_HEX = [f"0x{b:02x}" for b in range(256)]  # one lookup per byte: a schema-sized BMF is megabytes


def render_hexdump(data: bytes, newline: str = "\r\n") -> str:
    """`data` as wmimofck -x writes it; empty input gives empty text (the tool never sees one:
    a BMF has at least its 16-byte header)."""
    lines = [
        "    " + ", ".join([_HEX[b] for b in data[i : i + BYTES_PER_LINE]])
        for i in range(0, len(data), BYTES_PER_LINE)
    ]
    if not lines:
        return ""
    return ("," + newline).join(lines) + newline
