"""Recursive-descent parser for the WQL subset of the reference (§9).

    query := SELECT ('*' | prop {',' prop}) FROM class [WHERE cond]
    cond  := conj {OR conj}      conj := neg {AND neg}      neg := [NOT] ('(' cond ')' | pred)
    pred  := prop op const | const op prop | prop IS [NOT] NULL | prop LIKE string | prop ISA string

Every problem is a :class:`WqlError` naming the column; nothing else escapes.
"""

from __future__ import annotations

from typing import NoReturn

from .ast import And, Compare, Expr, Isa, IsNull, Like, Literal, Not, Or, PropRef, Query
from .errors import WqlError
from .lexer import UNSUPPORTED_WORDS, Tok, Token, tokenize

# WMI refuses over-long conditions with WBEM_E_QUOTA_VIOLATION; the limits also keep the
# parser's recursion and the generated matcher small.
MAX_PREDICATES = 1024
MAX_DEPTH = 64

_FLIP = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}


def parse(text: str) -> Query:
    """Parse one WQL query; raise :class:`WqlError` with the column of the first problem."""
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.predicates = 0

    # -- token helpers -------------------------------------------------------------
    def peek(self) -> Token:
        # A method, not a property: the token changes under us, so no type narrowing on it.
        tok = self.tokens[self.pos]
        if tok.kind is Tok.ERROR:
            raise WqlError(tok.column, str(tok.value))
        return tok

    def advance(self) -> Token:
        tok = self.peek()
        if tok.kind is not Tok.EOF:
            self.pos += 1
        return tok

    def at_keyword(self, word: str) -> bool:
        return self.peek().kind is Tok.KEYWORD and self.peek().value == word

    def at_constant(self) -> bool:
        return (
            self.peek().kind in (Tok.STRING, Tok.NUMBER)
            or self.at_keyword("TRUE")
            or self.at_keyword("FALSE")
        )

    def expect_keyword(self, word: str, context: str) -> Token:
        if not self.at_keyword(word):
            self.fail(f"expected {word} {context}")
        return self.advance()

    def fail(self, expected: str) -> NoReturn:
        tok = self.peek()
        found = tok.describe()
        if tok.kind is Tok.NAME and tok.text.upper() in UNSUPPORTED_WORDS:
            raise WqlError(tok.column, f"{tok.text.upper()} is not supported by this WQL subset")
        raise WqlError(tok.column, f"{expected}, found {found}")

    # -- grammar -------------------------------------------------------------------
    def query(self) -> Query:
        if self.peek().kind is Tok.NAME and self.peek().text.upper() in UNSUPPORTED_WORDS:
            self.fail("")
        self.expect_keyword("SELECT", "at the start of the query")
        props: tuple[PropRef, ...] | None
        if self.peek().kind is Tok.STAR:
            self.advance()
            props = None
        else:
            items = [self.prop_ref("a property name or '*' after SELECT")]
            while self.peek().kind is Tok.COMMA:
                self.advance()
                items.append(self.prop_ref("a property name after ','"))
            props = tuple(items)
        self.expect_keyword("FROM", "after the selected properties")
        if self.peek().kind is not Tok.NAME:
            self.fail("expected a class name after FROM")
        cls_tok = self.advance()
        where: Expr | None = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.condition()
        if self.peek().kind is not Tok.EOF:
            after = "WHERE" if where is None else "AND, OR"
            self.fail(f"expected {after} or the end of the query")
        return Query(props, str(cls_tok.value), cls_tok.column, where)

    def prop_ref(self, expected: str) -> PropRef:
        if self.peek().kind is not Tok.NAME:
            self.fail(f"expected {expected}")
        first = self.advance()
        path = [str(first.value)]
        while self.peek().kind is Tok.DOT:
            self.advance()
            if self.peek().kind is not Tok.NAME:
                self.fail("expected a property name after '.'")
            path.append(str(self.advance().value))
        return PropRef(tuple(path), first.column)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WqlError(
                self.peek().column,
                f"condition nested deeper than {MAX_DEPTH} levels (WBEM_E_QUOTA_VIOLATION)",
            )

    def condition(self) -> Expr:
        self.enter()
        operands = [self.conjunction()]
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.conjunction())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Expr:
        operands = [self.negation()]
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> Expr:
        if self.at_keyword("NOT"):
            self.advance()
            self.enter()
            operand = self.negation()
            self.depth -= 1
            return Not(operand)
        if self.peek().kind is Tok.LPAREN:
            self.advance()
            inner = self.condition()
            if self.peek().kind is not Tok.RPAREN:
                self.fail("expected ')'")
            self.advance()
            return inner
        return self.predicate()

    def predicate(self) -> Expr:
        self.predicates += 1
        if self.predicates > MAX_PREDICATES:
            raise WqlError(
                self.peek().column,
                f"more than {MAX_PREDICATES} predicates (WBEM_E_QUOTA_VIOLATION)",
            )
        if self.peek().kind is Tok.NAME:
            return self.property_predicate(self.prop_ref("a property"))
        if self.at_constant():
            return self.constant_first()
        if self.at_keyword("NULL"):
            raise WqlError(self.peek().column, "NULL must follow IS after a property: prop IS NULL")
        self.fail("expected a property, a constant, NOT or '('")

    def constant_first(self) -> Expr:
        literal = self.literal()
        if self.peek().kind is not Tok.OP:
            self.fail("expected a comparison operator after the constant")
        op_tok = self.advance()
        if self.peek().kind is not Tok.NAME:
            if self.at_constant() or self.at_keyword("NULL"):
                raise WqlError(literal.column, "a comparison needs a property on one side")
            self.fail("expected a property after the operator")
        prop = self.prop_ref("a property")
        return Compare(prop, _FLIP[str(op_tok.value)], literal, op_tok.column)

    def property_predicate(self, prop: PropRef) -> Expr:
        tok = self.peek()
        if tok.kind is Tok.OP:
            self.advance()
            op = str(tok.value)
            if self.at_keyword("NULL"):
                null_tok = self.advance()
                if op == "=":
                    return IsNull(prop, negated=False)
                if op == "<>":
                    return IsNull(prop, negated=True)
                raise WqlError(
                    null_tok.column,
                    f"NULL cannot be compared with {tok.text}; use IS NULL or IS NOT NULL",
                )
            if self.peek().kind is Tok.NAME:
                raise WqlError(
                    self.peek().column,
                    "a property can only be compared with a constant, not another property",
                )
            return Compare(prop, op, self.literal(), tok.column)
        if self.at_keyword("IS"):
            self.advance()
            negated = False
            if self.at_keyword("NOT"):
                self.advance()
                negated = True
            if not self.at_keyword("NULL"):
                self.fail("expected NULL after IS" + (" NOT" if negated else ""))
            self.advance()
            return IsNull(prop, negated)
        if self.at_keyword("LIKE"):
            self.advance()
            return Like(prop, self.string_literal("a quoted pattern after LIKE"))
        if self.at_keyword("ISA"):
            self.advance()
            return Isa(prop, self.string_literal("a quoted class name after ISA"))
        following = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else tok
        if self.at_keyword("NOT") and following.kind is Tok.KEYWORD and following.value == "LIKE":
            raise WqlError(
                tok.column,
                f"write NOT before the property to negate LIKE: NOT {prop.text} LIKE '...'",
            )
        self.fail(f"expected an operator, IS, LIKE or ISA after {prop.text!r}")

    def string_literal(self, expected: str) -> Literal:
        if self.peek().kind is not Tok.STRING:
            self.fail(f"expected {expected}")
        tok = self.advance()
        return Literal(str(tok.value), tok.column)

    def literal(self) -> Literal:
        tok = self.peek()
        if tok.kind in (Tok.STRING, Tok.NUMBER):
            self.advance()
            return Literal(tok.value, tok.column)
        if self.at_keyword("TRUE") or self.at_keyword("FALSE"):
            self.advance()
            return Literal(tok.value == "TRUE", tok.column)
        self.fail("expected a string, a number, TRUE or FALSE")
