"""CIM-XML request parsing: the shapes DSP0200 allows, and refusal of everything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.serve.cimxml_request import (
    ClassNameRef,
    InstanceNameRef,
    MultipleRequestsUnsupported,
    RequestInvalid,
    RequestNotWellFormed,
    parse_request,
)


def call(
    name: str, params: str = "", ns: str = '<NAMESPACE NAME="root"/><NAMESPACE NAME="wmi"/>'
) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="42" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="{name}">'
        f"<LOCALNAMESPACEPATH>{ns}</LOCALNAMESPACEPATH>{params}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def test_enumerate_instances_with_parameters() -> None:
    req = parse_request(
        call(
            "EnumerateInstances",
            '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="MSiSCSI_MMIPSECStats"/></IPARAMVALUE>'
            '<IPARAMVALUE NAME="DeepInheritance"><VALUE>FALSE</VALUE></IPARAMVALUE>'
            '<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Active</VALUE><VALUE>OakleyMainMode</VALUE>'
            "</VALUE.ARRAY></IPARAMVALUE>"
            '<IPARAMVALUE NAME="IncludeQualifiers"/>',
        )
    )
    assert (req.message_id, req.method, req.namespace, req.intrinsic) == (
        "42",
        "EnumerateInstances",
        "root/wmi",
        True,
    )
    assert req.params["classname"] == ("ClassName", ClassNameRef("MSiSCSI_MMIPSECStats"))
    assert req.params["deepinheritance"][1] == "FALSE"
    assert req.params["propertylist"][1] == ["Active", "OakleyMainMode"]
    assert req.params["includequalifiers"][1] is None


def test_get_instance_key_bindings() -> None:
    req = parse_request(
        call(
            "GetInstance",
            '<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="MSiSCSI_MMIPSECStats">'
            '<KEYBINDING NAME="InstanceName"><KEYVALUE VALUETYPE="string">ROOT\\ISCSIPRT\\0000_0</KEYVALUE>'
            "</KEYBINDING></INSTANCENAME></IPARAMVALUE>",
        )
    )
    assert req.params["instancename"][1] == InstanceNameRef(
        "MSiSCSI_MMIPSECStats", {"InstanceName": "ROOT\\ISCSIPRT\\0000_0"}
    )


def test_extrinsic_method_call_is_recognised() -> None:
    body = (
        b'<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        b'<METHODCALL NAME="Reset"><LOCALCLASSPATH/></METHODCALL></SIMPLEREQ></MESSAGE></CIM>'
    )
    req = parse_request(body)
    assert req.method == "Reset" and not req.intrinsic


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><CIM>&c;</CIM>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE CIM [<!ENTITY x SYSTEM "file:///etc/passwd">]><CIM>&x;</CIM>'
)
DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE CIM SYSTEM "http://127.0.0.1:1/cim.dtd"><CIM/>'


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL, DTD_ONLY, b"<CIM><MESSAGE", b"", b"\xff\xfe<"]
)
def test_refused_or_broken_xml_is_not_well_formed(body: bytes) -> None:
    with pytest.raises(RequestNotWellFormed):
        parse_request(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<html/>",
        b'<CIM><MESSAGE PROTOCOLVERSION="1.0"/></CIM>',  # no ID
        b'<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ/></MESSAGE></CIM>',
        call("GetClass", "", ns=""),
        call("GetClass", '<IPARAMVALUE NAME="A"><VALUE>1</VALUE></IPARAMVALUE>' * 2),
        call("GetClass", '<IPARAMVALUE NAME="A"><VALUE>1</VALUE><VALUE>2</VALUE></IPARAMVALUE>'),
        call("GetClass", '<IPARAMVALUE NAME="A"><BOGUS/></IPARAMVALUE>'),
    ],
)
def test_not_a_cim_request_is_invalid(body: bytes) -> None:
    with pytest.raises(RequestInvalid):
        parse_request(body)


def test_multireq_is_unsupported() -> None:
    body = b'<CIM><MESSAGE ID="1" PROTOCOLVERSION="1.0"><MULTIREQ/></MESSAGE></CIM>'
    with pytest.raises(MultipleRequestsUnsupported):
        parse_request(body)


ERRORS = (RequestNotWellFormed, RequestInvalid, MultipleRequestsUnsupported)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(body: bytes) -> None:
    try:
        parse_request(body)
    except ERRORS:
        pass


_tags = st.sampled_from(
    ["CIM", "MESSAGE", "SIMPLEREQ", "IMETHODCALL", "METHODCALL", "LOCALNAMESPACEPATH", "NAMESPACE",
     "IPARAMVALUE", "VALUE", "VALUE.ARRAY", "CLASSNAME", "INSTANCENAME", "KEYBINDING", "KEYVALUE", "MULTIREQ"]
)  # fmt: skip
_attrs = st.lists(
    st.sampled_from(['NAME="x"', 'ID="1"', 'PROTOCOLVERSION="1.0"', 'CLASSNAME="C"']), max_size=3
)


@st.composite
def cimish(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(_tags)
    attrs = " ".join(draw(_attrs))
    kids = "" if depth > 5 else "".join(draw(st.lists(cimish(depth + 1), max_size=3)))
    text = draw(st.sampled_from(["", "TRUE", "root", "&amp;"]))
    return f"<{tag} {attrs}>{text}{kids}</{tag}>"


@settings(max_examples=300, deadline=None)
@given(cimish())
def test_random_cim_shaped_xml_never_crashes(xml: str) -> None:
    try:
        req = parse_request(xml.encode())
    except ERRORS:
        return
    assert isinstance(req.method, str)
