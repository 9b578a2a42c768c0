"""WQL LIKE patterns: ``%`` any run, ``_`` one character, ``[a-f]`` a set, ``[^a-f]`` its complement.

Matching is case-insensitive and covers the whole value, as in WMI. A literal ``%`` or ``_`` is
written as a one-character set: ``[%]``, ``[_]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import WqlError


def like_matcher(pattern: str, column: int) -> Callable[[str], re.Match[str] | None]:
    """Compile ``pattern`` (a LIKE string starting at ``column``) into a full-match function."""
    return re.compile(like_to_regex(pattern, column), re.IGNORECASE | re.DOTALL).fullmatch


def like_to_regex(pattern: str, column: int) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end, regex_set = _char_set(pattern, i, column)
            out.append(regex_set)
            i = end
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


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
