"""Compiled MOF -> the BMF payload mofcomp writes (byte for byte), then the container.

Layout facts, checked against mofcomp's output in the corpus (docs/bmf.md has the full map):
top-level objects pad every name, value and record to 4 bytes and write booleans as 4 bytes;
the __PARAMETERS objects inside a method's value are written without any padding. mofcomp adds
CIMTYPE (flavor ToInstance|ToSubclass) to every property and parameter, MAX for a fixed array
size, and ID (flavor ToInstance|DisableOverride) to parameters, numbered in declaration order.
The flavor table lists every qualifier whose flavor is not 0 by payload offset.
"""

from __future__ import annotations

import bisect
import re
import struct
from functools import partial

from .bmf_compress import compress
from .bmf_container import HEADER, SIGNATURE
from .bmf_objects import (
    CIM_REFERENCE,
    FLAVOR_AMENDED,
    FLAVOR_DISABLE_OVERRIDE,
    FLAVOR_MAGIC,
    FLAVOR_TO_INSTANCE,
    FLAVOR_TO_SUBCLASS,
    OBJ_CLASS,
    OBJ_INSTANCE,
    TYPE_VT,
    VT_ARRAY,
    VT_BOOL,
    VT_BSTR,
    VT_I4,
    VT_I8,
    VT_R8,
    VT_UNKNOWN,
)
from .compiler import CompileResult, compile_files
from .errors import Diagnostic, MofError
from .model import (
    Instance,
    Location,
    Method,
    MofClass,
    Parameter,
    Property,
    Qualifier,
    Qualifiers,
    Schema,
)
from .source import read_mof_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

_U32 = struct.Struct("<I")
_HDR2 = struct.Struct("<2I")
_NONE = 0xFFFFFFFF
_FLAVOR_BITS = {
    "toinstance": FLAVOR_TO_INSTANCE,
    "tosubclass": FLAVOR_TO_SUBCLASS,
    "disableoverride": FLAVOR_DISABLE_OVERRIDE,
    "amended": FLAVOR_AMENDED,
}
CIMTYPE_FLAVOR = FLAVOR_TO_INSTANCE | FLAVOR_TO_SUBCLASS
ID_FLAVOR = FLAVOR_TO_INSTANCE | FLAVOR_DISABLE_OVERRIDE


# The compiler's checks that are wmimofck's (data-block) rules rather than MOF's own.
_WMIMOFCK_RULE = re.compile(
    r"WmiDataId|WmiMethodId|WmiSizeIs|MaxLen|guid|InstanceName|Active|data block|data item"
)


