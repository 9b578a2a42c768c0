"""Compile = parse + resolve + validate MOF files into a `Schema`.

Resolution follows superclass chains (the WMI system classes that drivers derive from come from
iscsiprf's own `wmi_system.mof` when the compiled files do not define them), copies inherited
properties and methods with the qualifiers whose flavor propagates, and checks overrides.
Validation applies the WMI data-block rules (WmiDataId, guid, WmiSizeIs, MaxLen, key).
Every problem is a Diagnostic with file, line and column.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from os import PathLike

from .errors import Diagnostic, MofError
from .model import (
    INTEGER_TYPES,
    INTRINSIC_TYPES,
    Location,
    Method,
    MofClass,
    Parameter,
    Property,
    Qualifier,
    QualifierDecl,
    Qualifiers,
    Schema,
)
from .parser import ParseContext, Parser
from .preprocess import PreprocessorState, read_include, tokenize_file
from .source import decode_mof_bytes, directory_of, read_mof_file

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from typing import Any

_EMPTY = Qualifiers()  # shared, never mutated
SYSTEM_MOF = "wmi_system.mof"
PROJECT_MOF = "iscsiprf.mof"


StrPath = str | PathLike[str]


class CompileResult:
    def __init__(self, schema: Schema, diagnostics: list[Diagnostic] | None = None) -> None:
        self.schema = schema
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def user_classes(self) -> list[MofClass]:
        """The classes the compiled files define (not the system classes pulled in)."""
        return [c for c in self.schema if not c.builtin]


class _Compilation:
    def __init__(self, include_dirs: Sequence[StrPath], strict: bool) -> None:
        self.ctx = ParseContext(strict=strict)
        self.ctx.include = self._include
        self.pp = PreprocessorState(include_dirs=[os.fspath(d) for d in include_dirs])
        self.pp.warn = self._pp_warn
        self.strict = strict
        self.stack: list[str] = []
        self._directories: dict[str, str] = {}

    def _pp_warn(self, d: Diagnostic) -> None:
        if self.strict:
            raise MofError(d.location, d.message)
        self.ctx.diagnostics.append(d)

    def error(self, where: Location | None, message: str) -> None:
        self.ctx.diagnostics.append(
            Diagnostic("error", where or Location("<unknown>", 0, 0), message)
        )

    def warn_or_error(self, where: Location | None, message: str) -> None:
        sev = "error" if self.strict else "warning"
        self.ctx.diagnostics.append(Diagnostic(sev, where or Location("<unknown>", 0, 0), message))

    def parse_file(self, path: str, where: Location | None = None, key: str | None = None) -> None:
        text = read_mof_file(path, where)
        self.parse_text(text, path, key, from_file=True)

    def parse_text(
        self, text: str, path: str, key: str | None = None, from_file: bool = False
    ) -> None:
        self.stack.append(key or os.path.abspath(path))
        try:
            stream = tokenize_file(path, text, self.pp, tuple(self.stack), from_file)
            Parser(stream, self.ctx).parse()
        finally:
            self.stack.pop()

    def _include(self, name: str, where: Location, from_path: str) -> None:
        got = read_include(name, self._directory(from_path), self.pp.include_dirs, where)
        if got is None:
            raise MofError(where, f"include file {name} not found")
        found, text = got
        key = os.path.abspath(found)  # normalized too
        if key in self.stack:
            raise MofError(where, f"recursive include of {name}")
        if len(self.stack) > 64:
            raise MofError(where, "includes nested more than 64 deep")
        self.parse_text(text, found, key, from_file=True)

    def _directory(self, path: str) -> str:
        # A schema's master file includes every other file: look its directory up once.
        got = self._directories.get(path)
        if got is None:
            got = self._directories[path] = directory_of(path)
        return got


def compile_files(
    paths: Iterable[StrPath],
    include_dirs: Sequence[StrPath] = (),
    strict: bool = False,
) -> CompileResult:
    """Compile MOF files (in order, sharing pragmas and qualifier declarations)."""
    comp = _Compilation(include_dirs, strict)
    with _no_gc():
        for p in paths:
            path = os.fspath(p)
            try:
                comp.parse_file(path)
            except MofError as exc:
                comp.ctx.diagnostics.append(exc.diagnostic)
        return _finish(comp)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Compiling creates many long-lived objects and no cycles worth collecting; the cyclic
    collector would walk them again and again (about 5% of a CIM-schema compile)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            # Everything allocated meanwhile sits in the youngest generation, which the next
            # collection would walk whole (another 3%). Move it to the oldest one instead:
            # freeze + unfreeze does that without a collection, and nothing stays frozen.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def compile_text(
    text: str | bytes,
    path: str = "<string>",
    include_dirs: Sequence[StrPath] = (),
    strict: bool = False,
) -> CompileResult:
    """Compile MOF given as text (or undecoded bytes); `path` names it in diagnostics."""
    comp = _Compilation(include_dirs, strict)
    try:
        if isinstance(text, bytes):
            text = decode_mof_bytes(text, path)
        comp.parse_text(text, path)
    except MofError as exc:
        comp.ctx.diagnostics.append(exc.diagnostic)
    return _finish(comp)


def _finish(comp: _Compilation) -> CompileResult:
    schema = Schema(qualifier_decls=dict(comp.ctx.qualifier_decls))
    try:
        _Resolver(comp, schema).run()
    except MofError as exc:
        comp.ctx.diagnostics.append(exc.diagnostic)
    # Report in source order (resolution finds problems class by class, not line by line).
    order = {
        path: i
        for i, path in enumerate(dict.fromkeys(d.location.path for d in comp.ctx.diagnostics))
    }
    diags = sorted(
        comp.ctx.diagnostics,
        key=lambda d: (order[d.location.path], d.location.line, d.location.col),
    )
    return CompileResult(schema, diags)


@lru_cache(maxsize=1)
def _system_mof_text() -> str:
    return _package_data(SYSTEM_MOF)


def _package_data(name: str) -> str:
    # Imported here: importlib.resources costs more start-up than most compiles need it
    # (the DMTF schema never reads the package's own MOF).
    from importlib import resources

    return resources.files("iscsiprf.data").joinpath(name).read_text(encoding="utf-8")


def _system_classes() -> dict[str, MofClass]:
    """Fresh (mutable) copies of the WMI system classes iscsiprf supplies."""
    ctx = ParseContext()
    from .lexer import Segment, TokenStream, lex_region
    from .source import LineIndex

    text = _system_mof_text()
    stream = TokenStream(SYSTEM_MOF)
    stream.add_segment(
        Segment(SYSTEM_MOF, LineIndex(text), 0, len(text)), lex_region(text, 0, len(text))
    )
    Parser(stream, ctx).parse()
    for c in ctx.classes:
        c.builtin = True
    return {c.name.lower(): c for c in ctx.classes}


_FAR = 1 << 30  # farther than any superclass chain


class _PassingOn:
    """What an element's qualifiers pass on to the same element in subclasses."""

    __slots__ = ("copies", "locked", "alone")

    def __init__(
        self, copies: Qualifiers, locked: list[tuple[str, Qualifier]], alone: Qualifiers
    ) -> None:
        self.copies = copies  # key -> propagated form of each qualifier that passes, in order
        self.locked = locked  # (key, qualifier) of those with DisableOverride
        # The qualifiers of an element not overridden: one shared propagated copy, or the
        # inherited dict itself when it passes on unchanged (further down the hierarchy).
        # Propagated forms are shared: nothing mutates a propagated qualifier.
        self.alone = alone


