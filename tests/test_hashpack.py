"""adapt_triage.hashpack: a chunk's candidates decoded together (`unpack_many`) read back
exactly what `unpack` reads from each blob, coded or raw, empty or long, and `count` says
how many tokens a blob holds without decoding it."""

from __future__ import annotations

import numpy as np
import pytest

from adapt_triage import hashpack


def blobs(seed: int, count: int = 400) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(0, 5)) if i % 7 == 0 else int(rng.integers(5, 600))
        share = rng.random()  # from mostly table values (coded) to none (kept raw)
        common = rng.random(n) < share
        table = hashpack.TABLE[rng.integers(0, len(hashpack.TABLE), n)]
        values = np.where(common, table, rng.integers(0, 1 << 16, n)).astype(np.uint16)
        out.append(hashpack.pack(values))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_unpack_many_reads_each_blob_as_unpack_does(seed):
    given = blobs(seed)
    assert {len(b) % 2 for b in given} == {0, 1}  # both forms are among them
    many = hashpack.unpack_many(given)
    wide = hashpack.unpack_many(given, np.uint64)
    for blob, one, big in zip(given, many, wide, strict=True):
        alone = hashpack.unpack(blob)
        assert one.dtype == np.uint16 and np.array_equal(one, alone)
        assert big.dtype == np.uint64 and np.array_equal(big, alone.astype(np.uint64))
        assert hashpack.count(blob) == len(alone)
    assert hashpack.unpack_many([]) == []
    empty = [b"", hashpack.pack(np.zeros(0, np.uint16))]
    assert [len(x) for x in hashpack.unpack_many(empty)] == [0, 0]


def test_unpack_many_refuses_an_unknown_format_as_unpack_does():
    blob = bytearray(hashpack.pack(np.repeat(hashpack.TABLE[:4], 10)))
    assert len(blob) % 2 == 1
    blob[0] = 9
    with pytest.raises(ValueError, match="unknown token-hash format 9"):
        hashpack.unpack(bytes(blob))
    with pytest.raises(ValueError, match="unknown token-hash format 9"):
        hashpack.unpack_many([hashpack.pack(hashpack.TABLE[:3]), bytes(blob)])
