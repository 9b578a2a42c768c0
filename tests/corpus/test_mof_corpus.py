"""The real files: every WDK MOF compiles, the documented class and the DMTF CIM schema 2.49."""

from __future__ import annotations

from pathlib import Path

import pytest

from iscsiprf.mof import compile_files, compile_text, load_builtin_schema

from shared_data import CORPUS, need_shared, seed_class_text

WDK = CORPUS / "wdk"
# Classes each WDK file defines (a class the preprocessed iscsihba.mof defines three times
# counts once: a later definition updates it, as with mofcomp).
WDK_CLASS_COUNTS = {
    "common.mof": 6,
    "config.mof": 12,
    "def.mof": 6,
    "iscsihba.mof": 30,
    "iscsiprf.mof": 14,
    "mgmt.mof": 24,
    "wmisamp.mof": 7,
}
MM_ORDER = [
    "ActiveAcquire",
    "ActiveReceive",
    "AcquireFailures",
    "ReceiveFailures",
    "SendFailures",
    "AcquireHeapSize",
    "ReceiveHeapSize",
    "NegotiationFailures",
    "AuthenticationFailures",
    "InvalidCookiesReceived",
    "TotalGetSPI",
    "KeyAdditions",
    "KeyUpdates",
    "GetSPIFailures",
    "KeyAdditionFailures",
    "KeyUpdateFailures",
    "ConnectionListSize",
    "OakleyMainMode",
    "OakleyQuickMode",
    "InvalidPackets",
    "SoftAssociations",
]  # fmt: skip  (the documented order, written out here as the test's own expectation)


@pytest.mark.parametrize("name", sorted(WDK_CLASS_COUNTS))
def test_every_wdk_file_compiles(name: str) -> None:
    r = compile_files([need_shared(WDK / name)])
    assert r.errors == []
    assert len(r.user_classes()) == WDK_CLASS_COUNTS[name]


def check_mmipsec(schema_cls: object, *, doc_form: bool) -> None:
    from iscsiprf.mof.model import MofClass

    assert isinstance(schema_cls, MofClass)
    c = schema_cls
    assert c.superclass == "Win32_PerfRawData"
    assert c.prop("InstanceName").is_key and c.prop("InstanceName").type == "string"  # type: ignore[union-attr]
    assert c.prop("Active").type == "boolean"  # type: ignore[union-attr]
    items = c.data_items()
    assert [p.name for p in items] == MM_ORDER
    assert [p.data_id for p in items] == list(range(1, 22))
    for p in items:
        assert p.type == "uint64" and not p.array
        q = p.qualifiers
        assert q.get_value("CounterType") == 65792
        assert q.get_value("DefaultScale") == 0
        assert q.get_value("PerfDetail") == 100
        assert q.has("read")
        if doc_form:
            assert q["description"].amended
            assert "\n" not in (p.description or "")


def test_real_iscsiprf_mof_mmipsecstats_facts() -> None:
    r = compile_files([need_shared(WDK / "iscsiprf.mof")])
    c = r.schema.cls("msiscsi_mmipsecstats")
    check_mmipsec(c, doc_form=False)
    assert str(c.guid) == "36b58ea2-c461-4bb0-ac8e-952f59d251ed"
    assert c.namespace == "Root/WMI"
    assert c.qualifiers.has("Dynamic") and c.qualifiers.get_value("Provider") == "WMIProv"
    assert c.qualifiers.has("HiPerf") and c.qualifiers.get_value("PerfDetail") == 100
    assert r.schema.by_guid("{B4D1C606-8682-4b7a-AC6B-D883D91555FB}").name == "MSiSCSI_QMIPSECStats"  # type: ignore[union-attr]


def test_documented_class_compiles_as_printed_with_join_warnings() -> None:
    text = seed_class_text()
    r = compile_text(text, path="doc.mof")
    assert r.errors == []
    joins = [d for d in r.warnings if "joined with a single space" in d.message]
    assert len(joins) == 40  # 21 descriptions and 19 cpp_quotes break lines (2 fit on one)
    check_mmipsec(r.schema.cls("MSiSCSI_MMIPSECStats"), doc_form=True)
    first = r.schema.cls("MSiSCSI_MMIPSECStats").data_items()[0]
    assert first.description == (
        "An acquire is a request by the IPsec driver to have internet key exchange (IKE) perform "
        "a task. The active acquire statistic includes the outstanding request and the number of "
        "any queued requests. Typically, the number of active acquires is 1. Under a heavy load, "
        "the number of active acquires is 1 plus the number of requests that are queued by IKE "
        "for processing."
    )
    assert not compile_text(text, path="doc.mof", strict=True).ok


def test_builtin_schema_matches_the_documented_class_word_for_word() -> None:
    doc = compile_text(seed_class_text(), path="doc.mof").schema.cls("MSiSCSI_MMIPSECStats")
    ours = load_builtin_schema().cls("MSiSCSI_MMIPSECStats")
    check_mmipsec(ours, doc_form=True)
    for a, b in zip(doc.data_items(), ours.data_items(), strict=True):
        assert a.qualifiers.as_json() == b.qualifiers.as_json()
    assert str(ours.guid) == "36b58ea2-c461-4bb0-ac8e-952f59d251ed"
    assert ours.namespace == "root/wmi"
    ku, kuf = ours.prop("KeyUpdates"), ours.prop("KeyUpdateFailures")
    assert (
        ku is not None and kuf is not None and ku.description == kuf.description
    )  # the doc's copy
    qm = load_builtin_schema().cls("MSiSCSI_QMIPSECStats")
    assert [p.qualifiers.get_value("CounterType") for p in qm.data_items()] == [65792] * 9 + [
        272696576
    ] * 9


def test_cim_schema_249_compiles_with_every_chain_resolved(cim_schema_dir: Path) -> None:
    r = compile_files([cim_schema_dir / "cim_schema_2.49.0.mof"])
    assert r.errors == [] and r.warnings == []
    classes = r.user_classes()
    assert len(classes) == 1631
    for c in classes:
        if c.superclass:
            assert r.schema.get(c.superclass) is not None, c.name
    assert r.schema.cls("CIM_ComputerSystem").prop("Name").is_key  # type: ignore[union-attr]