class EncodeError(Exception):
    """Something the compiled MOF holds that a BMF cannot (a value of no BMF type)."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.location = location


def _pad(b: bytes, pad: bool) -> bytes:
    return b + b"\0" * (-len(b) % 4) if pad else b


def _name(s: str, pad: bool) -> bytes:
    return _pad(s.encode("utf-16-le", "surrogatepass") + b"\0\0", pad)


def _flavor_bits(q: Qualifier) -> int:
    bits = 0
    for f in q.flavors:
        bits |= _FLAVOR_BITS.get(f.lower(), 0)
    return bits


def _value_vt(v: Any) -> int:
    if isinstance(v, bool):
        return VT_BOOL
    if isinstance(v, int):
        return VT_I4 if -(2**31) <= v < 2**31 else VT_I8
    if isinstance(v, float):
        return VT_R8
    if isinstance(v, str):
        return VT_BSTR
    if isinstance(v, list):
        inner = [_value_vt(x) for x in v] or [VT_BSTR]
        return VT_ARRAY | (VT_I8 if VT_I8 in inner else inner[0])
    raise EncodeError(f"a value of type {type(v).__name__} has no BMF form")


def _scalar(vt: int, v: Any) -> bytes:
    if vt in (VT_BSTR, 101, CIM_REFERENCE):
        return _name(str(v), False)
    if vt == VT_BOOL:
        return b"\xff\xff" if v else b"\0\0"
    fmt = {2: "<h", 3: "<i", 4: "<f", 5: "<d", 16: "<b", 17: "<B", 18: "<H", 19: "<I",
           20: "<q", 21: "<Q", 103: "<H"}.get(vt)  # fmt: skip
    if fmt is None:
        raise EncodeError(f"no BMF form for a value of type {vt:#x}")
    if vt == 103 and isinstance(v, str):
        v = ord(v[:1] or "\0")
    try:
        if fmt[-1] in "fd":
            v = float(v)
        elif isinstance(v, float):
            v = int(v)
        return struct.pack(fmt, v)
    except (struct.error, TypeError, ValueError, OverflowError):
        raise EncodeError(f"value {v!r} does not fit a {_VT_NAMES.get(vt, hex(vt))}") from None


_VT_NAMES = {vt: name for name, vt in TYPE_VT.items()}


# A qualifier to write: name, VT, value, flavor.
QualSpec = tuple[str, int, "Any", int]


class _Out:
    """The payload, written front to back: a record's length is patched in when it closes."""

    def __init__(self) -> None:
        self.b = bytearray()
        self.flavors: list[tuple[int, int]] = []
        # Inside an unpadded __PARAMETERS object, mofcomp pads everything after the first
        # array value it writes (066's SetLogControlPolicy): `armed` waits for that array.
        self.armed = False
        self.forced = False

    def open(self) -> int:
        at = len(self.b)
        self.b += b"\0\0\0\0"
        return at

    def close(self, at: int) -> None:
        _U32.pack_into(self.b, at, len(self.b) - at)

    def u32s(self, *values: int) -> None:
        self.b += struct.pack(f"<{len(values)}I", *values)

    def value(self, vt: int, v: Any, pad: bool) -> None:
        pad = pad or self.forced
        if not vt & VT_ARRAY:
            self.b += _pad(_scalar(vt, v), pad)
            return
        items = b"".join(_scalar(vt & ~VT_ARRAY, x) for x in v)
        if vt & ~VT_ARRAY == VT_BSTR:
            # mofcomp pads the last string (with its NUL) to a multiple of 4 bytes, in padded
            # and unpadded objects alike; the strings before it stay packed (all 28 string
            # arrays of the corpus, in 066 and 081, follow this; no offset rule fits them).
            if v:
                items += b"\0" * (-len(_scalar(VT_BSTR, v[-1])) % 4)
        else:
            items = _pad(items, pad)
        # Padding, when there is any, counts in the array's own lengths.
        self.u32s(16 + len(items), 1, len(v), 4 + len(items))
        self.b += items
        if self.armed:
            self.forced = True

    def qualifier(self, spec: QualSpec, pad: bool) -> None:
        pad = pad or self.forced
        name, vt, value, flavor = spec
        at = self.open()
        nb = _name(name, pad)
        self.u32s(vt, 0, len(nb))
        self.b += nb
        self.value(vt, value, pad)
        self.close(at)
        if flavor:
            self.flavors.append((at, flavor))

    def qualifier_set(self, specs: list[QualSpec], pad: bool) -> None:
        at = self.open()
        self.u32s(len(specs))
        for spec in specs:
            self.qualifier(spec, pad)
        self.close(at)

    def record(
        self,
        vt: int,
        name: str,
        write_value: Callable[[], None] | None,
        quals: list[QualSpec] | None,
        pad: bool,
    ) -> None:
        """A property or method: header, name, value, qualifier set."""
        pad = pad or self.forced
        at = self.open()
        self.u32s(vt, 0)
        sizes = len(self.b)
        self.u32s(0, 0)
        start = len(self.b)
        self.b += _name(name, pad)
        name_len = len(self.b) - start
        if write_value is not None:
            write_value()
        _HDR2.pack_into(
            self.b, sizes, name_len if write_value is not None else _NONE, len(self.b) - start
        )
        if quals is not None:
            self.qualifier_set(quals, pad)
        self.close(at)

    def system(self, name: str, value: str | int, pad: bool) -> None:
        pad = pad or self.forced
        at = self.open()
        nb = _name(name, pad)
        if isinstance(value, int):
            vt, vb = VT_I4, struct.pack("<i", value)
        else:
            vt, vb = VT_BSTR, _name(value, False)
        self.u32s(vt, 0, len(nb), _NONE)
        self.b += nb + vb
        if pad:
            self.b += b"\0" * (-(len(self.b) - at) % 4)
        self.close(at)

    def object(
        self,
        kind: int,
        quals: list[QualSpec] | None,
        props: Sequence[Callable[[], None]],
        system: list[tuple[str, str | int]],
        methods: Sequence[Callable[[], None]],
        nested: bool,
        pad: bool,
    ) -> None:
        at = self.open()
        self.u32s(_NONE if nested else 0)
        sizes = len(self.b)
        self.u32s(0, 0, kind)
        data = len(self.b)
        if quals is not None:
            self.qualifier_set(quals, pad)
        qlen = len(self.b) - data
        pset = self.open()
        self.u32s(len(props) + len(system))
        for write in props:
            write()
        for name, value in system:
            self.system(name, value, pad)
        self.close(pset)
        _HDR2.pack_into(self.b, sizes, qlen, len(self.b) - data)
        mset = self.open()
        self.u32s(len(methods))
        for write in methods:
            write()
        self.close(mset)
        self.close(at)


