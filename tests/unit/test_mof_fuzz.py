"""Whatever the input, the compiler answers with diagnostics: never a traceback, never a hang."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iscsiprf.mof import compile_text

from shared_data import CORPUS

FRAGMENTS = [
    "class", "instance", "of", "qualifier", "#pragma", "namespace", "include", "[", "]", "{", "}",
    "(", ")", ";", ",", ":", "=", "ref", "uint64", "string", "A", "B", "WmiDataId(1)", "key",
    '"s"', '"\\x41"', "0x1F", "101b", "-1.5e3", "'c'", "$a", "amended", "\n", " ", "/*", "*/",
    "//", '"', "#define X", "#if 1", "#endif", "#include \"x.mof\"", "\\\n", "TRUE", "NULL",
]  # fmt: skip


def corpus_samples() -> list[str]:
    out = []
    for name in ("wmisamp.mof", "config.mof", "iscsiprf.mof"):
        p = CORPUS / "wdk" / name
        if p.exists():
            data = p.read_bytes()
            text = (
                data.decode("utf-16")
                if data[:2] == b"\xff\xfe"
                else data.decode("utf-8", "replace")
            )
            out.append(text[:6000])
    return out or ["class A { [key] string x; };"]


def check(text: str | bytes) -> None:
    r = compile_text(text, path="fuzz.mof")
    for d in r.diagnostics:
        assert d.severity in ("error", "warning")
        assert str(d).startswith("fuzz.mof:") or str(d).startswith("<")
        assert d.location.line >= 0 and d.location.col >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(" ".join))
def test_token_soup_never_crashes(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    check(data)


@pytest.mark.parametrize("sample", range(3))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_real_mof_never_crashes(sample: int, data: st.DataObject) -> None:
    samples = corpus_samples()
    text = samples[sample % len(samples)]
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["cut", "insert", "delete"]))
        if op == "cut":
            text = text[:pos]
        elif op == "insert":
            text = text[:pos] + data.draw(st.sampled_from(FRAGMENTS)) + text[pos:]
        else:
            text = text[:pos] + text[pos + data.draw(st.integers(1, 50)) :]
    check(text)
