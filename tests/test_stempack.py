"""adapt_triage.stempack: the coded form of the duplicate index's stem hashes gives back
exactly the values it was given, in less space than the raw uint16 array it replaces, and
the raw form (what older indexes hold) reads as before."""

from __future__ import annotations

import numpy as np
import pytest

from adapt_triage import stempack


def values(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(1 << 16, size=n, replace=False)).astype(np.uint16)


@pytest.mark.parametrize("n", [*range(0, 130), 200, 400, 1000, 4000, 65535, 65536])
def test_every_set_reads_back_exactly_and_never_larger_than_raw(n):
    for seed in range(3):
        v = values(n, seed)
        blob = stempack.pack(v)
        back = stempack.unpack(blob)
        assert back.dtype == np.uint16 and np.array_equal(back, v)
        assert len(blob) <= 2 * n + 1


@pytest.mark.parametrize(
    "edge",
    [
        [0],
        [65535],
        [0, 65535],
        list(range(65476, 65536)),
        list(range(60)),
        list(range(0, 1 << 16, 256)),
    ],
)
def test_the_ends_of_the_range_and_dense_runs(edge):
    v = np.array(edge, dtype=np.uint16)
    assert np.array_equal(stempack.unpack(stempack.pack(v)), v)


def test_an_abstracts_stems_take_about_eleven_bits_each_and_raw_blobs_still_read():
    v = values(120, 7)  # an arXiv-length abstract has ~120 content stems
    blob = stempack.pack(v)
    assert len(blob) % 2 == 1 and len(blob) < 0.72 * 2 * len(v)
    raw = v.astype("<u2").tobytes()  # what the index stored before
    assert np.array_equal(stempack.unpack(raw), v)
    few = values(20, 7)  # too few to gain: kept raw
    assert stempack.pack(few) == few.astype("<u2").tobytes()
    assert stempack.unpack(b"").size == 0
