"""The BMF container: the 16-byte `FOMB` header and the "DS" (DoubleSpace) compressed stream.

Hand-written: no maintained Python library reads or writes DoubleSpace's DS-0-1 format, and
mofcomp wraps every binary MOF in it. Facts (from the Linux kernel's WMI documentation, the
DMSDOS/bmfdec decompressor descriptions, checked against mofcomp's own output in the corpus):

* header: four little-endian uint32 — 0x424D4F46 ("FOMB"), version 1, compressed length,
  uncompressed length. Firmware buffers may be longer than 16 + compressed length (padding,
  stray bytes): the header's lengths decide, what follows is reported and ignored.
* stream: `44 53 00 01` ("DS", version), then a bit stream read least-significant bit first
  from little-endian 16-bit words. Items: a literal byte (2-bit tag + 7 bits), or a copy of
  earlier output (offset 1..4414 in three widths, then a length 2..512 in a prefix code). The
  offset 4415 is a sync mark; the stream ends with one, after the last output byte.
"""

from __future__ import annotations

import struct

SIGNATURE = b"FOMB"
HEADER = struct.Struct("<4sIII")
DS_MAGIC = b"DS\x00\x01"
SYNC = 0x113F  # offset value that marks a sync point / the end of the stream
MAX_OFFSET = SYNC - 1
MAX_LENGTH = 512
# A bound on what one blob may expand to: the largest real schema (DMTF CIM 2.49, every class
# in one BMF) is 9 MiB uncompressed; a declared size beyond this is refused before any work.
MAX_PAYLOAD = 64 << 20


class BmfError(Exception):
    """A problem in a binary MOF at a byte offset of the file (or of the uncompressed payload,
    `where` says which)."""

    def __init__(self, offset: int, message: str, where: str = "") -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message
        self.where = where  # "" = file offset; "payload" = offset in the uncompressed data

    def text(self) -> str:
        """The message, saying which bytes the offset counts when it is not the file's."""
        if self.where == "payload":
            return f"{self.message} (offset in the uncompressed payload)"
        return self.message

    def format(self, path: str) -> str:
        return f"{path}: offset {self.offset}: error: {self.text()}"


def is_bmf(data: bytes) -> bool:
    """True when `data` starts with a BMF signature (what decides, not the file name)."""
    return data[:4] == SIGNATURE


class Container:
    """A BMF split into its parts: the uncompressed payload and what was ignored."""

    __slots__ = ("version", "compressed_size", "payload", "ignored", "warnings")

    def __init__(
        self, version: int, compressed_size: int, payload: bytes, warnings: list[tuple[int, str]]
    ) -> None:
        self.version = version
        self.compressed_size = compressed_size
        self.payload = payload
        self.warnings = warnings  # (file offset, message)
        self.ignored = 0


def unpack(data: bytes) -> Container:
    """Check the header and decompress the payload; raise BmfError naming the offset."""
    if len(data) < HEADER.size:
        raise BmfError(len(data), f"file ends inside the 16-byte BMF header ({len(data)} bytes)")
    sig, version, csize, usize = HEADER.unpack_from(data)
    if sig != SIGNATURE:
        raise BmfError(0, "not a binary MOF: no FOMB signature")
    if version != 1:
        raise BmfError(4, f"BMF version {version} is not supported (only 1)")
    warnings: list[tuple[int, str]] = []
    end = HEADER.size + csize
    if end > len(data):
        raise BmfError(
            8, f"compressed length {csize} runs past the end of the file ({len(data) - 16} bytes)"
        )
    if usize > MAX_PAYLOAD:
        raise BmfError(12, f"uncompressed length {usize} is larger than {MAX_PAYLOAD} bytes")
    if end < len(data):
        extra = data[end:]
        what = "zero padding" if not extra.strip(b"\0") else "bytes"
        warnings.append((end, f"{len(extra)} {what} past the compressed stream ignored"))
    payload = decompress(data, HEADER.size, end, usize)
    return Container(version, csize, payload, warnings)


