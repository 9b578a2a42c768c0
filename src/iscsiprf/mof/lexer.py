"""MOF tokens: one regular expression, no per-character Python loop.

Speed matters (the DMTF schema is 5.5 MB): `findall` returns plain token strings, and token
positions are recomputed only when a location is actually needed (an error, a warning, or a
class/property location that someone reads). The first character of a token tells its kind.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from sys import intern

from .model import Location
from .source import LineIndex

# Whitespace and comments are folded into the token's prefix; group 1 is the token itself.
# An unterminated string or comment falls through to the single-character alternative, which
# the parser reports as such. `$` yields a final empty token. The possessive forms (`*+`)
# keep the regex engine from saving backtracking state where backtracking could not match
# otherwise (10% of lexing); a test checks the greedy reading splits the same.
TOKEN_RE = re.compile(
    r"""[\s\ufeff]*+(?:(?://[^\n]*+|/\*[^*]*+\*++(?:[^/*][^*]*+\*++)*+/|\\\r?\n)[\s\ufeff]*+)*+"""
    r"""("[^"\\]*+(?:\\.[^"\\]*+)*+\""""
    r"""|[^\W\d]\w*+"""
    r"""|[{}()\[\];,:=]"""
    r"""|[+-]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:[^\W\d]\w*)?"""
    r"""|\#[ \t]*[A-Za-z]+"""
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
    r"""|\$\w+"""
    r"""|\S|\Z)""",
    re.S,
)

# The shape of a qualifier list as DMTF and WMI files write it: strings that do not span lines,
# no comments. Only diagnostics use these (to point into a qualifier-list token), so they are
# compiled on first use.
_STR = r'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"'
_STRRUN = _STR + r"(?:\s*" + _STR + r")*"
_NUM = r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w.])"
_ID = r"[^\W\d]\w*"
_SCALAR = f"(?:{_STRRUN}|{_NUM}|{_ID})"
_ARRAY = r"\{\s*(?:" + _SCALAR + r"\s*(?:,\s*" + _SCALAR + r"\s*)*)?\}"
# Parts of one qualifier inside a qualifier-list token: name, (scalar), {array}, flavors.
_QUAL_PART = (
    r"\s*(" + _ID + r")\s*(?:\(\s*(" + _SCALAR + r")\s*\)|(" + _ARRAY + r"))?"
    r"(?:\s*:\s*(" + _ID + r"(?:\s+" + _ID + r")*))?\s*[,\]]"
)


@cache
def qual_part_re() -> re.Pattern[str]:
    return re.compile(_QUAL_PART)


@cache
def array_item_re() -> re.Pattern[str]:
    return re.compile(_SCALAR)


# The token regex used where no macros apply: a qualifier list `[Name ...]` is one token. The
# regex only finds where the list ends (skipping its strings, which are most of a CIM file);
# `_qualifier_list` then checks the shape on the list's skeleton, and a list of another shape is
# split back into ordinary tokens, so the token stream is the same as TOKEN_RE would give with
# `[` and `]` as single tokens. Backslashes, quotes, comments and brackets outside strings end
# the match: such lists are never one token.
_QLIST_OUTSIDE = r"""[^"\[\]/'\\]*+"""
# Where the text has no `\\`, a quote preceded by a backslash is escaped: `[^"]` runs much faster
# in the regex engine than a class that also excludes the backslash.
_QLIST_STR_PLAIN = r'"[^"]*+(?:(?<=\\)"[^"]*+)*+"'
_QLIST_STR_EXACT = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


def _qlist_token_pattern(string: str) -> str:
    qlist = r"\[(?=\s*[^\W\d])" + _QLIST_OUTSIDE + "(?:" + string + _QLIST_OUTSIDE + r")*+\]"
    return TOKEN_RE.pattern.replace('("', "(" + qlist + '|"', 1)