def _user_qualifiers(q: Qualifiers) -> list[QualSpec]:
    return [
        (x.name, _value_vt(x.value), x.value, _flavor_bits(x))
        for x in q.values()
        if not x.propagated
    ]


_CLASSFLAG_BITS = {"updateonly": 0x1, "createonly": 0x2, "safeupdate": 0x20, "forceupdate": 0x40}


class _Spelling:
    """What the model does not keep and mofcomp writes: how the source spelled each
    property's type (`String` stays `String` in CIMTYPE), and the `#pragma namespace` string
    and `#pragma classflags` in force at each line."""

    _PRAGMA = re.compile(r"#[ \t]*pragma[ \t]+(namespace|classflags)[ \t]*\(([^)\n]*)\)", re.I)

    def __init__(self) -> None:
        self.texts: dict[str, list[str] | None] = {}
        self.pragmas: dict[str, tuple[list[int], list[tuple[str | None, int]]]] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self.texts:
            try:
                self.texts[path] = read_mof_file(path).split("\n")
            except MofError:
                self.texts[path] = None
        return self.texts[path]

    def type_name(self, elem: Property | Parameter, default: str) -> str:
        loc = elem.location
        if loc is None:
            return default
        lines = self.lines(loc.path)
        if not lines or loc.line < 1 or loc.line > len(lines):
            return default
        before = "\n".join(
            lines[max(0, loc.line - 3) : loc.line - 1] + [lines[loc.line - 1][: loc.col - 1]]
        )
        m = re.search(r"(\w+)\s*$", before)
        if m and m.group(1).lower() == default.lower():
            return m.group(1)
        return default

    def _table(self, path: str) -> tuple[list[int], list[tuple[str | None, int]]]:
        """For each line where a pragma changes the state: (namespace string, classflags)."""
        got = self.pragmas.get(path)
        if got is None:
            starts: list[int] = [0]
            states: list[tuple[str | None, int]] = [(None, 0)]
            for i, text in enumerate(self.lines(path) or (), 1):
                if "pragma" not in text:
                    continue
                for m in self._PRAGMA.finditer(text):
                    ns, flags = states[-1]
                    arg = m.group(2).strip()
                    if m.group(1).lower() == "namespace":
                        q = re.match(r'"((?:[^"\\]|\\.)*)"', arg)
                        ns = re.sub(r"\\(.)", r"\1", q.group(1)) if q else ns
                    else:
                        flags = 0
                        for part in arg.split(","):
                            word = part.strip().strip('"').lower()
                            flags |= _CLASSFLAG_BITS.get(word, int(word) if word.isdigit() else 0)
                    starts.append(i)
                    states.append((ns, flags))
            got = self.pragmas[path] = (starts, states)
        return got

    def state(self, path: str, line: int) -> tuple[str | None, int]:
        starts, states = self._table(path)
        return states[bisect.bisect_right(starts, line) - 1]


