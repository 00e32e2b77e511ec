"""How the cost of one near-duplicate lookup grows with the size of the index.

    python benchmarks/bench_dedup.py                   # 1k and 100k built with add(), 1M bulk
    python benchmarks/bench_dedup.py --sizes 1000,10000 --bulk ""

Synthetic papers: titles and abstracts drawn from 50,000 letter-only pseudo-words with a
Zipf(1.05) frequency law (like real text, a few words are very frequent).

Two ways to build an index of N papers in a temporary SQLite file:
- `--sizes`: every paper goes through `DedupIndex.add` (the real path; ~1 ms a paper).
- `--bulk`: 1,000 papers go through `DedupIndex.add` (they are the query targets), the
  other N - 1,000 are background rows written straight into `dedup_docs`/`dedup_bands`
  with random 64-bit buckets, the same number of keys a paper (20 LSH bands, 22 anchors,
  four title keys). For unrelated papers this is what real keys look like; it makes a million-paper
  index buildable in about a minute instead of twenty. Running one size both ways shows
  that the two builds give the same lookup cost.

Queries: 100 near-duplicates of indexed papers (abstract cut to 60%, "Abstract:" prefix,
title upper-cased) that must be found, and 100 fresh papers that must not match.
Printed: build time, file size, per-query median and 90th percentile (ms), recall on the
near-duplicates, false matches on fresh papers, and the ratio of the median to the
smallest index's median. Timings are figures to read, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapt_triage import dedup  # noqa: E402
from adapt_triage.paper import Paper  # noqa: E402

VOCABULARY = 50_000
TARGETS = 1_000  # papers added for real in --bulk mode (the near-duplicate queries hit them)
QUERIES = 100


def _word(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    i += 26 * 27  # at least three letters
    out = []
    while i:
        i, r = divmod(i, 26)
        out.append(letters[r])
    return "".join(out)


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = np.array([_word(i) for i in range(VOCABULARY)])
        p = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.05
        self.cdf = np.cumsum(p / p.sum())

    def papers(self, n: int) -> list[Paper]:
        lengths = self.rng.integers(120, 260, size=n)
        draws = np.searchsorted(self.cdf, self.rng.random(int(lengths.sum()) + 10 * n))
        draws = np.minimum(draws, VOCABULARY - 1)
        out, at = [], 0
        for length in lengths:
            title = " ".join(self.words[draws[at : at + 10]]).capitalize()
            abstract = " ".join(self.words[draws[at + 10 : at + 10 + length]]) + "."
            out.append(Paper(title=title, abstract=abstract))
            at += 10 + length
        return out


def near_duplicate(paper: Paper) -> Paper:
    words = paper.abstract.split()
    return Paper(
        title=paper.title.upper(), abstract="Abstract: " + " ".join(words[: len(words) * 6 // 10])
    )


def build_real(db: sqlite_utils.Database, papers: list[Paper]) -> None:
    index = dedup.DedupIndex(db)
    for i, paper in enumerate(papers):
        index.add(f"p{i}", paper)
    db.conn.commit()


def build_bulk(db: sqlite_utils.Database, papers: list[Paper], total: int, seed: int) -> None:
    """Real rows for `papers`, then random background rows up to `total` papers."""
    build_real(db, papers)
    rng = np.random.default_rng(seed)
    start = len(papers) + 1
    n = total - len(papers)
    docs = np.arange(start, start + n, dtype=np.int64)
    blob = dedup._pack_words(["background"])
    db.conn.executemany(
        "INSERT INTO dedup_docs (doc, paper_id, title, words) VALUES (?, ?, '', ?)",
        ((int(d), f"bg{int(d)}", blob) for d in docs),
    )
    anchors_per_paper = 22
    layout = [(band, 1) for band in range(dedup.BANDS)]
    layout += [(band, 1) for band in dedup.TITLE_KEY_BANDS]
    layout += [(dedup.ANCHOR_BAND, anchors_per_paper)]
    for band, per_paper in layout:
        buckets = rng.integers(-(2**63), 2**63 - 1, size=n * per_paper, dtype=np.int64)
        owners = np.repeat(docs, per_paper)
        order = np.argsort(buckets, kind="stable")  # insert in key order: appends
        db.conn.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)",
            zip([band] * len(order), buckets[order].tolist(), owners[order].tolist(), strict=True),
        )
    db.conn.commit()


def measure(db: sqlite_utils.Database, targets: list[Paper], fresh: list[Paper], seed: int):
    index = dedup.DedupIndex(db)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(targets), size=QUERIES, replace=False)
    times_dup, times_fresh, found, false = [], [], 0, 0
    # warm up the page cache the way a long-lived database would be
    for paper in fresh[:10]:
        index.find(paper, "warmup")
    for n, i in enumerate(picks):
        query = near_duplicate(targets[i])
        t = time.perf_counter()
        match = index.find(query, f"q{n}")
        times_dup.append(time.perf_counter() - t)
        found += match is not None and match.canonical_id == f"p{i}"
    for n, paper in enumerate(fresh[10:]):
        t = time.perf_counter()
        match = index.find(paper, f"f{n}")
        times_fresh.append(time.perf_counter() - t)
        false += match is not None
    return times_dup, times_fresh, found, false


def ms(values: list[float], q: float) -> float:
    return 1000 * float(np.quantile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="sizes built with add()")
    parser.add_argument("--bulk", default="100000,1000000", help="sizes built in bulk")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    plans = [("add()", int(s)) for s in args.sizes.split(",") if s]
    plans += [("bulk", int(s)) for s in args.bulk.split(",") if s]

    corpus = Corpus(args.seed)
    biggest_real = max([n for how, n in plans if how == "add()"] + [TARGETS])
    print(f"generating {biggest_real:,} synthetic papers ...", flush=True)
    papers = corpus.papers(biggest_real)
    fresh = corpus.papers(QUERIES + 10)

    header = (
        f"{'index':>10} {'built by':>8} {'build s':>8} {'MB':>7} {'dup med ms':>10}"
        f" {'dup p90':>8} {'new med ms':>10} {'new p90':>8} {'recall':>7} {'false':>5}"
        f" {'ratio':>6}"
    )
    print(header)
    base = None
    for how, n in plans:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.db")
            db = sqlite_utils.Database(path)
            t = time.perf_counter()
            if how == "add()":
                build_real(db, papers[:n])
                targets = papers[:n]
            else:
                targets = papers[:TARGETS]
                build_bulk(db, targets, n, args.seed + n)
            build = time.perf_counter() - t
            size = os.path.getsize(path) / 1e6
            dup, new, found, false = measure(db, targets, fresh, args.seed)
            both = statistics.median(dup + new)
            base = base or both
            print(
                f"{n:>10,} {how:>8} {build:>8.1f} {size:>7.0f} {ms(dup, 0.5):>10.2f}"
                f" {ms(dup, 0.9):>8.2f} {ms(new, 0.5):>10.2f} {ms(new, 0.9):>8.2f}"
                f" {found / QUERIES:>7.0%} {false:>5} {both / base:>6.2f}",
                flush=True,
            )
            db.close()
    print("ratio = median lookup time (near-duplicates and new papers together) / first row's")


if __name__ == "__main__":
    main()
