"""MOF syntax as Microsoft and DMTF write it: literals, qualifiers, flavors, pragmas, encodings."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.mof import compile_text
from iscsiprf.mof.parser import _ESCAPE_RE, _unescape_one, unescape


def compiled(text: str, **kw: object):  # type: ignore[no-untyped-def]
    r = compile_text(text, path="t.mof", **kw)  # type: ignore[arg-type]
    assert r.ok, [str(d) for d in r.diagnostics]
    return r


def test_class_with_qualifiers_flavors_and_superclass() -> None:
    r = compiled(
        """
        #pragma namespace("\\\\\\\\.\\\\root\\\\wmi")
        [WMI, guid("{36B58EA2-C461-4bb0-AC8E-952F59D251ED}"), Description("d") : amended ToSubclass]
        class Base { [key, read] string InstanceName; [read] boolean Active; };
        [Dynamic, Provider("WMIProv")]
        class Child : Base { [read, WmiDataId(1), CounterType(PERF_COUNTER_LARGE_RAWCOUNT)] uint64 X; };
        """
    )
    child = r.schema.get("child")
    assert child is not None and child.superclass == "Base"
    assert child.namespace == "root/wmi"
    assert child.qualifiers["description"].propagated  # ToSubclass carried it down
    assert child.qualifiers["description"].flavors == ("amended", "ToSubclass")
    assert "guid" not in child.qualifiers  # undeclared WMI qualifiers stay with their class
    assert [p.name for p in child.properties.values()] == ["InstanceName", "Active", "X"]
    assert child.prop("x").qualifiers.get_value("CounterType") == 65792  # type: ignore[union-attr]
    assert child.prop("InstanceName").class_origin == "Base"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0x1F", 31),
        ("-0x10", -16),
        ("017", 15),
        ("101b", 5),
        ("1.5e3", 1500.0),
        ("-1.2778E+02", -127.78),
        ("42", 42),
        ("TRUE", True),
        ("false", False),
        ("NULL", None),
        ('"a" "b"', "ab"),
        ('"tab\\there \\"q\\" \\\\ \\x41"', 'tab\there "q" \\ A'),
        ("'c'", "c"),
    ],
)
def test_literals(literal: str, value: object) -> None:
    r = compiled(f"class C {{ [Q({literal})] uint32 P; }};")
    assert r.schema.cls("C").prop("P").qualifiers.get_value("Q") == value  # type: ignore[union-attr]


def test_every_intrinsic_type_arrays_refs_embedded_methods_and_defaults() -> None:
    r = compiled(
        """
        class E { uint32 A; };
        class Assoc {
          uint8 a; sint8 b; uint16 c; sint16 d; uint32 e; sint32 f; uint64 g; sint64 h;
          real32 i; real64 j; char16 k; boolean l; string m = "x"; datetime n; object o;
          uint32 fixed[4]; string var[]; E emb; E embs[];
          E ref r;
          [WmiMethodId(10)] uint32 Run([in] uint32 a, [out, WmiSizeIs("a")] uint8 b[], [in] E ref c);
        };
        """
    )
    c = r.schema.cls("Assoc")
    assert c.prop("fixed").array and c.prop("fixed").array_size == 4  # type: ignore[union-attr]
    assert c.prop("var").array and c.prop("var").array_size is None  # type: ignore[union-attr]
    assert c.prop("emb").type == "E" and c.prop("emb").is_embedded  # type: ignore[union-attr]
    assert c.prop("r").type == "ref" and c.prop("r").ref_class == "E"  # type: ignore[union-attr]
    assert c.prop("m").default == "x"  # type: ignore[union-attr]
    m = c.methods["run"]
    assert m.method_id == 10 and [p.name for p in m.parameters] == ["a", "b", "c"]
    assert m.parameters[1].qualifiers.has("out") and m.parameters[2].type == "ref"


def test_instances_aliases_and_qualifier_declarations() -> None:
    r = compiled(
        """
        Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
        Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
        class A { [Key] string Name; };
        instance of A as $a { Name = "one"; };
        """
    )
    assert r.schema.qualifier_decls["key"].flavors == ("disableoverride", "tosubclass")
    inst = r.schema.instances[0]
    assert inst.alias == "$a" and inst.values == {"Name": "one"}


def test_pragmas_case_insensitive_and_unknown_pragma_warns() -> None:
    r = compile_text(
        '#PRAGMA AUTORECOVER\n#pragma classflags("forceupdate")\n#pragma locale("MS_409")\n'
        '#pragma frobnicate("x")\nclass A { uint32 x; };',
        path="p.mof",
    )
    assert r.ok
    assert [str(d) for d in r.warnings] == [
        "p.mof:4:1: warning: unknown pragma 'frobnicate' ignored"
    ]


def test_guid_with_or_without_braces() -> None:
    r = compiled(
        '[guid("36B58EA2-C461-4bb0-AC8E-952F59D251ED")] class A { }; [guid("{36B58EA2-C461-4bb0-AC8E-952F59D251EE}")] class B { };'
    )
    assert str(r.schema.cls("A").guid) == "36b58ea2-c461-4bb0-ac8e-952f59d251ed"
    assert r.schema.by_guid("{36B58EA2-C461-4bb0-AC8E-952F59D251EE}") is r.schema.cls("B")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"])
def test_encodings(encoding: str) -> None:
    text = 'class Ünï { [Description("ü")] uint32 x; };'
    data = text.encode(encoding)
    if encoding == "utf-16-le":
        data = codecs.BOM_UTF16_LE + data
    elif encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    r = compile_text(data, path="enc.mof")
    assert r.ok
    assert r.schema.cls("Ünï").prop("x").description == "ü"  # type: ignore[union-attr]


def test_broken_literal_joined_with_one_space_and_warned() -> None:
    text = 'class A {\n  [Description("The \n    number of   \n\t  things")] uint32 x;\n};'
    r = compile_text(text, path="doc.mof")
    assert r.ok
    assert r.schema.cls("A").prop("x").description == "The number of things"  # type: ignore[union-attr]
    assert [str(d) for d in r.warnings] == [
        "doc.mof:2:16: warning: string literal continues on the next line; joined with a single space"
    ]
    strict = compile_text(text, path="doc.mof", strict=True)
    assert [d.severity for d in strict.diagnostics] == ["error"]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab\\nt'\"x0fF\n"))
def test_unescape_shortcut_agrees_with_the_escape_grammar(body: str) -> None:
    # The str.replace shortcut must give what the one regex for every escape gives.
    assert unescape(body) == _ESCAPE_RE.sub(_unescape_one, body)


def test_escapes_in_qualifier_values() -> None:
    r = compiled(
        '[Description("tab\\there, quote \\" apostrophe \\\' nl\\n hex \\x41 bs \\\\n")]\n'
        "class E { };\n"
    )
    text = r.schema.cls("E").qualifiers.get_value("Description")
    assert text == "tab\there, quote \" apostrophe ' nl\n hex A bs \\n"
