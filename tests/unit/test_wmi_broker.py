"""Broker: registration, instance names, WNODE replies, statuses, failing providers."""

from __future__ import annotations

import struct
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from iscsiprf.codegen.layout import class_layout
from iscsiprf.mof import compile_text, load_builtin_schema
from iscsiprf.mof.model import Schema
from iscsiprf.wmi import wnode as w
from iscsiprf.wmi.broker import EPOCH_1601_100NS, Broker
from iscsiprf.wmi.naming import InstanceNameError
from iscsiprf.wmi.provider import (
    DYNAMIC_INSTANCE_COUNT,
    BlocksProvider,
    DataBlocks,
    GuidRegInfo,
    Reply,
    ValuesProvider,
    WmiProvider,
)
from iscsiprf.wmi.status import NtStatus, WmiStatusError

MM = "MSiSCSI_MMIPSECStats"
QM = "MSiSCSI_QMIPSECStats"
MM_GUID = uuid.UUID("36B58EA2-C461-4bb0-AC8E-952F59D251ED")
PDO0 = "ROOT\\ISCSIPRT\\0000"

TEST_MOF = """
[WMI, Dynamic, Provider("WMIProv"), guid("{C827993C-6D1F-4194-9B5C-D7C0A5F1CFB7}")]
class Test_Sessions {
  [key, read] string InstanceName;
  [read] boolean Active;
  [WmiDataId(1), read] uint64 BytesSent;
  [WmiDataId(2), read] uint32 Pdus;
  [WmiDataId(3), read] string Target;
};
[WMI, Dynamic, Provider("WMIProv"), guid("{11111111-2222-3333-4444-555555555555}")]
class Test_Small {
  [key, read] string InstanceName;
  [read] boolean Active;
  [WmiDataId(1), read] uint16 A;
  [WmiDataId(2), read] uint8 B;
};
"""


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_builtin_schema()


@pytest.fixture(scope="module")
def test_schema() -> Schema:
    result = compile_text(TEST_MOF, path="test.mof")
    assert not result.errors
    return result.schema


def mm_items(schema: Schema) -> list[str]:
    return [p.name for p in schema.cls(MM).data_items()]


def mm_values(schema: Schema, seed: int) -> dict[str, int]:
    return {n: seed * 100 + i for i, n in enumerate(mm_items(schema))}


def mm_provider(schema: Schema, path: str, seed: int, count: int = 1) -> ValuesProvider:
    layout = class_layout(schema.cls(MM), schema)
    return ValuesProvider(
        path, {MM: layout}, {MM: [mm_values(schema, seed + i) for i in range(count)]}
    )


class FlakyProvider(WmiProvider):
    """Serves MM blocks until told to fail (raise, hang, or return garbage)."""

    def __init__(self, schema: Schema, path: str, seed: int, *, may_block: bool = False) -> None:
        self.device_instance_path = path
        self.guid_list = (GuidRegInfo(MM),)
        self.may_block = may_block
        self.layout = class_layout(schema.cls(MM), schema)
        self.values = mm_values(schema, seed)
        self.mode = "ok"
        self.release = threading.Event()

    def query_data_block(self, class_name: str, first_instance: int, count: int | None) -> Reply:
        if self.mode == "raise":
            raise RuntimeError("daemon socket closed")
        if self.mode == "hang":
            self.release.wait(5)
        if self.mode == "short":
            return [b"\x00" * 10]
        return [self.layout.pack(self.values)]


@pytest.fixture
def broker(schema: Schema) -> Iterator[Broker]:
    b = Broker(schema, timeout=0.3)
    yield b
    b.close()


# --- registration and names ---------------------------------------------------------------------
def test_pdo_single_instance_enumerates_with_name_and_active(
    schema: Schema, broker: Broker
) -> None:
    broker.register(mm_provider(schema, PDO0, 1))
    rows = broker.enumerate(MM)
    assert len(rows) == 1
    row = rows[0]
    assert row["__CLASS"] == MM
    assert row["InstanceName"] == "ROOT\\ISCSIPRT\\0000_0"
    assert row["Active"] is True
    assert {k: row[k] for k in mm_items(schema)} == mm_values(schema, 1)
    assert list(row)[:3] == ["__CLASS", "InstanceName", "Active"]


