"""WQL tokens: keywords, names, quoted strings, numbers, operators; each with its column."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from .errors import WqlError


class Tok(Enum):
    KEYWORD = "keyword"
    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    COMMA = "','"
    DOT = "'.'"
    LPAREN = "'('"
    RPAREN = "')'"
    STAR = "'*'"
    EOF = "end of query"
    ERROR = "error"  # a lexical error, raised when the parser reaches it (errors come in order)


KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "LIKE", "ISA", "TRUE", "FALSE"}
)
# Words of the full WQL grammar that this subset does not answer; named in the error.
UNSUPPORTED_WORDS = frozenset(
    {"ASSOCIATORS", "REFERENCES", "OF", "GROUP", "WITHIN", "BY", "HAVING", "KEYSONLY", "ORDER"}
)

_OPERATORS = ("<=", ">=", "<>", "!=", "=", "<", ">")
_DIGITS = frozenset("0123456789")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    value: str | int | float  # keywords upper-cased; names as written; strings unescaped
    column: int  # 1-based
    text: str  # the source spelling, for messages

    def describe(self) -> str:
        if self.kind is Tok.EOF:
            return "the end of the query"
        return f"{self.kind.value} {self.text!r}" if self.kind in _NAMED else repr(self.text)


_NAMED = frozenset({Tok.KEYWORD, Tok.NAME, Tok.STRING, Tok.NUMBER})
_PUNCTUATION = {",": Tok.COMMA, ".": Tok.DOT, "(": Tok.LPAREN, ")": Tok.RPAREN, "*": Tok.STAR}


def _is_name_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_name_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the list always ends with an EOF token, preceded by an
    ERROR token (message as value) when the text has a lexical error."""
    tokens: list[Token] = []
    try:
        _scan(text, tokens)
    except WqlError as exc:
        tokens.append(Token(Tok.ERROR, exc.message, exc.column, ""))
    tokens.append(Token(Tok.EOF, "", len(text) + 1, ""))
    return tokens


def _scan(text: str, tokens: list[Token]) -> None:
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        start = pos
        col = pos + 1
        if _is_name_start(ch):
            while pos < n and _is_name_char(text[pos]):
                pos += 1
            word = text[start:pos]
            upper = word.upper()
            kind = Tok.KEYWORD if upper in KEYWORDS else Tok.NAME
            tokens.append(Token(kind, upper if kind is Tok.KEYWORD else word, col, word))
        elif ch in _DIGITS or (ch in "+-" and pos + 1 < n and text[pos + 1] in _DIGITS):
            pos, number = _number(text, pos)
            tokens.append(Token(Tok.NUMBER, number, col, text[start:pos]))
        elif ch in "'\"":
            pos, value = _string(text, pos)
            tokens.append(Token(Tok.STRING, value, col, text[start:pos]))
        elif ch in _PUNCTUATION:
            pos += 1
            tokens.append(Token(_PUNCTUATION[ch], ch, col, ch))
        else:
            for op in _OPERATORS:
                if text.startswith(op, pos):
                    pos += len(op)
                    tokens.append(Token(Tok.OP, "<>" if op == "!=" else op, col, op))
                    break
            else:
                raise WqlError(col, f"unexpected character {ch!r}")


def _number(text: str, pos: int) -> tuple[int, int | float]:
    start = pos
    n = len(text)
    if text[pos] in "+-":
        pos += 1
    if text.startswith(("0x", "0X"), pos):
        pos += 2
        digits_start = pos
        while pos < n and text[pos] in "0123456789abcdefABCDEF":
            pos += 1
        if pos == digits_start:
            raise WqlError(start + 1, "hexadecimal number without digits")
        _no_letter_after(text, pos, start)
        digits = text[digits_start:pos].lstrip("0") or "0"
        value = int(digits, 16) if len(digits) <= 16 else _TOO_BIG  # no int() of a huge one
        return pos, _integer(text, start, pos, -value if text[start] == "-" else value)
    while pos < n and text[pos] in _DIGITS:
        pos += 1
    is_float = False
    if pos < n and text[pos] == "." and pos + 1 < n and text[pos + 1] in _DIGITS:
        is_float = True
        pos += 1
        while pos < n and text[pos] in _DIGITS:
            pos += 1
    if pos < n and text[pos] in "eE":
        exp = pos + 1
        if exp < n and text[exp] in "+-":
            exp += 1
        if exp < n and text[exp] in _DIGITS:
            is_float = True
            pos = exp
            while pos < n and text[pos] in _DIGITS:
                pos += 1
    _no_letter_after(text, pos, start)
    literal = text[start:pos]
    if is_float:
        real = float(literal)  # linear in the digits, unlike int(); too large gives inf
        if not math.isfinite(real):
            raise WqlError(start + 1, f"number {_shown(literal)} is too large for real64")
        return pos, real
    digits = literal.lstrip("+-").lstrip("0") or "0"  # int() counts leading zeros too
    value = int(digits) if len(digits) <= 20 else _TOO_BIG
    return pos, _integer(text, start, pos, -value if literal[0] == "-" else value)


# The integers a literal may be: those of some CIM integer type, sint64 or uint64.
_SMALLEST, _LARGEST = -(2**63), 2**64 - 1
_TOO_BIG = 2**64  # stands for a literal with more digits than any CIM integer has


def _integer(text: str, start: int, end: int, value: int) -> int:
    if not _SMALLEST <= value <= _LARGEST:
        raise WqlError(
            start + 1,
            f"number {_shown(text[start:end])} fits no CIM integer type "
            f"(sint64 {_SMALLEST}..{2**63 - 1}, uint64 0..{_LARGEST})",
        )
    return value


def _shown(literal: str) -> str:
    if len(literal) <= 30:
        return literal
    return f"{literal[:12]}...{literal[-6:]} ({len(literal):,} characters)"


def _no_letter_after(text: str, pos: int, start: int) -> None:
    if pos < len(text) and _is_name_char(text[pos]):
        raise WqlError(start + 1, f"malformed number {text[start : pos + 1]!r}")


def _string(text: str, pos: int) -> tuple[int, str]:
    quote = text[pos]
    start = pos
    pos += 1
    out: list[str] = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == quote:
            return pos + 1, "".join(out)
        if ch == "\\":
            nxt = text[pos + 1] if pos + 1 < n else ""
            if nxt not in _ESCAPES:
                shown = "\\" + nxt if nxt else "\\"
                raise WqlError(
                    pos + 1,
                    f"unknown escape {shown} in a string (write \\\\ for a backslash, "
                    "\\' or \\\" for a quote)",
                )
            out.append(_ESCAPES[nxt])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise WqlError(start + 1, "string is not closed")