class Encoder:
    def __init__(self, result: CompileResult) -> None:
        self.result = result
        self.spell = _Spelling()
        self.out = _Out()

    def cimtype(self, elem: Property | Parameter) -> tuple[int, str]:
        t = elem.type
        if t == "ref":
            return CIM_REFERENCE, f"ref:{elem.ref_class}"
        if elem.is_embedded:
            return VT_UNKNOWN, f"object:{t}"
        return TYPE_VT[t], self.spell.type_name(elem, t)

    def prop(self, p: Property, pad: bool, extra: list[QualSpec] | None = None) -> None:
        vt, ct = self.cimtype(p)
        if p.array:
            vt |= VT_ARRAY
        quals = _user_qualifiers(p.qualifiers)
        if p.array and p.array_size:
            quals.append(("MAX", VT_I4, p.array_size, 0))
        quals += extra or []  # a parameter's ID: after MAX, before CIMTYPE
        quals.append(("CIMTYPE", VT_BSTR, ct, CIMTYPE_FLAVOR))
        o = self.out
        default = p.default
        write = None if default is None else (lambda: o.value(vt, default, pad))
        o.record(vt, p.name, write, quals, pad)

    def params_object(
        self, params: list[tuple[int, Parameter]], ret: Property | None, direction: str, pad: bool
    ) -> None:
        """A __PARAMETERS object. mofcomp pads the last (or only) object of a method's array as
        it pads top-level objects, and writes the first of two without padding up to its first
        array value (every method of the corpus: in-only and out-only objects are padded, the
        in-parameters object beside an out-parameters one is not)."""
        props: list[Callable[[], None]] = []
        if ret is not None:
            props.append(lambda: self.prop(ret, pad))
        other = "out" if direction == "in" else "in"  # an [in, out] one: each copy drops one
        for pid, prm in params:
            quals = Qualifiers()
            for key, q in prm.qualifiers.items():
                if key != other:
                    quals[key] = q
            as_prop = Property(prm.name, prm.type, quals, prm.array, prm.array_size,
                               prm.ref_class, None, "", prm.location)  # fmt: skip
            idq: QualSpec = ("ID", VT_I4, pid, ID_FLAVOR)
            props.append(partial(self.prop, as_prop, pad, [idq]))
        o = self.out
        o.armed, o.forced = not pad, False
        o.object(OBJ_INSTANCE, None, props, [("__CLASS", "__PARAMETERS")], [], True, pad)
        o.armed = o.forced = False

    def method(self, m: Method) -> None:
        numbered = list(enumerate(m.parameters))
        ins = [(i, p) for i, p in numbered if p.qualifiers.has("in")]
        outs = [(i, p) for i, p in numbered if p.qualifiers.has("out")]
        ret = None
        if m.return_type != "void":
            ret = Property("ReturnValue", m.return_type, Qualifiers(), ref_class=None)
            ret.qualifiers.add(Qualifier("out", True))
        objs: list[Callable[[], None]] = []
        has_out = bool(outs) or ret is not None
        if ins:
            objs.append(partial(self.params_object, ins, None, "in", not has_out))
        if has_out:
            objs.append(partial(self.params_object, outs, ret, "out", True))
        o = self.out
        quals = _user_qualifiers(m.qualifiers)

        def params() -> None:  # an array of objects, not padded
            at = o.open()
            o.u32s(1, len(objs))
            items = o.open()
            for write in objs:
                write()
            _U32.pack_into(o.b, items, len(o.b) - items)
            o.close(at)

        if not objs:
            o.record(0, m.name, None, quals, True)
        else:
            o.record(VT_ARRAY | VT_UNKNOWN, m.name, params, quals, True)

    def klass(self, c: MofClass) -> None:
        props = [partial(self.prop, c.properties[k], True) for k in c.local_properties]
        methods = [partial(self.method, c.methods[k]) for k in c.local_methods]
        self.out.object(
            OBJ_CLASS, _user_qualifiers(c.qualifiers), props, self.system(c), methods, False, True
        )

    def system(self, x: MofClass | Instance) -> list[tuple[str, str | int]]:
        """__CLASS, __NAMESPACE (as the pragma spelled it), __CLASSFLAGS when a pragma set
        them, __SUPERCLASS: mofcomp's order."""
        loc = x.location
        ns, flags = self.spell.state(loc.path, loc.line) if loc is not None else (None, 0)
        name = x.name if isinstance(x, MofClass) else x.class_name
        out: list[tuple[str, str | int]] = [
            ("__CLASS", name),
            ("__NAMESPACE", ns if ns is not None else x.namespace.replace("/", "\\")),
        ]
        if flags:
            out.append(("__CLASSFLAGS", flags))
        if isinstance(x, MofClass) and x.superclass:
            out.append(("__SUPERCLASS", x.superclass))
        return out

    def instance_value(self, name: str, vt: int, v: Any) -> None:
        """One value of an instance; NULL is a property without value."""
        o = self.out
        o.record(vt, name, None if v is None else partial(o.value, vt, v, True), [], True)

    def instance(self, inst: Instance) -> None:
        cls = self.result.schema.get(inst.class_name)
        o = self.out
        props: list[Callable[[], None]] = []
        for name, v in inst.values.items():
            p = cls.prop(name) if cls is not None else None
            if p is not None:
                vt = self.cimtype(p)[0] | (VT_ARRAY if p.array else 0)
            else:
                vt = _value_vt(v)
            props.append(partial(self.instance_value, name, vt, v))
        o.object(
            OBJ_INSTANCE, _user_qualifiers(inst.qualifiers), props, self.system(inst), [], False,
            True,
        )  # fmt: skip

    def payload(self) -> bytes:
        items: list[tuple[tuple[int, int, int], MofClass | Instance]] = []
        paths: dict[str, int] = {}

        def key(x: MofClass | Instance, n: int) -> tuple[int, int, int]:
            loc = x.location
            if loc is None:
                return (1 << 30, 0, n)
            return (paths.setdefault(loc.path, len(paths)), loc.line, n)

        for n, c in enumerate(self.result.user_classes()):
            items.append((key(c, n), c))
        base = len(items)
        for n, inst in enumerate(self.result.schema.instances):
            items.append((key(inst, base + n), inst))
        items.sort(key=lambda t: t[0])
        o = self.out
        o.b += SIGNATURE
        part = o.open()
        o.u32s(1, 1, len(items))
        for _, x in items:
            try:
                if isinstance(x, MofClass):
                    self.klass(x)
                else:
                    self.instance(x)
            except EncodeError as exc:
                what = (
                    f"class {x.name}" if isinstance(x, MofClass) else f"instance of {x.class_name}"
                )
                raise EncodeError(f"{what}: {exc}", x.location) from None
        _U32.pack_into(o.b, part, len(o.b))
        table = b"".join(struct.pack("<II", off, f) for off, f in sorted(o.flavors))
        return bytes(o.b) + FLAVOR_MAGIC + _U32.pack(len(o.flavors)) + table


