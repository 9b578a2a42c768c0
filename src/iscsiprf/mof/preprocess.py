"""The C-preprocessor lines that WDK MOFs use, applied while lexing one file.

mofcomp runs the C preprocessor over a MOF; the WDK's iSCSI MOFs rely on object-like `#define`
(with `\\` continuations), `#include "file"` and `#if/#ifdef/#ifndef/#else/#endif`. Directive
lines split the file into regions; each active region is lexed and its identifiers expanded
with the macros defined at that point. A `#include` of a MOF becomes a marker token that the
parser follows; a C header contributes only its `#define`s.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from .errors import Diagnostic, MofError
from .lexer import INCLUDE_MARK, Segment, TokenStream, lex_region, token_offsets
from .model import Location
from .source import (
    NOT_A_FILE,
    LineIndex,
    decode_mof_bytes,
    directory_of,
    read_bytes,
    read_mof_text,
    unreadable,
)

DIRECTIVE_RE = re.compile(
    r"^[ \t]*#[ \t]*(define|undef|include|ifdef|ifndef|if|elif|else|endif|error|line)\b",
    re.M,
)
_IDENT_RE = re.compile(r"[A-Za-z_]\w*")

# Limits (docs/mof.md lists them): each keeps a hostile file from exhausting the interpreter's
# stack, memory or time; real MOFs stay far below.
MAX_INCLUDE_DEPTH = 64  # files open at once: #include and #pragma include together
MAX_CONDITION_DEPTH = 100  # nested `(` and `!` in one #if expression
MAX_MACRO_DEPTH = 64  # macros expanding inside macros
MAX_USE_TOKENS = 1 << 16  # tokens one use of a macro may expand to
MAX_EXPANDED_TOKENS = 1 << 22  # tokens all macro uses of one compilation may expand to


class PreprocessorState:
    """What lives across the files of one compilation: macros and the include search path."""

    def __init__(self, include_dirs: list[str] | None = None) -> None:
        self.include_dirs = include_dirs or []
        self.macros: dict[str, list[str]] = {}
        self.skipped_headers: list[str] = []
        self.expanded = 0  # tokens produced by macro expansion so far (MAX_EXPANDED_TOKENS)
        self.warn: Callable[[Diagnostic], None] = lambda d: None


def _logical_line_end(text: str, pos: int) -> int:
    """End offset of the directive starting at pos, following backslash continuations."""
    n = len(text)
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            return n
        j = nl - 1
        if j >= 0 and text[j] == "\r":
            j -= 1
        if j >= 0 and text[j] == "\\":
            pos = nl + 1
            continue
        return nl


def _strip_comment(body: str) -> str:
    # `//` comments end a directive (strings in #define bodies never contain `//` in practice,
    # but keep a quoted `//` intact).
    out = []
    in_str = False
    i = 0
    while i < len(body):
        c = body[i]
        if c == '"' and (i == 0 or body[i - 1] != "\\"):
            in_str = not in_str
        elif not in_str and body.startswith("//", i):
            break
        elif not in_str and body.startswith("/*", i):
            end = body.find("*/", i + 2)
            i = len(body) if end < 0 else end + 2
            out.append(" ")
            continue
        out.append(c)
        i += 1
    return "".join(out)


class _CondEval:
    """#if expressions: integers, macro names, defined(X), ! && || == != < > <= >= ( )."""

    _TOK = re.compile(
        r"\s*(defined|[A-Za-z_]\w*|0[xX][0-9a-fA-F]+|\d+|&&|\|\||==|!=|<=|>=|[!<>()])"
    )

    def __init__(self, expr: str, macros: dict[str, list[str]]) -> None:
        self.toks: list[str] = []
        pos = 0
        expr = expr.strip()
        while pos < len(expr):
            m = self._TOK.match(expr, pos)
            if not m:
                if expr[pos:].strip() == "":
                    break
                raise ValueError(f"cannot evaluate #if expression near {expr[pos:]!r}")
            self.toks.append(m.group(1))
            pos = m.end()
        self.i = 0
        self.depth = 0  # `(` and `!` open around the current token
        self.macros = macros

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self) -> str:
        t = self.peek()
        self.i += 1
        return t

    def _nest(self, n: int) -> None:
        self.depth += n
        if self.depth > MAX_CONDITION_DEPTH:
            raise ValueError(
                f"#if expression nested more than {MAX_CONDITION_DEPTH} deep (parentheses and '!')"
            )

    def value(self) -> int:
        v = self.or_()
        if self.peek():
            raise ValueError(f"unexpected {self.peek()!r} in #if expression")
        return v

    def or_(self) -> int:
        v = self.and_()
        while self.peek() == "||":
            self.take()
            r = self.and_()
            v = int(bool(v) or bool(r))
        return v

    def and_(self) -> int:
        v = self.cmp()
        while self.peek() == "&&":
            self.take()
            r = self.cmp()
            v = int(bool(v) and bool(r))
        return v

    def cmp(self) -> int:
        v = self.unary()
        while self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()
            r = self.unary()
            v = int(
                {"==": v == r, "!=": v != r, "<": v < r, ">": v > r, "<=": v <= r, ">=": v >= r}[op]
            )
        return v

    def unary(self) -> int:
        t = self.take()
        if t == "!":  # a run of `!` without recursion; its length counts towards the depth
            negations = 1
            while self.peek() == "!":
                self.take()
                negations += 1
            self._nest(negations)
            v = self.unary()
            self.depth -= negations
            return int(not v) if negations % 2 else int(bool(v))
        if t == "(":
            self._nest(1)
            v = self.or_()
            if self.take() != ")":
                raise ValueError("missing ')' in #if expression")
            self.depth -= 1
            return v
        if t == "defined":
            paren = self.peek() == "("
            if paren:
                self.take()
            name = self.take()
            if paren and self.take() != ")":
                raise ValueError("missing ')' after defined(")
            return int(name in self.macros)
        if t[:1].isdigit():
            return int(t, 0) if not (len(t) > 1 and t[0] == "0" and t[1].isdigit()) else int(t, 8)
        if t and (t[0].isalpha() or t[0] == "_"):
            body = self.macros.get(t)
            if body and len(body) == 1 and body[0][:1].isdigit():
                return int(body[0], 0)
            return 0
        raise ValueError(f"unexpected {t or 'end'!r} in #if expression")


