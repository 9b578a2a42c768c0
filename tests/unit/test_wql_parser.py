"""WQL lexer and parser: the grammar of the reference (§9), errors with columns, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.wql import WqlError, parse
from iscsiprf.wql.ast import And, Compare, Isa, IsNull, Like, Literal, Not, Or, PropRef
from iscsiprf.wql.parser import MAX_DEPTH, MAX_PREDICATES


def where(text: str):  # type: ignore[no-untyped-def]
    q = parse("SELECT * FROM C WHERE " + text)
    assert q.where is not None
    return q.where


def test_select_star_and_lists() -> None:
    q = parse("select * from MSiSCSI_MMIPSECStats")
    assert q.properties is None and q.class_name == "MSiSCSI_MMIPSECStats" and q.where is None
    q = parse("SELECT InstanceName, ActiveAcquire FROM c")
    assert q.properties is not None
    assert [p.path for p in q.properties] == [("InstanceName",), ("ActiveAcquire",)]
    assert q.properties[1].column == 22
    assert q.class_column == 41


def test_and_binds_tighter_than_or() -> None:
    e = where("A = 1 OR B = 2 AND C = 3")
    assert isinstance(e, Or)
    assert isinstance(e.operands[0], Compare)
    assert isinstance(e.operands[1], And) and len(e.operands[1].operands) == 2
    e = where("(A = 1 OR B = 2) AND C = 3")
    assert isinstance(e, And) and isinstance(e.operands[0], Or)


def test_not_applies_to_one_operand() -> None:
    e = where("NOT A = 1 AND B = 2")
    assert isinstance(e, And) and isinstance(e.operands[0], Not)
    e = where("NOT (A = 1 AND B = 2)")
    assert isinstance(e, Not) and isinstance(e.operand, And)


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("A = 5", "=", 5),
        ("A != 5", "<>", 5),
        ("A <> -5", "<>", -5),
        ("A >= 0x1F", ">=", 31),
        ("A < 1.5", "<", 1.5),
        ("A <= 2e3", "<=", 2000.0),
        ("A = TRUE", "=", True),
        ("A = false", "=", False),
        ("A = 'it''s'", None, None),  # SQL doubling is not WQL: two adjacent strings
    ],
)
def test_comparisons(text: str, op: str | None, value: object) -> None:
    if op is None:
        with pytest.raises(WqlError):
            where(text)
        return
    e = where(text)
    assert isinstance(e, Compare) and e.op == op and e.literal.value == value
    assert type(e.literal.value) is type(value)


def test_constant_first_is_flipped() -> None:
    e = where("5 < A")
    assert isinstance(e, Compare) and e.op == ">" and e.prop.path == ("A",)
    e = where("'x' = A")
    assert isinstance(e, Compare) and e.op == "=" and e.literal.value == "x"


def test_strings_both_quotes_and_escapes() -> None:
    e = where(r"""A = 'ROOT\\ISCSIPRT\\0000_0'""")
    assert isinstance(e, Compare) and e.literal.value == "ROOT\\ISCSIPRT\\0000_0"
    e = where(r'''A = "say \"hi\" and \'bye\'"''')
    assert isinstance(e, Compare) and e.literal.value == "say \"hi\" and 'bye'"
    e = where('A = "it\'s"')
    assert isinstance(e, Compare) and e.literal.value == "it's"


def test_null_like_isa() -> None:
    assert where("A IS NULL") == IsNull(PropRef(("A",), 23), negated=False)
    assert where("A is not null") == IsNull(PropRef(("A",), 23), negated=True)
    assert where("A = NULL") == IsNull(PropRef(("A",), 23), negated=False)
    assert where("A <> NULL") == IsNull(PropRef(("A",), 23), negated=True)
    e = where("A LIKE 'ROOT%'")
    assert isinstance(e, Like) and e.pattern == Literal("ROOT%", 30)
    e = where("__CLASS ISA 'Win32_PerfRawData'")
    assert isinstance(e, Isa) and e.class_name.value == "Win32_PerfRawData"
    e = where("Obj.Inner.Leaf IS NULL")
    assert isinstance(e, IsNull) and e.prop.path == ("Obj", "Inner", "Leaf")


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        ("", 1, "expected SELECT"),
        ("SELEC * FROM C", 1, "expected SELECT"),
        ("SELECT FROM C", 8, "property name or '*'"),
        ("SELECT * C", 10, "expected FROM"),
        ("SELECT * FROM", 14, "class name"),
        ("SELECT *, A FROM C", 9, "expected FROM"),
        ("SELECT A, FROM C", 11, "property name after ','"),
        ("SELECT * FROM C WHERE", 22, "expected a property"),
        ("SELECT * FROM C WHERE A", 24, "expected an operator"),
        ("SELECT * FROM C WHERE A =", 26, "expected a string"),
        ("SELECT * FROM C WHERE A = B", 27, "not another property"),
        ("SELECT * FROM C WHERE 1 = 2", 23, "property on one side"),
        ("SELECT * FROM C WHERE A >= NULL", 28, "use IS NULL"),
        ("SELECT * FROM C WHERE A IS 5", 28, "expected NULL"),
        ("SELECT * FROM C WHERE A IS NOT 5", 32, "expected NULL after IS NOT"),
        ("SELECT * FROM C WHERE A LIKE 5", 30, "quoted pattern"),
        ("SELECT * FROM C WHERE A NOT LIKE 'x'", 25, "write NOT before the property"),
        ("SELECT * FROM C WHERE (A = 1", 29, "expected ')'"),
        ("SELECT * FROM C WHERE A = 1)", 28, "expected AND, OR"),
        ("SELECT * FROM C X", 17, "expected WHERE"),
        ("SELECT * FROM C WHERE A = 'abc", 27, "not closed"),
        ("SELECT * FROM C WHERE A = 'a\\qb'", 29, "unknown escape"),
        ("SELECT * FROM C WHERE A = 12ab", 27, "malformed number"),
        ("SELECT * FROM C WHERE A = 0x", 27, "hexadecimal"),
        ("SELECT * FROM C WHERE A = 1 ; DROP", 29, "unexpected character ';'"),
        ("SELECT * FROM C WHERE A = 1 GROUP WITHIN 5", 29, "GROUP is not supported"),
        ("ASSOCIATORS OF {X}", 1, "ASSOCIATORS is not supported"),
        ("SELECT * FROM C WHERE NULL IS NULL", 23, "NULL must follow IS"),
        ("SELECT * FROM C WHERE A.", 25, "after '.'"),
    ],
)
def test_errors_name_the_column(query: str, column: int, fragment: str) -> None:
    with pytest.raises(WqlError) as info:
        parse(query)
    assert info.value.column == column, str(info.value)
    assert fragment in info.value.message


def test_line_col_of_multiline_query() -> None:
    text = "SELECT *\nFROM C\nWHERE A = ?"
    with pytest.raises(WqlError) as info:
        parse(text)
    assert info.value.line_col(text) == (3, 11)


def test_quota_limits_are_wql_errors() -> None:
    deep = "SELECT * FROM C WHERE " + "(" * (MAX_DEPTH + 5) + "A = 1" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(WqlError, match="QUOTA_VIOLATION"):
        parse(deep)
    nots = "SELECT * FROM C WHERE " + "NOT " * 5000 + "A = 1"
    with pytest.raises(WqlError, match="QUOTA_VIOLATION"):
        parse(nots)
    wide = "SELECT * FROM C WHERE " + " OR ".join(["A = 1"] * (MAX_PREDICATES + 1))
    with pytest.raises(WqlError, match="QUOTA_VIOLATION"):
        parse(wide)
    ok = "SELECT * FROM C WHERE " + " OR ".join(["A = 1"] * MAX_PREDICATES)
    assert isinstance(parse(ok).where, Or)


WQL_WORDS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "LIKE", "ISA", "TRUE", "FALSE",
    "*", ",", "(", ")", "=", "<>", "!=", "<", ">", "<=", ">=", ".", "A", "B.c", "__CLASS", "'s'",
    '"t\\"x"', "'", '"', "\\", "5", "-3", "1.5e3", "0x1f", "0x", "1e", "GROUP", "%", "[", ";",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_random_text_only_raises_wql_error(text: str) -> None:
    try:
        parse(text)
    except WqlError as exc:
        assert exc.column >= 1 and exc.message


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(WQL_WORDS), max_size=25), st.sampled_from(["", " "]))
def test_random_token_soup_only_raises_wql_error(words: list[str], sep: str) -> None:
    text = "SELECT * FROM C WHERE " + (sep or " ").join(words)
    try:
        parse(text)
    except WqlError as exc:
        assert 1 <= exc.column <= len(text) + 1