def _for_ascii(pattern: str) -> str:
    """The same regex for a text that is all ASCII (nearly every MOF file, whatever its
    encoding), with the blank and identifier classes spelled out: the regex engine tests those
    with one bitmap lookup instead of a Unicode category (13% of lexing the DMTF schema). In
    ASCII, `\\s` is exactly `[\\t-\\r\\x1c- ]` and `\\w` exactly `[A-Za-z0-9_]`."""
    blank, ident = r"[\s\ufeff]", r"[^\W\d]\w*"
    assert blank in pattern and ident in pattern
    return pattern.replace(blank, r"[\t-\r\x1c- ]").replace(ident, r"[A-Za-z_][A-Za-z0-9_]*")


@cache
def qlist_token_re(exact: bool, ascii: bool) -> re.Pattern[str]:
    """The token regex with whole qualifier lists; compiled on first use (each costs 0.6 ms)."""
    pattern = _qlist_token_pattern(_QLIST_STR_EXACT if exact else _QLIST_STR_PLAIN)
    return re.compile(_for_ascii(pattern) if ascii else pattern, re.S)


# A qualifier list's skeleton: its text outside strings, each string literal replaced by `""`
# and the blanks around string literals removed, so that adjacent literals read `""""`.
# The possessive forms keep the regex engine from saving backtracking state; none of these
# parts could match differently by backtracking.
_SK_SCALAR = f'(?:"++|{_NUM}|{_ID})'
_SK_ARRAY = r"\{\s*+(?:" + _SK_SCALAR + r"\s*+(?:,\s*+" + _SK_SCALAR + r"\s*+)*+)?+\}"
SKELETON_PART_RE = re.compile(
    r"(\s*+(" + _ID + r")\s*+(?:\(\s*+(" + _SK_SCALAR + r")\s*+\)|(" + _SK_ARRAY + r"))?+"
    r"(?:\s*+:\s*+(" + _ID + r"(?:\s++" + _ID + r")*+))?+\s*+[,\]])"
)
SKELETON_ITEM_RE = re.compile(_SK_SCALAR)


# One qualifier of a qualifier-list skeleton, with what the parser needs precomputed (a plain
# tuple: the parser unpacks 31,000 of them for the CIM schema):
# (name, name.lower(), kind, value as the skeleton writes it ("" for FLAG),
#  how many of the token's string literals the value takes, flavors).
SkeletonQualifier = tuple[str, str, str, str, int, tuple[str, ...]]

FLAG = "flag"  # no value: TRUE
STRING = "string"  # adjacent string literals
SCALAR = "scalar"  # a number or a name
STRINGS = "strings"  # {"a", "b", ...}: one literal per item
ARRAY = "array"  # any other {...}


class QualifierListToken(str):
    """A whole `[...]` qualifier list lexed as one token, with its parts already found.

    `quals` describes each qualifier as the skeleton writes it (see `_skeleton_parts`);
    `bodies` holds the bodies of the list's string literals in order (see `_split_strings`).
    """

    quals: tuple[SkeletonQualifier, ...]
    bodies: list[str]


# Two-character needles: the regex engine finds them twice as fast as str.find does.
_BACKSLASH_PAIR_RE = re.compile(r"\\\\")
_ESCAPED_QUOTE_RE = re.compile(r'\\"')


def _split_strings(tok: str) -> tuple[list[str], list[str]]:
    """The text between a qualifier list's string literals, and the literals' bodies.

    Escaped quotes are already unescaped in the bodies (`\\"` -> `"`); other escapes are not.
    """
    if "\\" not in tok or _ESCAPED_QUOTE_RE.search(tok) is None:
        parts = tok.split('"')
        return parts[::2], parts[1::2]
    if _BACKSLASH_PAIR_RE.search(tok) is None and _HIDDEN_QUOTE not in tok:
        # Every backslash starts an escape, so every `\\"` is an escaped quote: hide them from
        # the split (in C, not a Python loop over the parts).
        parts = tok.replace('\\"', _HIDDEN_QUOTE).split('"')
        bodies = [b.replace(_HIDDEN_QUOTE, '"') for b in parts[1::2]]
        return parts[::2], bodies
    # Rare: a quote after an even run of backslashes ends the string, after an odd one it does not.
    parts = tok.split('"')
    outside, bodies = [parts[0]], []
    k = 1
    while k + 1 < len(parts):
        body = parts[k]
        while (len(body) - len(body.rstrip("\\"))) % 2 and k + 2 < len(parts):
            k += 1
            body = body[:-1] + '"' + parts[k]
        bodies.append(body)
        outside.append(parts[k + 1])
        k += 2
    return outside, bodies


