"""Proof by a real C compiler: the generated headers, compiled by gcc against a shim of the Windows
types as on x64 (`#pragma pack(8)`), give the sizes and offsets of our data-block layout.

For each corpus MOF the header is generated (with -m, so method structs compile too) under the
name other headers `#include` it by; a C program prints sizeof, every offsetof, every `<Struct>_SIZE`
and the DEFINE_GUID bytes of each fixed-layout class, and the test compares them with
`class_layout`. Skips only when gcc is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from iscsiprf.codegen.header import (
    HeaderOptions,
    generates_header,
    header_classes,
    render_header,
)
from iscsiprf.codegen.layout import ClassLayout, class_layout
from iscsiprf.mof import compile_files, load_builtin_schema
from iscsiprf.mof.model import MofClass, Schema

from shared_data import CORPUS, need_shared

# MOF file -> the header name wmimofck gives it in the WDK build (mgmt.mof's cpp_quote includes
# <iscsidef.h>, which def.mof produces from common.mof).
HEADERS = {
    "wdk/iscsiprf.mof": "iscsiprf",
    "wdk/def.mof": "iscsidef",
    "wdk/mgmt.mof": "iscsimgt",
    "wdk/config.mof": "iscsicfg",
    "wdk/iscsihba.mof": "iscsihba",
    "wdk/wmisamp.mof": "wmisamp",
    **{f"wmimofck/case{i:02d}.mof": f"case{i:02d}" for i in range(5)},
}

SHIM = """\
/* Windows types as on x64, for compiling wmimofck headers with gcc. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
typedef uint64_t ULONGLONG;
typedef int64_t LONGLONG;
typedef uint32_t ULONG;
typedef int32_t LONG;
typedef uint16_t USHORT;
typedef int16_t SHORT;
typedef uint8_t UCHAR;
typedef char CHAR;
typedef UCHAR BOOLEAN;
typedef uint16_t WCHAR;
typedef struct _GUID { ULONG Data1; USHORT Data2; USHORT Data3; UCHAR Data4[8]; } GUID;
#define DEFINE_GUID(n, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \\
    static const GUID n = { l, w1, w2, { b1, b2, b3, b4, b5, b6, b7, b8 } }
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#pragma pack(8)
"""

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


def _compile(rel: str) -> Schema:
    path = need_shared(CORPUS / rel)
    result = compile_files([path], include_dirs=[path.parent])
    assert not result.errors, "\n".join(map(str, result.errors))
    return result.schema


def _fixed_classes(schema: Schema) -> list[tuple[MofClass, ClassLayout]]:
    out = []
    for cls in header_classes(schema):
        if not cls.data_items():
            continue
        lay = class_layout(cls, schema)
        if lay.size is not None:
            out.append((cls, lay))
    return out


def _program(header: str, classes: list[tuple[MofClass, ClassLayout]]) -> str:
    lines = ['#include "wmishim.h"', f'#include "{header}.h"', "int main(void) {"]
    for cls, lay in classes:
        s = lay.struct_name
        lines.append(f'  printf("{cls.name} sizeof %zu\\n", sizeof({s}));')
        for it in lay.items:
            lines.append(
                f'  printf("{cls.name} offset {it.name} %zu\\n", offsetof({s}, {it.name}));'
            )
        lines.append(f"#ifdef {s}_SIZE")
        lines.append(f'  printf("{cls.name} SIZE %ld\\n", (long)({s}_SIZE));')
        lines.append("#endif")
        g = f"{cls.name}_GUID"
        lines.append(
            f'  printf("{cls.name} guid %08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x\\n", '
            f"{g}.Data1, {g}.Data2, {g}.Data3, "
            + ", ".join(f"{g}.Data4[{i}]" for i in range(8))
            + ");"
        )
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def _embedded_stand_in(schema: Schema) -> list[MofClass]:
    """The WmiGenerateHeader(FALSE) classes of a self-contained MOF (iscsihba.mof carries its own
    copies of common.mof's classes): the header its `#include <iscsidef.h>` stands for."""
    return [
        c
        for c in schema
        if c.qualifiers.has("WMI") and c.guid is not None and not generates_header(c)
    ]


def _write_headers(tmp: Path, rel: str) -> None:
    """The header of `rel` and, side by side, the headers it includes, under those names."""
    (tmp / "wmishim.h").write_text(SHIM)
    schema = _compile(rel)
    opts = HeaderOptions(methods=True)
    text = render_header(schema, HEADERS[rel], opts)
    (tmp / f"{HEADERS[rel]}.h").write_bytes(text.encode())
    if "#include <iscsidef.h>" in text:
        if rel == "wdk/iscsihba.mof":
            inc = render_header(schema, "iscsidef", opts, _embedded_stand_in(schema))
        else:
            inc = render_header(_compile("wdk/def.mof"), "iscsidef", opts)
        (tmp / "iscsidef.h").write_bytes(inc.encode())


def _run_c(tmp: Path, name: str, source: str) -> str:
    c_file = tmp / f"{name}_check.c"
    exe = tmp / f"{name}_check"
    c_file.write_text(source)
    cc = subprocess.run(
        ["gcc", "-std=c11", "-Wall", "-Wno-unused", "-I", str(tmp), "-o", str(exe), str(c_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cc.returncode == 0, f"gcc failed for {name}:\n{cc.stderr}"
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=True)
    return run.stdout


@needs_gcc
@pytest.mark.parametrize("rel", sorted(HEADERS))
def test_gcc_agrees_with_layout(tmp_path: Path, rel: str) -> None:
    base = HEADERS[rel]
    _write_headers(tmp_path, rel)
    schema = _compile(rel)
    classes = _fixed_classes(schema)
    out = _run_c(tmp_path, base, _program(base, classes))
    seen: dict[tuple[str, str, str], str] = {}
    for line in out.splitlines():
        cls_name, what, *rest = line.split(" ")
        key = (cls_name, what, rest[0] if len(rest) == 2 else "")
        seen[key] = rest[-1]
    for cls, lay in classes:
        n = cls.name
        assert int(seen[(n, "sizeof", "")]) == lay.size, f"{n}: sizeof"
        for it in lay.items:
            assert int(seen[(n, "offset", it.name)]) == it.offset, f"{n}.{it.name}: offsetof"
        if (n, "SIZE", "") in seen:
            assert int(seen[(n, "SIZE", "")]) == lay.data_size, f"{n}: {lay.struct_name}_SIZE"
        assert uuid.UUID(seen[(n, "guid", "")]) == cls.guid, f"{n}: DEFINE_GUID"


@needs_gcc
def test_mmipsecstats_compiles_to_168_bytes(tmp_path: Path) -> None:
    _write_headers(tmp_path, "wdk/iscsiprf.mof")
    source = (
        '#include "wmishim.h"\n#include "iscsiprf.h"\n'
        "int main(void) {\n"
        '  printf("%zu %ld %d %d\\n", sizeof(MSiSCSI_MMIPSECStats), (long)MSiSCSI_MMIPSECStats_SIZE,'
        " MSiSCSI_MMIPSECStats_SoftAssociations_ID, (int)MSiSCSI_QMIPSECStats_SIZE);\n"
        "  return 0;\n}\n"
    )
    assert _run_c(tmp_path, "mmipsec", source).split() == ["168", "168", "21", "144"]


@needs_gcc
def test_every_corpus_mof_has_a_fixed_class_checked() -> None:
    # The parametrized test above must not pass by comparing nothing.
    for rel in HEADERS:
        assert _fixed_classes(_compile(rel)), rel


@needs_gcc
def test_project_builtin_mof_header_compiles(tmp_path: Path) -> None:
    """The project's own MOF (what the provider serves) gives the same 168-byte struct."""
    schema = load_builtin_schema()
    (tmp_path / "wmishim.h").write_text(SHIM)
    text = render_header(schema, "iscsiprf", HeaderOptions(methods=True))
    (tmp_path / "iscsiprf.h").write_bytes(text.encode())
    classes = _fixed_classes(schema)
    assert {c.name for c, _ in classes} >= {"MSiSCSI_MMIPSECStats", "MSiSCSI_QMIPSECStats"}
    out = _run_c(tmp_path, "builtin", _program("iscsiprf", classes))
    assert "MSiSCSI_MMIPSECStats sizeof 168" in out.splitlines()
    assert "MSiSCSI_MMIPSECStats SIZE 168" in out.splitlines()
    assert "MSiSCSI_QMIPSECStats sizeof 144" in out.splitlines()
