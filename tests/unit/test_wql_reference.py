"""The compiled WQL evaluator against a small, independent reference evaluator.

Hypothesis builds random conditions as plain tuples, renders them as WQL text (random spelling,
quotes, constant-first comparisons, minimal parentheses so precedence is exercised), and random
instance sets. The reference below evaluates the tuples directly with its own LIKE matcher; the
product must select exactly the same instances, in the same order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wqlperf_support import MM, QM, SUB, schema

from iscsiprf.wql import ListSource, run_query

INT_PROPS = ["ActiveAcquire", "OakleyMainMode"]
FAMILY = {MM.casefold(): {MM, SUB}, SUB.casefold(): {SUB}, QM.casefold(): {QM}}

# ---------------------------------------------------------------- reference semantics


def ref_like(value: str, pattern: str) -> bool:
    v, p = value.casefold(), pattern.casefold()

    def match(i: int, j: int) -> bool:
        if j == len(p):
            return i == len(v)
        ch = p[j]
        if ch == "%":
            return any(match(k, j + 1) for k in range(i, len(v) + 1))
        if i == len(v):
            return False
        if ch == "_":
            return match(i + 1, j + 1)
        if ch == "[":
            end = p.index("]", j + 2)
            body = p[j + 1 : end]
            negate = body.startswith("^")
            chars = set(body[1:] if negate else body)
            return (v[i] in chars) != negate and match(i + 1, end + 1)
        return v[i] == ch and match(i + 1, j + 1)

    return match(0, 0)


def ref_eval(node: tuple[Any, ...], inst: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "and":
        return all(ref_eval(n, inst) for n in node[1])
    if kind == "or":
        return any(ref_eval(n, inst) for n in node[1])
    if kind == "not":
        return not ref_eval(node[1], inst)
    if kind == "null":
        return (inst.get(node[1]) is None) != node[2]
    if kind == "isa":
        return inst["__CLASS"] in FAMILY[node[1].casefold()]
    value = inst.get(node[1])
    if value is None:
        return False
    if kind == "like":
        return ref_like(value, node[2])
    op, const = node[2], node[3]
    if isinstance(value, str):
        value, const = value.casefold(), const.casefold()
    return {
        "=": value == const,
        "<>": value != const,
        "<": value < const,
        ">": value > const,
        "<=": value <= const,
        ">=": value >= const,
    }[op]


# ---------------------------------------------------------------- rendering as WQL text


def quote(s: str, q: str) -> str:
    return q + s.replace("\\", "\\\\").replace(q, "\\" + q) + q


def respell(name: str, upper: bool) -> str:
    return name.upper() if upper else name.lower()


QUOTES = st.sampled_from(['"', "'"])
FLIP = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def render(node: tuple[Any, ...], draw: Any) -> str:
    kind = node[0]
    if kind in ("and", "or"):
        parts = []
        for child in node[1]:
            text = render(child, draw)
            needs = child[0] == "or" and kind == "and" or child[0] == kind or draw(st.booleans())
            parts.append(f"({text})" if needs else text)
        word = draw(st.sampled_from(["AND", "and", "And"] if kind == "and" else ["OR", "or"]))
        return f" {word} ".join(parts)
    if kind == "not":
        inner = render(node[1], draw)
        return (
            f"NOT ({inner})"
            if node[1][0] in ("and", "or") or draw(st.booleans())
            else f"NOT {inner}"
        )
    prop = respell(node[1], draw(st.booleans())) if kind != "isa" else "__class"
    if kind == "null":
        if draw(st.booleans()):
            return f"{prop} IS {'NOT ' if node[2] else ''}NULL"
        return f"{prop} {'<>' if node[2] else '='} NULL"
    if kind == "isa":
        return f"{prop} ISA {quote(node[1], draw(QUOTES))}"
    if kind == "like":
        return f"{prop} LIKE {quote(node[2], draw(QUOTES))}"
    op, const = node[2], node[3]
    if isinstance(const, bool):
        lit = "TRUE" if const else "FALSE"
    elif isinstance(const, int):
        lit = str(const)
    else:
        lit = quote(const, draw(QUOTES))
    shown_op = "!=" if op == "<>" and draw(st.booleans()) else op
    if draw(st.booleans()):
        return f"{lit} {FLIP[op] if shown_op != '!=' else '!='} {prop}"
    return f"{prop} {shown_op} {lit}"


# ---------------------------------------------------------------- strategies

texts = st.text(alphabet="aAbB0_\\'\"", max_size=3)
patterns = st.lists(
    st.sampled_from(["a", "B", "0", "%", "%", "_", "x", "[ab]", "[^a]", "[_]", "\\", "'"]),
    max_size=4,
).map("".join)
ops = st.sampled_from(["=", "<>", "<", ">", "<=", ">="])


def predicates() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.one_of(
        st.tuples(st.just("cmp"), st.sampled_from(INT_PROPS), ops, st.integers(-1, 4)),
        st.tuples(st.just("cmp"), st.just("InstanceName"), ops, texts),
        st.tuples(st.just("cmp"), st.just("Active"), st.sampled_from(["=", "<>"]), st.booleans()),
        st.tuples(
            st.just("null"),
            st.sampled_from(["ActiveAcquire", "Active", "InstanceName"]),
            st.booleans(),
        ),
        st.tuples(st.just("like"), st.just("InstanceName"), patterns),
        st.tuples(st.just("isa"), st.sampled_from([MM, SUB])),
    )


conditions = st.recursive(
    predicates(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)


@st.composite
def instances(draw: Any) -> dict[str, Any]:
    cls = draw(st.sampled_from([MM, MM, SUB, QM]))
    inst: dict[str, Any] = {"__CLASS": cls, "InstanceName": draw(texts)}
    if draw(st.booleans()):
        inst["Active"] = draw(st.booleans())
    for p in INT_PROPS if cls != QM else []:
        value = draw(st.one_of(st.none(), st.integers(0, 3)))
        if value is not None:
            inst[p] = value
    return inst


@settings(max_examples=300, deadline=None)
@given(st.data(), conditions, st.lists(instances(), max_size=12))
def test_compiled_filter_matches_reference(
    data: Any, cond: tuple[Any, ...], insts: list[dict[str, Any]]
) -> None:
    text = f"SELECT * FROM {respell(MM, data.draw(st.booleans()))} WHERE " + render(cond, data.draw)
    got = run_query(text, schema(), ListSource(schema(), insts)).instances
    expected = [i for i in insts if i["__CLASS"] in FAMILY[MM.casefold()] and ref_eval(cond, i)]
    assert [g["InstanceName"] for g in got] == [e["InstanceName"] for e in expected], text
    assert [g["__CLASS"] for g in got] == [e["__CLASS"] for e in expected]
