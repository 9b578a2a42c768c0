"""One loader for every command that takes MOF: a file that starts with the BMF signature is
read as a binary MOF, anything else is compiled as MOF text (the name decides nothing)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from .bmf_container import is_bmf
from .compiler import CompileResult, compile_files
from .errors import Diagnostic
from .model import Location

MAX_BMF_BYTES = 64 << 20  # a real BMF is kilobytes; the whole DMTF schema is a few megabytes


def sniff_bmf(path: str) -> bool:
    """True when the file at `path` starts with the BMF signature (False if unreadable: the
    MOF compiler then words the problem). Only a regular file is looked into: reading from a
    pipe would take the bytes the compiler needs."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            return is_bmf(f.read(4))
    except OSError:
        return False


def read_bmf_file(path: str) -> bytes:
    """A BMF file's bytes; OSError, or ValueError when it is larger than any BMF can be."""
    with open(path, "rb") as f:
        data = f.read(MAX_BMF_BYTES + 1)
    if len(data) > MAX_BMF_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BMF_BYTES} bytes, not a binary MOF")
    return data


def compile_inputs(
    paths: Sequence[str],
    include_dirs: Sequence[str] = (),
    strict: bool = False,
    bmf_strict: bool = False,
) -> CompileResult:
    """Compile MOF files and read BMF files into one result. `bmf_strict`: problems of a BMF's
    classes (wmimofck's rules) are errors, not warnings."""
    bmfs = [p for p in paths if sniff_bmf(p)]
    if not bmfs:
        return compile_files(paths, include_dirs=include_dirs, strict=strict)
    from .bmf_decode import decode_bmf

    texts = [p for p in paths if p not in bmfs]
    result = compile_files(texts, include_dirs=include_dirs, strict=strict)
    for p in bmfs:
        try:
            data = read_bmf_file(p)
        except (OSError, ValueError) as exc:
            msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            result.diagnostics.append(Diagnostic("error", Location(p, 0, 0), f"cannot read: {msg}"))
            continue
        got = decode_bmf(data, p, strict=bmf_strict or strict)
        for c in got.user_classes():
            result.schema.add_class(c)
        result.schema.instances.extend(got.schema.instances)
        result.diagnostics.extend(got.diagnostics)
    return result


__all__ = ["compile_inputs", "read_bmf_file", "sniff_bmf"]