def test_pdo_names_count_and_collisions(schema: Schema, broker: Broker) -> None:
    a = mm_provider(schema, PDO0, 1, count=3)
    b = mm_provider(schema, PDO0, 7)  # same PDO path, same GUID: BaseIndex moves past 0..2
    c = mm_provider(schema, "PCI\\VEN_8086&DEV_10D3\\3&1", 9)
    broker.register(a)
    broker.register(b)
    broker.register(c)
    names = [r["InstanceName"] for r in broker.enumerate(MM)]
    assert names == [
        "ROOT\\ISCSIPRT\\0000_0",
        "ROOT\\ISCSIPRT\\0000_1",
        "ROOT\\ISCSIPRT\\0000_2",
        "ROOT\\ISCSIPRT\\0000_3",
        "PCI\\VEN_8086&DEV_10D3\\3&1_0",
    ]
    broker.unregister(a)
    assert [r["InstanceName"] for r in broker.enumerate(MM)] == [
        "ROOT\\ISCSIPRT\\0000_3",
        "PCI\\VEN_8086&DEV_10D3\\3&1_0",
    ]
    with pytest.raises(ValueError):
        broker.unregister(a)
    d = mm_provider(schema, PDO0, 11)
    broker.register(d)  # the freed indexes 0..2 are reused
    assert broker.get_instance(MM, "ROOT\\ISCSIPRT\\0000_0")["ActiveAcquire"] == 1100


def test_base_name_and_list_naming(schema: Schema, broker: Broker) -> None:
    layout = class_layout(schema.cls(MM), schema)
    blocks = [layout.pack(mm_values(schema, i)) for i in range(2)]
    broker.register(BlocksProvider("X", {MM: blocks}, [GuidRegInfo(MM, 2, base_name="Port")]))
    broker.register(BlocksProvider("Y", {MM: blocks}, [GuidRegInfo(MM, names=("alpha", "beta"))]))
    assert [r["InstanceName"] for r in broker.enumerate(MM)] == ["Port0", "Port1", "alpha", "beta"]
    with pytest.raises(InstanceNameError):
        broker.register(BlocksProvider("Z", {MM: blocks}, [GuidRegInfo(MM, names=("ALPHA", "g"))]))


def test_registration_errors(schema: Schema, broker: Broker) -> None:
    with pytest.raises(WmiStatusError) as ei:
        broker.register(BlocksProvider("X", {"NoSuchClass": []}))
    assert ei.value.status == NtStatus.WMI_GUID_NOT_FOUND
    with pytest.raises(WmiStatusError):  # abstract, no guid
        broker.register(BlocksProvider("X", {"Win32_PerfRawData": []}))
    with pytest.raises(ValueError):
        GuidRegInfo(MM, flags=w.WMIREG_FLAG_INSTANCE_PDO)  # not a miniport flag
    p = mm_provider(schema, PDO0, 1)
    broker.register(p)
    with pytest.raises(ValueError):
        broker.register(p)


def test_provider_cannot_supply_instance_name_or_active(schema: Schema, broker: Broker) -> None:
    layout = class_layout(schema.cls(MM), schema)
    vals: dict[str, Any] = {**mm_values(schema, 2), "InstanceName": "evil", "Active": False}
    block = layout.pack(vals)

    class Sneaky(WmiProvider):
        device_instance_path = PDO0
        guid_list = (GuidRegInfo(MM),)

        def query_data_block(self, class_name: str, first: int, count: int | None) -> Reply:
            return DataBlocks([block], ["evil"])

    broker.register(Sneaky())
    (row,) = broker.enumerate(MM)
    assert row["InstanceName"] == "ROOT\\ISCSIPRT\\0000_0" and row["Active"] is True


def test_event_only_guid_is_not_queried(schema: Schema, broker: Broker) -> None:
    layout = class_layout(schema.cls(MM), schema)
    reg = GuidRegInfo(MM, flags=w.WMIREG_FLAG_EVENT_ONLY_GUID)
    broker.register(BlocksProvider(PDO0, {MM: [layout.pack({})]}, [reg]))
    assert broker.enumerate(MM) == []