_HIDDEN_QUOTE = "\x00"


def _qualifier_list(tok: str) -> QualifierListToken | None:
    """`tok` with its parts if it has the shape of a qualifier list, else None."""
    outside, bodies = _split_strings(tok)
    if bodies and "\n" in "".join(bodies):
        return None  # a literal broken across lines: the parser joins it with a warning
    quals = _skeleton_parts('""'.join(map(str.strip, outside)))
    if quals is None:
        return None
    out = QualifierListToken(tok)
    out.quals = quals
    out.bodies = bodies
    return out


@lru_cache(maxsize=4096)
def _skeleton_parts(skeleton: str) -> tuple[SkeletonQualifier, ...] | None:
    """The qualifiers of a skeleton, or None when something between them is not a qualifier.

    Memoized: the strings removed, many lists look alike (CIM's 10,874 have 2,706 skeletons).
    """
    found = SKELETON_PART_RE.findall(skeleton, 1)
    if sum([len(q[0]) for q in found]) != len(skeleton) - 1:
        return None
    return tuple(
        [_describe(name, scalar, array, flavors) for _, name, scalar, array, flavors in found]
    )


@lru_cache(maxsize=4096)
def _describe(name: str, scalar: str, array: str, flavors: str) -> SkeletonQualifier:
    """One qualifier of a skeleton. Memoized: CIM's 2,706 skeletons hold 10,104 qualifiers but
    only 312 distinct ones."""
    if scalar:
        if scalar[0] == '"':  # in the skeleton, each literal is `""`
            kind, literals = STRING, len(scalar) // 2
        else:
            kind, literals = SCALAR, 0
    elif array:
        literals = array.count('"') // 2
        items = array.count(",") + 1
        # `{"",""}`: nothing but one literal per item, so the value is a slice of the bodies.
        plain = literals == items and len(array) == 3 * items + 1
        kind = STRINGS if plain else ARRAY
    else:
        kind, literals = FLAG, 0
    # Only scalars and mixed arrays are read from the skeleton's text. Interned names: the
    # cache holds one string per name, and the resolver's dict lookups match by identity.
    text = scalar or array if kind is SCALAR or kind is ARRAY else ""
    return (intern(name), intern(name.lower()), kind, text, literals, tuple(flavors.split()))


def _is_qlist(tok: str) -> bool:
    return len(tok) > 1 and tok[0] == "["


def _fast_token_re(text: str, start: int, end: int) -> re.Pattern[str]:
    # A backslash is a memchr away; many files have none, almost none have two in a row.
    exact = (
        text.find("\\", start, end) >= 0 and _BACKSLASH_PAIR_RE.search(text, start, end) is not None
    )
    return qlist_token_re(exact, text.isascii())


def _relex(tok: str) -> list[str]:
    """The ordinary tokens of a bracketed text that is not a qualifier list."""
    toks = TOKEN_RE.findall(tok)
    toks.pop()  # the end-of-text match
    return toks


INCLUDE_MARK = "\x00"  # a token starting with NUL stands for a preprocessor #include


