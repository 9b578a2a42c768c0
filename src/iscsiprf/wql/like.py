"""WQL LIKE patterns: ``%`` any run, ``_`` one character, ``[a-f]`` a set, ``[^a-f]`` its complement.

Matching is case-insensitive and covers the whole value, as in WMI. A literal ``%`` or ``_`` is
written as a one-character set: ``[%]``, ``[_]``.

Matching takes time linear in the value for a given pattern, whatever the pattern. A pattern
translated into one regular expression (``%`` as ``.*``) backtracks: ``'%%%…%!'`` against a long
name takes exponential time, and no signal is handled meanwhile. Here every part of a pattern
other than ``%`` matches exactly one character, so the pattern splits at its ``%`` runs into
fixed-length pieces: the first must start the value, the last end it, and each one between is
found at its leftmost place after the one before (the leftmost place leaves the most room to the
rest, so no other place needs trying). Each piece is a regular expression without repetition or
alternation, which cannot backtrack: finding it costs at most its length per character of the
value, and a pattern is at most MAX_PATTERN characters long. A pattern with at most one run of
``%`` stays one regular expression (one ``.*`` tries each end place once), the fastest form.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import WqlError

# The longest LIKE pattern a query may hold: longer than any instance name (a device instance
# path is at most 200 characters), short enough that no match runs long.
MAX_PATTERN = 512
_FLAGS = re.IGNORECASE | re.DOTALL


def like_matcher(pattern: str, column: int) -> Callable[[str], object | None]:
    """Compile ``pattern`` (a LIKE string starting at ``column``) into a full-match function:
    it returns None when the value does not match, something else when it does."""
    if len(pattern) > MAX_PATTERN:
        raise WqlError(
            column,
            f"LIKE pattern is {len(pattern):,} characters long; at most {MAX_PATTERN} are allowed",
        )
    pieces = like_pieces(pattern, column)
    if len(pieces) <= 2:
        # No `%`, or one run of them: one regular expression, run by the regex engine alone.
        # With a single `.*` it can only try each place for the last piece once: linear too.
        regex = ".*".join("".join(piece) for piece in pieces)
        return re.compile(regex, _FLAGS).fullmatch
    first, *middle, last = pieces
    head = re.compile("".join(first), _FLAGS).match
    tail = re.compile("".join(last), _FLAGS).match
    inner = [re.compile("".join(piece), _FLAGS).search for piece in middle]
    head_len, tail_len = len(first), len(last)
    fixed = sum(map(len, pieces))

    def match(value: str) -> bool | None:
        if len(value) < fixed:
            return None
        end = len(value) - tail_len
        if head_len and head(value) is None:
            return None
        if tail_len and tail(value, end) is None:
            return None
        pos = head_len
        for search in inner:
            found = search(value, pos, end)
            if found is None:
                return None
            pos = found.end()
        return True

    return match


def like_pieces(pattern: str, column: int) -> list[list[str]]:
    """The pattern's pieces between its runs of ``%``, each a list of one-character regexes."""
    pieces: list[list[str]] = [[]]
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "%":
            if pieces[-1] or len(pieces) == 1:  # a run of `%` is one `%`
                pieces.append([])
        elif ch == "_":
            pieces[-1].append(".")
        elif ch == "[":
            end, regex_set = _char_set(pattern, i, column)
            pieces[-1].append(regex_set)
            i = end
            continue
        else:
            pieces[-1].append(re.escape(ch))
        i += 1
    return pieces


def _char_set(pattern: str, start: int, column: int) -> tuple[int, str]:
    """Translate ``[...]`` beginning at ``start``; return the index after ``]`` and the regex."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] == "^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            body = "".join(items)
            return i + 1, f"[{'^' if negate else ''}{body}]"
        first = False
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            lo, hi = ch, pattern[i + 2]
            if lo > hi:
                raise WqlError(
                    column, f"LIKE pattern range {lo}-{hi} is reversed (character {i + 1})"
                )
            items.append(f"{re.escape(lo)}-{re.escape(hi)}")
            i += 3
            continue
        items.append(re.escape(ch))
        i += 1
    raise WqlError(column, f"LIKE pattern has '[' without ']' (character {start + 1})")
