"""Qualifier lists lexed as one token (the fast path) mean exactly what their tokens mean.

The lexer takes a `[...]` list as one token and splits it on its string literals; a list of
any other shape goes back to ordinary tokens. These tests check both directions: the one-token
path gives the same qualifiers as the token-by-token path (forced by a comment inside the list),
and every token the lexer returns starts where its recomputed offset says.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from iscsiprf.mof import compile_text
from iscsiprf.mof.lexer import (
    TOKEN_RE,
    QualifierListToken,
    lex_region,
    qlist_token_re,
    token_offsets,
)

LITERALS = [
    '"abc"', '"a\\"b"', '"a\\\\"', '"x\\ny"', '"é"', '"]"', '"["', '"\\x41\\t"', '""', '"a, b"',
    '"a\\\\\\"b"', '"\\q"', "\"it's\"", '"/* no comment */"', '"// nor this"',
]  # fmt: skip
SCALARS = ["12", "-3", "0x1F", "1.5e3", "017", "+4", "TRUE", "false", "NULL"]
NAMES = ["Description", "Values", "Key", "Read", "MaxLen", "Q", "ValueMap"]
FLAVORS = ["", " : Amended", ": ToSubclass Translatable", " : DisableOverride"]


@st.composite
def string_runs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(LITERALS), min_size=1, max_size=3))
    return draw(st.sampled_from([" ", "\n   ", ""])).join(parts)


@st.composite
def qualifiers(draw: st.DrawFn, name: str) -> str:
    value = st.one_of(string_runs(), st.sampled_from(SCALARS))
    form = draw(st.sampled_from(["flag", "scalar", "array"]))
    if form == "scalar":
        text = f"{name} ( {draw(value)} )"
    elif form == "array":
        items = draw(st.lists(value, max_size=4))
        text = name + " {" + draw(st.sampled_from([", ", ",", " ,\n  "])).join(items) + "}"
    else:
        text = name
    return text + draw(st.sampled_from(FLAVORS))


@st.composite
def qualifier_lists(draw: st.DrawFn) -> list[str]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    return [draw(qualifiers(name)) for name in names]


def _compiled(qlist: str) -> tuple[list[object], list[str]]:
    """The qualifiers (name, value, flavors) of a class and a property, and the messages."""
    r = compile_text(f"{qlist}\nclass A {{ {qlist} string x; }};", path="q.mof")
    cls = r.schema.cls("A")
    quals = [
        (q.name, q.value, q.flavors)
        for found in (cls.qualifiers, cls.properties["x"].qualifiers)
        for q in found.values()
    ]
    return quals, [d.message for d in r.diagnostics]


@settings(max_examples=300, deadline=None)
@given(qualifier_lists())
def test_one_token_list_means_what_its_tokens_mean(quals: list[str]) -> None:
    fast = "[" + ", ".join(quals) + "]"
    tokenwise = "[ /* a comment keeps the list from being one token */ " + ", ".join(quals) + "]"
    assert isinstance(lex_region(fast, 0, len(fast))[0], QualifierListToken)
    assert not isinstance(lex_region(tokenwise, 0, len(tokenwise))[0], QualifierListToken)
    assert _compiled(fast) == _compiled(tokenwise)


FRAGMENTS = [
    "[", "]", "(", ")", "{", "}", ",", ":", " ", "\n", '"', '"abc"', '"a\\"b"', '"a\\\\"', "\\",
    "'", "'x'", "/", "//c\n", "/* c */", "Name", "Amended", "12", "0x1F", "1.", "$a", "#", "é",
    '[Key, Description("x")]', '[Values{"a", "b"}]', "[A B]", "[A(1,2)]", "[A{ }]", '"a\nb"',
    "uint32 x[N];", "\ufeff",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30), st.integers(0, 3))
def test_every_token_starts_where_its_offset_says(parts: list[str], start: int) -> None:
    text = "".join(parts)
    start = min(start, len(text))
    toks = lex_region(text, start, len(text))
    offsets = token_offsets(text, start, len(text), True)
    assert len(offsets) >= len(toks)
    for tok, at in zip(toks, offsets, strict=False):
        assert text.startswith(tok, at)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_bracketed_text_of_another_shape_is_ordinary_tokens(parts: list[str]) -> None:
    text = "".join(parts)
    toks = lex_region(text, 0, len(text))
    plain = TOKEN_RE.findall(text)
    while plain and plain[-1] == "":
        plain.pop()
    # Apart from whole qualifier lists, the tokens are those of the plain token regex.
    expanded = [t for tok in toks for t in (_plain_tokens(tok) if len(tok) > 1 else [tok])]
    assert expanded == plain


def _plain_tokens(tok: str) -> list[str]:
    if not isinstance(tok, QualifierListToken):
        return [tok]
    inner = TOKEN_RE.findall(tok)
    return inner[:-1]


def test_escaped_quotes_and_backslashes_in_one_token() -> None:
    text = r'[Description("say \"hi\"" "\\"), Values{"a\\", "b\"c"}] class A { };'
    toks = lex_region(text, 0, len(text))
    assert isinstance(toks[0], QualifierListToken)
    cls = compile_text(text).schema.cls("A")
    assert cls.qualifiers.get_value("Description") == 'say "hi"\\'
    assert cls.qualifiers.get_value("Values") == ["a\\", 'b"c']


def test_broken_literal_in_a_list_is_joined_with_a_warning_at_its_place() -> None:
    text = '[Description("one\n   two")]\nclass A { };'
    r = compile_text(text, path="b.mof")
    assert r.schema.cls("A").qualifiers.get_value("Description") == "one two"
    assert [str(d) for d in r.diagnostics] == [
        "b.mof:1:14: warning: string literal continues on the next line; joined with a single space"
    ]


ASCII_FRAGMENTS = [f for f in FRAGMENTS if f.isascii()]
ASCII_SOUP = st.text(
    alphabet="aZ_09 \t\r\n\x0b\x0c\x1c\x1f\x7f[](){};,:=\"'\\/*#$+-.x", max_size=80
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ASCII_FRAGMENTS), ASCII_SOUP), max_size=20))
def test_ascii_build_of_the_token_regex_splits_as_the_unicode_one(parts: list[str]) -> None:
    # The lexer takes the ASCII build for texts that are all ASCII.
    text = "".join(parts)
    for exact in (False, True):
        unicode_build = qlist_token_re(exact, False).findall(text)
        assert qlist_token_re(exact, True).findall(text) == unicode_build


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), ASCII_SOUP), max_size=20))
def test_possessive_token_regexes_split_as_their_greedy_reading(parts: list[str]) -> None:
    # Possessive quantifiers only save the regex engine work: nowhere could backtracking have
    # found another match.
    text = "".join(parts)
    for rx in (TOKEN_RE, qlist_token_re(False, False), qlist_token_re(True, False)):
        greedy = rx.pattern.replace("*+", "*").replace("++", "+").replace("?+", "?")
        assert re.compile(greedy, rx.flags).findall(text) == rx.findall(text)
