"""MOF source text: decoding (UTF-8, UTF-16 with BOM) and offset -> line/column."""

from __future__ import annotations

import bisect
import codecs
import os
import stat

from .errors import MofError
from .model import Location


def decode_mof_bytes(data: bytes, path: str) -> str:
    """Decode MOF file bytes as Microsoft and DMTF write them."""
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
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise MofError(
                Location(path, 1, 1), f"file is not valid {encoding}: {exc.reason}"
            ) from None
        # Old MOFs are often Windows-1252; keep going rather than refuse the file.
        return data.decode("cp1252", errors="replace")


def directory_of(path: str) -> str:
    """The directory a file's relative includes are looked up in (`.` for a bare name)."""
    return os.path.dirname(path) or "."


# What reading a path that names no file raises: an include search goes on to the next place.
NOT_A_FILE = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def read_bytes(path: str) -> tuple[bytes, bool]:
    """A file's bytes, and whether reading it again would give them again (a regular file; not
    a pipe such as /dev/stdin). One open, one fstat, (usually) one read: the DMTF schema is
    1,600 files, and Python's buffered file objects cost more than reading them."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        size = info.st_size
        data = os.read(fd, size + 1)
        if len(data) != size:  # grown or shrunk meanwhile, or a pipe: read to the end
            parts = [data]
            while chunk := os.read(fd, 1 << 16):
                parts.append(chunk)
            data = b"".join(parts)
        return data, stat.S_ISREG(info.st_mode)
    finally:
        os.close(fd)


def read_mof_file(path: str, where: Location | None = None) -> str:
    return read_mof_text(path, where)[0]


def read_mof_text(path: str, where: Location | None = None) -> tuple[str, bool]:
    """A MOF file's text, and whether it can be read again (see read_bytes)."""
    try:
        data, rereadable = read_bytes(path)
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
