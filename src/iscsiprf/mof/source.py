"""MOF source text: decoding (UTF-8, UTF-16 with BOM) and offset -> line/column."""

from __future__ import annotations

import bisect
import codecs
import errno
import os
import re
import stat

from .errors import MofError
from .model import Location


def decode_mof_bytes(data: bytes, path: str) -> str:
    """Decode MOF file bytes as Microsoft and DMTF write them. A NUL or other control character
    is an error at its place: the file is binary, and refusing it here keeps megabytes of noise
    from being decoded and lexed whole before the parser reports its first character."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[3:]
    elif data.startswith(codecs.BOM_UTF16_LE):
        encoding, data = "utf-16-le", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, data = "utf-16-be", data[2:]
    elif len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        encoding = "utf-16-le"  # BOM-less UTF-16LE, as some tools write it
    elif len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    if encoding == "utf-8":
        nul = data.find(0)  # memchr: costs nothing next to lexing
        if nul >= 0:  # report the first control character, which may come before
            first = re.compile(_CONTROL_BYTES).search(data, 0, nul + 1)
            start = nul if first is None else first.start()
            raise _binary(path, _text_before(data[:start]), chr(data[start]))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise MofError(
                Location(path, 1, 1), f"file is not valid {encoding}: {exc.reason}"
            ) from None
        # Old MOFs are often Windows-1252; keep going rather than refuse the file, unless it
        # is binary (found before decoding: random data shows a control byte within a few).
        found = re.search(_CONTROL_BYTES, data)
        if found is not None:
            at = found.start()
            raise _binary(path, _text_before(data[:at]), chr(data[at])) from None
        return data.decode("cp1252", errors="replace")
    # UTF-16, or UTF-8 beyond ASCII: look for the control characters no text holds. ASCII,
    # nearly every MOF, skips the search (its NULs were looked for above).
    if encoding != "utf-8" or not text.isascii():
        bad = re.search(_CONTROL, text)
        if bad is not None:
            raise _binary(path, text[: bad.start()], bad.group())
    return text


# C0 controls other than blanks (and ^Z, the DOS end of file), DEL, and NUL. Compiled on first
# use (through re's cache): only a file that is not ASCII is ever searched.
_CONTROL = r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]"
_CONTROL_BYTES = _CONTROL.encode()


def _text_before(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _binary(path: str, before: str, char: str = "\x00") -> MofError:
    """The error for a control character preceded by the text `before`."""
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return MofError(
        Location(path, line, col),
        f"control character U+{ord(char):04X}: this is a binary file, not MOF text",
    )


def directory_of(path: str) -> str:
    """The directory a file's relative includes are looked up in (`.` for a bare name)."""
    return os.path.dirname(path) or "."


# What reading a path that names no file raises: an include search goes on to the next place.
NOT_A_FILE = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


# The most a MOF source may hold. The largest file of the DMTF CIM schema is under 1 MB, the
# whole schema 5.5 MB; the bound keeps `/dev/zero` or a runaway pipe from taking all memory.
MAX_SOURCE_BYTES = 64 << 20
# Names that ask for standard input, where the compiler is given file names (not in includes).
STDIN_NAMES = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


class SourceRefused(OSError):
    """A source that is not a regular file or is too large; `strerror` says which."""


def read_bytes(path: str, stdin_ok: bool = False) -> tuple[bytes, bool]:
    """A file's bytes, and whether reading it again would give them again (a regular file; not
    a pipe such as /dev/stdin). One open, one fstat, (usually) one read: the DMTF schema is
    1,600 files, and Python's buffered file objects cost more than reading them.

    Only a regular file is read (a directory raises IsADirectoryError, so that an include search
    goes on), or standard input when `stdin_ok` and `path` names it (`-`, `/dev/stdin`); either
    at most MAX_SOURCE_BYTES. Anything else is refused without reading: a FIFO is opened
    non-blocking so that even opening it cannot hang."""
    if stdin_ok and path in STDIN_NAMES:
        return _read_stdin(path)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            _refuse(path, info.st_mode)
        size = info.st_size
        if size > MAX_SOURCE_BYTES:
            raise _too_large()
        data = os.read(fd, size + 1)
        if len(data) != size:  # grown or shrunk meanwhile: read to the end, bounded
            data = _read_rest(fd, data)
        return data, True
    finally:
        os.close(fd)


_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK


def _read_stdin(path: str) -> tuple[bytes, bool]:
    """Standard input, whatever it is (a pipe, a terminal, a redirected file), bounded; never
    read again for a location (it would give nothing)."""
    fd = os.dup(0) if path == "-" else os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        return _read_rest(fd, b""), False
    finally:
        os.close(fd)


def _read_rest(fd: int, data: bytes) -> bytes:
    parts = [data]
    total = len(data)
    while chunk := os.read(fd, 1 << 16):
        parts.append(chunk)
        total += len(chunk)
        if total > MAX_SOURCE_BYTES:
            raise _too_large()
    return b"".join(parts)


def _refuse(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise SourceRefused(errno.EINVAL, f"not a regular file ({_kind(mode)})")


def _too_large() -> SourceRefused:
    return SourceRefused(
        errno.EFBIG, f"larger than {MAX_SOURCE_BYTES >> 20} MiB, the most a MOF source may be"
    )


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def read_mof_file(path: str, where: Location | None = None) -> str:
    return read_mof_text(path, where)[0]


def read_mof_text(path: str, where: Location | None = None) -> tuple[str, bool]:
    """A MOF file's text, and whether it can be read again (see read_bytes). A file named on
    the command line (no `where`) may be standard input; an included one may not."""
    try:
        data, rereadable = read_bytes(path, stdin_ok=where is None)
    except OSError as exc:
        raise unreadable(path, exc, where) from None
    return decode_mof_bytes(data, path), rereadable


def unreadable(path: str, exc: OSError, where: Location | None) -> MofError:
    return MofError(where or Location(path, 1, 1), f"cannot read {path}: {exc.strerror or exc}")


class LineIndex:
    """One file's text, and its character offsets turned into 1-based (line, column).

    Given the (regular) file it was read from, the text may be released once the file is parsed and is
    read again only if a location in it is asked for: keeping the DMTF schema's 5.5 MB of text
    costs its check 2% (page faults), and almost no location is ever read.
    """

    __slots__ = ("_starts", "_text", "_path")

    def __init__(self, text: str, path: str | None = None) -> None:
        self._text: str | None = text
        self._path = path  # the file `text` was read from, if it may be read again
        self._starts: list[int] | None = None  # built on first use: most files never need it

    @property
    def text(self) -> str:
        if self._text is None:
            try:
                self._text = read_mof_file(self._path or "")
            except MofError:  # gone since: positions of such a file fall back to 1:1
                self._text = ""
        return self._text

    def release(self) -> None:
        if self._path is not None:
            self._text = None

    def _build(self, text: str) -> list[int]:
        starts = [0]
        find = text.find
        i = find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return starts

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = self._build(self.text)
        return self._starts

    def line_col(self, offset: int) -> tuple[int, int]:
        starts = self.starts
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def line_start(self, line: int) -> int:
        """Offset of the first character of a 1-based line."""
        starts = self.starts
        return starts[min(max(line, 1), len(starts)) - 1]
