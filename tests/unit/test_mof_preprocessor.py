"""The C-preprocessor lines WDK MOFs use: #define (with continuations), #include, #if family."""

from __future__ import annotations

from pathlib import Path

from iscsiprf.mof import compile_files, compile_text


def test_object_like_define_with_continuation_expands_in_qualifiers_and_types() -> None:
    text = (
        "#define STATUS_TYPE uint32\n"
        "#define STATUS_QUALS \\\n"
        '    Description("Status") : amended, \\\n'
        '    Values { "ok", \\\n'
        '             "bad" }\n'
        "#define LEN 16 // sixteen\n"
        "class A { [STATUS_QUALS, MaxLen(LEN)] string S; STATUS_TYPE T; };\n"
    )
    r = compile_text(text, path="d.mof")
    assert r.ok, [str(d) for d in r.diagnostics]
    a = r.schema.cls("A")
    s = a.prop("S")
    assert s is not None and s.qualifiers.get_value("Values") == ["ok", "bad"]
    assert s.qualifiers["description"].flavors == ("amended",)
    assert s.qualifiers.get_value("MaxLen") == 16
    assert a.prop("T").type == "uint32"  # type: ignore[union-attr]


def test_conditionals() -> None:
    text = (
        "#define MOFCOMP_PASS\n#define LEVEL 2\n"
        "#ifdef MOFCOMP_PASS\nclass Yes1 { };\n#else\nclass No1 { };\n#endif\n"
        "#ifndef MOFCOMP_PASS\nclass No2 { };\n#endif\n"
        "#if defined(MOFCOMP_PASS) && LEVEL >= 2\nclass Yes2 { };\n#elif 1\nclass No3 { };\n#endif\n"
        "#if 0\n#if 1\nclass No4 { };\n#endif\n#else\nclass Yes3 { };\n#endif\n"
    )
    r = compile_text(text, path="c.mof")
    assert r.ok
    assert sorted(c.name for c in r.user_classes()) == ["Yes1", "Yes2", "Yes3"]


def test_include_relative_and_via_include_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "inc").mkdir()
    (tmp_path / "sub" / "base.mof").write_text("#define T uint16\nclass Base { T x; };\n")
    (tmp_path / "inc" / "other.mof").write_text("class Other : Base { };\n")
    main = tmp_path / "sub" / "main.mof"
    main.write_text('#include "base.mof"\n#include "other.mof"\nclass Main : Other { T y; };\n')
    r = compile_files([main], include_dirs=[tmp_path / "inc"])
    assert r.ok, [str(d) for d in r.diagnostics]
    assert [c.name for c in r.user_classes()] == ["Base", "Other", "Main"]
    assert r.schema.cls("Main").prop("x").type == "uint16"  # type: ignore[union-attr]


def test_c_header_contributes_only_defines(tmp_path: Path) -> None:
    (tmp_path / "defs.h").write_text(
        "#ifndef X\n#define MY_TYPE uint64\ntypedef struct { int a; } S;\n#endif\n"
    )
    m = tmp_path / "m.mof"
    m.write_text('#include "defs.h"\nclass A { MY_TYPE v; };\n')
    r = compile_files([m])
    assert r.ok and r.schema.cls("A").prop("v").type == "uint64"  # type: ignore[union-attr]


def test_unbalanced_conditionals_are_errors() -> None:
    assert [str(d) for d in compile_text("#endif\n", path="u.mof").errors] == [
        "u.mof:1:1: error: #endif without a matching #if"
    ]
    assert (
        "without a matching #endif"
        in compile_text("#ifdef X\nclass A {};\n", path="u.mof").errors[0].message
    )


def test_include_search_passes_directories_and_ignores_case(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "Shared.mof").mkdir()  # a directory with the include's name is not the file
    (tmp_path / "inc" / "Shared.mof").write_text("class Shared { uint8 a; };\n")
    (tmp_path / "inc" / "Other.MOF").write_text("class Other { uint8 b; };\n")
    main = tmp_path / "main.mof"
    main.write_text('#include "Shared.mof"\n#pragma include("other.mof")\n')
    r = compile_files([main], include_dirs=[tmp_path / "inc"])
    assert r.ok, [str(d) for d in r.diagnostics]
    assert [c.location.path for c in r.user_classes()] == [  # type: ignore[union-attr]
        f"{tmp_path}/inc/Shared.mof",
        f"{tmp_path}/inc/Other.MOF",
    ]
