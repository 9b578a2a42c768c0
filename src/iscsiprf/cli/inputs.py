"""Reading a command's input file, bounded: the one rule for every file a command reads whole.

A regular file or a pipe (`-` is stdin), at most `MAX_INPUT_BYTES`; a directory or a device is
refused before it is read (a device such as /dev/zero would be read without end). Problems are
input errors: one line, exit status 1.
"""

from __future__ import annotations

import os
import stat
import sys

from .errors import fail

MAX_INPUT_BYTES = 64 << 20  # the largest real inputs (the CIM schema's BMF) are about 10 MiB


def read_input(path: str, what: str = "input") -> bytes:
    """The bytes of `path` (`-`: stdin), read once."""
    try:
        if path == "-":
            return _bounded(sys.stdin.buffer, path, what)
        # Opened without blocking: a FIFO with no writer would otherwise hang in open().
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as f:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                fail(f"{path}: is a directory, not a {what} file")
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                fail(f"{path}: not a regular file")
            os.set_blocking(fd, True)  # a pipe with a writer is read to its end
            return _bounded(f, path, what)
    except IsADirectoryError:
        fail(f"{path}: is a directory, not a {what} file")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")


def _bounded(f: object, path: str, what: str) -> bytes:
    data: bytes = f.read(MAX_INPUT_BYTES + 1)  # type: ignore[attr-defined]
    if len(data) > MAX_INPUT_BYTES:
        fail(f"{path}: larger than {MAX_INPUT_BYTES} bytes, the most a {what} file may be")
    return data