def test_unregistering_the_last_provider_forgets_the_guid(schema: Schema, broker: Broker) -> None:
    p = mm_provider(schema, PDO0, 1)
    broker.register(p)
    assert broker.classes_with_instances() == [MM]
    broker.unregister(p)
    assert broker.classes_with_instances() == []
    assert broker.enumerate(MM) == []
    assert broker.query_all_data(MM_GUID).status == NtStatus.WMI_GUID_NOT_FOUND


# --- raw WNODE replies --------------------------------------------------------------------------
def test_query_all_data_is_a_linked_chain_of_pdo_wnodes(schema: Schema) -> None:
    broker = Broker(schema, clock=lambda: 1_700_000_000 * 10**9)
    p1 = broker.register(mm_provider(schema, PDO0, 1))
    p2 = broker.register(mm_provider(schema, "ROOT\\ISCSIPRT\\0001", 2))
    reply = broker.query_all_data(MM_GUID)
    assert reply.status == NtStatus.SUCCESS and reply.inactive == frozenset()
    buf = reply.buffer
    # First WNODE: 280 bytes (reference §6 example), Linkage 280 to the next one.
    assert struct.unpack_from("<IIII", buf, 0) == (280, p1, 1, 280)
    assert struct.unpack_from("<I", buf, 44)[0] == 0x10091
    assert struct.unpack_from("<q", buf, 16)[0] == 1_700_000_000 * 10**7 + EPOCH_1601_100NS
    nodes = w.decode_all_data_chain(buf)
    assert [n.header.provider_id for n in nodes] == [p1, p2]
    assert nodes[1].header.linkage == 0 and len(buf) == 560
    assert [n.names for n in nodes] == [["ROOT\\ISCSIPRT\\0000_0"], ["ROOT\\ISCSIPRT\\0001_0"]]
    layout = class_layout(schema.cls(MM), schema)
    assert layout.unpack(nodes[1].data(0)) == mm_values(schema, 2)


def test_guid_not_found(schema: Schema, broker: Broker) -> None:
    assert broker.query_all_data(MM_GUID).status == NtStatus.WMI_GUID_NOT_FOUND  # none registered
    assert broker.query_all_data("not-a-guid").status == NtStatus.WMI_GUID_NOT_FOUND
    assert broker.enumerate(MM) == []  # a known class without providers: no instances
    with pytest.raises(WmiStatusError) as ei:
        broker.enumerate("NoSuchClass")
    assert ei.value.status == NtStatus.WMI_GUID_NOT_FOUND


def test_instance_not_found(schema: Schema, broker: Broker) -> None:
    broker.register(mm_provider(schema, PDO0, 1))
    r = broker.query_single_instance(MM_GUID, "ROOT\\ISCSIPRT\\0000_9")
    assert r.status == NtStatus.WMI_INSTANCE_NOT_FOUND
    with pytest.raises(WmiStatusError) as ei:
        broker.get_instance(MM, "nope")
    assert ei.value.status == NtStatus.WMI_INSTANCE_NOT_FOUND


def test_single_instance_and_item(schema: Schema, broker: Broker) -> None:
    broker.register(mm_provider(schema, PDO0, 3))
    r = broker.query_single_instance(MM_GUID, "root\\iscsiprt\\0000_0")  # case-insensitive
    node = w.decode_single_instance(r.buffer)
    assert node.instance_name == "ROOT\\ISCSIPRT\\0000_0" and len(node.data) == 168
    assert node.header.flags & w.WNODE_FLAG_PDO_INSTANCE_NAMES
    # Item 9 = AuthenticationFailures at offset 64 (reference §2), value seed*100 + 8.
    item = w.decode_single_item(
        broker.query_single_item(MM_GUID, "ROOT\\ISCSIPRT\\0000_0", 9).buffer
    )
    assert item.item_id == 9 and struct.unpack("<Q", item.data) == (308,)
    r = broker.query_single_item(MM_GUID, "ROOT\\ISCSIPRT\\0000_0", 99)
    assert r.status == NtStatus.WMI_ITEMID_NOT_FOUND
    row = broker.get_instance(MM, "ROOT\\ISCSIPRT\\0000_0")
    assert row["AuthenticationFailures"] == 308 and row["Active"] is True


