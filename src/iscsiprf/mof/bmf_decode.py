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

    __slots__ = ("offset",)

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(path, 0, 0)
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.path}: offset {self.offset}"


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
    result = compile_text(doc.text, path)
    diags = list(doc.warnings)
    for d in result.diagnostics:
        sev = d.severity if strict else "warning"
        diags.append(Diagnostic(sev, doc.location(d.location.line), d.message))
    result.diagnostics = diags
    _relocate(result, doc)
    return result


def _relocate(result: CompileResult, doc: BmfDocument) -> None:
    """Point every element's location at its payload offset instead of the decoded text."""
    for c in result.schema:
        if c.builtin:
            continue
        if c.location is not None:
            c.location = doc.location(c.location.line)
        for p in c.properties.values():
            if p.location is not None and p.class_origin.lower() == c.name.lower():
                p.location = doc.location(p.location.line)
        for m in c.methods.values():
            if m.location is not None and m.class_origin.lower() == c.name.lower():
                m.location = doc.location(m.location.line)
                for prm in m.parameters:
                    if prm.location is not None:
                        prm.location = doc.location(prm.location.line)
    for inst in result.schema.instances:
        if inst.location is not None:
            inst.location = doc.location(inst.location.line)


__all__ = ["BmfDocument", "BmfLocation", "decode_bmf", "is_bmf", "read_bmf"]
