"""The stored form of an abstract's token hashes in order (the duplicate index's
`dedup_docs.hashes`: the low 16 bits of each token's hash, see `dedup._Doc.h16`), coded
against a fixed table of the 256 values most frequent in English abstracts (the seed
set's, frozen here): a flag bit a token, one byte for a value of the table, two for any
other. An arXiv abstract's ~190 tokens are ~45% table words: 374 -> ~310 bytes.

Layout of a coded blob (always of odd length, so that it is told apart from the raw
uint16 array, whose length is even, which `unpack` also reads: older indexes hold it):
- 1 byte: FORMAT (1);
- 2 bytes, little-endian: the number of tokens `n`;
- ceil(n / 8) bytes: the flags (bit set: a table value), packed most significant first;
- one byte a flagged token (its index in TABLE), in order;
- two bytes (little-endian) a token not flagged, in order;
- a zero byte if the length would be even.

`pack` keeps the raw form when the coded one is not smaller (an abstract with few table
words) or has more than 65,535 tokens. Both directions are a few numpy calls.
"""

from __future__ import annotations

import numpy as np

FORMAT = 1
TABLE = np.array(
    [
        55902,
        3393,
        23855,
        32446,
        63552,
        47679,
        48300,
        59680,
        46111,
        29016,
        14157,
        61210,
        62307,
        39040,
        21564,
        23325,
        38326,
        1560,
        6921,
        56200,
        60769,
        27694,
        5069,
        15512,
        56509,
        33942,
        47987,
        28971,
        213,
        7124,
        21313,
        56022,
        4024,
        33731,
        64654,
        51516,
        43424,
        47209,
        65370,
        43880,
        7562,
        58174,
        62977,
        9870,
        17903,
        25014,
        30391,
        4382,
        7229,
        24235,
        58877,
        8940,
        18911,
        21094,
        55945,
        61053,
        62727,
        2135,
        3165,
        35887,
        12347,
        20826,
        62491,
        31847,
        2857,
        42982,
        58197,
        18407,
        27696,
        35038,
        60716,
        61173,
        33151,
        42103,
        33855,
        56579,
        62301,
        26856,
        29316,
        53795,
        62423,
        64173,
        1778,
        2737,
        12989,
        35017,
        43698,
        64687,
        18459,
        32185,
        40063,
        60069,
        5771,
        38299,
        42197,
        61422,
        64742,
        17063,
        18682,
        29721,
        35314,
        39153,
        49890,
        63281,
        18905,
        34574,
        59048,
        61683,
        5318,
        40051,
        42466,
        45592,
        50356,
        2127,
        12596,
        56660,
        58208,
        61262,
        64772,
        38374,
        43098,
        7043,
        9299,
        9733,
        23921,
        28366,
        43170,
        44471,
        52126,
        62356,
        6471,
        7522,
        16333,
        17266,
        18496,
        25626,
        38562,
        39343,
        51930,
        60081,
        61246,
        64758,
        566,
        6089,
        12632,
        18918,
        20205,
        23957,
        25866,
        27865,
        40032,
        43771,
        53540,
        65005,
        1808,
        5082,
        5253,
        20082,
        20559,
        37409,
        38630,
        44438,
        44992,
        52564,
        55312,
        56156,
        56561,
        57820,
        58293,
        64975,
        14447,
        17675,
        23556,
        26718,
        34719,
        52990,
        6283,
        15713,
        24340,
        28760,
        40219,
        50564,
        61232,
        319,
        5354,
        6293,
        8323,
        9630,
        13252,
        21820,
        23119,
        23882,
        24358,
        46373,
        54269,
        57730,
        7438,
        11725,
        13357,
        27680,
        33707,
        36120,
        36967,
        37054,
        42686,
        43662,
        46221,
        47184,
        49124,
        59649,
        62286,
        17,
        1656,
        1693,
        5393,
        13071,
        16702,
        17349,
        21040,
        23846,
        26966,
        30316,
        38477,
        42421,
        43934,
        45038,
        52185,
        52444,
        52565,
        60642,
        63345,
        1740,
        2686,
        3184,
        7604,
        9978,
        14552,
        16685,
        16800,
        16890,
        17411,
        21762,
        25581,
        27173,
        32341,
        33544,
        43182,
        43795,
        44953,
        54284,
        55073,
        56094,
        57637,
        58406,
        59841,
        60745,
    ],
    dtype=np.uint16,
)
# value -> its index in TABLE, or -1
_INDEX = np.full(1 << 16, -1, dtype=np.int16)
_INDEX[TABLE] = np.arange(len(TABLE), dtype=np.int16)


