"""Bad MOF: every problem is one diagnostic with file:line:col and a sentence a person reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from iscsiprf.mof import compile_files, compile_text


def errors(text: str, strict: bool = False) -> list[str]:
    return [str(d) for d in compile_text(text, path="bad.mof", strict=strict).errors]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('class A { [Description("abc)] uint32 x; };', "bad.mof:1:24: error: unterminated string"),
        (
            "class A { frob x; };",
            "bad.mof:1:16: error: unknown type 'frob' for property A.x: neither a CIM type nor a class",
        ),
        ("class A { uint32 x }; ", "bad.mof:1:20: error: missing ';' before '}'"),
        (
            "class A { uint32 x; uint32 X; };",
            "bad.mof:1:28: error: duplicate property 'X' in class A",
        ),
        (
            '[guid("{nope}")] class A { };',
            "bad.mof:1:24: error: malformed guid '{nope}' on class A; expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}",
        ),
        (
            "[WMI] class A { [WmiDataId(1)] uint32 a; [WmiDataId(3)] uint32 b; };",
            "bad.mof:1:64: error: WmiDataId of class A is not contiguous: missing 2",
        ),
        (
            "[WMI] class A { [WmiDataId(2)] uint32 a; };",
            "bad.mof:1:39: error: WmiDataId of class A must start at 1 (lowest is 2)",
        ),
        (
            'class A { [WmiSizeIs("N")] uint8 b[]; };',
            "bad.mof:1:34: error: WmiSizeIs('N') of A.b names no integer property of class A",
        ),
        (
            "class A { [MaxLen(4)] uint32 b; };",
            "bad.mof:1:30: error: MaxLen applies to strings, but A.b is uint32",
        ),
        (
            "class A { [key] string b[]; };",
            "bad.mof:1:24: error: key property A.b cannot be an array",
        ),
        ("class A { uint32 x;", "bad.mof:1:7: error: class A is not closed: missing '}'"),
        (
            "class A { /* never closed",
            "bad.mof:1:11: error: expected a property type, found an unterminated comment",
        ),
        ("class A : A { };", "bad.mof:1:7: error: class A inherits from itself"),
        ("[Q(12abc)] class A { };", "bad.mof:1:4: error: malformed number '12abc'"),
    ],
)
def test_error_messages_name_the_place(text: str, expected: str) -> None:
    assert errors(text)[:1] == [expected]


def test_unknown_superclass_is_a_warning_and_an_error_when_strict() -> None:
    text = "class A : Nowhere { };"
    r = compile_text(text, path="w.mof")
    assert r.ok and "superclass Nowhere of A is defined nowhere" in str(r.warnings[0])
    assert errors(text, strict=True) == [
        "bad.mof:1:7: error: superclass Nowhere of A is defined nowhere in the compiled files "
        "(mofcomp would look it up in the repository)"
    ]


def test_unknown_identifier_value_warns_with_name_and_is_null() -> None:
    r = compile_text("[WmiGenerateHeader(GENERATE_HEADER)] class A { };", path="c.mof")
    assert r.ok
    assert r.schema.cls("A").qualifiers.get_value("WmiGenerateHeader") is None
    assert (
        str(r.warnings[0])
        == "c.mof:1:20: warning: unknown identifier 'GENERATE_HEADER' used as a value; taken as NULL"
    )
    assert not compile_text("[W(GENERATE_HEADER)] class A { };", path="c.mof", strict=True).ok


def test_include_not_found_and_recursive_include(tmp_path: Path) -> None:
    a = tmp_path / "a.mof"
    a.write_text('#include "missing.mof"\n')
    assert [str(d) for d in compile_files([a]).errors] == [
        f"{a}:1:1: error: include file missing.mof not found (searched {tmp_path})"
    ]
    b = tmp_path / "b.mof"
    c = tmp_path / "c.mof"
    b.write_text('#pragma include("c.mof")\n')
    c.write_text('\n#pragma include ("b.mof")\n')
    msgs = [str(d) for d in compile_files([b]).errors]
    assert msgs == [f"{c}:2:1: error: recursive include of b.mof"]


def test_missing_c_header_is_skipped_with_a_warning(tmp_path: Path) -> None:
    m = tmp_path / "m.mof"
    m.write_text('#include "wdkonly.h"\nclass A { uint32 x; };\n')
    r = compile_files([m])
    assert r.ok and [str(d) for d in r.warnings] == [
        f"{m}:1:1: warning: C header wdkonly.h not found; skipped"
    ]


def test_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    r = compile_files([tmp_path / "nope.mof"])
    assert len(r.errors) == 1 and "cannot read" in r.errors[0].message


def test_locations_are_read_back_from_the_file_after_parsing(tmp_path: Path) -> None:
    # A parsed file's text is not kept: a location read later comes from reading it again.
    inc = tmp_path / "inc.mof"
    inc.write_text("\n\nclass B\n{\n  [key] string Name;\n  uint32 Count;\n};\n")
    main = tmp_path / "main.mof"
    main.write_text('#pragma include("inc.mof")\n[abstract] class A { uint8 x; };\n')
    b = compile_files([main]).schema.cls("B")
    assert str(b.prop("Count").location) == f"{inc}:6:10"  # type: ignore[union-attr]
    r = compile_files([main])
    inc.unlink()  # gone before anyone asked: no traceback, the file's first position
    assert str(r.schema.cls("B").prop("Name").location) == f"{inc}:1:1"  # type: ignore[union-attr]
    assert str(r.schema.cls("A").location) == f"{main}:2:18"


def test_locations_of_text_compiled_from_a_string_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "same-name.mof"
    path.write_text("// a different file with the same name\n")
    r = compile_text("\nclass C { uint8 y; };\n", path=str(path))
    assert str(r.schema.cls("C").prop("y").location) == f"{path}:2:17"  # type: ignore[union-attr]
