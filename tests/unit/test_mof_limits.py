"""Every input of the MOF compiler is bounded: what a source may be (a regular file or stdin,
at most 64 MiB, text), how deep includes, #if expressions, values, macros and superclass chains
nest, and how much macro expansion and inheritance may produce. Each limit is an error at its
place (docs/mof.md lists them)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from iscsiprf.mof import compile_files, compile_text, preprocess, resolve, source

MAIN = "from iscsiprf.cli import main; main()"  # the console script's entry point


def errors(result: object) -> list[str]:
    return [str(d) for d in result.errors]  # type: ignore[attr-defined]


def check(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """`iscsiprf mof check ARGS` as a user runs it: exit status and stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, "mof", "check", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        cwd=cwd,
    )
    return proc.returncode, proc.stderr.decode()


# -- what a source may be ---------------------------------------------------------------------


def test_a_character_device_is_refused_without_reading() -> None:
    assert errors(compile_files(["/dev/zero"])) == [
        "/dev/zero:1:1: error: cannot read /dev/zero: not a regular file (a character device)"
    ]


def test_an_included_device_is_refused_at_the_include(tmp_path: Path) -> None:
    (tmp_path / "z.mof").write_text('class A {};\n#include "/dev/zero"\n')
    assert errors(compile_files([str(tmp_path / "z.mof")])) == [
        f"{tmp_path}/z.mof:2:1: error: cannot read /dev/zero: not a regular file "
        "(a character device)"
    ]


def test_pragma_include_of_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "z.mof").write_text('#pragma include("/dev/zero")\n')
    (msg,) = errors(compile_files([str(tmp_path / "z.mof")]))
    assert msg.endswith("error: cannot read /dev/zero: not a regular file (a character device)")


@pytest.mark.timeout(60)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mof"
    os.mkfifo(fifo)
    status, err = check(str(fifo))
    assert status == 1
    assert err == f"{fifo}:1:1: error: cannot read {fifo}: not a regular file (a FIFO)\n"


def test_the_cli_refuses_dev_zero_with_status_1() -> None:
    assert check("/dev/zero") == (
        1,
        "/dev/zero:1:1: error: cannot read /dev/zero: not a regular file (a character device)\n",
    )


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_stdin_is_read_when_asked_for(name: str) -> None:
    assert check(name, stdin=b"class A { uint8 x; };\n") == (0, "")
    status, err = check(name, stdin=b"class A {\n  uint8 x\n};\n")
    assert (status, err) == (1, f"{name}:3:1: error: missing ';' before '}}'\n")


def test_stdin_redirected_from_a_file_keeps_its_locations(tmp_path: Path) -> None:
    # A regular file on stdin is read once: a location found after parsing (when the text of
    # a file that can be read again is released) must still point into it.
    path = tmp_path / "sup.mof"
    path.write_text("class A {};\nclass B : Nope { uint8 x; };\n")
    with path.open("rb") as f:
        proc = subprocess.run(
            [sys.executable, "-c", MAIN, "mof", "check", "-"],
            stdin=f, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert proc.stderr.startswith("-:2:7: warning: superclass Nope of B is defined nowhere")


def test_stdin_is_read_with_the_size_bound() -> None:
    status, err = check("/dev/stdin", stdin=b" " * (source.MAX_SOURCE_BYTES + 1))
    assert status == 1
    assert err == (
        "/dev/stdin:1:1: error: cannot read /dev/stdin: larger than 64 MiB, "
        "the most a MOF source may be\n"
    )


def test_an_included_stdin_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "a.mof").write_text('#include "/dev/stdin"\n')
    (msg,) = errors(compile_files([str(tmp_path / "a.mof")]))
    assert "cannot read /dev/stdin: not a regular file" in msg


def test_a_file_over_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "MAX_SOURCE_BYTES", 1000)
    big = tmp_path / "big.mof"
    big.write_text("class A {};\n" * 100)
    (tmp_path / "inc.mof").write_text('#include "big.mof"\n')
    assert errors(compile_files([str(big)])) == [
        f"{big}:1:1: error: cannot read {big}: larger than 0 MiB, the most a MOF source may be"
    ]
    (msg,) = errors(compile_files([str(tmp_path / "inc.mof")]))
    assert msg.startswith(f"{tmp_path}/inc.mof:1:1: error: cannot read {big}: larger than")


def test_a_file_at_the_size_bound_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_SOURCE_BYTES", 12 * 100)
    exact = tmp_path / "exact.mof"
    exact.write_text("class A {};\n" + ";\n" * 594)
    assert exact.stat().st_size == 1200
    assert errors(compile_files([str(exact)])) == []


