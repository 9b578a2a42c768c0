"""MOF tokens: one regular expression, no per-character Python loop.

Speed matters (the DMTF schema is 5.5 MB): `findall` returns plain token strings, and token
positions are recomputed only when a location is actually needed (an error, a warning, or a
class/property location that someone reads). The first character of a token tells its kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Location
from .source import LineIndex

# Whitespace and comments are folded into the token's prefix; group 1 is the token itself.
# An unterminated string or comment falls through to the single-character alternative, which
# the parser reports as such. `$` yields a final empty token.
TOKEN_RE = re.compile(
    r"""[\s\ufeff]*(?:(?://[^\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|\\\r?\n)[\s\ufeff]*)*"""
    r"""("[^"\\]*(?:\\.[^"\\]*)*\""""
    r"""|[^\W\d]\w*"""
    r"""|[{}()\[\];,:=]"""
    r"""|[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:[^\W\d]\w*)?"""
    r"""|\#[ \t]*[A-Za-z]+"""
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
    r"""|\$\w+"""
    r"""|\S|\Z)""",
    re.S,
)

# A whole qualifier list as one token, when it has the plain shape DMTF and WMI files use: one
# regex match instead of a dozen tokens (the parser's hottest path). Strings here may not span
# lines, and comments inside the list are not allowed; anything else falls back to single
# tokens, where the parser reports errors precisely.
_STR = r'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"'
_STRRUN = _STR + r"(?:\s*" + _STR + r")*"
_NUM = r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w.])"
_ID = r"[^\W\d]\w*"
_SCALAR = f"(?:{_STRRUN}|{_NUM}|{_ID})"
_ARRAY = r"\{\s*(?:" + _SCALAR + r"\s*(?:,\s*" + _SCALAR + r"\s*)*)?\}"
_QUAL = (
    _ID
    + r"\s*(?:\(\s*"
    + _SCALAR
    + r"\s*\)|"
    + _ARRAY
    + r")?(?:\s*:\s*"
    + _ID
    + r"(?:\s+"
    + _ID
    + r")*)?"
)
QLIST_BODY = r"\[\s*" + _QUAL + r"(?:\s*,\s*" + _QUAL + r")*\s*\]"
# Parts of one qualifier inside a QLIST token: name, (scalar), {array}, flavors.
QUAL_PART_RE = re.compile(
    r"\s*(" + _ID + r")\s*(?:\(\s*(" + _SCALAR + r")\s*\)|(" + _ARRAY + r"))?"
    r"(?:\s*:\s*(" + _ID + r"(?:\s+" + _ID + r")*))?\s*[,\]]"
)
ARRAY_ITEM_RE = re.compile(_SCALAR)
# An array of plain strings (no escapes, no concatenation): its items in one findall.
SIMPLE_STR_ARRAY_RE = re.compile(r'\{\s*(?:"[^"\\\n]*"\s*(?:,\s*"[^"\\\n]*"\s*)*)?\}')
STR_ITEM_RE = re.compile(r'"([^"\\\n]*)"')
STR_BODY_RE = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.S)

FAST_TOKEN_RE = re.compile(TOKEN_RE.pattern.replace('("', "(" + QLIST_BODY + '|"', 1), re.S)

INCLUDE_MARK = "\x00"  # a token starting with NUL stands for a preprocessor #include


@dataclass(slots=True)
class Segment:
    """A run of tokens lexed from one region of one file."""

    path: str
    text: str
    lines: LineIndex
    start: int  # offset of the region in text
    end: int
    first: int  # index of the segment's first token in the stream
    count: int = 0
    origin: list[int] | None = None  # after macro expansion: stream index -> lexed index
    offsets: list[int] | None = None  # lexed token offsets, computed on demand
    fast: bool = True  # lexed with whole-qualifier-list tokens

    def token_offset(self, local: int) -> int:
        if self.origin is not None:
            local = self.origin[local] if local < len(self.origin) else len(self.origin)
        if self.offsets is None:
            rx = FAST_TOKEN_RE if self.fast else TOKEN_RE
            self.offsets = [m.start(1) for m in rx.finditer(self.text, self.start, self.end)]
        if not self.offsets:
            return self.start
        return self.offsets[min(local, len(self.offsets) - 1)]


@dataclass
class TokenStream:
    """The tokens of one file after preprocessing, and how to find where each came from."""

    path: str
    toks: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    # marker token index -> (included path, where the directive was, its tokens)
    includes: dict[int, tuple[str, Location, TokenStream]] = field(default_factory=dict)
    _firsts: list[int] = field(default_factory=list)

    def add_segment(self, seg: Segment, toks: list[str]) -> None:
        seg.first = len(self.toks)
        seg.count = len(toks)
        self.toks.extend(toks)
        self.segments.append(seg)
        self._firsts.append(seg.first)

    def location(self, index: int, delta: int = 0) -> Location:
        """A lazy location for token `index` (+ `delta` characters into it), resolved when
        first printed or read."""
        return Location(self.path, 0, 0, resolve=self._resolver(index, delta))

    def _resolver(self, index: int, delta: int) -> Callable[[], tuple[str, int, int]]:
        def resolve() -> tuple[str, int, int]:
            return self.resolve(index, delta)

        return resolve

    def resolve(self, index: int, delta: int = 0) -> tuple[str, int, int]:
        import bisect

        if not self.segments:
            return self.path, 1, 1
        k = bisect.bisect_right(self._firsts, index) - 1
        seg = self.segments[max(k, 0)]
        offset = seg.token_offset(index - seg.first) + (delta if seg.origin is None else 0)
        line, col = seg.lines.line_col(offset)
        return seg.path, line, col


def lex_region(text: str, start: int, end: int, fast: bool = True) -> list[str]:
    """Tokens of text[start:end]; `fast` allows whole-qualifier-list tokens (no macros)."""
    toks = (FAST_TOKEN_RE if fast else TOKEN_RE).findall(text, start, end)
    while toks and toks[-1] == "":
        toks.pop()  # the end-of-region matches
    return toks