def decompress(data: bytes, start: int, end: int, size: int) -> bytes:
    """Decode the DS stream in data[start:end] into exactly `size` bytes.

    Memory follows the real output, never the declared size: a stream that stops early is an
    error at the offset where it stopped. (One tight loop: this is the hot path of reading.)
    """
    if data[start : start + 4] != DS_MAGIC:
        raise BmfError(start, "compressed stream does not start with DS 00 01")
    out = bytearray()
    append = out.append
    from_bytes = int.from_bytes
    pos = start + 4
    buf = 0  # unread bits, the next one in bit 0 (16-bit LE words read LSB first = bytes so)
    nbits = 0
    n = 0
    while n < size:
        if nbits < 32:
            if pos < end:
                stop = pos + 7 if pos + 7 < end else end
                buf |= from_bytes(data[pos:stop], "little") << nbits
                nbits += (stop - pos) << 3
                pos = stop
        tag = buf & 3
        if tag == 2:  # literal 0..127: 2-bit tag, 7 bits
            if nbits < 9:
                raise BmfError(pos, f"compressed stream ends after {n} of {size} bytes")
            append((buf >> 2) & 127)
            buf >>= 9
            nbits -= 9
            n += 1
            continue
        if tag == 1:  # literal 128..255
            if nbits < 9:
                raise BmfError(pos, f"compressed stream ends after {n} of {size} bytes")
            append(((buf >> 2) & 127) | 128)
            buf >>= 9
            nbits -= 9
            n += 1
            continue
        if tag == 0:
            offset = (buf >> 2) & 63
            used = 8
        elif buf & 4:
            offset = ((buf >> 3) & 4095) + 320
            used = 15
        else:
            offset = ((buf >> 3) & 255) + 64
            used = 11
        if nbits < used:
            raise BmfError(pos, f"compressed stream ends after {n} of {size} bytes")
        buf >>= used
        nbits -= used
        if offset == SYNC:  # DoubleSpace's sync mark: only at 512-byte boundaries
            if n % 512:
                raise BmfError(
                    pos,
                    f"end mark after {n} of the declared {size} bytes (a sync mark "
                    "may only stand at a multiple of 512)",
                )
            continue
        if offset == 0:
            raise BmfError(pos, "copy from offset 0")
        if offset > n:
            raise BmfError(pos, f"copy from {offset} bytes back at output byte {n}")
        if nbits < 17 and pos < end:
            stop = pos + 7 if pos + 7 < end else end
            buf |= from_bytes(data[pos:stop], "little") << nbits
            nbits += (stop - pos) << 3
            pos = stop
        # The length: k zero bits, a one bit, k value bits -> 2**k + 1 + value (k <= 8).
        low = buf & 0x1FF
        if not low:
            raise BmfError(pos, "copy length code longer than 9 bits")
        k = (low & -low).bit_length() - 1
        used = 2 * k + 1
        if nbits < used:
            raise BmfError(pos, f"compressed stream ends after {n} of {size} bytes")
        length = (1 << k) + 1 + ((buf >> (k + 1)) & ((1 << k) - 1))
        buf >>= used
        nbits -= used
        if n + length > size:
            raise BmfError(pos, f"compressed stream holds more than the declared {size} bytes")
        src = n - offset
        if offset >= length:
            out += out[src : src + length]
        else:  # an overlapping copy repeats the last `offset` bytes
            out += (out[src:n] * (length // offset + 1))[:length]
        n += length
    if nbits < 15 and pos < end:
        stop = pos + 4 if pos + 4 < end else end
        buf |= from_bytes(data[pos:stop], "little") << nbits
        nbits += (stop - pos) << 3
    if nbits < 15 or buf & 0x7FFF != 0x7FFF:
        raise BmfError(pos, f"no end mark after the last of the {size} bytes")
    return bytes(out)
