"""`iscsiprf mof check`'s work, importable without click: compile, report, exit status.

`mof check` is what builds and editors run on every MOF file, and importing click costs about
35 ms, a tenth of checking the whole DMTF schema. So `main()` hands the plain forms of the
command, `mof check [--strict] [-I DIR]... FILE...`, to this module before click is imported.
Everything else (help, other options, `--`, missing values, a directory given as FILE, a file
given as DIR) goes to the click command, which words those errors; both call `report`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..mof import CompileResult
from ..mof.bmf_load import compile_inputs
from . import teardown


def report(
    files: Sequence[str], include_dirs: Sequence[str], strict: bool, bmf_strict: bool = True
) -> CompileResult:
    """Compile FILE... (MOF or BMF) and print each problem as FILE:LINE:COL: error|warning:
    MESSAGE (FILE: offset N: ... for a BMF). `bmf_strict`: wmimofck's rules are errors."""
    result = compile_inputs(files, include_dirs, strict, bmf_strict)
    teardown.mark_disposable()  # the schema is all this process still holds
    write = sys.stderr.write
    for d in result.diagnostics:
        write(f"{d}\n")
    return result


def status(result: CompileResult) -> int:
    return 1 if result.errors else 0


def plain_arguments(argv: Sequence[str]) -> tuple[list[str], list[str], bool] | None:
    """(files, include dirs, strict) when argv is a plain `mof check` command line, else None."""
    if list(argv[:2]) != ["mof", "check"]:
        return None
    files: list[str] = []
    include_dirs: list[str] = []
    strict = False
    rest = iter(argv[2:])
    for arg in rest:
        if arg == "--strict":
            strict = True
        elif arg == "-I":
            value = next(rest, "")
            if not value or value.startswith("-") or os.path.isfile(value):
                return None
            include_dirs.append(value)
        elif not arg or arg.startswith("-") or os.path.isdir(arg):
            return None
        else:
            files.append(arg)
    return (files, include_dirs, strict) if files else None


def run_plain(argv: Sequence[str]) -> int | None:
    """The exit status of a plain `mof check` command line, or None to let click run it."""
    args = plain_arguments(argv)
    if args is None:
        return None
    return status(report(*args))
