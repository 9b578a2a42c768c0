"""WNODE decoding of hostile or foreign input (issue #11): bytes that are not a WNODE say so at
their offset, and instance-name offsets cannot make a small buffer decode into gigabytes."""

from __future__ import annotations

import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from iscsiprf.wmi import wnode as w

GUID = uuid.UUID("36B58EA2-C461-4bb0-AC8E-952F59D251ED")
PDO_FLAGS = w.WNODE_FLAG_STATIC_INSTANCE_NAMES | w.WNODE_FLAG_PDO_INSTANCE_NAMES
TEXT = b"This is a README, not a WNODE: it has words where the header has numbers.\n" * 3


def _not_a_wnode(buf: bytes, field: str, offset: int) -> w.WnodeError:
    with pytest.raises(w.WnodeError) as ei:
        w.decode_chain(buf)
    err = ei.value
    assert str(err).startswith("not a WNODE: "), str(err)
    assert (err.field, err.offset) == (field, offset), str(err)
    return err


# --- (a) not a WNODE ----------------------------------------------------------------------------
def test_text_is_not_a_wnode() -> None:
    err = _not_a_wnode(TEXT, "Flags", 44)
    assert "0x" in err.message and "WNODE kind" in err.message
    assert "BufferSize" not in str(err)  # the old report: an absurd BufferSize


def test_too_short_for_a_header_is_not_a_wnode() -> None:
    _not_a_wnode(b"\x01" * 30, "WNODE_HEADER", 0)
    _not_a_wnode(b"", "WNODE_HEADER", 0)


def test_header_that_no_wnode_has() -> None:
    good = bytearray(w.encode_all_data(GUID, [bytes(8)], ["a"], flags=PDO_FLAGS))
    two_kinds = bytearray(good)
    struct.pack_into("<I", two_kinds, 44, w.WNODE_FLAG_ALL_DATA | w.WNODE_FLAG_SINGLE_ITEM)
    _not_a_wnode(bytes(two_kinds), "Flags", 44)
    tiny = bytearray(good)
    struct.pack_into("<I", tiny, 0, 50)  # smaller than WNODE_ALL_DATA's 64 bytes
    _not_a_wnode(bytes(tiny), "BufferSize", 0)
    odd_link = bytearray(good)
    struct.pack_into("<I", odd_link, 12, 13)
    _not_a_wnode(bytes(odd_link), "Linkage", 12)
    # Spaces where a WNODE_TOO_SMALL's header is: a 539 MB "WNODE_TOO_SMALL".
    _not_a_wnode(b" " * 80, "BufferSize", 0)
    # A consistent header with a BufferSize beyond any WNODE and past the end.
    huge = bytearray(good)
    struct.pack_into("<I", huge, 0, w.MAX_WNODE_SIZE + 8)
    _not_a_wnode(bytes(huge), "BufferSize", 0)


def test_a_truncated_wnode_is_still_a_truncated_wnode() -> None:
    good = w.encode_all_data(GUID, [bytes(168)], ["ROOT\\ISCSIPRT\\0000_0"], flags=PDO_FLAGS)
    with pytest.raises(w.WnodeError) as ei:
        w.decode_chain(good[:100])
    assert not isinstance(ei.value, w.NotAWnode)
    assert str(ei.value) == f"BufferSize: {len(good)} exceeds the 100 bytes available"
    assert ei.value.offset == 0


def test_second_link_not_a_wnode_names_its_offset() -> None:
    a = w.encode_all_data(GUID, [bytes(8)], ["a"])
    chain = bytearray(w.link([a, a]))
    second = w.pad8(len(a))
    struct.pack_into("<I", chain, second + 44, 0)  # the second link's Flags
    _not_a_wnode(bytes(chain), "Flags", second + 44)


