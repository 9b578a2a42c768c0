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
    r"""|[A-Za-z_]\w*"""
    r"""|[{}()\[\];,:=]"""
    r"""|[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[A-Za-z_]?"""
    r"""|\#[ \t]*[A-Za-z]+"""
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
    r"""|\$\w+"""
    r"""|\S|\Z)""",
    re.S,
)

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

    def token_offset(self, local: int) -> int:
        if self.origin is not None:
            local = self.origin[local] if local < len(self.origin) else len(self.origin)
        if self.offsets is None:
            self.offsets = [m.start(1) for m in TOKEN_RE.finditer(self.text, self.start, self.end)]
        if not self.offsets:
            return self.start
        return self.offsets[min(local, len(self.offsets) - 1)]


@dataclass
class TokenStream:
    """The tokens of one file after preprocessing, and how to find where each came from."""

    path: str
    toks: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    includes: dict[int, tuple[str, Location]] = field(default_factory=dict)
    _firsts: list[int] = field(default_factory=list)

    def add_segment(self, seg: Segment, toks: list[str]) -> None:
        seg.first = len(self.toks)
        seg.count = len(toks)
        self.toks.extend(toks)
        self.segments.append(seg)
        self._firsts.append(seg.first)

    def location(self, index: int) -> Location:
        """A lazy location for token `index` (resolved when first printed or read)."""
        return Location(self.path, 0, 0, resolve=self._resolver(index))

    def _resolver(self, index: int) -> Callable[[], tuple[str, int, int]]:
        def resolve() -> tuple[str, int, int]:
            return self.resolve(index)

        return resolve

    def resolve(self, index: int) -> tuple[str, int, int]:
        import bisect

        if not self.segments:
            return self.path, 1, 1
        k = bisect.bisect_right(self._firsts, index) - 1
        seg = self.segments[max(k, 0)]
        offset = seg.token_offset(index - seg.first)
        line, col = seg.lines.line_col(offset)
        return seg.path, line, col


def lex_region(text: str, start: int, end: int) -> list[str]:
    toks = TOKEN_RE.findall(text, start, end)
    while toks and toks[-1] == "":
        toks.pop()  # the end-of-region matches
    return toks
