"""WQL inputs are bounded: LIKE matches in time linear in the value (the same answers as the
regular-expression translation it replaces), a LIKE pattern is at most 512 characters, and a
number literal must fit a CIM type; each problem is an error at its column."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.mof import load_builtin_schema
from iscsiprf.serve.cimxml_ops import CimOperations
from iscsiprf.serve.cimxml_request import parse_request
from iscsiprf.serve.source import load_snapshot
from iscsiprf.wql import ListSource, WqlError, parse, run_query
from iscsiprf.wql.like import MAX_PATTERN, like_matcher

MM = "MSiSCSI_MMIPSECStats"


def reference_regex(pattern: str) -> str:
    """How LIKE was matched before: the whole pattern as one regular expression (`%` -> `.*`),
    which answers right but backtracks. Safe on the small inputs the property test draws."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            j = i + 1
            negate = j < len(pattern) and pattern[j] == "^"
            j += negate
            items: list[str] = []
            first = True
            while pattern[j] != "]" or first:
                first = False
                if j + 2 < len(pattern) and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    items.append(f"{re.escape(pattern[j])}-{re.escape(pattern[j + 2])}")
                    j += 3
                    continue
                items.append(re.escape(pattern[j]))
                j += 1
            out.append(f"[{'^' if negate else ''}{''.join(items)}]")
            i = j + 1
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


PIECES = ["a", "b", "A", "B", "%", "%", "_", "ß", "é", "[a-b]", "[^a]", "[%]", "[_]", "[]]", "!"]
CHARS = "abABß\u1e9eéÉ%_]!\n"


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=10).map("".join),
    st.text(alphabet=CHARS, max_size=12),
)
def test_like_answers_as_the_regex_translation(pattern: str, value: str) -> None:
    expected = re.fullmatch(reference_regex(pattern), value, re.IGNORECASE | re.DOTALL)
    assert (like_matcher(pattern, 1)(value) is not None) is (expected is not None)


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("%", "", True),
        ("", "", True),
        ("", "x", False),
        ("ab%bc", "abc", False),  # the first and last pieces may not overlap
        ("ab%bc", "abbc", True),
        ("%a%b%c%", "xxaxxbxxcxx", True),
        ("%a%b%c%", "xxcxxbxxaxx", False),
        ("root\\%[_]0", "ROOT\\ISCSIPRT\\0000_0", True),
        ("[^a-f]%", "G1", True),
        ("[^a-f]%", "e1", False),
        ("%%%%%%%%%%%%%%%%%%%%%%%%!", "a" * 493, False),
    ],
)
def test_like_examples(pattern: str, value: str, matches: bool) -> None:
    assert (like_matcher(pattern, 1)(value) is not None) is matches


def test_backtracking_patterns_match_at_once() -> None:
    """The 493-byte ExecQuery that froze the server: 24 `%` and a `!` that never matches. Run
    in a child process, so that a matcher that backtracks fails the test by its deadline
    rather than hold this one (a regex does not even let a timeout signal in)."""
    script = (
        "from iscsiprf.wql.like import like_matcher\n"
        "m = like_matcher('%' * 24 + '!', 1)\n"
        "assert not m('ROOT\\\\ISCSIPRT\\\\' + 'x' * 470)\n"
        "m = like_matcher('%a' * 200 + '%!', 1)\n"
        "assert not m('a' * 5000)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)


def test_pattern_length_is_bounded() -> None:
    query = f"SELECT * FROM {MM} WHERE InstanceName LIKE '{'_' * (MAX_PATTERN + 1)}'"
    schema = load_builtin_schema()
    with pytest.raises(WqlError) as err:
        run_query(query, schema, ListSource(schema, []))
    assert err.value.column == 60  # the quote that opens the pattern
    assert err.value.message == "LIKE pattern is 513 characters long; at most 512 are allowed"
    ok = f"SELECT * FROM {MM} WHERE InstanceName LIKE '{'%' * MAX_PATTERN}'"
    rows = [{"__CLASS": MM, "InstanceName": "x_0", "Active": True}]
    assert len(run_query(ok, schema, ListSource(schema, rows)).instances) == 1


# -- number literals ----------------------------------------------------------------------------

INT_RANGE = "(sint64 -9223372036854775808..9223372036854775807, uint64 0..18446744073709551615)"


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("18446744073709551616", f"number 18446744073709551616 fits no CIM integer type {INT_RANGE}"),
        ("-9223372036854775809", f"number -9223372036854775809 fits no CIM integer type {INT_RANGE}"),
        ("0x1" + "0" * 16, f"number 0x10000000000000000 fits no CIM integer type {INT_RANGE}"),
        ("9" * 5000, f"number 999999999999...999999 (5,000 characters) fits no CIM integer type {INT_RANGE}"),
        ("1e999", "number 1e999 is too large for real64"),
        ("9" * 400 + ".5", "number 999999999999...9999.5 (402 characters) is too large for real64"),
    ],
)  # fmt: skip
def test_number_literals_must_fit_a_cim_type(literal: str, message: str) -> None:
    with pytest.raises(WqlError) as err:
        parse(f"SELECT * FROM {MM} WHERE OakleyMainMode = {literal}")
    assert (err.value.column, err.value.message) == (59, message)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("18446744073709551615", 2**64 - 1),
        ("-9223372036854775808", -(2**63)),
        ("0" * 5000 + "7", 7),
        ("-" + "0" * 5000 + "7", -7),
        ("0x" + "0" * 5000 + "ff", 255),
        ("1.5e300", 1.5e300),
    ],
)
def test_number_literals_in_range(literal: str, value: int | float) -> None:
    where = parse(f"SELECT * FROM {MM} WHERE OakleyMainMode = {literal}").where
    assert where.literal.value == value  # type: ignore[union-attr]


def test_cli_reports_a_huge_literal_at_its_column() -> None:
    query = f"SELECT * FROM {MM} WHERE OakleyMainMode > {'9' * 5000}"
    proc = subprocess.run(
        [sys.executable, "-c", "from iscsiprf.cli import main; main()", "query", query],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"<query>:1:59: error: number 999999999999...999999 (5,000 characters) fits no CIM "
        f"integer type {INT_RANGE}\n"
    )


@pytest.mark.parametrize("literal", ["9" * 5000, "18446744073709551616", "1e999"])
def test_exec_query_answers_invalid_query(tmp_path: Path, literal: str) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text('[{"InstanceName": "A_0", "Active": true}]')
    ops = CimOperations(load_snapshot(load_builtin_schema(), snap))
    query = f"SELECT * FROM {MM} WHERE OakleyMainMode > {literal}"
    body = (
        '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="9" PROTOCOLVERSION="1.0"><SIMPLEREQ>'
        '<IMETHODCALL NAME="ExecQuery"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/>'
        '<NAMESPACE NAME="wmi"/></LOCALNAMESPACEPATH>'
        '<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE>'
        f'<IPARAMVALUE NAME="Query"><VALUE>{query}</VALUE></IPARAMVALUE>'
        "</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()
    root = ET.fromstring(ops.handle(parse_request(body)))
    err = root.find("MESSAGE/SIMPLERSP/IMETHODRESPONSE/ERROR")
    assert err is not None and err.get("CODE") == "15"
    assert "column 59" in err.get("DESCRIPTION", "")
