"""MOF scalar types as a WMI data block stores them: C type name, size, alignment, struct code.

Sizes and alignments are those of the Windows x64 types under MSVC `/Zp8` (natural alignment):
the wmimofck header names the C type, the layout uses the size and alignment, and the pack/unpack
fast path uses the `struct` format code (little-endian, no implicit padding).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScalarType:
    mof: str  # lower-case MOF type
    ctype: str  # the name wmimofck writes
    size: int
    code: str  # struct module format character

    @property
    def align(self) -> int:
        return self.size


SCALARS: dict[str, ScalarType] = {
    t.mof: t
    for t in (
        ScalarType("boolean", "BOOLEAN", 1, "?"),
        ScalarType("uint8", "UCHAR", 1, "B"),
        ScalarType("sint8", "CHAR", 1, "b"),
        ScalarType("uint16", "USHORT", 2, "H"),
        ScalarType("sint16", "SHORT", 2, "h"),
        ScalarType("uint32", "ULONG", 4, "I"),
        ScalarType("sint32", "LONG", 4, "i"),
        ScalarType("uint64", "ULONGLONG", 8, "Q"),
        ScalarType("sint64", "LONGLONG", 8, "q"),
    )
}

WCHAR_SIZE = 2
# A CIM datetime is 25 characters, yyyymmddhhmmss.mmmmmmsutc, stored as WCHAR[25] without a count.
DATETIME_CHARS = 25

# MOF types a driver data block cannot carry (WMI rejects them in driver MOF).
UNSUPPORTED_IN_BLOCKS = frozenset({"real32", "real64", "char16", "object", "ref"})
