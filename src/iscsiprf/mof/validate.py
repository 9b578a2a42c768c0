"""Validation of resolved classes: qualifier declarations and the WMI data-block rules."""

from __future__ import annotations

from .model import (
    INTEGER_TYPES,
    INTRINSIC_TYPES,
    Location,
    Method,
    MofClass,
    Property,
    Qualifier,
    QualifierDecl,
    Qualifiers,
    Schema,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs 7 ms of every start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .compilation import Compilation

_FAR = 1 << 30  # farther than any superclass chain


class Validator:
    """Checks each resolved class: qualifiers against their declarations (scope, type), WMI
    data-block rules (WmiDataId, guid, WmiSizeIs, MaxLen, key) and the types it names."""

    def __init__(
        self,
        comp: Compilation,
        schema: Schema,
        lookup: Callable[[str], MofClass | None],
    ) -> None:
        self.comp = comp
        self.schema = schema
        self.decls = comp.ctx.qualifier_decls
        self.lookup = lookup  # a class by name, the system classes included
        # Quick qualifier checks: scope -> declared key -> the type of value that passes, and
        # the item types an array qualifier's list may hold (see _quick_value_types).
        self._value_types: dict[str, dict[str, type]] = {}
        self._item_types: dict[str, frozenset[type]] = {}
        self._data_id_distances: dict[int, int] = {}  # id(class) -> see _data_id_distance
        self.prepare_quick_checks()

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
        if p.type != "string" and not (p.is_embedded and p.array):
            # wmimofck also takes MaxLen on an array of embedded objects (the WDK's msdsm).
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
