"""Recursive-descent MOF parser: tokens of one file -> declarations (not yet resolved).

Grammar as DSP0004 writes it, with the WMI dialect on top: flavors such as `: amended`,
undeclared qualifiers, symbolic `CounterType(PERF_...)`, `#pragma` names in any case, embedded
objects typed by class name, and string literals that a document broke across lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .constants import KNOWN_CONSTANTS
from .errors import Diagnostic, MofError
from .lexer import (
    FLAG,
    INCLUDE_MARK,
    SCALAR,
    SKELETON_ITEM_RE,
    STRING,
    STRINGS,
    QualifierListToken,
    TokenLocation,
    TokenStream,
    array_item_re,
    qual_part_re,
)
from .model import (
    INTRINSIC_TYPES,
    Instance,
    Location,
    Method,
    MofClass,
    Parameter,
    Property,
    Qualifier,
    QualifierDecl,
    Qualifiers,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from typing import Any, NoReturn

FLAVORS = {
    "amended": "Amended",
    "tosubclass": "ToSubclass",
    "toinstance": "ToInstance",
    "disableoverride": "DisableOverride",
    "enableoverride": "EnableOverride",
    "restricted": "Restricted",
    "translatable": "Translatable",
    "nottosubclass": "NotToSubclass",
    "nottoinstance": "NotToInstance",
}
KNOWN_PRAGMAS = {
    "namespace", "classflags", "instanceflags", "autorecover", "include", "locale",
    "instancelocale", "deleteclass", "deleteinstance", "amendment", "source", "nonlocal",
    "nonlocaltype", "sourcetype",
}  # fmt: skip
# Braces one value may nest: each level is a Python call, and no schema nests more than two.
MAX_VALUE_DEPTH = 64
_ESCAPE_RE = re.compile(r"\\(?:[xX]([0-9a-fA-F]{1,4})|(.))", re.S)


def _unescape_one(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return chr(int(m.group(1), 16))
    e = m.group(2)
    return _ESCAPES.get(e, e)  # unknown escape: keep the character, as mofcomp does


def unescape(body: str) -> str:
    """A string literal's body with its escapes replaced (`\\n`, `\\x41`, ...)."""
    # Split at the backslashes (one memchr pass) and replace each escape's character; a hex
    # escape or an empty part (an escaped backslash, a trailing one) takes the full grammar.
    head, *parts = body.split("\\")
    out = [head]
    for part in parts:
        c = part[:1]
        if c in "xX":  # also true for ""
            return _ESCAPE_RE.sub(_unescape_one, body)
        out.append(_ESCAPES.get(c, c) + part[1:])
    return "".join(out)


