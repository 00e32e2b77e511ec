"""The stored form of a sorted set of distinct 16-bit values (the duplicate index's stem
hashes, `dedup_docs.stems`): Elias-Fano coded with 8 low bits, n + (256 + n) / 8 bytes
where the raw uint16 array takes 2n (an arXiv abstract's ~120 stems: 240 -> ~170 bytes).

Layout of a coded blob (always of odd length, so that it is told apart from the raw form,
whose length is even):
- 2 bytes, little-endian: the number of values `n`;
- the low bytes of the values, in order;
- their high bytes (non-decreasing) in unary: bit `high[i] + i` of 256 + n is set, packed
  most significant bit first; then a zero byte if the length would be even.

`pack` keeps the raw form when it is not larger (fewer than ~40 values; or all 65,536 of
them, which a 2-byte count cannot count), `unpack` reads
both (the raw uint16 array is also what older indexes hold) and gives back exactly the
values `pack` was given, as a uint16 array. Decoding is a few numpy calls (~5 us): a
candidate's stems are read at every lookup that meets it.
"""

from __future__ import annotations

import numpy as np

_HIGH = 256  # values of a high byte


def pack(values: np.ndarray) -> bytes:
    """The stored form of sorted distinct uint16 `values`."""
    n = len(values)
    raw = np.asarray(values, dtype="<u2")
    if n > 0xFFFF or 2 + n + (_HIGH + n + 7) // 8 >= 2 * n:
        return raw.tobytes()
    bits = np.zeros(_HIGH + n, dtype=np.uint8)
    bits[(raw >> 8).astype(np.int64) + np.arange(n)] = 1
    blob = b"".join(
        (
            n.to_bytes(2, "little"),
            (raw & 0xFF).astype(np.uint8).tobytes(),
            np.packbits(bits).tobytes(),
        )
    )
    return blob if len(blob) % 2 else blob + b"\0"


def unpack(blob: bytes) -> np.ndarray:
    """The values of a stored form (`pack`'s, or a raw uint16 array), as uint16."""
    if len(blob) % 2 == 0:
        return np.frombuffer(blob, dtype=np.uint16)
    n = blob[0] | blob[1] << 8
    low = np.frombuffer(blob, dtype=np.uint8, count=n, offset=2)
    high = np.flatnonzero(np.unpackbits(np.frombuffer(blob, dtype=np.uint8, offset=2 + n)))
    high = high[:n] - np.arange(n)
    return (high << 8 | low).astype(np.uint16)
