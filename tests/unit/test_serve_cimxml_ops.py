"""CIM operations over a snapshot: results, flags and DSP0200 status codes, checked on the XML."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.mof import load_builtin_schema
from iscsiprf.serve.cimxml_ops import CimOperations
from iscsiprf.serve.cimxml_request import parse_request
from iscsiprf.serve.cimxml_response import InstanceRenderer
from iscsiprf.serve.source import load_snapshot

MM = "MSiSCSI_MMIPSECStats"
NS = '<NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/>'


def request(method: str, params: str = "", ns: str = NS) -> bytes:
    return (
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="9" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        f'<IMETHODCALL NAME="{method}"><LOCALNAMESPACEPATH>{ns}</LOCALNAMESPACEPATH>{params}'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def cls_param(name: str = MM, param: str = "ClassName") -> str:
    return f'<IPARAMVALUE NAME="{param}"><CLASSNAME NAME="{name}"/></IPARAMVALUE>'


def value(name: str, v: str) -> str:
    return f'<IPARAMVALUE NAME="{name}"><VALUE>{v}</VALUE></IPARAMVALUE>'


def inst_param(name: str, cls: str = MM, key: str = "InstanceName") -> str:
    return (
        f'<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="{cls}"><KEYBINDING NAME="{key}">'
        f'<KEYVALUE VALUETYPE="string">{name}</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>'
    )


SNAP: list[dict[str, Any]] = [
    {
        "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
        "Active": True,
        "OakleyMainMode": 2**64 - 1,
        "ActiveAcquire": 1,
    },
    {"InstanceName": 'ODD<&">_0', "Active": False, "OakleyMainMode": 5},
    {
        "__CLASS": "MSiSCSI_QMIPSECStats",
        "InstanceName": "ROOT\\ISCSIPRT\\0000_0",
        "Active": True,
        "ActiveSA": 4,
    },
]


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    p = tmp_path / "snap.json"
    p.write_text(json.dumps(SNAP))
    return p


@pytest.fixture
def ops(snap: Path) -> CimOperations:
    return CimOperations(load_snapshot(load_builtin_schema(), snap))


def run(ops: CimOperations, body: bytes) -> ET.Element:
    root = ET.fromstring(ops.handle(parse_request(body)))
    assert root.find("MESSAGE").get("ID") == "9"  # type: ignore[union-attr]
    rsp = root.find("MESSAGE/SIMPLERSP/IMETHODRESPONSE")
    assert rsp is not None
    return rsp


def error_code(rsp: ET.Element) -> int | None:
    err = rsp.find("ERROR")
    return None if err is None else int(err.get("CODE", "0"))


def props(inst: ET.Element) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in inst.findall("PROPERTY"):
        v = p.find("VALUE")
        out[p.get("NAME", "")] = None if v is None else v.text
    return out


def test_enumerate_instances(ops: CimOperations) -> None:
    rsp = run(ops, request("EnumerateInstances", cls_param()))
    named = rsp.findall("IRETURNVALUE/VALUE.NAMEDINSTANCE")
    assert len(named) == 2
    kv = named[1].find("INSTANCENAME/KEYBINDING/KEYVALUE")
    assert kv is not None and kv.text == 'ODD<&">_0'  # escaped on the wire, intact after parsing
    first = props(named[0].find("INSTANCE"))  # type: ignore[arg-type]
    assert first["OakleyMainMode"] == str(2**64 - 1)
    assert first["Active"] == "TRUE" and first["Caption"] is None
    types = {p.get("NAME"): p.get("TYPE") for p in named[0].findall("INSTANCE/PROPERTY")}
    assert types["OakleyMainMode"] == "uint64" and types["Active"] == "boolean"
    assert len(types) == 32


def test_property_list_and_local_only(ops: CimOperations) -> None:
    plist = '<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>oakleymainmode</VALUE></VALUE.ARRAY></IPARAMVALUE>'
    rsp = run(ops, request("EnumerateInstances", cls_param() + plist))
    assert all(set(props(i)) == {"OakleyMainMode"} for i in rsp.iter("INSTANCE"))
    rsp = run(ops, request("EnumerateInstances", cls_param() + value("LocalOnly", "TRUE")))
    names = set(props(next(rsp.iter("INSTANCE"))))
    assert "Caption" not in names and "OakleyMainMode" in names and len(names) == 23


def test_enumerate_base_class_deep_and_shallow(ops: CimOperations) -> None:
    rsp = run(ops, request("EnumerateInstances", cls_param("Win32_PerfRawData")))
    classes = sorted(i.get("CLASSNAME", "") for i in rsp.iter("INSTANCE"))
    assert classes == [MM, MM, "MSiSCSI_QMIPSECStats"]
    rsp = run(
        ops,
        request(
            "EnumerateInstances", cls_param("Win32_PerfRawData") + value("DeepInheritance", "FALSE")
        ),
    )
    assert all(len(props(i)) == 9 for i in rsp.iter("INSTANCE"))


def test_get_instance(ops: CimOperations) -> None:
    rsp = run(ops, request("GetInstance", inst_param("root\\iscsiprt\\0000_0")))
    inst = rsp.find("IRETURNVALUE/INSTANCE")
    assert inst is not None and props(inst)["ActiveAcquire"] == "1"


def test_exec_query_returns_objects_with_path(ops: CimOperations) -> None:
    q = value("QueryLanguage", "WQL") + value(
        "Query", f"SELECT ActiveAcquire FROM {MM} WHERE Active = TRUE"
    )
    rsp = run(ops, request("ExecQuery", q))
    objs = rsp.findall("IRETURNVALUE/VALUE.OBJECTWITHPATH")
    assert len(objs) == 1
    assert objs[0].find("INSTANCEPATH/NAMESPACEPATH/LOCALNAMESPACEPATH") is not None
    assert set(props(objs[0].find("INSTANCE"))) == {"InstanceName", "ActiveAcquire"}  # type: ignore[arg-type]


def test_get_class_qualifiers_and_flavors(ops: CimOperations) -> None:
    rsp = run(
        ops,
        request(
            "GetClass",
            cls_param() + value("LocalOnly", "FALSE") + value("IncludeClassOrigin", "TRUE"),
        ),
    )
    cls = rsp.find("IRETURNVALUE/CLASS")
    assert cls is not None and cls.get("SUPERCLASS") == "Win32_PerfRawData"
    quals = {q.get("NAME"): q for q in cls.findall("QUALIFIER")}
    assert quals["guid"].findtext("VALUE") == "{36B58EA2-C461-4bb0-AC8E-952F59D251ED}"
    assert quals["Description"].get("TRANSLATABLE") == "true"  # `: amended`
    omm = next(p for p in cls.findall("PROPERTY") if p.get("NAME") == "OakleyMainMode")
    assert omm.get("CLASSORIGIN") == MM and omm.get("PROPAGATED") is None
    assert {q.get("NAME"): q.findtext("VALUE") for q in omm.findall("QUALIFIER")}[
        "WmiDataId"
    ] == "18"
    caption = next(p for p in cls.findall("PROPERTY") if p.get("NAME") == "Caption")
    assert caption.get("PROPAGATED") == "true"


def test_get_class_without_qualifiers_local_only(ops: CimOperations) -> None:
    rsp = run(ops, request("GetClass", cls_param() + value("IncludeQualifiers", "false")))
    cls = rsp.find("IRETURNVALUE/CLASS")
    assert cls is not None and not list(cls.iter("QUALIFIER"))
    assert len(cls.findall("PROPERTY")) == 23


def test_class_names(ops: CimOperations) -> None:
    rsp = run(ops, request("EnumerateClassNames", value("DeepInheritance", "TRUE")))
    names = [c.get("NAME") for c in rsp.findall("IRETURNVALUE/CLASSNAME")]
    assert MM in names and "CIM_StatisticalInformation" in names
    rsp = run(ops, request("EnumerateClassNames"))
    assert [c.get("NAME") for c in rsp.findall("IRETURNVALUE/CLASSNAME")] == [
        "CIM_StatisticalInformation"
    ]


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("GetClass", cls_param("Nope"), 6),
        ("EnumerateInstances", cls_param("Nope"), 5),
        ("EnumerateInstanceNames", cls_param("Nope"), 5),
        ("GetInstance", inst_param("x", cls="Nope"), 5),
        ("GetInstance", inst_param("nope_0"), 6),
        ("GetInstance", inst_param("ROOT\\ISCSIPRT\\0000_0", key="Name"), 4),
        ("EnumerateInstances", "", 4),  # ClassName missing
        ("EnumerateInstances", cls_param() + value("Bogus", "1"), 4),
        ("EnumerateInstances", cls_param() + value("DeepInheritance", "maybe"), 4),
        ("ExecQuery", value("QueryLanguage", "CQL") + value("Query", f"SELECT * FROM {MM}"), 14),
        (
            "ExecQuery",
            value("QueryLanguage", "WQL")
            + value("Query", f"SELECT * FROM {MM} WHERE Active = 'yes'"),
            15,
        ),
        ("ExecQuery", value("QueryLanguage", "WQL") + value("Query", "SELECT * FROM Nope"), 15),
        ("OpenEnumerateInstances", cls_param(), 7),
        ("ModifyInstance", "", 2),
        ("CreateClass", "", 2),
    ],
)
def test_status_codes(ops: CimOperations, method: str, params: str, code: int) -> None:
    assert error_code(run(ops, request(method, params))) == code


def test_wrong_namespace(ops: CimOperations) -> None:
    rsp = run(
        ops,
        request(
            "EnumerateInstances",
            cls_param(),
            ns='<NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/>',
        ),
    )
    assert error_code(rsp) == 3
    rsp = run(
        ops,
        request(
            "EnumerateInstanceNames",
            cls_param(),
            ns='<NAMESPACE NAME="ROOT"/><NAMESPACE NAME="WMI"/>',
        ),
    )
    assert error_code(rsp) is None and len(rsp.findall("IRETURNVALUE/INSTANCENAME")) == 2


def test_changed_values_are_not_served_from_the_fragment_cache(
    ops: CimOperations, snap: Path
) -> None:
    before = run(ops, request("EnumerateInstances", cls_param()))
    assert props(next(before.iter("INSTANCE")))["ActiveAcquire"] == "1"
    changed = [dict(SNAP[0], ActiveAcquire=7), *SNAP[1:]]
    snap.write_text(json.dumps(changed))
    st = snap.stat()
    os.utime(snap, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    after = run(ops, request("EnumerateInstances", cls_param()))
    assert props(next(after.iter("INSTANCE")))["ActiveAcquire"] == "7"


_XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r").filter(
    lambda c: c in "\t\n" or ord(c) >= 0x20
)


@settings(max_examples=200, deadline=None)
@given(name=st.text(_XML_CHARS, min_size=1, max_size=30), caption=st.text(_XML_CHARS, max_size=30),
       counter=st.integers(0, 2**64 - 1))  # fmt: skip
def test_any_string_and_uint64_round_trip_through_the_xml(
    name: str, caption: str, counter: int
) -> None:
    schema = load_builtin_schema()
    cls = schema.cls(MM)
    r = InstanceRenderer(cls, schema, list(cls.properties.values()))
    inst = {"InstanceName": name, "Active": True, "Caption": caption, "OakleyMainMode": counter}
    el = ET.fromstring(r.render(inst))
    assert el.findtext("INSTANCENAME/KEYBINDING/KEYVALUE", default="") == name
    got = props(el.find("INSTANCE"))  # type: ignore[arg-type]
    assert (got["Caption"] or "") == caption
    assert int(got["OakleyMainMode"] or -1) == counter
