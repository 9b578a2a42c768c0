"""The compilation context: what one `compile_files`/`compile_text` call shares between its
files and its stages (parse context, preprocessor state, include stack, diagnostics).

It sits below compiler.py, resolve.py and validate.py, which all use it, so that the pipeline
runs one way: compiler -> resolve -> validate, each importing this module and none the other
back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from os import PathLike

from .errors import Diagnostic, MofError
from .model import Location
from .parser import ParseContext, Parser
from .preprocess import PreprocessorState, read_include, tokenize_file
from .source import directory_of, read_mof_text

StrPath = str | PathLike[str]


class Compilation:
    """One compilation: the parse context shared by every file, the preprocessor state, the
    include stack; resolve.py and validate.py report their diagnostics through it."""

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
        text, rereadable = read_mof_text(path, where)
        self.parse_text(text, path, key, rereadable)

    def parse_text(
        self, text: str, path: str, key: str | None = None, rereadable: bool = False
    ) -> None:
        self.stack.append(key or os.path.abspath(path))
        try:
            stream = tokenize_file(path, text, self.pp, tuple(self.stack), rereadable)
            Parser(stream, self.ctx).parse()
        finally:
            self.stack.pop()

    def _include(self, name: str, where: Location, from_path: str) -> None:
        got = read_include(name, self._directory(from_path), self.pp.include_dirs, where)
        if got is None:
            raise MofError(where, f"include file {name} not found")
        found, text, rereadable = got
        key = os.path.abspath(found)  # normalized too
        if key in self.stack:
            raise MofError(where, f"recursive include of {name}")
        if len(self.stack) > 64:
            raise MofError(where, "includes nested more than 64 deep")
        self.parse_text(text, found, key, rereadable)

    def _directory(self, path: str) -> str:
        # A schema's master file includes every other file: look its directory up once.
        got = self._directories.get(path)
        if got is None:
            got = self._directories[path] = directory_of(path)
        return got
