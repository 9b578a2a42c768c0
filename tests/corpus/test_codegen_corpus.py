"""Headers and layouts of the real MOF corpus: the five wmimofck reference headers byte for byte,
the iscsiprf.mof structs, every corpus MOF with methods, and pack/unpack round trips."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iscsiprf.cli.app import cli
from iscsiprf.codegen.header import HeaderOptions, header_classes, render_header
from iscsiprf.codegen.layout import ClassLayout, ItemLayout, class_layout
from iscsiprf.codegen.members import Kind
from iscsiprf.mof import compile_files
from iscsiprf.mof.model import INTEGER_RANGES, Schema

from shared_data import CORPUS, need_shared, params_or_skip

CASES = sorted((CORPUS / "wmimofck").glob("case*.mof"))
WDK = ["iscsiprf", "def", "common", "mgmt", "config", "iscsihba", "wmisamp"]


def _schema(path: Path) -> Schema:
    result = compile_files([need_shared(path)], include_dirs=[path.parent])
    assert not result.errors, "\n".join(map(str, result.errors))
    return result.schema


def test_all_five_reference_cases_are_there() -> None:
    need_shared(CORPUS / "wmimofck")
    assert [p.name for p in CASES] == [f"case{i:02d}.mof" for i in range(5)]


@pytest.mark.parametrize("mof", params_or_skip(CASES, "wmimofck cases"), ids=lambda p: p.stem)
def test_wmimofck_reference_header_byte_for_byte(mof: Path) -> None:
    expected = mof.with_suffix(".h").read_bytes()
    got = render_header(_schema(mof), mof.stem).encode()
    assert got.replace(b"\r", b"") == expected.replace(b"\r", b"")  # the rule: CR aside
    assert got == expected  # and in fact with the tool's own CRLF lines too


@pytest.fixture(scope="module")
def iscsiprf_header() -> str:
    return render_header(_schema(CORPUS / "wdk/iscsiprf.mof"), "iscsiprf", HeaderOptions(newline="\n"))  # fmt: skip


def _struct_body(header: str, name: str) -> str:
    start = header.index(f"typedef struct _{name}\n")
    return header[start : header.index(f"}} {name}, *P{name};", start)]


def test_mmipsecstats_struct(iscsiprf_header: str) -> None:
    h = iscsiprf_header
    assert "#define MSiSCSI_MMIPSECStatsGuid \\\n" in h
    assert "    { 0x36b58ea2,0xc461,0x4bb0, { 0xac,0x8e,0x95,0x2f,0x59,0xd2,0x51,0xed } }\n" in h
    body = _struct_body(h, "MSiSCSI_MMIPSECStats")
    members = re.findall(r"^    (\w+) (\w+);$", body, re.M)
    assert len(members) == 21 and {t for t, _ in members} == {"ULONGLONG"}
    ids = [int(i) for i in re.findall(r"#define MSiSCSI_MMIPSECStats_\w+_ID (\d+)", body)]
    assert ids == list(range(1, 22))
    assert members[0][1] == "ActiveAcquire" and members[-1][1] == "SoftAssociations"
    assert (
        "#define MSiSCSI_MMIPSECStats_SIZE (FIELD_OFFSET(MSiSCSI_MMIPSECStats, SoftAssociations)"
        " + MSiSCSI_MMIPSECStats_SoftAssociations_SIZE)\n" in h
    )
    # each item: its cpp_quote at column 0, then "    // " (the corpus MOF has no amended text)
    assert "\n\n// The number of times that an acquire has failed.\n    // \n    ULONGLONG" in body


def test_qmipsecstats_struct(iscsiprf_header: str) -> None:
    body = _struct_body(iscsiprf_header, "MSiSCSI_QMIPSECStats")
    members = re.findall(r"^    ULONGLONG (\w+);$", body, re.M)
    assert len(members) == 18 and members[0] == "ActiveSA" and members[-1] == "TunnelBytesReceived"


def test_iscsiprf_class_order_and_skipped_embedded_classes(iscsiprf_header: str) -> None:
    names = re.findall(r"^// (\w+) - \w+$", iscsiprf_header, re.M)
    assert names == [
        "MSiSCSI_MMIPSECStats",
        "MSiSCSI_QMIPSECStats",
        "MSiSCSI_ConnectionStatistics",
        "MSiSCSI_SessionStatistics",
        "MSiSCSI_InitiatorLoginStatistics",
        "MSiSCSI_InitiatorInstanceStatistics",
        "MSiSCSI_NICPerformance",
        "MSiSCSI_RequestTimeStatistics",
    ]
    assert "ISCSI_IP_Address" not in iscsiprf_header  # WmiGenerateHeader(FALSE)


def test_iscsiprf_layouts() -> None:
    schema = _schema(CORPUS / "wdk/iscsiprf.mof")
    mm = class_layout(schema.cls("MSiSCSI_MMIPSECStats"), schema)
    assert (mm.size, mm.data_size, mm.alignment, len(mm.items)) == (168, 168, 8, 21)
    assert [it.offset for it in mm.items] == list(range(0, 168, 8))
    assert [it.id for it in mm.items] == list(range(1, 22))
    qm = class_layout(schema.cls("MSiSCSI_QMIPSECStats"), schema)
    assert (qm.size, len(qm.items)) == (144, 18)


@pytest.mark.parametrize("name", WDK)
def test_every_corpus_mof_gives_a_header_with_methods(name: str) -> None:
    schema = _schema(CORPUS / f"wdk/{name}.mof")
    text = render_header(schema, name, HeaderOptions(methods=True, newline="\n"))
    assert text.startswith(f"#ifndef _{name}_h_\n") and text.endswith("#endif\n")
    if name != "common":  # common.mof alone: WmiGenerateHeader(GENERATE_HEADER) undefined
        assert header_classes(schema)


def test_mgmt_methods_and_define_values() -> None:
    text = render_header(_schema(CORPUS / "wdk/mgmt.mof"), "iscsimgt", HeaderOptions(methods=True, newline="\n"))  # fmt: skip
    assert "// Method id definitions for MSiSCSI_LB_Operations\n" in text
    assert "#define SetLoadBalancePolicy     10\ntypedef struct _SetLoadBalancePolicy_IN\n" in text
    assert "\n// login\n#define login 0\n// full\n#define full 1\n" in text
    assert "\n// Initiator\n#define InitiatorPortals 0\n" in text
    assert text.count("#include <iscsidef.h>") == 1


# -- round trips for every fixed-layout corpus class --------------------------------------------


def _item_strategy(it: ItemLayout) -> st.SearchStrategy[Any]:
    if it.kind is Kind.SCALAR:
        assert it.scalar is not None
        elem: st.SearchStrategy[Any] = (
            st.booleans() if it.scalar.mof == "boolean" else st.integers(*INTEGER_RANGES[it.scalar.mof])
        )  # fmt: skip
    elif it.kind is Kind.DATETIME:
        elem = st.one_of(
            st.none(),
            st.datetimes(min_value=dt.datetime(1601, 1, 1), timezones=st.just(dt.UTC)),
        )
    elif it.kind is Kind.FIXED_STRING:
        assert it.member.max_len is not None
        elem = st.text(
            st.characters(min_codepoint=1, max_codepoint=0xFFFF, exclude_categories=["Cs"]),
            max_size=it.member.max_len,
        )
    else:
        assert it.embedded is not None
        elem = _values_strategy(it.embedded)
    if it.member.is_array:
        assert it.count is not None
        return st.lists(elem, min_size=it.count, max_size=it.count)
    return elem


def _values_strategy(lay: ClassLayout) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({it.name: _item_strategy(it) for it in lay.items})


def _fixed_layouts() -> list[tuple[str, ClassLayout]]:
    out = []
    for rel in [*(f"wdk/{n}.mof" for n in WDK), *(f"wmimofck/{p.name}" for p in CASES)]:
        schema = _schema(CORPUS / rel)
        for cls in schema:
            if cls.builtin or not cls.data_items():
                continue
            lay = class_layout(cls, schema)
            if lay.size is not None:
                out.append((f"{rel}:{cls.name}", lay))
    return out


FIXED = _fixed_layouts() if CORPUS.is_dir() else []


def test_there_are_many_fixed_layout_classes() -> None:
    need_shared(CORPUS)
    assert len(FIXED) > 40


@pytest.mark.parametrize(
    "lay",
    params_or_skip([pytest.param(lay, id=n) for n, lay in FIXED], "WDK and wmimofck MOF files"),
)
def test_round_trip_every_fixed_corpus_class(lay: ClassLayout) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_values_strategy(lay))
    def round_trip(values: dict[str, Any]) -> None:
        data = lay.pack(values)
        assert len(data) == lay.size
        assert lay.unpack(data) == values

    round_trip()


def test_layout_command_on_the_utf16_wdk_file() -> None:
    mof = need_shared(CORPUS / "wdk/iscsiprf.mof")
    res = CliRunner().invoke(cli, ["mof", "layout", str(mof), "--json"])
    assert res.exit_code == 0, res.output
    doc = {c["name"]: c for c in json.loads(res.stdout)}
    assert len(doc) == 14
    assert doc["MSiSCSI_MMIPSECStats"]["size"] == 168
    assert doc["ISCSI_TargetMapping"]["size"] is None
    assert "LUNList holds LunCount elements" in doc["ISCSI_TargetMapping"]["size_rule"]