def test_buffer_too_small_then_retry(schema: Schema, broker: Broker) -> None:
    for k in range(3):
        broker.register(mm_provider(schema, f"ROOT\\ISCSIPRT\\{k:04d}", k))
    full = broker.query_all_data(MM_GUID)
    small = broker.query_all_data(MM_GUID, 100)
    assert small.status == NtStatus.SUCCESS
    ts = w.decode(small.buffer)
    assert isinstance(ts, w.TooSmall) and ts.size_needed == len(full.buffer) == 280 * 3 - 0
    assert broker.query_all_data(MM_GUID, 55).status == NtStatus.BUFFER_TOO_SMALL
    again = broker.query_all_data(MM_GUID, ts.size_needed)
    assert again.status == NtStatus.SUCCESS and len(again.buffer) == ts.size_needed


def test_consumer_retries_while_data_grows(test_schema: Schema) -> None:
    layout = class_layout(test_schema.cls("Test_Sessions"), test_schema)

    class Growing(WmiProvider):
        device_instance_path = "X"
        guid_list = (GuidRegInfo("Test_Sessions", DYNAMIC_INSTANCE_COUNT),)
        calls = 0

        def query_data_block(self, class_name: str, first: int, count: int | None) -> Reply:
            self.calls += 1
            n = self.calls * 3
            blocks = [
                layout.pack({"BytesSent": i, "Pdus": i, "Target": "t" * 40}) for i in range(n)
            ]
            return DataBlocks(blocks, [f"iqn.target_{i}" for i in range(n)])

    broker = Broker(test_schema, buffer_size=128)
    g = Growing()
    broker.register(g)
    rows = broker.enumerate("Test_Sessions")
    assert g.calls >= 2  # at least one WNODE_TOO_SMALL was answered by a retry
    assert len(rows) == g.calls * 3
    assert (
        rows[-1]["Target"] == "t" * 40 and rows[-1]["InstanceName"] == f"iqn.target_{len(rows) - 1}"
    )


# --- dynamic names, variable-size blocks --------------------------------------------------------
def test_dynamic_names_from_provider(test_schema: Schema) -> None:
    layout = class_layout(test_schema.cls("Test_Sessions"), test_schema)
    targets = ["iqn.t0", "iqn.target1"]
    blocks = [layout.pack({"BytesSent": 10 * i, "Pdus": i, "Target": targets[i]}) for i in range(2)]
    broker = Broker(test_schema)
    broker.register(
        BlocksProvider(
            "ROOT\\ISCSIPRT\\0000",
            {"Test_Sessions": blocks},
            [GuidRegInfo("Test_Sessions", DYNAMIC_INSTANCE_COUNT)],
            {"Test_Sessions": ["iqn.t0_1", "iqn.t1_2"]},
        )
    )
    rows = broker.enumerate("Test_Sessions")
    assert [(r["InstanceName"], r["Target"], r["BytesSent"]) for r in rows] == [
        ("iqn.t0_1", "iqn.t0", 0),
        ("iqn.t1_2", "iqn.target1", 10),
    ]
    reply = broker.query_all_data(test_schema.cls("Test_Sessions").guid or MM_GUID)
    node = w.decode_all_data(reply.buffer)
    assert node.fixed_instance_size is None  # sizes differ: offset/length form
    assert not node.flags & w.WNODE_FLAG_STATIC_INSTANCE_NAMES
    assert broker.get_instance("Test_Sessions", "iqn.t1_2")["Pdus"] == 1
    # By name, case-insensitively; the reply carries the provider's spelling.
    guid = test_schema.cls("Test_Sessions").guid or MM_GUID
    node = w.decode_single_instance(broker.query_single_instance(guid, "IQN.T1_2").buffer)
    assert node.instance_name == "iqn.t1_2"
    item = w.decode_single_item(broker.query_single_item(guid, "iqn.t1_2", 1).buffer)
    assert struct.unpack("<Q", item.data) == (10,)
    # Target (item 3) is a counted string: items from there on have no fixed place.
    assert broker.query_single_item(guid, "iqn.t1_2", 3).status == NtStatus.WMI_NOT_SUPPORTED