def pack(h16: np.ndarray) -> bytes:
    """The stored form of uint16 token hashes in order."""
    raw = np.asarray(h16, dtype="<u2")
    n = len(raw)
    index = _INDEX[raw]
    common = index >= 0
    size = 3 + (n + 7) // 8 + int(common.sum()) + 2 * int(n - common.sum())
    size += 1 - size % 2
    if n > 0xFFFF or size >= 2 * n:
        return raw.tobytes()
    blob = b"".join(
        (
            bytes([FORMAT]),
            n.to_bytes(2, "little"),
            np.packbits(common).tobytes(),
            index[common].astype(np.uint8).tobytes(),
            raw[~common].tobytes(),
        )
    )
    return blob + b"\0" * (1 - len(blob) % 2)


def count(blob: bytes) -> int:
    """The number of token hashes in a blob `pack` made (either form), without decoding."""
    if len(blob) % 2 == 0:
        return len(blob) // 2
    return int.from_bytes(blob[1:3], "little")


def unpack(blob: bytes) -> np.ndarray:
    """The uint16 token hashes of a blob `pack` made (either form), in order."""
    if len(blob) % 2 == 0:
        return np.frombuffer(blob, dtype="<u2")
    if blob[0] != FORMAT:
        raise ValueError(f"unknown token-hash format {blob[0]}")
    n = int.from_bytes(blob[1:3], "little")
    flags_end = 3 + (n + 7) // 8
    common = np.unpackbits(np.frombuffer(blob, dtype=np.uint8, count=flags_end - 3, offset=3))
    common = common[:n].astype(bool)
    k = int(common.sum())
    out = np.empty(n, dtype=np.uint16)
    out[common] = TABLE[np.frombuffer(blob, dtype=np.uint8, count=k, offset=flags_end)]
    out[~common] = np.frombuffer(blob, dtype="<u2", count=n - k, offset=flags_end + k)
    return out


def _parts(sizes: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Each position of consecutive parts (`sizes`: one row a blob, one column a part)
    labelled with its part's label (a `np.repeat`, fast on small counts)."""
    return np.repeat(np.tile(np.array(labels, dtype=np.int8), len(sizes)), sizes.ravel())


def unpack_many(blobs: list[bytes], dtype: type = np.uint16) -> list[np.ndarray]:
    """`unpack` of each blob (the same values, as `dtype`), decoded together: one candidate's blob
    took ~17 us in `unpack`, mostly numpy's cost per call, and a lookup reads thousands.
    The parts of the blobs (header, flags, table indices, other values, padding) are
    labelled over their bytes laid end to end."""
    if not blobs:
        return []
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    offsets = np.cumsum(sizes) - sizes
    coded = sizes % 2 == 1
    first = buf[offsets[coded]]
    if (first != FORMAT).any():
        raise ValueError(f"unknown token-hash format {int(first[first != FORMAT][0])}")
    n = sizes // 2
    at = offsets[coded]
    n[coded] = buf[at + 1].astype(np.int64) | (buf[at + 2].astype(np.int64) << 8)
    head = np.where(coded, 3, 0)
    flag_bytes = np.where(coded, (n + 7) // 8, 0)
    # the flags: which tokens are table values (the first n bits of each coded blob's)
    part = _parts(np.stack([head, flag_bytes, sizes - head - flag_bytes], axis=1), (0, 1, 0))
    bits = np.unpackbits(buf[part == 1])
    wanted = np.where(coded, n, 0)
    keep = _parts(np.stack([wanted, flag_bytes * 8 - wanted], axis=1), (1, 0))
    flags = bits[keep == 1].view(bool)
    total = int(n.sum())
    common = np.zeros(total, dtype=bool)
    common[np.repeat(coded, n)] = flags
    running = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    ends = np.cumsum(wanted)
    k = running[ends] - running[ends - wanted]  # table values a blob
    others = 2 * (n - k)
    pad = sizes - head - flag_bytes - k - others
    part = _parts(np.stack([head, flag_bytes, k, others, pad], axis=1), (0, 0, 2, 3, 0))
    out = np.empty(total, dtype=np.uint16)
    out[common] = TABLE[buf[part == 2]]
    out[~common] = buf[part == 3].view("<u2")
    values = out if dtype is np.uint16 else out.astype(dtype)
    bounds = np.append(np.cumsum(n) - n, total).tolist()
    return [values[bounds[i] : bounds[i + 1]] for i in range(len(blobs))]