def test_a_nul_byte_is_an_error_at_its_place() -> None:
    result = compile_text(b"class A {};\nclass B {\x00};\n", path="x.mof")
    assert errors(result) == [
        "x.mof:2:10: error: control character U+0000: this is a binary file, not MOF text"
    ]


def test_random_bytes_fail_at_the_first_control_character() -> None:
    data = random.Random(11).randbytes(1 << 20)
    first = next(i for i, b in enumerate(data) if b < 9 or 13 < b < 32 and b != 26 or b == 127)
    (msg,) = errors(compile_text(data, path="noise.mof"))
    before = data[:first].decode("cp1252", errors="replace")
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    assert msg == (
        f"noise.mof:{line}:{col}: error: control character U+{data[first]:04X}: "
        "this is a binary file, not MOF text"
    )


def test_utf16_with_a_nul_character_is_binary() -> None:
    data = "\ufeffclass A {};\n\x00".encode("utf-16-le")
    assert errors(compile_text(data, path="w.mof")) == [
        "w.mof:2:1: error: control character U+0000: this is a binary file, not MOF text"
    ]


def test_windows_1252_text_is_still_read() -> None:
    result = compile_text(b'class A { [Description("caf\xe9 \x93q\x94")] uint8 x; };\n')
    assert errors(result) == []
    assert result.schema.cls("A").properties["x"].qualifiers.get("description").value == (
        "caf\u00e9 \u201cq\u201d"
    )


# -- nesting ------------------------------------------------------------------------------------


def include_chain(tmp_path: Path, n: int) -> Path:
    for i in range(n):
        body = f'#include "inc{i + 1}.mof"\n' if i < n - 1 else "class Last {};\n"
        (tmp_path / f"inc{i}.mof").write_text(body)
    return tmp_path / "inc0.mof"


def test_include_nesting_is_bounded(tmp_path: Path) -> None:
    top = include_chain(tmp_path, 496)
    assert errors(compile_files([str(top)])) == [
        f"{tmp_path}/inc64.mof:1:1: error: includes nested more than 64 deep"
    ]


def test_include_nesting_within_the_bound_compiles(tmp_path: Path) -> None:
    top = include_chain(tmp_path, 60)
    result = compile_files([str(top)])
    assert errors(result) == [] and result.schema.get("Last") is not None


@pytest.mark.parametrize(
    "expr", ["(" * 247 + "1" + ")" * 247, "!" * 987 + "1", "(!" * 51 + "1" + ")" * 51]
)
def test_if_expression_nesting_is_bounded(expr: str) -> None:
    text = f"class A {{}};\n#if {expr}\n#endif\n"
    assert errors(compile_text(text, path="if.mof")) == [
        "if.mof:2:1: error: #if expression nested more than 100 deep (parentheses and '!')"
    ]


@pytest.mark.parametrize(
    ("expr", "taken"),
    [("(" * 100 + "1" + ")" * 100, True), ("!" * 100 + "1", True), ("!" * 99 + "1", False),
     ("!!(2 > 1) && !0", True), ("!(1 == 1) || !!0", False)],
)  # fmt: skip
def test_if_expressions_within_the_bound(expr: str, taken: bool) -> None:
    result = compile_text(f"#if {expr}\nclass A {{}};\n#endif\n")
    assert errors(result) == []
    assert (result.schema.get("A") is not None) is taken


def nested_value(depth: int) -> str:
    return (
        "class A { uint8 x[]; };\ninstance of A { x = " + "{" * depth + "1" + "}" * depth + "; };\n"
    )


def test_value_nesting_is_bounded() -> None:
    assert errors(compile_text(nested_value(990), path="v.mof")) == [
        "v.mof:2:85: error: value nested more than 64 braces deep"
    ]


def test_value_nesting_within_the_bound() -> None:
    result = compile_text(nested_value(64))
    assert errors(result) == []
    value = result.schema.instances[0].values["x"]
    for _ in range(63):
        (value,) = value
    assert value == [1]


def macro_chain(n: int) -> str:
    lines = ["#define M0 7"] + [f"#define M{i} M{i - 1}" for i in range(1, n)]
    return "\n".join(lines) + f"\nclass A {{ uint8 x = M{n - 1}; }};\n"


def test_macro_nesting_is_bounded() -> None:
    assert errors(compile_text(macro_chain(991), path="m.mof")) == [
        "m.mof:992:21: error: macro M990 expands macros more than 64 deep (at M926)"
    ]


