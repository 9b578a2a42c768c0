"""wmimofck header text for classes built by hand, and the `mof header`/`mof layout` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from iscsiprf.cli.app import cli
from iscsiprf.codegen.header import HeaderOptions, header_classes, render_header
from iscsiprf.codegen.layout import LayoutError
from iscsiprf.mof.model import (
    Location,
    Method,
    MofClass,
    Parameter,
    Property,
    Qualifier,
    Qualifiers,
    Schema,
)

GUID = "{36B58EA2-C461-4bb0-AC8E-952F59D251ED}"
LF = HeaderOptions(newline="\n")


def quals(**kw: Any) -> Qualifiers:
    q = Qualifiers()
    for name, value in kw.items():
        q.add(Qualifier(name, value))
    return q


def prop(name: str, type_: str, data_id: int | None, array: bool = False, size: int | None = None,
         **kw: Any) -> Property:  # fmt: skip
    if data_id is not None:
        kw["WmiDataId"] = data_id
    return Property(name, type_, quals(read=True, **kw), array=array, array_size=size,
                    location=Location("h.mof", 3, 5))  # fmt: skip


def klass(name: str, *props: Property, methods: tuple[Method, ...] = (), **kw: Any) -> MofClass:
    kw.setdefault("WMI", True)
    return MofClass(
        name, None, "root\\wmi", quals(**kw), {p.name.lower(): p for p in props},
        {m.name.lower(): m for m in methods}, location=Location("h.mof", 1, 7),
    )  # fmt: skip


def schema_of(*classes: MofClass) -> Schema:
    s = Schema()
    for c in classes:
        s.add_class(c)
    return s


def test_one_class_exactly() -> None:
    cls = klass(
        "Small",
        prop("Count", "uint32", 1, Description="how many"),
        guid=GUID,
        Dynamic=True,
        Description="a small class",
        cpp_quote="// quoted\n",
    )
    text = render_header(schema_of(cls), "small", LF)
    assert text == (
        "#ifndef _small_h_\n#define _small_h_\n\n"
        "// Small - Small\n// a small class\n\n// quoted\n\n"
        "#define SmallGuid \\\n"
        "    { 0x36b58ea2,0xc461,0x4bb0, { 0xac,0x8e,0x95,0x2f,0x59,0xd2,0x51,0xed } }\n\n"
        "#if ! (defined(MIDL_PASS))\n"
        "DEFINE_GUID(Small_GUID, \\\n"
        "            0x36b58ea2,0xc461,0x4bb0,0xac,0x8e,0x95,0x2f,0x59,0xd2,0x51,0xed);\n"
        "#endif\n\n\n"
        "typedef struct _Small\n{\n"
        "    // how many\n    ULONG Count;\n"
        "    #define Small_Count_SIZE sizeof(ULONG)\n    #define Small_Count_ID 1\n\n"
        "} Small, *PSmall;\n\n"
        "#define Small_SIZE (FIELD_OFFSET(Small, Count) + Small_Count_SIZE)\n\n"
        "#endif\n"
    )


def test_crlf_for_own_lines_lf_inside_cpp_quote() -> None:
    cls = klass("Q", prop("A", "uint8", 1, cpp_quote="// one\n// two"), guid=GUID, Dynamic=True)
    text = render_header(schema_of(cls), "q")
    assert "{\r\n\n// one\n// two\n    // \r\n    UCHAR A;\r\n" in text
    assert text.replace("\r\n", "\n") == render_header(schema_of(cls), "q", LF)


def test_header_name_and_guid_name() -> None:
    cls = klass("Vendor_EC1", prop("X", "boolean", 1), guid=GUID, HeaderName="EC1", GuidName1="EC1_GUID_INIT")  # fmt: skip
    text = render_header(schema_of(cls), "x", LF)
    assert "// Vendor_EC1 - EC1\n#define EC1_GUID_INIT \\\n" in text
    assert "DEFINE_GUID(Vendor_EC1_GUID, \\\n" in text
    assert "} EC1, *PEC1;" in text and "#define EC1_X_SIZE sizeof(BOOLEAN)" in text


def test_member_forms() -> None:
    emb = klass("Emb", prop("E", "uint8", 1), guid="{11111111-2222-3333-4444-555555555555}")
    cls = klass(
        "Forms",
        prop("When", "datetime", 1),
        prop("Name", "string", 2, MaxLen=16),
        prop("Arr", "sint16", 3, array=True, size=4),
        prop("Sub", "Emb", 4),
        prop("Subs", "Emb", 5, array=True, size=2),
        guid=GUID,
        Dynamic=True,
    )
    text = render_header(schema_of(emb, cls), "f", LF)
    body = text[text.index("typedef struct _Forms") :]
    for line in [
        "    WCHAR When[25];\n    #define Forms_When_SIZE sizeof(WCHAR[25])\n",
        "    WCHAR Name[16 + 1];\n    #define Forms_Name_ID 2\n",
        "    SHORT Arr[4];\n    #define Forms_Arr_SIZE sizeof(SHORT[4])\n",
        "    Emb Sub;\n    #define Forms_Sub_SIZE sizeof(Emb)\n",
        "    Emb Subs[2];\n    #define Forms_Subs_SIZE sizeof(Emb[2])\n",
    ]:
        assert line in body
    assert "Forms_Name_SIZE" not in body


def test_members_after_a_variable_one_are_commented_out() -> None:
    cls = klass(
        "Var",
        prop("KeySize", "uint32", 1),
        prop("Key", "uint8", 2, array=True, WmiSizeIs="KeySize"),
        prop("User", "uint8", 3, array=True, WmiSizeIs="KeySize"),
        guid=GUID,
        Dynamic=True,
    )
    text = render_header(schema_of(cls), "v", LF)
    assert "    UCHAR Key[1];\n    #define Var_Key_ID 2\n" in text
    assert "//  UCHAR User[1];\n    #define Var_User_ID 3\n" in text
    assert "} Var, *PVar;\n\n#endif\n" in text  # no Var_SIZE


def test_counted_string_is_variable_data() -> None:
    cls = klass("S", prop("A", "uint32", 1), prop("Model", "string", 2), guid=GUID, Dynamic=True)
    text = render_header(schema_of(cls), "s", LF)
    assert "    CHAR VariableData[1];\n    #define S_Model_ID 2\n" in text


def test_define_values() -> None:
    p = prop("State", "uint8", 1, ValueMap=["0", "1"], Values=["Up", "Down"], DefineValues=["UP", "DOWN"])  # fmt: skip
    text = render_header(schema_of(klass("D", p, guid=GUID, Dynamic=True)), "d", LF)
    assert "{\n\n// Up\n#define UP 0\n// Down\n#define DOWN 1\n\n    // \n    UCHAR State;" in text


def _method_class() -> MofClass:
    login = Method(
        "Login",
        "void",
        [
            Parameter("Port", "uint32", quals(**{"in": True})),
            Parameter("Name", "string", quals(**{"in": True}, MaxLen=8)),
            Parameter("Status", "uint32", quals(out=True, Description="result")),
        ],
        quals(WmiMethodId=30, Implemented=True, cpp_quote="// logs in"),
    )
    ping = Method("Ping", "void", [], quals(WmiMethodId=31))
    return klass("Ops", guid=GUID, Dynamic=True, methods=(login, ping))


def test_method_ids_without_m() -> None:
    text = render_header(schema_of(_method_class()), "o", LF)
    assert text.endswith(
        "#endif\n\n//\n// Method id definitions for Ops\n\n// logs in\n"
        "#define Login     30\n#define Ping     31\n\n#endif\n"
    )


def test_method_structs_with_m() -> None:
    text = render_header(schema_of(_method_class()), "o", HeaderOptions(methods=True, newline="\n"))
    assert "#define Login     30\ntypedef struct _Login_IN\n{\n" in text
    assert (
        "    WCHAR Name[8 + 1];\n    #define Login_IN_Name_ID 2\n\n} Login_IN, *PLogin_IN;\n\n"
        in text
    )
    assert "typedef struct _Login_IN" in text and "Login_IN_SIZE" not in text  # last is MaxLen
    assert (
        "    // result\n    ULONG Status;\n" in text and "#define Login_OUT_Status_ID 3\n" in text
    )
    assert (
        "#define Login_OUT_SIZE (FIELD_OFFSET(Login_OUT, Status) + Login_OUT_Status_SIZE)" in text
    )
    assert "#define Ping     31\n\n#endif\n" in text


def test_u_writes_a_placeholder_for_a_class_without_items() -> None:
    cls = _method_class()
    text = render_header(schema_of(cls), "o", HeaderOptions(unconditional=True, newline="\n"))
    assert "// Warning: Header for class Ops cannot be created\ntypedef struct _Ops\n" in text
    assert "    char VariableData[1];\n\n} Ops, *POps;\n" in text


def test_selection_skips_generate_header_false_and_non_wmi() -> None:
    keep = klass("Keep", prop("A", "uint8", 1), guid=GUID, Dynamic=True)
    off = klass("Off", prop("A", "uint8", 1), guid="{11111111-2222-3333-4444-555555555555}", WmiGenerateHeader=False)  # fmt: skip
    plain = klass("Plain", prop("A", "uint8", 1), WMI=False)
    assert [c.name for c in header_classes(schema_of(keep, off, plain))] == ["Keep"]


def test_wmi_class_without_guid_is_an_error() -> None:
    with pytest.raises(LayoutError, match="NoGuid has the WMI qualifier but no guid") as ei:
        header_classes(schema_of(klass("NoGuid", prop("A", "uint8", 1), Dynamic=True)))
    assert ei.value.location == Location("h.mof", 1, 7)


@pytest.mark.parametrize("name", ["InstanceName", "Active"])
def test_embedded_class_with_instance_name_or_active_is_an_error(name: str) -> None:
    emb = klass("Emb", prop(name, "string" if name == "InstanceName" else "boolean", None), prop("A", "uint8", 1), guid=GUID)  # fmt: skip
    with pytest.raises(LayoutError, match=f"embedded class Emb .* must not declare {name}"):
        header_classes(schema_of(emb))


# -- the commands --------------------------------------------------------------------------------

MOF = """\
#pragma namespace("\\\\\\\\.\\\\root\\\\wmi")
[WMI, Dynamic, Provider("WMIProv"), guid("{36B58EA2-C461-4bb0-AC8E-952F59D251ED}")]
class Two
{
    [key, read] string InstanceName;
    [read] boolean Active;
    [WmiDataId(1), read] uint64 A;
    [WmiDataId(2), read] uint8 B;
};
"""


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_header_to_stdout_and_file(tmp_path: Path) -> None:
    src = tmp_path / "two.mof"
    src.write_text(MOF)
    res = _run("mof", "header", str(src))
    assert res.exit_code == 0, res.output
    assert res.stdout_bytes.startswith(b"#ifndef _two_h_\r\n#define _two_h_\r\n")
    out = tmp_path / "Other.h"
    res = _run("mof", "header", str(src), "-o", str(out), "--lf")
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("#ifndef _Other_h_\n")
    assert "#define Two_SIZE (FIELD_OFFSET(Two, B) + Two_B_SIZE)\n" in out.read_text()


def test_cli_layout_json(tmp_path: Path) -> None:
    src = tmp_path / "two.mof"
    src.write_text(MOF)
    res = _run("mof", "layout", str(src), "--class", "two", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["name"], doc["size"], doc["alignment"]) == ("Two", 16, 8)
    assert [(i["name"], i["offset"]) for i in doc["items"]] == [("A", 0), ("B", 8)]


def test_cli_unknown_class_lists_the_classes(tmp_path: Path) -> None:
    src = tmp_path / "two.mof"
    src.write_text(MOF)
    res = _run("mof", "layout", str(src), "--class", "Three", "--json")
    assert res.exit_code == 1
    assert res.stderr.strip() == f"iscsiprf: error: no class Three in {src}; its classes are: Two"


def test_cli_errors_are_one_line_with_the_place(tmp_path: Path) -> None:
    src = tmp_path / "bad.mof"
    src.write_text(MOF.replace('guid("{36B58EA2-C461-4bb0-AC8E-952F59D251ED}")', "Static"))
    res = _run("mof", "header", str(src))
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert res.stderr.startswith(f"{src}:3:7: error: class Two")
    assert res.stderr.count("\n") == 1
    assert "has the WMI qualifier but no guid" in res.stderr