_BROKEN_LINE_RE = re.compile(r"[ \t]*\r?\n[ \t]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class ParseContext:
    """Shared by all files of one compilation."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.diagnostics: list[Diagnostic] = []
        self.namespace = "root/default"
        self.classes: list[MofClass] = []
        self.instances: list[Instance] = []
        self.qualifier_decls: dict[str, QualifierDecl] = {}
        self.deleted_classes: list[tuple[str, Location]] = []
        # Called for `#pragma include` and preprocessor includes: (path, where, from) -> None.
        self.include: Callable[[str, Location, str], None] = lambda p, w, f: None

    def warn(self, where: Location, message: str) -> None:
        if self.strict:
            raise MofError(where, message)
        self.diagnostics.append(Diagnostic("warning", where, message))


def namespace_from_pragma(value: str) -> str:
    """`\\\\.\\root\\wmi`, `//./root/wmi`, `root\\wmi` -> `root/wmi`."""
    ns = value.replace("\\", "/")
    if ns.startswith("//"):
        parts = ns[2:].split("/", 1)  # drop the server name ('.')
        ns = parts[1] if len(parts) > 1 else ""
    return ns.strip("/")


class Parser:
    def __init__(self, stream: TokenStream, ctx: ParseContext) -> None:
        self.stream = stream
        self.toks = stream.toks
        self.toks.append("")  # end of file sentinel
        self.i = 0
        self.ctx = ctx

    # -- helpers -----------------------------------------------------------------------------

    def loc(self, index: int | None = None, delta: int = 0) -> Location:
        return TokenLocation(self.stream, self.i if index is None else index, delta)

    def fail(self, message: str, index: int | None = None, delta: int = 0) -> NoReturn:
        raise MofError(self.loc(index, delta), message)

    def describe(self, tok: str) -> str:
        if tok == "":
            return "end of file"
        if tok == '"':
            return "an unterminated string"
        if tok == "'":
            return "an unterminated character literal"
        if tok == "/" and self._raw_followed_by_star():
            return "an unterminated comment"
        return repr(tok)

    def _raw_followed_by_star(self) -> bool:
        path, line, col = self.stream.resolve(self.i)
        for seg in self.stream.segments:
            off = (
                seg.token_offset(self.i - seg.first)
                if seg.first <= self.i < seg.first + seg.count
                else -1
            )
            if off >= 0:
                return seg.lines.text.startswith("/*", off)
        return False

    def expect(self, tok: str, what: str | None = None) -> None:
        if self.toks[self.i] != tok:
            got = self.toks[self.i]
            if tok == ";" and got != "":
                self.fail(f"missing ';' before {self.describe(got)}")
            self.fail(f"expected {what or repr(tok)}, found {self.describe(got)}")
        self.i += 1

    def ident(self, what: str) -> str:
        t = self.toks[self.i]
        c = t[:1]
        if not (c.isalpha() or c == "_"):
            self.fail(f"expected {what}, found {self.describe(t)}")
        self.i += 1
        return t

    # -- top level ---------------------------------------------------------------------------

    def parse(self) -> None:
        toks = self.toks
        while True:
            t = toks[self.i]
            if t == "":
                # Locations resolve from the text, not the tokens: drop them (and the string
                # bodies lexed with them) rather than keep them as long as the schema. A
                # regular file's text goes too; its LineIndex reads it again if need be.
                toks.clear()
                for seg in self.stream.segments:
                    seg.lines.release()
                return
            lt = t.lower()
            if t[0] == "#":
                self.pragma()
            elif t[0] == INCLUDE_MARK and self.i in self.stream.includes:
                _path, _where, sub = self.stream.includes[self.i]
                self.i += 1
                Parser(sub, self.ctx).parse()
            elif t == ";":
                self.i += 1
            elif t[:1] == "[":
                start = self.i
                quals = self.qualifier_list()
                self.after_qualifiers(quals, start)
            elif lt == "class":
                self.class_decl(Qualifiers(), self.i)
            elif lt == "instance":
                self.instance_decl(Qualifiers(), self.i)
            elif lt == "qualifier":
                self.qualifier_decl()
            else:
                self.fail(
                    f"expected a class, instance, qualifier declaration or #pragma, found {self.describe(t)}"
                )

    def after_qualifiers(self, quals: Qualifiers, start: int) -> None:
        lt = self.toks[self.i].lower()
        if lt == "class":
            self.class_decl(quals, start)
        elif lt == "instance":
            self.instance_decl(quals, start)
        elif lt in ("association", "indication"):
            # DSP0004 1.x spelling: [quals] association Name ...
            self.toks[self.i] = "class"
            quals.add(Qualifier("Association" if lt == "association" else "Indication", True))
            self.class_decl(quals, start)
        else:
            self.fail(
                f"expected 'class' or 'instance' after qualifiers, found {self.describe(self.toks[self.i])}"
            )

    def pragma(self) -> None:
        at = self.i
        head = self.toks[self.i]
        self.i += 1
        if head.replace(" ", "").replace("\t", "").lower() != "#pragma":
            self.fail(f"unknown preprocessor directive {head!r}", at)
        name = self.ident("a pragma name")
        lname = name.lower()
        args: list[Any] = []
        if self.toks[self.i] == "(":
            self.i += 1
            while self.toks[self.i] != ")":
                if self.toks[self.i] == "":
                    self.fail("missing ')' in #pragma")
                if self.toks[self.i][:1] in ('"', "'") or self.toks[self.i][:1].isdigit():
                    args.append(self.constant())
                else:
                    args.append(self.ident("a pragma argument"))
                if self.toks[self.i] == ",":
                    self.i += 1
            self.i += 1
        if lname == "namespace":
            if not args or not isinstance(args[0], str):
                self.fail("#pragma namespace needs a string", at)
            self.ctx.namespace = namespace_from_pragma(args[0])
        elif lname == "include":
            if not args or not isinstance(args[0], str):
                self.fail("#pragma include needs a file name string", at)
            self.ctx.include(args[0], self.loc(at), self.stream.path)
        elif lname == "deleteclass":
            if args and isinstance(args[0], str):
                self.ctx.deleted_classes.append((args[0], self.loc(at)))
        elif lname not in KNOWN_PRAGMAS:
            self.ctx.diagnostics.append(
                Diagnostic("warning", self.loc(at), f"unknown pragma '{name}' ignored")
            )

    # -- values ------------------------------------------------------------------------------

    def string_value(self) -> str:
        """One or more adjacent string literals, concatenated."""
        toks = self.toks
        start = i = self.i
        while toks[i][:1] == '"':
            i += 1
        run = toks[start:i]
        if '"' in run:
            self.i = start + next(k for k, t in enumerate(run) if len(t) == 1)
            self.fail("unterminated string")
        body = "".join([t[1:-1] for t in run])
        if "\n" in body:
            # Rare: a literal broken across lines (a document's re-flow) or a C line splice;
            # handle it token by token so the warning points at the literal.
            parts = []
            for k, t in enumerate(run):
                b = t[1:-1]
                if "\\\n" in b or "\\\r\n" in b:  # C line splices
                    b = b.replace("\\\r\n", "").replace("\\\n", "")
                if "\n" in b:
                    self.i = start + k
                    b = self._join_broken_literal(b)
                parts.append(b)
            body = "".join(parts)
        self.i = i
        if "\\" in body:
            body = unescape(body)
        return body

    def _starts_string_run(self) -> bool:
        toks = self.toks
        j = self.i
        while True:
            c = toks[j][:1]
            if c == '"':
                return True
            if not (c.isalpha() or c == "_") or toks[j].upper() in KNOWN_CONSTANTS:
                return False
            j += 1

    def string_run(self) -> str | None:
        toks = self.toks
        parts: list[str] = []
        any_string = False
        while True:
            t = toks[self.i]
            c = t[:1]
            if c == '"':
                parts.append(self.string_value())
                any_string = True
            elif (
                (c.isalpha() or c == "_")
                and t.upper() not in KNOWN_CONSTANTS
                and (any_string or self._starts_string_run())
            ):
                self.ctx.warn(
                    self.loc(), f"unknown identifier '{t}' used as a value; taken as NULL"
                )
                self.i += 1
            else:
                break
        return "".join(parts) if any_string else None

    def _join_broken_literal(self, body: str) -> str:
        # A document re-flowed the literal: the line break, the blanks before it and the
        # indentation after it become exactly one space.
        self.ctx.warn(
            self.loc(),
            "string literal continues on the next line; joined with a single space",
        )
        return _BROKEN_LINE_RE.sub(" ", body)

    def number(self, t: str, delta: int = 0, index: int | None = None) -> int | float:
        s = t
        try:
            if s[-1] in "bB" and not s.lower().startswith(("0x", "+0x", "-0x")):
                digits = s[:-1].lstrip("+-")
                if digits and set(digits) <= {"0", "1"}:
                    v = int(digits, 2)
                    return -v if s[0] == "-" else v
                raise ValueError
            if s[-1].isalpha() and not s.lower().lstrip("+-").startswith("0x") or s[-1] == "_":
                if s[-1] not in "0123456789":
                    raise ValueError
            low = s.lower().lstrip("+-")
            if low.startswith("0x"):
                v = int(low, 16)
            elif "." in low or "e" in low:
                return float(s)
            elif len(low) > 1 and low[0] == "0":
                v = int(low, 8)
            else:
                v = int(low)
            return -v if s[0] == "-" else v
        except ValueError:
            self.fail(f"malformed number {t!r}", index, delta)

    def constant(self) -> Any:
        """A scalar literal, a macro/constant name, or an alias.

        Adjacent string literals concatenate; so do names that the preprocessor left in such a
        run (`cpp_quote(MODULE_HEADER "..." )` when MODULE_HEADER is not defined): each unknown
        name is a warning and contributes nothing.
        """
        t = self.toks[self.i]
        c = t[:1]
        if c == '"':
            v = self.string_value()
            n = self.toks[self.i][:1]
            if (n.isalpha() or n == "_") and self.toks[self.i].upper() not in KNOWN_CONSTANTS:
                rest = self.string_run()  # unknown names between literals
                return v + (rest or "")
            return v
        if (c.isalpha() or c == "_") and self._starts_string_run():
            return self.string_run()
        if c and (c.isdigit() or c in "+-."):
            self.i += 1
            return self.number(t, 0, self.i - 1)
        if c == "'":
            self.i += 1
            v = unescape(t[1:-1]) if "\\" in t else t[1:-1]
            return v
        if c == "$":
            self.i += 1
            return t
        if c.isalpha() or c == "_":
            self.i += 1
            up = t.upper()
            if up in KNOWN_CONSTANTS:
                return KNOWN_CONSTANTS[up]
            self.ctx.warn(
                self.loc(self.i - 1), f"unknown identifier '{t}' used as a value; taken as NULL"
            )
            return None
        self.fail(f"expected a value, found {self.describe(t)}")

    def value(self, depth: int = 0) -> Any:
        """A constant or a `{...}` array of constants (nested at most MAX_VALUE_DEPTH deep)."""
        if self.toks[self.i] == "{":
            if depth >= MAX_VALUE_DEPTH:
                self.fail(f"value nested more than {MAX_VALUE_DEPTH} braces deep")
            self.i += 1
            items = []
            while self.toks[self.i] != "}":
                if self.toks[self.i] == "{":
                    items.append(self.value(depth + 1))  # nested arrays occur only in instances
                else:
                    items.append(self.constant())
                t = self.toks[self.i]
                if t == ",":
                    self.i += 1
                elif t != "}":
                    self.fail(f"expected ',' or '}}' in array, found {self.describe(t)}")
            self.i += 1
            return items
        return self.constant()

    # -- qualifiers --------------------------------------------------------------------------

    def qualifier_list(self) -> Qualifiers:
        toks = self.toks
        if len(toks[self.i]) > 1:
            return self.qualifier_list_token()
        self.i += 1  # '['
        quals = Qualifiers()
        while True:
            at = self.i
            name = self.ident("a qualifier name")
            t = toks[self.i]
            value: Any = True
            if t == "(":
                self.i += 1
                if toks[self.i] == ")":
                    value = None
                else:
                    value = self.constant()
                    if toks[self.i] == ",":  # e.g. MAX(16, x) in old MOFs: keep the first
                        while toks[self.i] not in (")", ""):
                            self.i += 1
                self.expect(")")
                t = toks[self.i]
            elif t == "{":
                value = self.value()
                t = toks[self.i]
            flavors: tuple[str, ...] = ()
            if t == ":":
                self.i += 1
                fl = []
                while toks[self.i].lower() in FLAVORS:
                    fl.append(toks[self.i])
                    self.i += 1
                if not fl:
                    self.fail(f"expected a flavor after ':', found {self.describe(toks[self.i])}")
                flavors = tuple(fl)
                t = toks[self.i]
            key = name.lower()
            if key in quals:
                self.fail(f"qualifier '{name}' given twice", at)
            q = Qualifier(name, value, flavors)
            quals[key] = q
            if t == ",":
                self.i += 1
                continue
            if t == "]":
                self.i += 1
                return quals
            self.fail(f"expected ',' or ']' in qualifier list, found {self.describe(t)}")

    def qualifier_list_token(self) -> Qualifiers:
        """A whole `[...]` list lexed as one token, its parts found by the lexer."""
        tok = self.toks[self.i]
        assert isinstance(tok, QualifierListToken)
        bodies = tok.bodies
        escapes = "\\" in tok
        quals = Qualifiers()
        j = 0  # the first string literal (in bodies) of the current qualifier
        for n, (name, key, kind, text, literals, flavors) in enumerate(tok.quals):
            value: Any
            if kind is STRING:
                value = bodies[j] if literals == 1 else "".join(bodies[j : j + literals])
                if escapes and "\\" in value:
                    value = unescape(value)
            elif kind is FLAG:
                value = True
            elif kind is STRINGS:
                value = bodies[j : j + literals]
                if escapes:
                    value = [unescape(b) if "\\" in b else b for b in value]
            elif kind is SCALAR:
                value = self.scalar_text(text, n, 2)
            else:
                value = self.array_value(text, bodies[j : j + literals], n)
            j += literals
            if flavors:
                self.check_flavors(name, flavors, n)
            if key in quals:
                self.fail(f"qualifier '{name}' given twice", delta=self._part_offset(n, 1))
            quals[key] = Qualifier(name, value, flavors)
        self.i += 1
        return quals

    def check_flavors(self, name: str, flavors: tuple[str, ...], n: int) -> None:
        for f in flavors:
            if f.lower() not in FLAVORS:
                self.fail(
                    f"unknown flavor '{f}' of qualifier {name}", delta=self._part_offset(n, 4)
                )

    def array_value(self, array: str, bodies: list[str], n: int) -> list[Any]:
        """The items of qualifier n's `{...}` (skeleton text, with its literals' bodies)."""
        items: list[Any] = []
        j = 0
        for k, x in enumerate(SKELETON_ITEM_RE.findall(array, 1)):
            if x[0] == '"':
                c = len(x) // 2
                v = "".join(bodies[j : j + c])
                j += c
                items.append(unescape(v) if "\\" in v else v)
            else:
                items.append(self.scalar_text(x, n, 3, k))
        return items

    def _part_offset(self, n: int, group: int, item: int | None = None) -> int:
        """Offset inside the current qualifier-list token of qualifier n's group (or array item)."""
        for k, m in enumerate(qual_part_re().finditer(self.toks[self.i], 1)):
            if k == n:
                if item is None:
                    return m.start(group)
                for j, x in enumerate(array_item_re().finditer(m.group(group), 1)):
                    if j == item:
                        return m.start(group) + x.start()
                return m.start(group)
        return 0

    def scalar_text(self, s: str, n: int, group: int, item: int | None = None) -> Any:
        """A number or name inside a one-token qualifier list (qualifier n, group, array item)."""
        c = s[0]
        if c.isalpha() or c == "_":
            up = s.upper()
            if up in KNOWN_CONSTANTS:
                return KNOWN_CONSTANTS[up]
            self.ctx.warn(
                self.loc(None, self._part_offset(n, group, item)),
                f"unknown identifier '{s}' used as a value; taken as NULL",
            )
            return None
        try:
            return self.number(s)
        except MofError as exc:
            raise MofError(self.loc(None, self._part_offset(n, group, item)), exc.message) from None

    def qualifier_decl(self) -> None:
        at = self.i
        self.i += 1
        name = self.ident("a qualifier name")
        self.expect(":")
        qtype = self.ident("a qualifier type").lower()
        if qtype not in INTRINSIC_TYPES:
            self.fail(f"unknown type '{qtype}' for qualifier {name}")
        array = False
        if self.toks[self.i] == "[":
            array = True
            self.i += 1
            if self.toks[self.i] != "]":
                self.constant()
            self.expect("]")
        default: Any = None
        if self.toks[self.i] == "=":
            self.i += 1
            default = self.value()
        scopes: tuple[str, ...] = ()
        flavors: tuple[str, ...] = ()
        while self.toks[self.i] == ",":
            self.i += 1
            kw = self.ident("'scope' or 'flavor'").lower()
            self.expect("(")
            items = []
            while self.toks[self.i] != ")":
                items.append(self.ident("a scope or flavor name").lower())
                if self.toks[self.i] == ",":
                    self.i += 1
            self.i += 1
            if kw == "scope":
                scopes = tuple(items)
            elif kw == "flavor":
                flavors = tuple(items)
            else:
                self.fail(f"expected 'scope' or 'flavor', found '{kw}'")
        self.expect(";")
        self.ctx.qualifier_decls[name.lower()] = QualifierDecl(
            name, qtype, array, default, scopes, flavors, self.loc(at)
        )

    # -- classes -----------------------------------------------------------------------------

    def class_decl(self, quals: Qualifiers, start: int) -> None:
        self.i += 1  # 'class'
        name_at = self.i
        name = self.ident("a class name")
        superclass = None
        if self.toks[self.i] == ":":
            self.i += 1
            superclass = self.ident("a superclass name")
        self.expect("{", "'{' to open the class body")
        cls = MofClass(name, superclass, self.ctx.namespace, quals, location=self.loc(name_at))
        cls.is_association = quals.has("association")
        cls.is_indication = quals.has("indication")
        toks = self.toks
        while toks[self.i] != "}":
            if toks[self.i] == "":
                self.fail(f"class {name} is not closed: missing '}}'", name_at)
            self.feature(cls)
        self.i += 1
        self.expect(";")
        self.ctx.classes.append(cls)

    def feature(self, cls: MofClass) -> None:
        toks = self.toks
        t = toks[self.i]
        if type(t) is QualifierListToken:  # the usual form, straight to its reader
            fquals = self.qualifier_list_token()
        else:
            fquals = self.qualifier_list() if t[:1] == "[" else Qualifiers()
        ftype = self.ident("a property type")
        ltype = ftype.lower()
        ref_class = None
        if toks[self.i].lower() == "ref":
            self.i += 1
            ref_class = ftype
            ltype = "ref"
        elif ltype not in INTRINSIC_TYPES:
            ltype = ftype  # an embedded object typed by its class name; checked when resolving
        name_at = self.i
        name = self.ident("a property or method name")
        if toks[self.i] == "(":
            self.method(cls, fquals, ltype, name, name_at)
            return
        array = False
        size = None
        if toks[self.i][:1] == "[" and len(toks[self.i]) > 1:
            # `x[NAME]` lexed as a one-qualifier list: the name is the array size.
            array = True
            size = self._bracket_size(name)
        elif toks[self.i] == "[":
            self.i += 1
            array = True
            if toks[self.i] != "]":
                n = self.constant()
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    self.fail(f"array size of {name} must be a non-negative integer")
                size = n
            self.expect("]")
        default = None
        if toks[self.i] == "=":
            self.i += 1
            default = self.value()
        if toks[self.i] == ";":
            self.i += 1
        else:
            self.expect(";")  # reports what stands there instead
        key = name.lower()
        if key in cls.properties or key in cls.methods:
            self.fail(f"duplicate property '{name}' in class {cls.name}", name_at)
        cls.properties[key] = Property(
            name,
            ltype,
            fquals,
            array,
            size,
            ref_class,
            default,
            cls.name,
            TokenLocation(self.stream, name_at),
        )
        cls.local_properties.append(key)

    def _bracket_size(self, name: str) -> int | None:
        inner = self.toks[self.i][1:-1].strip()
        self.i += 1
        v = KNOWN_CONSTANTS.get(inner.upper())
        if not isinstance(v, int) or isinstance(v, bool):
            self.fail(
                f"array size of {name} must be a non-negative integer, got '{inner}'", self.i - 1
            )
        return v

    def method(self, cls: MofClass, quals: Qualifiers, rtype: str, name: str, name_at: int) -> None:
        toks = self.toks
        self.i += 1  # '('
        params: list[Parameter] = []
        seen: set[str] = set()
        while toks[self.i] != ")":
            pquals = self.qualifier_list() if toks[self.i][:1] == "[" else Qualifiers()
            ptype = self.ident("a parameter type")
            lptype = ptype.lower()
            ref_class = None
            if toks[self.i].lower() == "ref":
                self.i += 1
                ref_class = ptype
                lptype = "ref"
            elif lptype not in INTRINSIC_TYPES:
                lptype = ptype
            p_at = self.i
            pname = self.ident("a parameter name")
            array = False
            size = None
            if toks[self.i] == "[":
                self.i += 1
                array = True
                if toks[self.i] != "]":
                    n = self.constant()
                    if isinstance(n, int) and not isinstance(n, bool):
                        size = n
                self.expect("]")
            if toks[self.i] == "=":
                self.i += 1
                self.value()
            if pname.lower() in seen:
                self.fail(f"duplicate parameter '{pname}' in method {name}", p_at)
            seen.add(pname.lower())
            params.append(Parameter(pname, lptype, pquals, array, size, ref_class, self.loc(p_at)))
            if toks[self.i] == ",":
                self.i += 1
            elif toks[self.i] != ")":
                self.fail(
                    f"expected ',' or ')' in parameter list, found {self.describe(toks[self.i])}"
                )
        self.i += 1
        self.expect(";")
        key = name.lower()
        if key in cls.methods or key in cls.properties:
            self.fail(f"duplicate method '{name}' in class {cls.name}", name_at)
        cls.methods[key] = Method(name, rtype, params, quals, cls.name, self.loc(name_at))
        cls.local_methods.append(key)

    # -- instances ---------------------------------------------------------------------------

    def instance_decl(self, quals: Qualifiers, start: int) -> None:
        self.i += 1  # 'instance'
        if self.toks[self.i].lower() != "of":
            self.fail(f"expected 'of' after 'instance', found {self.describe(self.toks[self.i])}")
        self.i += 1
        cname_at = self.i
        cname = self.ident("a class name")
        alias = None
        if self.toks[self.i].lower() == "as":
            self.i += 1
            alias = self.toks[self.i]
            if not alias.startswith("$"):
                self.fail("expected an alias like $name after 'as'")
            self.i += 1
        self.expect("{", "'{' to open the instance body")
        inst = Instance(cname, self.ctx.namespace, {}, alias, quals, self.loc(cname_at))
        while self.toks[self.i] != "}":
            if self.toks[self.i][:1] == "[":
                self.qualifier_list()
            pat = self.i
            pname = self.ident("a property name")
            self.expect("=")
            if self.toks[self.i].lower() == "instance":  # embedded instance value
                self.fail("embedded instance values are not supported", pat)
            inst.values[pname] = self.value()
            self.expect(";")
        self.i += 1
        self.expect(";")
        self.ctx.instances.append(inst)