class _ExpansionError(Exception):
    """A macro use that breaks a limit: the index of the use among the region's tokens."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def _expand(
    toks: list[str], macros: dict[str, list[str]], budget: int
) -> tuple[list[str], list[int] | None, int]:
    """Replace macro names by their bodies (recursively, never re-entering a macro): the tokens,
    the lexed index each came from (None when nothing changed) and the steps taken.

    Depth first with an explicit stack, and every token taken counts as a step (a name that
    expands to nothing too): one use may take MAX_USE_TOKENS steps, all uses `budget`, so a
    chain of macros that each double the last fails at its use instead of running for ever.
    """
    out: list[str] = []
    origin: list[int] = []
    changed = False
    steps = 0
    for i, tok in enumerate(toks):
        c = tok[:1]
        if not ((c.isalpha() or c == "_") and tok in macros):
            out.append(tok)
            origin.append(i)
            continue
        changed = True
        limit = min(steps + MAX_USE_TOKENS, budget)
        names: list[str] = [tok]  # the macros being expanded, outermost first
        bodies = [iter(macros[tok])]
        while bodies:
            t = next(bodies[-1], None)
            if t is None:
                bodies.pop()
                names.pop()
                continue
            steps += 1
            if steps > limit:
                raise _ExpansionError(i, _too_many(tok, limit == budget))
            body = macros.get(t)
            if body is not None and t not in names:
                if len(names) >= MAX_MACRO_DEPTH:
                    raise _ExpansionError(
                        i, f"macro {tok} expands macros more than {MAX_MACRO_DEPTH} deep (at {t})"
                    )
                names.append(t)
                bodies.append(iter(body))
            else:
                out.append(t)
                origin.append(i)
    return (out, origin, steps) if changed else (toks, None, 0)


def _too_many(name: str, whole_budget: bool) -> str:
    if whole_budget:
        return (
            f"macro {name} takes the macro expansions of this compilation past "
            f"{MAX_EXPANDED_TOKENS:,} tokens"
        )
    return f"macro {name} expands to more than {MAX_USE_TOKENS:,} tokens"


def tokenize_file(
    path: str,
    text: str,
    state: PreprocessorState,
    include_stack: tuple[str, ...] = (),
    rereadable: bool = False,
) -> TokenStream:
    """Lex one MOF file, applying its preprocessor lines. `rereadable`: `text` is the regular
    file at `path`, which may be read again for a location instead of keeping the text."""
    spath = path
    stream = TokenStream(spath)
    lines = LineIndex(text, path if rereadable else None)
    directives = list(DIRECTIVE_RE.finditer(text)) if "#" in text else []
    if not directives and not state.macros:
        stream.add_segment(Segment(spath, lines, 0, len(text)), lex_region(text, 0, len(text)))
        return stream

    # Conditional stack entries: (this branch active, some branch already taken, parent active).
    cond: list[tuple[bool, bool, bool]] = []
    active = True
    pos = 0

    def loc(offset: int) -> Location:
        line, col = lines.line_col(offset)
        return Location(spath, line, col)

    def flush(upto: int) -> None:
        if active and upto > pos:
            fast = not state.macros  # a macro may hide inside a qualifier list
            toks = lex_region(text, pos, upto, fast)
            if toks:
                seg = Segment(spath, lines, pos, upto, fast=fast)
                if state.macros:
                    try:
                        toks, seg.origin, steps = _expand(
                            toks, state.macros, MAX_EXPANDED_TOKENS - state.expanded
                        )
                    except _ExpansionError as exc:
                        offsets = token_offsets(text, pos, upto, fast)
                        raise MofError(loc(offsets[exc.index]), exc.message) from None
                    state.expanded += steps
                stream.add_segment(seg, toks)

    for m in directives:
        start = m.start()
        if start < pos:
            continue  # inside a continued directive already consumed
        flush(start)
        end = _logical_line_end(text, m.end())
        pos = min(end + 1, len(text))
        kind = m.group(1)
        rest = text[m.end() : end].replace("\\\r\n", " ").replace("\\\n", " ")
        where = loc(m.start(1) - 1 if text[m.start(1) - 1] == "#" else start)

        if kind in ("if", "ifdef", "ifndef"):
            if not active:
                cond.append((False, True, False))
                continue
            if kind == "if":
                try:
                    taken = bool(_CondEval(_strip_comment(rest), state.macros).value())
                except ValueError as exc:
                    raise MofError(where, str(exc)) from None
            else:
                ident = _IDENT_RE.search(rest)
                if not ident:
                    raise MofError(where, f"#{kind} needs a macro name")
                taken = (ident.group(0) in state.macros) == (kind == "ifdef")
            cond.append((taken, taken, True))
            active = taken
            continue
        if kind in ("elif", "else", "endif"):
            if not cond:
                raise MofError(where, f"#{kind} without a matching #if")
            this, done, parent = cond.pop()
            if kind == "endif":
                active = parent
                continue
            if kind == "else":
                taken = parent and not done
            else:
                try:
                    cond_value = bool(_CondEval(_strip_comment(rest), state.macros).value())
                except ValueError as exc:
                    raise MofError(where, str(exc)) from None
                taken = parent and not done and cond_value
            cond.append((taken, done or taken, parent))
            active = taken
            continue
        if not active:
            continue
        if kind == "define":
            body = _strip_comment(rest).strip()
            nm = _IDENT_RE.match(body)
            if not nm:
                raise MofError(where, "#define needs a macro name")
            name = nm.group(0)
            after = body[nm.end() :]
            if after.startswith("("):
                state.warn(
                    Diagnostic(
                        "warning", where, f"function-like macro {name} is not supported; ignored"
                    )
                )
                continue
            state.macros[name] = lex_region(after, 0, len(after))
        elif kind == "undef":
            name_m = _IDENT_RE.search(rest)
            if name_m:
                state.macros.pop(name_m.group(0), None)
        elif kind == "error":
            raise MofError(where, f"#error {rest.strip()}")
        elif kind == "line":
            continue
        elif kind == "include":
            _include(stream, rest, where, path, state, include_stack)
    if cond:
        raise MofError(loc(len(text)), "#if without a matching #endif at end of file")
    flush(len(text))
    return stream


def _include(
    stream: TokenStream,
    rest: str,
    where: Location,
    path: str,
    state: PreprocessorState,
    include_stack: tuple[str, ...],
) -> None:
    spec = _strip_comment(rest).strip()
    if len(spec) >= 2 and spec[0] in '"<' and spec[-1] == {'"': '"', "<": ">"}[spec[0]]:
        name = spec[1:-1]
    else:
        raise MofError(where, f'#include needs "file" or <file>, got {spec!r}')
    if len(include_stack) > MAX_INCLUDE_DEPTH:  # as the compiler counts #pragma include
        raise MofError(where, f"includes nested more than {MAX_INCLUDE_DEPTH} deep")
    here = directory_of(path)
    got = read_include(name, here, state.include_dirs, where)
    is_header = name.lower().endswith((".h", ".hpp", ".hxx"))
    if got is None:
        if is_header:
            state.warn(Diagnostic("warning", where, f"C header {name} not found; skipped"))
            state.skipped_headers.append(name)
            return
        raise MofError(
            where,
            f"include file {name} not found (searched {here}"
            + "".join(f", {d}" for d in state.include_dirs)
            + ")",
        )
    found, included_text, rereadable = got
    key = os.path.abspath(found)  # normalized too
    if key in include_stack:
        raise MofError(where, f"recursive include of {name}")
    if is_header:
        # A C header only contributes macros; its declarations are not MOF.
        htext = included_text
        for m in DIRECTIVE_RE.finditer(htext):
            if m.group(1) != "define":
                continue
            end = _logical_line_end(htext, m.end())
            body = _strip_comment(htext[m.end() : end].replace("\\\n", " ")).strip()
            nm = _IDENT_RE.match(body)
            if nm and not body[nm.end() :].startswith("("):
                after = body[nm.end() :]
                state.macros[nm.group(0)] = lex_region(after, 0, len(after))
        return
    # Lex the included file now, so that its #defines apply to the rest of this file.
    sub = tokenize_file(found, included_text, state, (*include_stack, key), rereadable)
    index = len(stream.toks)
    stream.includes[index] = (found, where, sub)
    # The marker is a one-token segment placed where the directive was.
    marker = f"{INCLUDE_MARK}{index}"
    seg = Segment(stream.path, LineIndex(""), 0, 0)
    stream.add_segment(seg, [marker])
    stream.segments[-1].offsets = [0]


def read_include(
    name: str, here: str, include_dirs: list[str], where: Location
) -> tuple[str, str, bool] | None:
    """The included file's path, text and whether it can be read again, looked up in `here`,
    then `include_dirs`; None when no such file exists. Each place is tried by reading it (not
    stat then read: 1,600 includes)."""
    for d in (here, *include_dirs):
        path = _child(d, name)
        try:
            data, rereadable = read_bytes(path)
        except NOT_A_FILE:
            continue
        except OSError as exc:
            raise unreadable(path, exc, where) from None
        return path, decode_mof_bytes(data, path), rereadable
    # WDK sources are written on case-insensitive file systems.
    lname = name.lower()
    for d in (here, *include_dirs):
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            if entry.name.lower() == lname and entry.is_file():
                path = _child(d, entry.name)
                return (path, *read_mof_text(path, where))
    return None


def _child(d: str, name: str) -> str:
    """`d/name` written as a person would: no `./` in front, no empty or `.` parts."""
    if d in ("", ".") or os.path.isabs(name):
        return os.path.normpath(name)
    probe = f"/{name}/"
    if "//" in probe or "/./" in probe:
        return os.path.normpath(os.path.join(d, name))
    return d + name if d.endswith("/") else f"{d}/{name}"
