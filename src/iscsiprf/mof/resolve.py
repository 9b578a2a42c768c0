"""Resolution: superclass chains, inherited properties and methods, qualifier propagation.

The WMI system classes that drivers derive from come from iscsiprf's own `wmi_system.mof` when
the compiled files do not define them. Inherited elements carry the qualifiers whose flavor
propagates; overrides are checked (DisableOverride). Then each class goes to the Validator.
"""

from __future__ import annotations

from .errors import MofError
from .model import Location, Method, MofClass, Property, Qualifier, Qualifiers, Schema
from .system import system_classes
from .validate import Validator

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from typing import TypeVar

    from .compilation import Compilation

    _E = TypeVar("_E", Property, Method)

_EMPTY = Qualifiers()  # shared, never mutated

# Limits (docs/mof.md). Real schemas are less than 20 classes deep (the DMTF CIM schema: 10).
MAX_INHERITANCE_DEPTH = 64
# Every class holds all its elements, inherited ones too: a class that declares nothing shares
# its superclass's, any other copies them. The copies are bounded in all, so that a thousand
# subclasses of a class of a thousand properties cannot take the memory (the DMTF CIM schema
# copies 23,537 of them).
MAX_COPIED_ELEMENTS = 1 << 20


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


class Resolver:
    """Superclass chains, inheritance and flavor propagation; then hands the classes to the
    Validator."""

    def __init__(self, comp: Compilation, schema: Schema) -> None:
        self.comp = comp
        self.schema = schema
        self.decls = comp.ctx.qualifier_decls
        self.defined: dict[str, MofClass] = {}
        self.done: set[str] = set()
        self.depth: dict[str, int] = {}  # resolved class -> how many superclasses it has
        self.copied = 0  # inherited elements copied into classes so far (MAX_COPIED_ELEMENTS)
        self._system: dict[str, MofClass] | None = None
        self.order: list[MofClass] = []
        self._passing: dict[int, _PassingOn] = {}  # id(inherited qualifiers) -> what passes
        self._keep: list[Qualifiers] = []
        self._inherit_cache: dict[str, tuple[dict[str, Property], dict[str, Method]]] = {}
        self._flag_cache: dict[tuple[str, tuple[str, ...]], tuple[bool, bool]] = {}

    def system(self) -> dict[str, MofClass]:
        if self._system is None:
            self._system = system_classes()
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
        validator = Validator(self.comp, self.schema, self.lookup)
        for cls in self.order:
            if not cls.builtin:
                validator.validate(cls)
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
        """Resolve `cls`, whose lower-case name is `key`, after its superclasses.

        The chain is walked up without recursion to the first class already resolved, then
        resolved top down: a chain of any length costs no Python stack, and a class deeper than
        MAX_INHERITANCE_DEPTH is an error at that class.
        """
        if key in self.done:
            return
        sup_name = cls.superclass
        if not sup_name or sup_name.lower() in self.done:  # the usual case: superclass first
            self._resolve_one(cls, key)
            return
        chain = [(cls, key)]
        keys = {key}
        c = cls
        while c.superclass:
            sup_key = c.superclass.lower()
            if sup_key in self.done:
                break
            sup = self._lookup_key(sup_key)
            if sup is None:
                break
            if sup_key in keys:
                raise MofError(
                    sup.location or Location("<unknown>", 0, 0),
                    f"class {sup.name} inherits from itself",
                )
            chain.append((sup, sup_key))
            keys.add(sup_key)
            c = sup
        for c, k in reversed(chain):
            self._resolve_one(c, k)

    def _resolve_one(self, cls: MofClass, key: str) -> None:
        """Resolve `cls`, whose superclass (if any) is resolved already."""
        depth = 0
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
                depth = self.depth[sup_key] + 1
                if depth > MAX_INHERITANCE_DEPTH:
                    raise MofError(
                        cls.location or Location("<unknown>", 0, 0),
                        f"class {cls.name} has more than {MAX_INHERITANCE_DEPTH} superclasses "
                        "above it",
                    )
                self.inherit(cls, sup, sup_key)
        self.depth[key] = depth
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
        props, methods = sup.properties, sup.methods  # shared when `sup` declares none
        if sup.local_properties:
            self._copying(sup, len(props))
            props = dict(props)
            for k in sup.local_properties:
                props[k] = self._passed_on_property(props[k])
        if sup.local_methods:
            self._copying(sup, len(methods))
            methods = dict(methods)
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
        # A class without elements of its own shares what it inherits (nothing mutates it).
        cls.properties = self._merged(cls, base_props, local_props)
        cls.methods = self._merged(cls, base_methods, local_methods)
        cls.is_association = cls.is_association or sup.is_association
        cls.is_indication = cls.is_indication or sup.is_indication

    def _merged(self, cls: MofClass, base: dict[str, _E], local: dict[str, _E]) -> dict[str, _E]:
        """The inherited elements, then the local ones; the inherited dict itself when there
        are no local ones (nothing mutates it), else a copy counted against the bound."""
        if not local:
            return base
        self._copying(cls, len(base))
        merged = dict(base)
        merged.update(local)
        return merged

    def _copying(self, cls: MofClass, n: int) -> None:
        self.copied += n
        if self.copied > MAX_COPIED_ELEMENTS:
            raise MofError(
                cls.location or Location("<unknown>", 0, 0),
                f"class {cls.name} takes the inherited properties and methods copied into "
                f"subclasses past {MAX_COPIED_ELEMENTS:,} (too many classes derive from large ones)",
            )

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


def _element_name(cls: MofClass, element: Property | Method | None) -> str:
    if element is None:
        return f"class {cls.name}"
    kind = "property" if isinstance(element, Property) else "method"
    return f"{kind} {cls.name}.{element.name}"