def test_dynamic_provider_without_names_is_inactive(test_schema: Schema) -> None:
    layout = class_layout(test_schema.cls("Test_Sessions"), test_schema)
    broker = Broker(test_schema)
    p = BlocksProvider(
        "X",
        {"Test_Sessions": [layout.pack({"Pdus": 1})]},
        [GuidRegInfo("Test_Sessions", DYNAMIC_INSTANCE_COUNT)],
    )
    broker.register(p)
    assert broker.enumerate("Test_Sessions") == []
    (h,) = broker.provider_health()
    assert not h.active and h.last_error and "no instance names" in h.last_error


def test_fixed_size_padding_class(test_schema: Schema) -> None:
    # Test_Small: uint16 + uint8 = 3 bytes of items, struct size 4 (padded to alignment 2).
    layout = class_layout(test_schema.cls("Test_Small"), test_schema)
    assert layout.size == 4
    broker = Broker(test_schema)
    blocks = [layout.pack({"A": 513 + i, "B": i}) for i in range(3)]
    broker.register(
        BlocksProvider("PCI\\X", {"Test_Small": blocks}, [GuidRegInfo("Test_Small", 3)])
    )
    rows = broker.enumerate("Test_Small")
    assert [(r["A"], r["B"]) for r in rows] == [(513, 0), (514, 1), (515, 2)]
    reply = broker.query_all_data(test_schema.cls("Test_Small").guid or MM_GUID)
    node = w.decode_all_data(reply.buffer)
    assert node.fixed_instance_size == 4 and node.offsets == [64, 72, 80]  # each padded to 8


def test_chain_of_unaligned_wnodes(test_schema: Schema) -> None:
    # Name lengths make each WNODE end off an 8-byte boundary: the chain pads between links.
    layout = class_layout(test_schema.cls("Test_Small"), test_schema)
    broker = Broker(test_schema)
    paths = ["A", "BB\\1", "CCC\\22"]
    for k, path in enumerate(paths):
        blocks = [layout.pack({"A": k, "B": i}) for i in range(k + 1)]
        broker.register(
            BlocksProvider(path, {"Test_Small": blocks}, [GuidRegInfo("Test_Small", k + 1)])
        )
    for _ in range(2):  # the second round uses the cached frames
        rows = broker.enumerate("Test_Small")
        assert [(r["InstanceName"], r["A"], r["B"]) for r in rows] == [
            ("A_0", 0, 0), ("BB\\1_0", 1, 0), ("BB\\1_1", 1, 1),
            ("CCC\\22_0", 2, 0), ("CCC\\22_1", 2, 1), ("CCC\\22_2", 2, 2),
        ]  # fmt: skip
    buf = broker.query_all_data(test_schema.cls("Test_Small").guid or MM_GUID).buffer
    nodes = w.decode_all_data_chain(buf)
    assert any(n.header.buffer_size % 8 for n in nodes[:-1])  # some end off a boundary
    assert [n.header.linkage for n in nodes[:-1]] == [
        w.pad8(n.header.buffer_size) for n in nodes[:-1]
    ]


# --- failing providers --------------------------------------------------------------------------
def test_raising_provider_keeps_last_good_data_inactive(schema: Schema, broker: Broker) -> None:
    bad = FlakyProvider(schema, PDO0, 1)
    good = mm_provider(schema, "ROOT\\ISCSIPRT\\0001", 2)
    bad_id = broker.register(bad)
    broker.register(good)
    broker.enumerate(MM)
    bad.mode = "raise"
    bad.values = mm_values(schema, 50)  # would be new data, but the provider fails
    good.update(MM, 0, {"ActiveAcquire": 4242})
    rows = {r["InstanceName"]: r for r in broker.enumerate(MM)}
    assert rows["ROOT\\ISCSIPRT\\0000_0"]["Active"] is False
    assert rows["ROOT\\ISCSIPRT\\0000_0"]["ActiveAcquire"] == 100  # last good data
    assert rows["ROOT\\ISCSIPRT\\0001_0"]["Active"] is True
    assert rows["ROOT\\ISCSIPRT\\0001_0"]["ActiveAcquire"] == 4242
    assert broker.query_all_data(MM_GUID).inactive == {bad_id}
    health = {h.provider_id: h for h in broker.provider_health()}
    assert health[bad_id].last_error == "RuntimeError: daemon socket closed"
    assert health[bad_id].failures == 2
    assert broker.get_instance(MM, "ROOT\\ISCSIPRT\\0000_0")["Active"] is False
    bad.mode = "ok"
    row = broker.get_instance(MM, "ROOT\\ISCSIPRT\\0000_0")
    assert row["Active"] is True and row["ActiveAcquire"] == 5000