# --- (b) amplification through instance-name offsets --------------------------------------------
def _shared_name_wnode(count: int, name_chars: int) -> bytes:
    """``count`` zero-size instances whose name offsets all point at one long name."""
    names = ["N" * name_chars] + ["n"] * (count - 1)
    buf = bytearray(w.encode_all_data(GUID, [b""] * count, names, fixed=True))
    names_at = u32(buf, 56)
    first = u32(buf, names_at)
    for i in range(1, count):
        struct.pack_into("<I", buf, names_at + 4 * i, first)
    return bytes(buf)


def u32(buf: bytes | bytearray, off: int) -> int:
    return int(struct.unpack_from("<I", buf, off)[0])


def test_names_may_not_share_bytes() -> None:
    buf = _shared_name_wnode(3, 10)
    with pytest.raises(w.WnodeError) as ei:
        w.decode_all_data(buf)
    err = ei.value
    assert err.field == "InstanceNameOffsets[1]"
    assert "overlaps the name of instance 0" in err.message
    assert err.offset == u32(buf, u32(buf, 56))  # where the shared name is


def test_one_64k_name_behind_every_offset_is_refused() -> None:
    # The attack of issue #11: 145 KB whose 20,000 name offsets all point at one 64 KB name
    # decoded to 1.27 GB of strings. Now it fails on the second name, having decoded none.
    count = 20_000
    names_at = w.ALL_DATA_SIZE  # no instance data (FixedInstanceSize 0)
    name_at = names_at + 4 * count
    text = "N".encode("utf-16-le") * (w.MAX_NAME_BYTES // 2)
    name = struct.pack("<H", len(text)) + text + b"\0\0"
    size = name_at + len(name)
    head = w.ALL_DATA.pack(
        size, 0, 1, 0, 0, GUID.bytes_le, 0,
        w.WNODE_FLAG_ALL_DATA | w.WNODE_FLAG_FIXED_INSTANCE_SIZE, w.ALL_DATA_SIZE, count,
        names_at, 0,
    )  # fmt: skip
    buf = head + struct.pack(f"<{count}I", *[name_at] * count) + name
    assert 140_000 < len(buf) < 150_000
    with pytest.raises(w.WnodeError) as ei:
        w.decode_chain(buf)
    assert ei.value.field == "InstanceNameOffsets[1]"
    assert ei.value.offset == name_at


def test_a_name_may_not_run_into_the_instance_data() -> None:
    # Offset/length form: the array ends at 76, the data starts at 80.
    buf = bytearray(w.encode_all_data(GUID, [bytes(8), bytes(16)], ["a", "b"]))
    assert (u32(buf, 48), u32(buf, 44) & w.WNODE_FLAG_FIXED_INSTANCE_SIZE) == (80, 0)
    names_at = u32(buf, 56)
    struct.pack_into("<H", buf, 76, 4)  # a 4-byte name at 76..82
    struct.pack_into("<I", buf, names_at + 4, 76)
    with pytest.raises(w.WnodeError) as ei:
        w.decode_all_data(bytes(buf))
    assert ei.value.field == "InstanceNameOffsets[1]"
    assert "overlaps the instance data 80.." in ei.value.message


def test_decoded_names_never_exceed_the_buffer() -> None:
    # Whatever the offsets, each decoded name has bytes of its own in the buffer.
    buf = w.encode_all_data(GUID, [bytes(16)] * 50, [f"inst{i}" * 20 for i in range(50)])
    node = w.decode_all_data(buf)
    assert node.names is not None
    assert sum(2 * len(n) for n in node.names) <= len(buf)


# --- the command line ---------------------------------------------------------------------------
_MAIN = "import sys; from iscsiprf.cli import main; sys.argv[0] = 'iscsiprf'; main()"


def test_cli_decode_of_a_text_file_says_not_a_wnode(tmp_path: Path) -> None:
    text = tmp_path / "README.md"
    text.write_bytes(TEXT)
    r = subprocess.run(
        [sys.executable, "-c", _MAIN, "wnode", "decode", str(text)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"{text}: offset 44: error: not a WNODE: Flags 0x"), r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
