"""WNODE codec: offsets written out by hand from wmistr.h (reference §6), round trips, rejects."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.wmi import wnode as w

MM_GUID = uuid.UUID("36B58EA2-C461-4bb0-AC8E-952F59D251ED")
PDO_FLAGS = w.WNODE_FLAG_STATIC_INSTANCE_NAMES | w.WNODE_FLAG_PDO_INSTANCE_NAMES


def u32(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", buf, off)[0])


def u16(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", buf, off)[0])


def test_struct_sizes_match_wmistr_h_x64() -> None:
    assert w.HEADER.size == 48
    assert w.ALL_DATA.size == 64  # sizeof(WNODE_ALL_DATA)
    assert w.SINGLE_INSTANCE.size == 64
    assert w.SINGLE_ITEM.size == 68 and w.SINGLE_ITEM_SIZE == 72  # VariableData@68, sizeof 72
    assert w.METHOD_ITEM.size == 68 and w.METHOD_ITEM_SIZE == 72
    assert w.TOO_SMALL.size == 56


def test_mmipsecstats_one_pdo_instance_offsets_by_hand() -> None:
    # Reference §6 example: 1 PDO instance of a 168-byte block (21 x uint64).
    #   header 0..48, DataBlockOffset@48 = 64 (nothing precedes the data), InstanceCount@52 = 1,
    #   FixedInstanceSize@60 = 168; data 64..232; 232 is already a multiple of 4 so the ULONG
    #   name-offset array sits at 232..236 and holds 236; the name at 236 is a USHORT count then
    #   "ROOT\ISCSIPRT\0000_0" (20 chars) + NUL: count = (20 + 1) * 2 = 42, text 238..280.
    #   BufferSize = 280. Flags = ALL_DATA 0x1 | FIXED_INSTANCE_SIZE 0x10 | STATIC 0x80 | PDO 0x10000.
    block = struct.pack("<21Q", *range(1, 22))
    buf = w.encode_all_data(
        MM_GUID, [block], ["ROOT\\ISCSIPRT\\0000_0"], flags=PDO_FLAGS, provider_id=7, timestamp=99
    )
    assert len(buf) == 280
    assert u32(buf, 0) == 280  # BufferSize
    assert u32(buf, 4) == 7  # ProviderId
    assert u32(buf, 12) == 0  # Linkage
    assert struct.unpack_from("<q", buf, 16)[0] == 99  # TimeStamp
    assert buf[24:40] == bytes.fromhex("a28eb53661c4b04bac8e952f59d251ed")  # GUID, mixed-endian
    assert u32(buf, 44) == 0x10091  # Flags
    assert u32(buf, 48) == 64  # DataBlockOffset
    assert u32(buf, 52) == 1  # InstanceCount
    assert u32(buf, 56) == 232  # OffsetInstanceNameOffsets
    assert u32(buf, 60) == 168  # FixedInstanceSize
    assert buf[64:232] == block
    assert u32(buf, 232) == 236  # InstanceNameOffsets[0]
    assert u16(buf, 236) == 42  # counted with its NUL (static name)
    assert buf[238:278].decode("utf-16-le") == "ROOT\\ISCSIPRT\\0000_0"
    assert buf[278:280] == b"\x00\x00"


def test_offset_length_form_by_hand() -> None:
    # Two instances of 3 and 9 bytes, dynamic names "a", "bb", no FIXED_INSTANCE_SIZE:
    #   OffsetInstanceDataAndLength[2] at 60..76; data starts at pad8(76) = 80: DataBlockOffset 80.
    #   instance 0 at 80 (len 3); instance 1 at pad8(83) = 88 (len 9), padded to 104.
    #   name offsets at 104..112 -> 112, 118; "a": count 2 (dynamic: NUL not counted), text,
    #   NUL = 6 bytes (112..118); "bb": count 4, text, NUL = 8 bytes (118..126). BufferSize 126.
    buf = w.encode_all_data(MM_GUID, [b"abc", b"defghijkl"], ["a", "bb"])
    assert u32(buf, 44) == w.WNODE_FLAG_ALL_DATA
    assert u32(buf, 48) == 80
    assert u32(buf, 52) == 2
    assert u32(buf, 56) == 104
    assert struct.unpack_from("<4I", buf, 60) == (80, 3, 88, 9)
    assert buf[80:83] == b"abc" and buf[88:97] == b"defghijkl"
    assert struct.unpack_from("<2I", buf, 104) == (112, 118)
    assert u16(buf, 112) == 2 and buf[114:116] == b"a\x00" and buf[116:118] == b"\x00\x00"
    assert u16(buf, 118) == 4 and buf[120:124] == "bb".encode("utf-16-le")
    assert len(buf) == u32(buf, 0) == 126


def test_fixed_form_pads_each_instance_to_8() -> None:
    # Size 6 -> 2 pad bytes (reference §6): instances at 64, 72, 80; data ends at 88.
    buf = w.encode_all_data(MM_GUID, [b"AAAAAA", b"BBBBBB", b"CCCCCC"], ["x", "y", "z"])
    assert u32(buf, 60) == 6
    assert buf[64:72] == b"AAAAAA\x00\x00" and buf[72:78] == b"BBBBBB" and buf[80:86] == b"CCCCCC"
    assert u32(buf, 56) == 88
    d = w.decode_all_data(buf)
    assert d.offsets == [64, 72, 80] and [i.data for i in d.instances] == [
        b"AAAAAA",
        b"BBBBBB",
        b"CCCCCC",
    ]


def test_single_instance_by_hand() -> None:
    # OffsetInstanceName@48 = 64 (right after the fixed part); name "d_0": 2 + 6 + 2 = 10 bytes,
    # 64..74; DataBlockOffset@56 = pad8(74) = 80; SizeDataBlock@60 = 5; BufferSize 85.
    buf = w.encode_single_instance(MM_GUID, "d_0", b"12345", instance_index=3, flags=PDO_FLAGS)
    assert u32(buf, 0) == 85
    assert u32(buf, 44) == w.WNODE_FLAG_SINGLE_INSTANCE | PDO_FLAGS
    assert (u32(buf, 48), u32(buf, 52), u32(buf, 56), u32(buf, 60)) == (64, 3, 80, 5)
    assert u16(buf, 64) == 8  # static name: NUL counted
    d = w.decode_single_instance(buf)
    assert (d.instance_name, d.instance_index, d.data) == ("d_0", 3, b"12345")


def test_single_item_and_method_item_by_hand() -> None:
    # VariableData@68: name "n" (2 + 2 + 2 = 6 bytes, 68..74); DataBlockOffset = pad8(74) = 80.
    buf = w.encode_single_item(MM_GUID, "n", 4, b"\x01" * 8)
    assert (u32(buf, 48), u32(buf, 56), u32(buf, 60), u32(buf, 64)) == (68, 4, 80, 8)
    assert w.decode_single_item(buf).item_id == 4
    buf = w.encode_method_item(MM_GUID, "n", 30, b"xyz")
    assert (u32(buf, 56), u32(buf, 60), u32(buf, 64)) == (30, 80, 3)
    assert w.decode_method_item(buf).data == b"xyz"


def test_too_small_by_hand() -> None:
    buf = w.encode_too_small(MM_GUID, 5000)
    assert len(buf) == 56 and u32(buf, 0) == 56
    assert u32(buf, 44) == w.WNODE_FLAG_TOO_SMALL
    assert u32(buf, 48) == 5000
    d = w.decode(buf)
    assert isinstance(d, w.TooSmall) and d.size_needed == 5000


def test_chain_linkage() -> None:
    a = w.encode_all_data(MM_GUID, [b"x" * 5], ["a"], provider_id=1)  # 64 + 8 + 8 + 6 = 86 bytes
    b = w.encode_all_data(MM_GUID, [b"y" * 5], ["b"], provider_id=2)
    chain = w.link([a, b])
    assert u32(chain, 12) == 88  # pad8(86)
    assert u32(chain, 88 + 12) == 0
    decoded = w.decode_all_data_chain(chain)
    assert [d.header.provider_id for d in decoded] == [1, 2]
    assert [d.names for d in decoded] == [["a"], ["b"]]
    assert decoded[1].data(0) == b"yyyyy"


def test_flag_names() -> None:
    assert w.flag_names(0x10091) == [
        "ALL_DATA", "FIXED_INSTANCE_SIZE", "STATIC_INSTANCE_NAMES", "PDO_INSTANCE_NAMES",
    ]  # fmt: skip


# --- rejects, each naming the field -------------------------------------------------------------
def _good() -> bytearray:
    return bytearray(w.encode_all_data(MM_GUID, [b"abc", b"defghijkl"], ["a", "bb"]))


def _expect(buf: bytes | bytearray, field: str) -> w.WnodeError:
    with pytest.raises(w.WnodeError) as ei:
        w.decode(bytes(buf))
    assert ei.value.field == field, str(ei.value)
    return ei.value


def test_rejects_truncated_buffer() -> None:
    buf = _good()
    _expect(buf[:40], "WNODE_HEADER")
    _expect(buf[:100], "BufferSize")


def test_rejects_data_offset_outside_buffer() -> None:
    buf = _good()
    struct.pack_into("<I", buf, 68, 4000)  # OffsetInstanceDataAndLength[1].OffsetInstanceData
    err = _expect(buf, "OffsetInstanceDataAndLength[1]")
    assert "outside" in err.message


def test_rejects_overlapping_instances() -> None:
    buf = _good()
    struct.pack_into("<II", buf, 60, 80, 12)  # instance 0 now runs 80..92, into instance 1 at 88
    err = _expect(buf, "OffsetInstanceDataAndLength[1]")
    assert "overlaps instance 0" in err.message


def test_rejects_odd_name_length() -> None:
    buf = _good()
    struct.pack_into("<H", buf, 112, 3)
    err = _expect(buf, "InstanceNameOffsets[0]")
    assert "odd" in err.message


def test_rejects_misaligned_and_wild_offsets() -> None:
    buf = _good()
    struct.pack_into("<I", buf, 48, 81)
    _expect(buf, "DataBlockOffset")
    buf = _good()
    struct.pack_into("<I", buf, 56, 4000)
    _expect(buf, "OffsetInstanceNameOffsets")
    buf = _good()
    struct.pack_into("<I", buf, 104, 81)  # name offset odd
    _expect(buf, "InstanceNameOffsets[0]")
    buf = _good()
    struct.pack_into("<I", buf, 104, 84)  # name offset inside the instance data
    _expect(buf, "InstanceNameOffsets[0]")
    buf = _good()
    struct.pack_into("<I", buf, 52, 1000)
    _expect(buf, "InstanceCount")


def test_rejects_fixed_size_past_end() -> None:
    buf = bytearray(w.encode_all_data(MM_GUID, [bytes(168)], ["n_0"], flags=PDO_FLAGS))
    struct.pack_into("<I", buf, 60, 400)
    _expect(buf, "FixedInstanceSize")


def test_rejects_bad_linkage() -> None:
    a = bytearray(w.encode_all_data(MM_GUID, [b"x" * 8], ["a"]))
    struct.pack_into("<I", a, 12, 12)  # smaller than BufferSize
    with pytest.raises(w.WnodeError) as ei:
        w.decode_chain(bytes(a))
    assert ei.value.field == "Linkage"


def test_rejects_unknown_kind() -> None:
    buf = _good()
    struct.pack_into("<I", buf, 44, 0x80)
    _expect(buf, "Flags")


# --- property tests -----------------------------------------------------------------------------
names_st = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)


@st.composite
def instance_sets(draw: st.DrawFn) -> tuple[list[bytes], list[str]]:
    n = draw(st.integers(0, 12))
    same = draw(st.booleans())
    if same:
        size = draw(st.integers(0, 64))
        blocks = [draw(st.binary(min_size=size, max_size=size)) for _ in range(n)]
    else:
        blocks = [draw(st.binary(max_size=64)) for _ in range(n)]
    names = draw(st.lists(names_st, min_size=n, max_size=n))
    return blocks, names


@settings(max_examples=300, deadline=None)
@given(
    instance_sets(),
    st.sampled_from([0, PDO_FLAGS, w.WNODE_FLAG_STATIC_INSTANCE_NAMES]),
    st.integers(0, 2**32 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
)
def test_all_data_round_trip(
    inst: tuple[list[bytes], list[str]], flags: int, prov: int, ts: int, force_var: bool
) -> None:
    blocks, names = inst
    buf = w.encode_all_data(
        MM_GUID, blocks, names, flags=flags, provider_id=prov, timestamp=ts,
        fixed=False if force_var else None,
    )  # fmt: skip
    assert len(buf) == u32(buf, 0)
    d = w.decode_all_data(buf)
    assert d.guid == MM_GUID and d.header.provider_id == prov and d.header.timestamp == ts
    assert d.names == names
    assert [i.data for i in d.instances] == blocks
    assert all(o % 8 == 0 for o in d.offsets)
    assert d.flags & flags == flags
    # Re-encoding the decoded form gives the same bytes.
    again = w.encode_all_data(
        d.guid, [i.data for i in d.instances], d.names, flags=d.flags, provider_id=prov,
        timestamp=ts, fixed=d.fixed_instance_size is not None,
    )  # fmt: skip
    assert again == buf


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), names_st), st.binary(max_size=200), st.integers(0, 2**32 - 1))
def test_single_instance_round_trip(name: str | None, data: bytes, index: int) -> None:
    buf = w.encode_single_instance(MM_GUID, name, data, instance_index=index)
    d = w.decode_single_instance(buf)
    assert (d.instance_name, d.instance_index, d.data) == (name, index, data)


@settings(max_examples=100, deadline=None)
@given(st.lists(instance_sets(), min_size=1, max_size=5))
def test_chain_round_trip(sets: list[tuple[list[bytes], list[str]]]) -> None:
    chain = w.link(
        [w.encode_all_data(MM_GUID, b, n, provider_id=i) for i, (b, n) in enumerate(sets)]
    )
    decoded = w.decode_all_data_chain(chain)
    assert [(d.names, [i.data for i in d.instances]) for d in decoded] == [(n, b) for b, n in sets]


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=400))
def test_decode_never_crashes_on_random_bytes(buf: bytes) -> None:
    try:
        w.decode_chain(buf)
    except w.WnodeError:
        pass


@settings(max_examples=500, deadline=None)
@given(instance_sets(), st.data())
def test_decode_never_crashes_on_mutated_buffers(
    inst: tuple[list[bytes], list[str]], data: st.DataObject
) -> None:
    buf = bytearray(w.encode_all_data(MM_GUID, inst[0], inst[1]))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    try:
        d = w.decode(bytes(buf))
    except w.WnodeError:
        return
    if isinstance(d, w.AllData):  # whatever decodes must stay inside the buffer
        for o, ln in zip(d.offsets, d.lengths, strict=True):
            assert 0 <= o and o + ln <= len(buf)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 6),
    st.integers(0, 40),
    st.sampled_from([0, PDO_FLAGS, w.WNODE_FLAG_STATIC_INSTANCE_NAMES]),
    st.data(),
)
def test_fixed_frame_equals_general_encoder(
    count: int, size: int, flags: int, data: st.DataObject
) -> None:
    blocks = [data.draw(st.binary(min_size=size, max_size=size)) for _ in range(count)]
    names = data.draw(st.lists(names_st, min_size=count, max_size=count))
    frame = w.FixedAllDataFrame(MM_GUID, count, size, names, flags=flags)
    general = w.encode_all_data(
        MM_GUID,
        blocks,
        names,
        flags=flags,
        provider_id=3,
        timestamp=77,
        fixed=True,
        empty_size=size,
    )
    assert frame.encode(blocks, 3, 77) == general
    assert frame.total == len(general)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(names_st, st.integers(0, 2**64 - 1)), max_size=3), min_size=1, max_size=5
    )
)
def test_fixed_reader_matches_general_decoder(links: list[list[tuple[str, int]]]) -> None:
    # One uint64 + one uint16 (block of 16 bytes with 6 bytes of tail padding).
    wnodes = [
        w.encode_all_data(
            MM_GUID,
            [struct.pack("<QH6x", v, v & 0xFFFF) for _, v in link],
            [n for n, _ in link],
            flags=PDO_FLAGS,
            provider_id=i,
            fixed=True,
        )  # fmt: skip
        for i, link in enumerate(links)
    ]
    chain = w.link(wnodes)
    reader = w.FixedBlockReader(MM_GUID, 16, "QH6x")
    got = reader.read_chain(chain)
    want = [(i, n, (v, v & 0xFFFF)) for i, link in enumerate(links) for n, v in link]
    assert got == want


def test_fixed_reader_rejects_other_guid() -> None:
    buf = w.encode_all_data(uuid.uuid4(), [bytes(16)], ["a"])
    with pytest.raises(w.WnodeError) as ei:
        w.FixedBlockReader(MM_GUID, 16, "QH6x").read_chain(buf)
    assert ei.value.field == "Guid"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(names_st, min_size=1, max_size=2), min_size=1, max_size=3), st.data())
def test_fixed_reader_never_crashes_on_mutated_chains(
    links: list[list[str]], data: st.DataObject
) -> None:
    chain = bytearray(
        w.link(
            [w.encode_all_data(MM_GUID, [bytes(16)] * len(n), n, flags=PDO_FLAGS) for n in links]
        )
    )
    for _ in range(data.draw(st.integers(1, 4))):
        chain[data.draw(st.integers(0, len(chain) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        chain = chain[: data.draw(st.integers(0, len(chain)))]
    try:
        got = w.FixedBlockReader(MM_GUID, 16, "QH6x").read_chain(bytes(chain))
    except w.WnodeError:
        return
    assert all(isinstance(name, str) and len(vals) == 2 for _, name, vals in got)