def test_macro_nesting_within_the_bound() -> None:
    result = compile_text(macro_chain(64))
    assert errors(result) == []
    assert result.schema.cls("A").properties["x"].default == 7


# -- amplification ------------------------------------------------------------------------------


def doubling(levels: int, leaf: str = "x") -> str:
    lines = [f"#define D0 {leaf}"] + [f"#define D{i} D{i - 1} D{i - 1}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
def test_a_doubling_macro_fails_at_its_use() -> None:
    text = doubling(23) + "class A { uint8 x = D22; };\n"
    assert errors(compile_text(text, path="d.mof")) == [
        "d.mof:24:21: error: macro D22 expands to more than 65,536 tokens"
    ]


@pytest.mark.timeout(60)
def test_a_doubling_macro_of_nothing_fails_too() -> None:
    # Each level expands to nothing at all: the steps are counted, not the tokens produced.
    text = doubling(60, leaf="") + "class A { uint8 x = 1 D59; };\n"
    assert errors(compile_text(text, path="e.mof")) == [
        "e.mof:61:23: error: macro D59 expands to more than 65,536 tokens"
    ]


@pytest.mark.timeout(60)
def test_all_macro_uses_share_one_budget() -> None:
    uses = "\n".join("instance of A { x = {D14}; };" for _ in range(200))
    text = doubling(15, leaf="1,") + "class A { uint8 x[]; };\n" + uses + "\n"
    (msg,) = errors(compile_text(text, path="b.mof"))
    steps_per_use = 2**16 - 2  # 2**15 leaves and 2**15 - 2 macro names below D14
    line = 17 + preprocess.MAX_EXPANDED_TOKENS // steps_per_use
    assert msg == (
        f"b.mof:{line}:22: error: macro D14 takes the macro expansions of this compilation past "
        "4,194,304 tokens"
    )


def class_chain(n: int) -> str:
    lines = ["class C0 { uint8 p0; };"]
    lines += [f"class C{i} : C{i - 1} {{ uint8 p{i}; }};" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def test_a_deep_superclass_chain_is_an_error_at_the_class() -> None:
    assert errors(compile_text(class_chain(10_000), path="c.mof")) == [
        "c.mof:66:7: error: class C65 has more than 64 superclasses above it"
    ]


def test_a_deep_chain_written_bottom_up_is_found_without_recursion() -> None:
    lines = class_chain(10_000).splitlines()[::-1]
    assert errors(compile_text("\n".join(lines), path="r.mof")) == [
        "r.mof:9935:7: error: class C65 has more than 64 superclasses above it"
    ]


def test_a_chain_at_the_bound_compiles() -> None:
    result = compile_text(class_chain(65))
    assert errors(result) == []
    assert list(result.schema.cls("C64").properties) == [f"p{i}" for i in range(65)]


def test_a_superclass_cycle_is_still_found() -> None:
    assert errors(compile_text("class A : B {};\nclass B : A {};\n", path="y.mof")) == [
        "y.mof:1:7: error: class A inherits from itself"
    ]


def test_subclasses_without_elements_share_the_inherited_ones() -> None:
    text = "class Base { uint8 a; };\nclass S1 : Base {};\nclass S2 : Base {};\n"
    text += "class T : S1 {};\n"
    schema = compile_text(text).schema
    shared = schema.cls("S1").properties
    assert shared is schema.cls("S2").properties is schema.cls("T").properties
    assert list(shared) == ["a"] and shared["a"].class_origin == "Base"


def test_copies_of_inherited_elements_are_bounded() -> None:
    n = 2000
    base = "class Base {\n" + "".join(f" uint8 p{i};\n" for i in range(n)) + "};\n"
    subs = "".join(f"class S{i} : Base {{ uint8 x; }};\n" for i in range(600))
    (msg,) = errors(compile_text(base + subs, path="w.mof"))
    # Base's own elements are copied once for its subclasses, then once into each of them.
    first_over = resolve.MAX_COPIED_ELEMENTS // n - 1
    assert msg == (
        f"w.mof:{n + 3 + first_over}:7: error: class S{first_over} takes the inherited "
        "properties and methods copied into subclasses past 1,048,576 (too many classes derive "
        "from large ones)"
    )


def test_many_subclasses_without_elements_cost_no_copies() -> None:
    n = 2000
    base = "class Base {\n" + "".join(f" uint8 p{i};\n" for i in range(n)) + "};\n"
    subs = "".join(f"class S{i} : Base {{}};\n" for i in range(2000))
    assert errors(compile_text(base + subs)) == []
