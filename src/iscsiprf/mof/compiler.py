"""Compile = parse + resolve + validate MOF files into a `Schema`.

This module runs the pipeline: files are read and preprocessed (preprocess.py), lexed
(lexer.py) and parsed (parser.py); resolve.py follows the superclass chains and inheritance,
validate.py applies the qualifier declarations and the WMI data-block rules. Every problem is a
Diagnostic with file, line and column.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from .compilation import Compilation, StrPath
from .errors import Diagnostic, MofError
from .model import MofClass, Parameter, Schema
from .resolve import Resolver
from .source import decode_mof_bytes
from .system import package_data

PROJECT_MOF = "iscsiprf.mof"


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


def compile_files(
    paths: Iterable[StrPath],
    include_dirs: Sequence[StrPath] = (),
    strict: bool = False,
) -> CompileResult:
    """Compile MOF files (in order, sharing pragmas and qualifier declarations)."""
    comp = Compilation(include_dirs, strict)
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
    comp = Compilation(include_dirs, strict)
    try:
        if isinstance(text, bytes):
            text = decode_mof_bytes(text, path)
        comp.parse_text(text, path)
    except MofError as exc:
        comp.ctx.diagnostics.append(exc.diagnostic)
    return _finish(comp)


def _finish(comp: Compilation) -> CompileResult:
    schema = Schema(qualifier_decls=dict(comp.ctx.qualifier_decls))
    try:
        Resolver(comp, schema).run()
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
def load_builtin_schema() -> Schema:
    """The project's own classes (MSiSCSI_MMIPSECStats, MSiSCSI_QMIPSECStats, their bases),
    compiled by this compiler from the `.mof` shipped inside the package."""
    text = package_data(PROJECT_MOF)
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