class _Resolver:
    def __init__(self, comp: _Compilation, schema: Schema) -> None:
        self.comp = comp
        self.schema = schema
        self.decls = comp.ctx.qualifier_decls
        self.defined: dict[str, MofClass] = {}
        self.done: set[str] = set()
        self.in_progress: set[str] = set()
        self._system: dict[str, MofClass] | None = None
        self.order: list[MofClass] = []
        self._passing: dict[int, _PassingOn] = {}  # id(inherited qualifiers) -> what passes
        self._keep: list[Qualifiers] = []
        self._inherit_cache: dict[str, tuple[dict[str, Property], dict[str, Method]]] = {}
        # Quick qualifier checks: scope -> declared key -> the type of value that passes, and
        # the item types an array qualifier's list may hold (see _quick_value_types).
        self._value_types: dict[str, dict[str, type]] = {}
        self._item_types: dict[str, frozenset[type]] = {}
        self._flag_cache: dict[tuple[str, tuple[str, ...]], tuple[bool, bool]] = {}
        self._data_id_distances: dict[int, int] = {}  # id(class) -> see _data_id_distance

    def system(self) -> dict[str, MofClass]:
        if self._system is None:
            self._system = _system_classes()
        return self._system

    def run(self) -> None:
        deleted = {n.lower() for n, _ in self.comp.ctx.deleted_classes}
        for cls in self.comp.ctx.classes:
            key = cls.name.lower()
            if key in self.defined:
                # mofcomp treats a second definition as an update of the class: the later one
                # wins (the WDK's preprocessed iscsihba.mof relies on it).
                self.comp.warn_or_error(
                    cls.location,
                    f"class {cls.name} is defined again (first at {self.defined[key].location}); "
                    "the later definition replaces it",
                )
            self.defined[key] = cls
        for key, cls in list(self.defined.items()):
            self.resolve(cls, key)
        # self.order lists classes as resolved; keep file order of the surviving definitions.
        for cls in self.order:
            if deleted and cls.name.lower() in deleted:
                continue
            self.schema.add_class(cls)
        self.prepare_quick_checks()
        for cls in self.order:
            if not cls.builtin:
                self.validate(cls)
        for inst in self.comp.ctx.instances:
            if self.schema.get(inst.class_name) is None:
                self.comp.warn_or_error(
                    inst.location, f"instance of unknown class {inst.class_name}"
                )
        self.schema.instances.extend(self.comp.ctx.instances)

    def lookup(self, name: str) -> MofClass | None:
        return self._lookup_key(name.lower())

    def _lookup_key(self, key: str) -> MofClass | None:
        c = self.defined.get(key)
        if c is None:
            c = self.system().get(key)
            if c is not None:
                self.defined[key] = c
        return c

    def resolve(self, cls: MofClass, key: str) -> None:
        """Resolve `cls`, whose lower-case name is `key`, after its superclasses."""
        if key in self.done:
            return
        if key in self.in_progress:
            raise MofError(
                cls.location or Location("<unknown>", 0, 0),
                f"class {cls.name} inherits from itself",
            )
        self.in_progress.add(key)
        sup = None
        if cls.superclass:
            sup_key = cls.superclass.lower()
            sup = self._lookup_key(sup_key)
            if sup is None:
                self.comp.warn_or_error(
                    cls.location,
                    f"superclass {cls.superclass} of {cls.name} is defined nowhere in the compiled "
                    "files (mofcomp would look it up in the repository)",
                )
            else:
                self.resolve(sup, sup_key)
                self.inherit(cls, sup, sup_key)
        self.in_progress.discard(key)
        self.done.add(key)
        self.order.append(cls)

    # -- inheritance ------------------------------------------------------------------------

    def _flags(self, q: Qualifier) -> tuple[bool, bool]:
        """(propagates to subclasses, override disabled) for a qualifier, cached by name (as
        written: saves lowering it on every look-up) and flavors."""
        key = (q.name, q.flavors)
        got = self._flag_cache.get(key)
        if got is not None:
            return got
        fl = {f.lower() for f in q.flavors}
        decl = self.decls.get(q.name.lower())
        if "restricted" in fl or "nottosubclass" in fl:
            prop = False
        elif "tosubclass" in fl:
            prop = True
        elif decl is not None:
            prop = not (decl.flavor("restricted") or decl.flavor("nottosubclass"))
        else:
            # WMI: a qualifier that nobody declared stays with its element unless told otherwise.
            prop = False
        if "disableoverride" in fl:
            dis = True
        elif "enableoverride" in fl:
            dis = False
        else:
            dis = decl is not None and decl.flavor("disableoverride")
        self._flag_cache[key] = (prop, dis)
        return prop, dis

    def merge_qualifiers(
        self,
        inherited: Qualifiers,
        local: Qualifiers,
        cls: MofClass,
        element: Property | Method | None = None,
    ) -> Qualifiers:
        """The qualifiers of `element` of `cls` (or of `cls` itself) in a subclass: those
        inherited that pass on and are not written here again, then the local ones."""
        if not inherited:
            return local
        passing = self._passing_on(inherited)
        copies = passing.copies
        if not copies:
            return local
        if not local:
            return passing.alone
        for k, q in passing.locked:
            lq = local.get(k)
            if lq is not None and lq.value != q.value:
                where = cls.location if element is None else element.location
                self.comp.error(
                    where,
                    f"qualifier {q.name} of {_element_name(cls, element)} cannot be overridden "
                    "(DisableOverride)",
                )
        overridden = copies.keys() & local.keys()
        if len(overridden) == len(copies):
            return local
        out = Qualifiers(copies)  # inherited ones first, in the superclass's order,
        for k in overridden:
            del out[k]  # except those written here again: they follow in local order
        out.update(local)
        return out

    def _passing_on(self, inherited: Qualifiers) -> _PassingOn:
        got = self._passing.get(id(inherited))
        if got is None:
            got = self._passing[id(inherited)] = self._find_passing(inherited)
            self._keep.append(inherited)  # keeps id() unique while cached
        return got

    def _find_passing(self, inherited: Qualifiers) -> _PassingOn:
        flag_cache = self._flag_cache
        copies = Qualifiers()
        locked = []
        unchanged = True
        for k, q in inherited.items():
            prop, dis = flag_cache.get((q.name, q.flavors)) or self._flags(q)
            if not prop:
                unchanged = False
                continue
            if q.propagated:
                copies[k] = q
            else:
                copies[k] = Qualifier(q.name, q.value, q.flavors, True)
                unchanged = False
            if dis:
                locked.append((k, q))
        return _PassingOn(copies, locked, inherited if unchanged else copies)

    def _inheritable(
        self, sup: MofClass, key: str
    ) -> tuple[dict[str, Property], dict[str, Method]]:
        """What every subclass of `sup` inherits before overrides (computed once per class).

        Only the elements `sup` declares need work: those it inherited are already in their
        propagated form, which passes on unchanged (the same object) to the next level.
        """
        got = self._inherit_cache.get(key)
        if got is not None:
            return got
        props = dict(sup.properties)
        for k in sup.local_properties:
            props[k] = self._passed_on_property(props[k])
        methods = dict(sup.methods)
        for k in sup.local_methods:
            methods[k] = self._passed_on_method(methods[k])
        got = self._inherit_cache[key] = (props, methods)
        return got

    def _passed_on(self, inherited: Qualifiers) -> Qualifiers:
        """The qualifiers of an inherited element that the subclass does not override."""
        if not inherited:
            return _EMPTY
        passing = self._passing_on(inherited)
        return passing.alone if passing.copies else _EMPTY

    def _passed_on_property(self, sp: Property) -> Property:
        quals = self._passed_on(sp.qualifiers)
        if quals is sp.qualifiers:
            return sp  # unchanged declaration: shared by the whole hierarchy
        return Property(
            sp.name, sp.type, quals, sp.array, sp.array_size, sp.ref_class,
            sp.default, sp.class_origin, sp.location,
        )  # fmt: skip

    def _passed_on_method(self, sm: Method) -> Method:
        quals = self._passed_on(sm.qualifiers)
        if quals is sm.qualifiers:
            return sm
        return Method(sm.name, sm.return_type, sm.parameters, quals, sm.class_origin, sm.location)

    def inherit(self, cls: MofClass, sup: MofClass, sup_key: str) -> None:
        cls.qualifiers = self.merge_qualifiers(sup.qualifiers, cls.qualifiers, cls)
        base_props, base_methods = self._inheritable(sup, sup_key)
        local_props, local_methods = cls.properties, cls.methods
        if not local_props.keys().isdisjoint(sup.properties.keys()):
            self.override(cls, local_props, sup.properties)
        if not local_methods.keys().isdisjoint(sup.methods.keys()):
            self.override(cls, local_methods, sup.methods)
        # Inherited first, in the superclass's order; an override keeps the inherited position.
        cls.properties = props = dict(base_props)
        props.update(local_props)
        cls.methods = methods = dict(base_methods)
        methods.update(local_methods)
        cls.is_association = cls.is_association or sup.is_association
        cls.is_indication = cls.is_indication or sup.is_indication

    def override(
        self,
        cls: MofClass,
        local: dict[str, Property] | dict[str, Method],
        inherited: dict[str, Property] | dict[str, Method],
    ) -> None:
        """Merge the qualifiers of the local elements that override inherited ones."""
        for k, el in local.items():
            base = inherited.get(k)
            if base is not None:
                el.qualifiers = self.merge_qualifiers(base.qualifiers, el.qualifiers, cls, el)
                el.class_origin = base.class_origin

    # -- validation -------------------------------------------------------------------------

    def suspect_qualifiers(
        self, quals: Qualifiers, scope: str
    ) -> list[tuple[str, Qualifier]] | None:
        """(key, qualifier) of those written on this element whose scope or value needs the
        detailed check, None if none does: the common cases (right scope, value of the
        declared type) pass here."""
        value_types = self._value_types[scope]
        suspects = None
        for key, q in quals.items():  # keys are the lower-case names
            if q.propagated:
                continue  # checked where it was written
            expected = value_types.get(key)
            if expected is None:
                continue  # undeclared: a WMI qualifier, nothing to check
            v = q.value
            vtype = type(v)
            if vtype is expected and (
                expected is not list or self._item_types[key].issuperset(map(type, v))
            ):
                continue
            if suspects is None:
                suspects = []
            suspects.append((key, q))
        return suspects

    def prepare_quick_checks(self) -> None:
        """Build the quick-check table of every scope validation uses (the decls are final)."""
        for scope in ("class", "property", "reference", "method", "parameter"):
            self._value_types[scope] = self._quick_value_types(scope)

    def _quick_value_types(self, scope: str) -> dict[str, type]:
        """Declared qualifier key -> the type of value that passes the quick check in `scope`
        (`_NoValue` when the scope is wrong), from this compile's decls."""
        value_types: dict[str, type] = {}
        for key, decl in self.decls.items():
            if decl.scopes and "any" not in decl.scopes and scope not in decl.scopes:
                value_types[key] = _NoValue
            elif decl.array:
                value_types[key] = list
                self._item_types[key] = frozenset({_PYTYPES.get(decl.type, object)})
            else:
                value_types[key] = _PYTYPES.get(decl.type, object)
        return value_types

    def check_suspects(
        self,
        suspects: list[tuple[str, Qualifier]],
        scope: str,
        where: Location | None,
        what: str,
        cls: MofClass,
    ) -> None:
        for key, q in suspects:
            self.check_against_decl(q, self.decls[key], scope, where, what, cls)

    def check_against_decl(
        self,
        q: Qualifier,
        decl: QualifierDecl,
        scope: str,
        where: Location | None,
        what: str,
        cls: MofClass,
    ) -> None:
        scopes = set(decl.scopes)
        if scopes and "any" not in scopes:
            ok = scope in scopes
            if scope == "class" and (
                (cls.is_association and "association" in scopes)
                or (cls.is_indication and "indication" in scopes)
            ):
                ok = True
            if scope == "property" and "reference" in scopes and what.endswith("(ref)"):
                ok = True
            if not ok:
                self.comp.error(
                    where,
                    f"qualifier {q.name} is not allowed on a {scope} ({what}); its scope is {', '.join(decl.scopes)}",
                )
                return
        v = q.value
        if v is True and decl.type != "boolean":
            # A valueless qualifier takes the declaration's default.
            q.value = decl.default
            return
        if v is None:
            return
        if decl.array:
            if not isinstance(v, list):
                q.value = v = [v]
            values: list[Any] = v
        else:
            if isinstance(v, list):
                self.comp.error(where, f"qualifier {q.name} takes one value, not an array ({what})")
                return
            values = [v]
        for item in values:
            if item is None:
                continue
            if not _value_fits(item, decl.type):
                self.comp.error(
                    where, f"qualifier {q.name} of {what} must be {decl.type}, got {item!r}"
                )
                return

    def validate(self, cls: MofClass) -> None:
        suspects = self.suspect_qualifiers(cls.qualifiers, "class")
        if suspects:
            self.check_suspects(suspects, "class", cls.location, f"class {cls.name}", cls)
        g = cls.qualifiers.get("guid")
        if g is not None and (not isinstance(g.value, str) or cls.guid is None):
            self.comp.error(
                cls.location,
                f"malformed guid {g.value!r} on class {cls.name}; expected {{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}}",
            )
        props = cls.properties
        for k in cls.local_properties:
            self.validate_property(cls, props[k])
        if self._has_data_ids(cls):
            self.check_data_ids(cls)
        methods = cls.methods
        for k in cls.local_methods:
            self.validate_method(cls, methods[k])

    def check_data_ids(self, cls: MofClass) -> None:
        ids: dict[int, Property] = {}
        for p in cls.properties.values():
            dq = p.qualifiers.get("wmidataid")
            if dq is None:
                continue
            v = dq.value
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                self.comp.error(
                    p.location,
                    f"WmiDataId of {cls.name}.{p.name} must be a positive integer, got {v!r}",
                )
                continue
            if v in ids:
                self.comp.error(
                    p.location,
                    f"WmiDataId({v}) of {cls.name}.{p.name} is already used by {ids[v].name}",
                )
                continue
            ids[v] = p
        if ids:
            expected = list(range(1, len(ids) + 1))
            got = sorted(ids)
            if got != expected:
                missing = sorted(set(range(1, max(got) + 1)) - set(got))
                breaks = next((k for k, v in enumerate(got) if v != k + 1), len(got) - 1)
                first = ids[got[breaks]]
                where = first.location or cls.location
                if got[0] != 1:
                    msg = f"WmiDataId of class {cls.name} must start at 1 (lowest is {got[0]})"
                else:
                    msg = f"WmiDataId of class {cls.name} is not contiguous: missing {', '.join(map(str, missing))}"
                self.comp.error(where, msg)

    def validate_method(self, cls: MofClass, m: Method) -> None:
        suspects = self.suspect_qualifiers(m.qualifiers, "method")
        if suspects:
            what = f"method {cls.name}.{m.name}"
            self.check_suspects(suspects, "method", m.location, what, cls)
        for prm in m.parameters:
            if prm.type not in INTRINSIC_TYPES:  # a ref or an embedded object: check the class
                prm.type = self.check_type(
                    prm.type,
                    prm.ref_class,
                    prm.location,
                    f"parameter {prm.name} of {cls.name}.{m.name}",
                )
            suspects = self.suspect_qualifiers(prm.qualifiers, "parameter")
            if suspects:
                what = f"parameter {prm.name}"
                self.check_suspects(suspects, "parameter", prm.location, what, cls)

    def _has_data_ids(self, cls: MofClass) -> bool:
        """Does the class or one of its 64 nearest ancestors declare WmiDataIds? (Most CIM
        classes do not.)"""
        return self._data_id_distance(cls) < 64

    def _data_id_distance(self, cls: MofClass) -> int:
        """Superclass steps from `cls` up to the nearest class whose own properties have a
        WmiDataId: 0 for `cls` itself, _FAR when there is none. Remembered per class, so a class
        validated after its superclass costs one step (chains have no cycles: resolve rejects
        them)."""
        got = self._data_id_distances.get(id(cls))
        if got is None:
            if _declares_data_ids(cls):
                got = 0
            else:
                sup = self.schema.get(cls.superclass) if cls.superclass else None
                got = _FAR if sup is None else self._data_id_distance(sup) + 1
            self._data_id_distances[id(cls)] = got
        return got

    def check_type(
        self, ptype: str, ref_class: str | None, where: Location | None, what: str
    ) -> str:
        """Check a declared type; returns the type to use."""
        if ptype == "ref":
            if ref_class and self.lookup(ref_class) is None:
                self.comp.warn_or_error(
                    where, f"{what} refers to class {ref_class}, which is defined nowhere"
                )
        elif ptype not in INTRINSIC_TYPES and self.lookup(ptype) is None:
            skipped = self.comp.pp.skipped_headers
            if skipped:
                # WDK MOFs take enum/flag types from C headers under MOFCOMP_PASS; those
                # headers are not here, and such types are ULONG-sized enums.
                self.comp.warn_or_error(
                    where,
                    f"unknown type '{ptype}' for {what}: not a class, probably a macro of the "
                    f"skipped C header {', '.join(dict.fromkeys(skipped))}; taken as uint32",
                )
                return "uint32"
            self.comp.error(
                where, f"unknown type '{ptype}' for {what}: neither a CIM type nor a class"
            )
        return ptype

    def validate_property(self, cls: MofClass, p: Property) -> None:
        # The names for messages are built only when there is something to report.
        if p.type not in INTRINSIC_TYPES:  # a ref or an embedded object: check the class
            p.type = self.check_type(
                p.type, p.ref_class, p.location, f"property {cls.name}.{p.name}"
            )
        scope = "reference" if p.type == "ref" else "property"
        suspects = self.suspect_qualifiers(p.qualifiers, scope)
        if suspects:
            what = f"{cls.name}.{p.name}" + (" (ref)" if p.type == "ref" else "")
            self.check_suspects(suspects, scope, p.location, what, cls)
        if not _PROPERTY_RULE_QUALIFIERS.isdisjoint(p.qualifiers):
            self.check_property_rules(cls, p)

    def check_property_rules(self, cls: MofClass, p: Property) -> None:
        """Key, MaxLen, WmiSizeIs and CounterType constraints."""
        q = p.qualifiers
        if p.array and q.has("key"):
            self.comp.error(p.location, f"key property {cls.name}.{p.name} cannot be an array")
        ml = q.get("maxlen")
        if ml is not None and ml.value is not None:
            self.check_max_len(cls, p, ml.value)
        si = q.get("wmisizeis")
        if si is not None:
            self.check_size_is(cls, p, si.value)
        ct = q.get("countertype")
        if (
            ct is not None
            and ct.value is not None
            and (not isinstance(ct.value, int) or isinstance(ct.value, bool))
        ):
            self.comp.error(
                p.location,
                f"CounterType of {cls.name}.{p.name} must be a number or a PERF_* name, "
                f"got {ct.value!r}",
            )

    def check_max_len(self, cls: MofClass, p: Property, max_len: Any) -> None:
        what = f"{cls.name}.{p.name}"
        if p.type != "string":
            self.comp.error(p.location, f"MaxLen applies to strings, but {what} is {p.type}")
        elif not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 0:
            self.comp.error(p.location, f"MaxLen of {what} must be a non-negative integer")

    def check_size_is(self, cls: MofClass, p: Property, size_is: Any) -> None:
        target = cls.properties.get(size_is.lower()) if isinstance(size_is, str) else None
        if target is None or target.type not in INTEGER_TYPES or target.array:
            self.comp.error(
                p.location,
                f"WmiSizeIs({size_is!r}) of {cls.name}.{p.name} names no integer property of "
                f"class {cls.name}",
            )


