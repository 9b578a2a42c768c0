"""BMF bytes -> the compiler's own result: container, payload objects, MOF text, compile.

The objects are written as MOF (bmf_mof.py) and compiled by the text compiler, so a BMF gives
exactly the classes, inheritance, propagated qualifiers and checks that its MOF would. Each
diagnostic and each element's location is mapped back to the payload offset it came from:
`FILE: offset N` (an offset into the uncompressed payload: the compressed stream has no
positions of its own).

Reading is lenient, as `mofcomp -B` and WMI are: by default problems of the decoded MOF are
warnings (real firmware breaks wmimofck's rules and must still be read); `strict` keeps them
as errors (`mof check`, `header`, `layout`).
"""

from __future__ import annotations

from .bmf_container import BmfError, is_bmf, unpack
from .bmf_mof import objects_to_mof
from .bmf_read import read_payload
from .compiler import CompileResult, compile_text
from .errors import Diagnostic
from .model import Location


class BmfLocation(Location):
    """A place in a binary MOF: the file and an offset (into the uncompressed payload)."""

    __slots__ = ("_offset",)

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(path, 0, 0)
        self._offset = offset

    @property
    def offset(self) -> int:
        self._resolved()
        return self._offset

    def __str__(self) -> str:
        return f"{self.path}: offset {self.offset}"


class _MappedLocation(BmfLocation):
    """The payload offset of a place in the decoded text, found only when asked for (finding
    lines of the compiled text's tokens costs more than the compile itself)."""

    __slots__ = ("_text_loc", "_doc")

    def __init__(self, text_loc: Location, doc: BmfDocument) -> None:
        super().__init__(doc.path, -1)
        self._text_loc = text_loc
        self._doc = doc

    def _resolved(self) -> None:
        if self._offset < 0:
            self._offset = self._doc.location(self._text_loc.line).offset


class BmfDocument:
    """What a BMF holds: its MOF text (with line -> offset), and the warnings of reading it."""

    def __init__(self, path: str, text: str, offsets: list[int], warnings: list[Diagnostic]):
        self.path = path
        self.text = text
        self.offsets = offsets
        self.warnings = warnings

    def location(self, line: int) -> BmfLocation:
        off = self.offsets[line - 1] if 0 < line <= len(self.offsets) else 0
        return BmfLocation(self.path, off)


def read_bmf(data: bytes, path: str) -> BmfDocument:
    """Unpack, read and write as MOF; BmfError for a file that cannot be read."""
    container = unpack(data)
    warnings = [Diagnostic("warning", BmfLocation(path, o), m) for o, m in container.warnings]
    objs, w2 = read_payload(container.payload)
    writer = objects_to_mof(objs)
    warnings += [Diagnostic("warning", BmfLocation(path, o), m) for o, m in w2 + writer.warnings]
    return BmfDocument(path, writer.text(), writer.offsets, warnings)


def decode_bmf(data: bytes, path: str, strict: bool = False) -> CompileResult:
    """A BMF compiled as the compiler compiles MOF text. A BMF that cannot be read gives one
    error diagnostic (FILE: offset N: error: ...) and an empty schema."""
    try:
        doc = read_bmf(data, path)
    except BmfError as exc:
        result = compile_text("", path)
        result.diagnostics = [Diagnostic("error", BmfLocation(path, exc.offset), exc.text())]
        return result
    return compile_doc(doc, strict)


def compile_doc(doc: BmfDocument, strict: bool = False) -> CompileResult:
    """Compile a read BMF's MOF text; diagnostics and locations name payload offsets."""
    result = compile_text(doc.text, doc.path)
    diags = list(doc.warnings)
    for d in result.diagnostics:
        if d.message.startswith(_SYSTEM_INSTANCE):
            continue  # __Namespace, __Win32Provider...: in every WMI repository, not ours
        sev = d.severity if strict else "warning"
        diags.append(Diagnostic(sev, doc.location(d.location.line), d.message))
    result.diagnostics = diags
    _relocate(result, doc)
    return result


_SYSTEM_INSTANCE = "instance of unknown class __"


def _relocate(result: CompileResult, doc: BmfDocument) -> None:
    """Point every element's location at its payload offset instead of the decoded text."""

    def map_loc(loc: Location) -> Location:
        return _MappedLocation(loc, doc)

    for c in result.schema:
        if c.builtin:
            continue
        if c.location is not None:
            c.location = map_loc(c.location)
        for p in c.properties.values():
            if p.location is not None and p.class_origin.lower() == c.name.lower():
                p.location = map_loc(p.location)
        for m in c.methods.values():
            if m.location is not None and m.class_origin.lower() == c.name.lower():
                m.location = map_loc(m.location)
                for prm in m.parameters:
                    if prm.location is not None:
                        prm.location = map_loc(prm.location)
    for inst in result.schema.instances:
        if inst.location is not None:
            inst.location = map_loc(inst.location)


__all__ = ["BmfDocument", "BmfLocation", "compile_doc", "decode_bmf", "is_bmf", "read_bmf"]