def test_provider_failing_from_the_start_has_no_instances(schema: Schema, broker: Broker) -> None:
    bad = FlakyProvider(schema, PDO0, 1)
    bad.mode = "raise"
    broker.register(bad)
    broker.register(mm_provider(schema, "ROOT\\ISCSIPRT\\0001", 2))
    assert [r["InstanceName"] for r in broker.enumerate(MM)] == ["ROOT\\ISCSIPRT\\0001_0"]
    assert broker.query_single_instance(MM_GUID, "ROOT\\ISCSIPRT\\0000_0").status == (
        NtStatus.WMI_INSTANCE_NOT_FOUND
    )


def test_malformed_block_marks_provider_inactive(schema: Schema, broker: Broker) -> None:
    bad = FlakyProvider(schema, PDO0, 1)
    broker.register(bad)
    broker.enumerate(MM)
    bad.mode = "short"
    (row,) = broker.enumerate(MM)
    assert row["Active"] is False and row["ActiveAcquire"] == 100
    (h,) = broker.provider_health()
    assert h.last_error == "data block 0 is 10 bytes, the layout has 168"


def test_blocking_provider_times_out_without_stalling_others(
    schema: Schema, broker: Broker
) -> None:
    slow = FlakyProvider(schema, PDO0, 1, may_block=True)
    broker.register(slow)
    broker.register(mm_provider(schema, "ROOT\\ISCSIPRT\\0001", 2))
    broker.enumerate(MM)
    slow.mode = "hang"
    try:
        t0 = time.monotonic()
        rows = {r["InstanceName"]: r for r in broker.enumerate(MM)}
        elapsed = time.monotonic() - t0
        assert rows["ROOT\\ISCSIPRT\\0000_0"]["Active"] is False
        assert rows["ROOT\\ISCSIPRT\\0000_0"]["ActiveAcquire"] == 100
        assert rows["ROOT\\ISCSIPRT\\0001_0"]["Active"] is True
        assert elapsed < 3  # the broker gave up after its 0.3 s timeout, not the 5 s hang
        # Still stuck: the next query does not pile a second call onto it.
        rows2 = broker.enumerate(MM)
        assert rows2[0]["Active"] is False
        health = {h.device_instance_path: h for h in broker.provider_health()}
        assert "busy" in (health[PDO0].last_error or "")
    finally:
        slow.release.set()
    slow.mode = "ok"
    deadline = time.monotonic() + 5
    while broker.enumerate(MM)[0]["Active"] is False and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.enumerate(MM)[0]["Active"] is True


def test_slow_inline_provider_counts_as_timeout(schema: Schema) -> None:
    class Slow(FlakyProvider):
        def query_data_block(self, class_name: str, first: int, count: int | None) -> Reply:
            if self.mode == "slow":
                time.sleep(0.35)
            return super().query_data_block(class_name, first, count)

    broker = Broker(schema, timeout=0.25)
    p = Slow(schema, PDO0, 1)
    broker.register(p)
    assert broker.enumerate(MM)[0]["Active"] is True
    p.mode = "slow"
    assert broker.enumerate(MM)[0]["Active"] is False


# --- writes and methods -------------------------------------------------------------------------
def test_read_only_and_method_defaults(schema: Schema, broker: Broker) -> None:
    broker.register(mm_provider(schema, PDO0, 1))
    name = "ROOT\\ISCSIPRT\\0000_0"
    assert broker.set_single_instance(MM_GUID, name, bytes(168)).status == NtStatus.WMI_READ_ONLY
    assert broker.set_single_item(MM_GUID, name, 1, bytes(8)).status == NtStatus.WMI_READ_ONLY
    assert (
        broker.set_single_item(MM_GUID, name, 77, bytes(8)).status == NtStatus.WMI_ITEMID_NOT_FOUND
    )
    assert broker.execute_method(MM_GUID, name, 1, b"").status == NtStatus.INVALID_DEVICE_REQUEST
    assert broker.set_single_instance(MM_GUID, "zz", b"").status == NtStatus.WMI_INSTANCE_NOT_FOUND