# The qualifiers check_property_rules looks at: most properties have none of them.
_PROPERTY_RULE_QUALIFIERS = frozenset({"key", "maxlen", "wmisizeis", "countertype"})

_PYTYPES: dict[str, type] = {
    "boolean": bool,
    "string": str,
    "datetime": str,
    "char16": str,
    **{t: int for t in INTEGER_TYPES},
    "real32": float,
    "real64": float,
}


def _element_name(cls: MofClass, element: Property | Method | None) -> str:
    if element is None:
        return f"class {cls.name}"
    kind = "property" if isinstance(element, Property) else "method"
    return f"{kind} {cls.name}.{element.name}"


def _declares_data_ids(cls: MofClass) -> bool:
    """Does one of the class's own properties have a WmiDataId?"""
    props = cls.properties
    for k in cls.local_properties:
        p = props.get(k)
        if p is not None and "wmidataid" in p.qualifiers:
            return True
    return False


class _NoValue:
    """The type no qualifier value has: a qualifier in the wrong scope never passes quickly."""


def _value_fits(v: Any, qtype: str) -> bool:
    if qtype == "boolean":
        return isinstance(v, bool)
    if qtype in INTEGER_TYPES:
        return isinstance(v, int) and not isinstance(v, bool)
    if qtype in ("real32", "real64"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if qtype in ("string", "datetime", "char16"):
        return isinstance(v, str)
    return True


@lru_cache(maxsize=1)
def load_builtin_schema() -> Schema:
    """The project's own classes (MSiSCSI_MMIPSECStats, MSiSCSI_QMIPSECStats, their bases),
    compiled by this compiler from the `.mof` shipped inside the package."""
    text = _package_data(PROJECT_MOF)
    result = compile_text(text, path=f"iscsiprf/data/{PROJECT_MOF}", strict=True)
    if result.errors:
        raise MofError(result.errors[0].location, result.errors[0].message)
    return result.schema


__all__ = [
    "CompileResult",
    "Parameter",
    "compile_files",
    "compile_text",
    "load_builtin_schema",
]