def encode_payload(compiled: CompileResult | Schema) -> bytes:
    result = compiled if isinstance(compiled, CompileResult) else CompileResult(compiled)
    return Encoder(result).payload()


def encode_bmf(compiled: CompileResult | Schema) -> bytes:
    """The whole BMF file (header and compressed payload) of a compilation or a schema: its
    classes that are not iscsiprf's system classes, and its instances."""
    payload = encode_payload(compiled)
    stream = compress(payload)
    return HEADER.pack(SIGNATURE, 1, len(stream), len(payload)) + stream


def encode_files(
    paths: Sequence[str], include_dirs: Sequence[str] = (), wmi: bool = False
) -> tuple[bytes, list[Diagnostic]]:
    """Compile MOF files and encode them. With `wmi`, wmimofck's rules are errors (as
    `mofcomp -WMI`, which deletes its output when they fail); without, warnings."""
    result = compile_files(paths, include_dirs=include_dirs)
    diags = list(result.diagnostics)
    if not wmi:  # plain mofcomp -B: wmimofck's data-block rules do not stop it
        diags = [
            Diagnostic("warning", d.location, d.message)
            if d.severity == "error" and _WMIMOFCK_RULE.search(d.message)
            else d
            for d in diags
        ]
    if any(d.severity == "error" for d in diags):
        return b"", diags
    try:
        data = encode_bmf(result)
    except EncodeError as exc:
        where = exc.location or Location(paths[0] if paths else "<input>", 0, 0)
        return b"", [*diags, Diagnostic("error", where, str(exc))]
    if wmi:
        from .bmf_decode import decode_bmf

        check = decode_bmf(data, paths[0], strict=True)
        return data, diags + [d for d in check.diagnostics if d.severity == "error"]
    return data, diags