def test_writable_provider_and_method(schema: Schema, broker: Broker) -> None:
    class Writable(WmiProvider):
        device_instance_path = PDO0
        guid_list = (GuidRegInfo(MM),)

        def __init__(self) -> None:
            self.block = bytes(168)

        def query_data_block(
            self, class_name: str, first: int, count: int | None
        ) -> Sequence[bytes]:
            return [self.block]

        def set_data_block(self, class_name: str, index: int, data: bytes) -> None:
            if len(data) != 168:
                raise WmiStatusError(NtStatus.WMI_SET_FAILURE, "wrong size")
            self.block = data

        def execute_method(self, class_name: str, index: int, method_id: int, data: bytes) -> bytes:
            return data[::-1]

    p = Writable()
    broker.register(p)
    name = "ROOT\\ISCSIPRT\\0000_0"
    new = struct.pack("<21Q", *range(21))
    assert broker.set_single_instance(MM_GUID, name, new).ok
    assert broker.get_instance(MM, name)["SoftAssociations"] == 20
    assert broker.set_single_instance(MM_GUID, name, b"x").status == NtStatus.WMI_SET_FAILURE
    reply = broker.execute_method(MM_GUID, name, 5, b"abc")
    item = w.decode_method_item(reply.buffer)
    assert (item.method_id, item.data, item.instance_name) == (5, b"cba", name)


# --- consumer API -------------------------------------------------------------------------------
def test_subclasses_and_classes_with_instances(schema: Schema, broker: Broker) -> None:
    qm_layout = class_layout(schema.cls(QM), schema)
    qm_vals = {p.name: 7 for p in schema.cls(QM).data_items()}
    broker.register(mm_provider(schema, PDO0, 1))
    broker.register(ValuesProvider("ROOT\\ISCSIPRT\\0001", {QM: qm_layout}, {QM: [qm_vals]}))
    assert broker.classes_with_instances() == [MM, QM]
    rows = broker.enumerate("win32_perfrawdata")
    assert [r["__CLASS"] for r in rows] == [MM, QM]
    assert broker.enumerate("Win32_PerfRawData", deep=False) == []
    assert broker.get_instance("Win32_PerfRawData", "ROOT\\ISCSIPRT\\0001_0")["__CLASS"] == QM


def test_sample_carries_timestamps(schema: Schema) -> None:
    broker = Broker(schema, clock=lambda: 10**9 * 60, perf_clock=lambda: 123456)
    broker.register(mm_provider(schema, PDO0, 1))
    s = broker.sample(MM)
    assert s.timestamp_sys100ns == 60 * 10**7 + EPOCH_1601_100NS
    assert (s.timestamp_perftime, s.frequency_perftime) == (123456, 10**9)
    assert len(s.instances) == 1 and s.class_name == MM


def test_fast_reader_matches_general_decoder(schema: Schema) -> None:
    # Mixed chain: a single-instance link (fast path) and a 3-instance link (general path).
    broker = Broker(schema)
    broker.register(mm_provider(schema, PDO0, 1))
    broker.register(mm_provider(schema, "ROOT\\ISCSIPRT\\0001", 5, count=3))
    reply = broker.query_all_data(MM_GUID)
    layout = class_layout(schema.cls(MM), schema)
    reader = w.FixedBlockReader(MM_GUID, 168, "21Q")
    fast = [
        (n, dict(zip(mm_items(schema), v, strict=True)))
        for _, n, v in reader.iter_chain(reply.buffer)
    ]
    slow = [
        (name, layout.unpack(reply.buffer, off))
        for node in w.decode_all_data_chain(reply.buffer)
        for name, off in zip(node.names or [], node.offsets, strict=True)
    ]
    assert fast == slow and len(fast) == 4
    # A corrupted single-instance link falls back to the general decoder, which names the field.
    bad = bytearray(reply.buffer)
    struct.pack_into("<I", bad, 60, 400)
    with pytest.raises(w.WnodeError) as ei:
        list(reader.iter_chain(bytes(bad)))
    assert ei.value.field == "FixedInstanceSize"