class Segment:
    """A run of tokens lexed from one region of one file."""

    # Plain classes, not dataclasses, for the compiler's internals: creating a dataclass
    # costs more import time than these need.
    __slots__ = ("path", "lines", "start", "end", "first", "count", "origin", "offsets", "fast")

    def __init__(
        self, path: str, lines: LineIndex, start: int, end: int, fast: bool = True
    ) -> None:
        self.path = path
        self.lines = lines  # also holds the file's text
        self.start = start  # offset of the region in text
        self.end = end
        self.first = 0  # index of the segment's first token in the stream
        self.count = 0
        self.origin: list[int] | None = None  # after macro expansion: stream index -> lexed index
        self.offsets: list[int] | None = None  # lexed token offsets, computed on demand
        self.fast = fast  # lexed with whole-qualifier-list tokens

    def token_offset(self, local: int) -> int:
        if self.origin is not None:
            local = self.origin[local] if local < len(self.origin) else len(self.origin)
        if self.offsets is None:
            self.offsets = token_offsets(self.lines.text, self.start, self.end, self.fast)
        if not self.offsets:
            return self.start
        return self.offsets[min(local, len(self.offsets) - 1)]


class TokenStream:
    """The tokens of one file after preprocessing, and how to find where each came from."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.toks: list[str] = []
        self.segments: list[Segment] = []
        # marker token index -> (included path, where the directive was, its tokens)
        self.includes: dict[int, tuple[str, Location, TokenStream]] = {}
        self._firsts: list[int] = []

    def add_segment(self, seg: Segment, toks: list[str]) -> None:
        seg.first = len(self.toks)
        seg.count = len(toks)
        self.toks.extend(toks)
        self.segments.append(seg)
        self._firsts.append(seg.first)

    def resolve(self, index: int, delta: int = 0) -> tuple[str, int, int]:
        import bisect

        if not self.segments:
            return self.path, 1, 1
        k = bisect.bisect_right(self._firsts, index) - 1
        seg = self.segments[max(k, 0)]
        offset = seg.token_offset(index - seg.first) + (delta if seg.origin is None else 0)
        line, col = seg.lines.line_col(offset)
        return seg.path, line, col


class TokenLocation(Location):
    """Where token `index` (+ `delta` characters) of a stream was written; line and column are
    found when first read (the CIM schema creates 12,600 locations and prints almost none)."""

    __slots__ = ("_stream", "_index", "_delta")

    def __init__(self, stream: TokenStream, index: int, delta: int = 0) -> None:
        self.path = stream.path
        self._stream: TokenStream | None = stream
        self._index = index
        self._delta = delta

    def _resolved(self) -> None:
        if self._stream is not None:
            self.path, self._line, self._col = self._stream.resolve(self._index, self._delta)
            self._stream = None


def lex_region(text: str, start: int, end: int, fast: bool = True) -> list[str]:
    """Tokens of text[start:end]; `fast` allows whole-qualifier-list tokens (no macros)."""
    if not fast:
        toks = TOKEN_RE.findall(text, start, end)
    else:
        toks = _fast_token_re(text, start, end).findall(text, start, end)
        for k in [k for k, tok in enumerate(toks) if tok[:1] == "[" and len(tok) > 1]:
            qlist = _qualifier_list(toks[k])
            if qlist is None:
                toks = _with_relexed(toks)
                break
            toks[k] = qlist
    while toks and toks[-1] == "":
        toks.pop()  # the end-of-region matches
    return toks


def _with_relexed(toks: list[str]) -> list[str]:
    """Rare: some bracketed text is not a qualifier list; lex it as ordinary tokens."""
    out: list[str] = []
    for tok in toks:
        if not _is_qlist(tok) or type(tok) is QualifierListToken:
            out.append(tok)
            continue
        qlist = _qualifier_list(tok)
        if qlist is None:
            out.extend(_relex(tok))
        else:
            out.append(qlist)
    return out


def token_offsets(text: str, start: int, end: int, fast: bool) -> list[int]:
    """Where each token of text[start:end] starts, exactly as `lex_region` splits them."""
    if not fast:
        return [m.start(1) for m in TOKEN_RE.finditer(text, start, end)]
    offsets: list[int] = []
    for m in _fast_token_re(text, start, end).finditer(text, start, end):
        at = m.start(1)
        tok = m.group(1)
        if _is_qlist(tok) and _qualifier_list(tok) is None:
            inner = [at + s.start(1) for s in TOKEN_RE.finditer(tok)]
            offsets.extend(inner[:-1])  # without the end-of-text match
        else:
            offsets.append(at)
    return offsets
