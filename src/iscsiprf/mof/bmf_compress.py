"""The DS compressor: payload -> "DS" stream that bmf_container.decompress reads back.

It keeps the shape of mofcomp's streams (seen in every corpus BMF): a sync mark after each 512
bytes of output, no copy across such a boundary, offsets up to 4414, lengths 2..512, an end
mark after the last byte, the last byte padded with zero bits. Matches are found greedily
(longest, nearest on a tie) through a table of the positions of each 2-byte string.
"""

from __future__ import annotations

from .bmf_container import DS_MAGIC, MAX_LENGTH, MAX_OFFSET, SYNC

BLOCK = 512
_CHAIN = 4096  # candidates tried per position: enough for text, bounded for time
_SYNC_BITS = (3 | 4 | ((SYNC - 320) << 3), 15)


def _offset_code(off: int) -> tuple[int, int]:
    if off < 64:
        return off << 2, 8
    if off < 320:
        return 3 | ((off - 64) << 3), 11
    return 3 | 4 | ((off - 320) << 3), 15


def _length_code(length: int) -> tuple[int, int]:
    k = (length - 1).bit_length() - 1
    return (1 << k) | ((length - (1 << k) - 1) << (k + 1)), 2 * k + 1


def compress(data: bytes) -> bytes:
    out = bytearray(DS_MAGIC)
    acc = 0
    nbits = 0
    n = len(data)
    heads2: dict[bytes, list[int]] = {}
    heads3: dict[bytes, list[int]] = {}
    i = 0
    while i < n:
        block_end = min(n, (i // BLOCK + 1) * BLOCK)
        while i < block_end:
            best_len = 1
            best_off = 0
            limit = min(MAX_LENGTH, block_end - i)
            if limit >= 3:
                cands = heads3.get(data[i : i + 3])
                if cands:
                    tried = 0
                    for j in reversed(cands):
                        off = i - j
                        if off > MAX_OFFSET or tried >= _CHAIN:
                            break
                        tried += 1
                        length = 3
                        while length < limit and data[j + length] == data[i + length]:
                            length += 1
                        if length > best_len:
                            best_len, best_off = length, off
                            if length == limit:
                                break
            if best_len < 2 and limit >= 2:  # no 3-byte match: the nearest 2-byte one
                cands = heads2.get(data[i : i + 2])
                if cands and i - cands[-1] <= MAX_OFFSET:
                    best_len, best_off = 2, i - cands[-1]
            if best_len >= 2:
                code, bits = _offset_code(best_off)
                lcode, lbits = _length_code(best_len)
                acc |= (code | (lcode << bits)) << nbits
                nbits += bits + lbits
                step = best_len
            else:
                b = data[i]
                acc |= ((1 | ((b & 127) << 2)) if b & 128 else (2 | (b << 2))) << nbits
                nbits += 9
                step = 1
            for p in range(i, min(i + step, n - 1)):
                heads2.setdefault(data[p : p + 2], []).append(p)
                heads3.setdefault(data[p : p + 3], []).append(p)
            i += step
            if nbits >= 64:
                whole = nbits >> 3
                out += (acc & ((1 << (whole * 8)) - 1)).to_bytes(whole, "little")
                acc >>= whole * 8
                nbits -= whole * 8
        acc |= _SYNC_BITS[0] << nbits  # after each block, and the end mark after the last
        nbits += _SYNC_BITS[1]
    if n == 0:
        acc |= _SYNC_BITS[0] << nbits
        nbits += _SYNC_BITS[1]
    out += acc.to_bytes((nbits + 7) // 8, "little")
    return bytes(out)
