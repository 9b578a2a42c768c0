"""Layout rules of the encoder that need no reference data: how mofcomp pads a string array."""

from __future__ import annotations

import struct

import pytest

from iscsiprf.mof.bmf_encode import encode_payload
from iscsiprf.mof.bmf_read import read_payload
from iscsiprf.mof.compiler import compile_text


def _array_lengths(mof: str) -> dict[str, int]:
    """Each string-array qualifier's array length field, by the qualifier's property."""
    payload = encode_payload(compile_text(mof, "t.mof"))
    out = {}
    for obj in read_payload(payload)[0]:
        for prop in obj.properties:
            for q in prop.qualifiers:
                if q.name == "ValueMap":
                    name_len = struct.unpack_from("<I", payload, q.offset + 12)[0]
                    out[prop.name] = struct.unpack_from("<I", payload, q.offset + 16 + name_len)[0]
    return out


@pytest.mark.parametrize(
    ("values", "items"),
    [
        ('"0", "1"', 8),  # last "1\0" is 4 bytes: nothing added
        ('"0", "10"', 12),  # last "10\0" is 6 bytes: 2 added, after 4 packed bytes
        ('"10", "1"', 10),  # an odd string before the last stays packed
        ('"Success", "Failed"', 32),  # 16 + 14, the last padded to 16
        ('"Success", "Failed", "Invalid Parameter"', 66),  # last is 36: none
    ],
)
def test_a_string_array_pads_its_last_string_to_four_bytes(values: str, items: int) -> None:
    mof = f"[WMI] class A {{ [ValueMap{{{values}}}] uint32 P; }};"
    assert _array_lengths(mof) == {"P": 16 + items}
