"""Dedup cost per new paper as the index grows: a daily batch of 1,000 new papers checked
and added at 1k, 10k, 100k and 1M papers stored.

    python benchmarks/bench_dedup.py                        # 1k, 10k, 100k real; 1M bulk
    python benchmarks/bench_dedup.py --sizes 1000,10000 --bulk ""
    python benchmarks/bench_dedup.py --per-paper            # find()/add() one at a time

Synthetic papers: titles and abstracts drawn from 50,000 letter-only pseudo-words with a
Zipf(1.05) frequency law (like real text, a few words are very frequent).

Two ways to build an index of N papers in a temporary SQLite file:
- `--sizes`: every paper goes through `DedupIndex.add_many` in chunks (the real path).
- `--bulk`: 1,000 papers go through `add_many` (they are the batch's targets), the other
  N - 1,000 are background rows written straight into `dedup_docs`/`dedup_bands` with
  random 32-bit buckets, as many keys a paper as a real one has (20 LSH bands, 22
  anchors, four title keys). For unrelated papers this is what real keys look like; it
  makes a million-paper index buildable in minutes.

The batch (one transaction, `find_many` then `add_many` per chunk of 500, as the store
will call them): 100 near-duplicates of stored papers (abstract cut to 60%, "Abstract:"
prefix, title upper-cased), 20 papers together with a near-duplicate of each later in the
same batch, and fresh papers up to 1,000. In --bulk mode the batch meets the recent-keys
table half full (MERGE_ROWS / 2 rows), its average state. Printed per size: build time,
file size, CPU ms and wall ms per new paper, the periodic merge's CPU ms per paper (the
recent table filled to MERGE_ROWS, merged once, divided by the papers it held), recall
(duplicates linked to the right paper / planted), false links (fresh papers linked to
anything), and (cpu + merge) per paper over the first row's. The database is in WAL mode
with SQLite's default page cache unless --cache-mb says otherwise. Timings are figures
to read, not assertions (the machine may be loaded).

`--impl PATH` loads another dedup module (e.g. an older commit's, which has only
find()/add()) to compare against.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapt_triage.paper import Paper  # noqa: E402

VOCABULARY = 50_000
TARGETS = 1_000  # papers added for real in --bulk mode (the near-duplicates hit them)
BATCH = 1_000  # new papers a day
PLANTED = 100  # near-duplicates of stored papers in the batch
INNER = 20  # pairs inside the batch (a paper and, later, its near-duplicate)
CHUNK = 500  # papers per find_many / add_many
KEYS_PER_PAPER = [(band, 1) for band in range(20)] + [(-1, 22), (-2, 1), (-3, 1), (-4, 1), (-5, 1)]


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


def load(path: str | None) -> ModuleType:
    if not path:
        from adapt_triage import dedup

        return dedup
    spec = importlib.util.spec_from_file_location("dedup_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def add_all(index, items: list[tuple[str, Paper]], per_paper: bool) -> None:
    if per_paper or not hasattr(index, "add_many"):
        for paper_id, paper in items:
            index.add(paper_id, paper)
        return
    for at in range(0, len(items), CHUNK):
        index.add_many(items[at : at + CHUNK])


def check_and_add(index, items: list[tuple[str, Paper]], per_paper: bool) -> list:
    """What the store does with one source: look each new paper up, then add it."""
    if per_paper or not hasattr(index, "find_many"):
        matches = []
        for paper_id, paper in items:
            matches.append(index.find(paper, paper_id))
            index.add(paper_id, paper, matches[-1].canonical_id if matches[-1] else None)
        return matches
    matches = []
    for at in range(0, len(items), CHUNK):
        chunk = items[at : at + CHUNK]
        matches += index.find_many(chunk)
        index.add_many(chunk)
    return matches


def build_bulk(db: sqlite_utils.Database, dedup: ModuleType, start: int, n: int, seed: int):
    """`n` background papers (doc numbers from `start`) with random keys."""
    rng = np.random.default_rng(seed)
    columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_docs)")}
    docs = np.arange(start, start + n, dtype=np.int64)
    if "words" in columns:  # the first layout: compressed words, 64-bit buckets
        blob = dedup.zlib.compress(b"background")
        rows = ((int(d), f"bg{int(d)}", "", blob) for d in docs)
        db.conn.executemany(
            "INSERT INTO dedup_docs (doc, paper_id, title, words) VALUES (?, ?, ?, ?)", rows
        )
        low, high = -(2**63), 2**63 - 1
    else:
        blob = dedup._pack_hashes(np.zeros(0, dtype=np.uint64))  # no text
        rows = ((int(d), f"bg{int(d)}", "", blob, b"") for d in docs)
        db.conn.executemany(
            "INSERT INTO dedup_docs (doc, paper_id, title, hashes, stems) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        low, high = -(2**31), 2**31 - 1
    for band, per_paper in KEYS_PER_PAPER:
        for at in range(0, n, 200_000):  # bounded memory
            owners = np.repeat(docs[at : at + 200_000], per_paper)
            buckets = rng.integers(low, high, size=len(owners), dtype=np.int64)
            order = np.argsort(buckets, kind="stable")
            db.conn.executemany(
                "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)",
                zip(
                    [band] * len(order),
                    buckets[order].tolist(),
                    owners[order].tolist(),
                    strict=True,
                ),
            )
    db.conn.commit()


def fill_recent(db: sqlite_utils.Database, dedup: ModuleType, rows: int, first: int, seed: int):
    """Random key rows into dedup_recent up to `rows`, for papers numbered from `first`."""
    rng = np.random.default_rng(seed)
    n = max(0, rows - db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0])
    keys_per_paper = sum(k for _, k in KEYS_PER_PAPER)
    docs = first + np.arange(n) // keys_per_paper
    bands = rng.integers(-5, dedup.BANDS, size=n)
    buckets = rng.integers(-(2**31), 2**31 - 1, size=n, dtype=np.int64)
    order = np.lexsort((docs, buckets, bands))
    values = zip(bands[order].tolist(), buckets[order].tolist(), docs[order].tolist(), strict=True)
    with db.atomic():
        db.conn.executemany("INSERT OR IGNORE INTO dedup_recent VALUES (?, ?, ?)", values)


def measure_merge(db: sqlite_utils.Database, dedup: ModuleType, index, seed: int) -> float:
    """CPU ms per paper of the merge that moves the recent keys into dedup_bands: the
    recent table filled to MERGE_ROWS rows (as many papers as that holds), merged once
    and timed, divided by those papers."""
    top = db.execute("SELECT max(doc) FROM dedup_docs").fetchone()[0]
    fill_recent(db, dedup, dedup.MERGE_ROWS, top + 1, seed)
    cpu = time.process_time()
    with db.atomic():
        index._merge()
    keys_per_paper = sum(k for _, k in KEYS_PER_PAPER)
    return 1000 * (time.process_time() - cpu) / (dedup.MERGE_ROWS / keys_per_paper)


def batch(corpus: Corpus, targets: list[Paper], seed: int) -> tuple[list, dict, set]:
    """The day's new papers, what each planted duplicate must link to, and the fresh ids."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(targets), size=PLANTED, replace=False)
    fresh = corpus.papers(BATCH - PLANTED - INNER)
    inner = corpus.papers(INNER)
    items = [(f"dup{n}", near_duplicate(targets[i])) for n, i in enumerate(picks)]
    expect = {f"dup{n}": f"p{i}" for n, i in enumerate(picks)}
    items += [(f"new{n}", p) for n, p in enumerate(fresh)]
    # each inner paper early in the batch, its near-duplicate later
    for n, paper in enumerate(inner):
        items.insert(2 * n, (f"in{n}", paper))
        expect[f"indup{n}"] = f"in{n}"
    items += [(f"indup{n}", near_duplicate(p)) for n, p in enumerate(inner)]
    return items, expect, {pid for pid, _ in items if pid not in expect}


def run_one(dedup, how: str, n: int, corpus: Corpus, papers: list[Paper], args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA journal_mode = WAL")  # as the store opens its database
        if args.cache_mb:
            db.execute(f"PRAGMA cache_size = -{int(args.cache_mb * 1024)}")
        index = dedup.DedupIndex(db)
        t = time.perf_counter()
        real = n if how == "real" else TARGETS
        with db.atomic():
            add_all(index, [(f"p{i}", p) for i, p in enumerate(papers[:real])], args.per_paper)
        if how == "bulk":
            build_bulk(db, dedup, real + 1, n - real, args.seed + n)
        build = time.perf_counter() - t
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = os.path.getsize(path) / 1e6
        if how == "bulk" and hasattr(dedup, "MERGE_ROWS"):
            # on average the recent table is half full when a batch comes (its papers:
            # the newest of the background)
            keys_per_paper = sum(k for _, k in KEYS_PER_PAPER)
            half = min(dedup.MERGE_ROWS // 2, (n - real) * keys_per_paper)
            fill_recent(db, dedup, half, n - half // keys_per_paper, args.seed)
        items, expect, fresh = batch(corpus, papers[:real], args.seed)
        index = dedup.DedupIndex(db)  # a new run opens the index
        cpu, wall = time.process_time(), time.perf_counter()
        with db.atomic():
            matches = check_and_add(index, items, args.per_paper)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        found = dict(zip([pid for pid, _ in items], matches, strict=True))
        merge = measure_merge(db, dedup, index, args.seed) if hasattr(index, "_merge") else 0.0
        db.close()
    recall = sum(
        1 for pid, root in expect.items() if found[pid] and found[pid].canonical_id == root
    )
    false = sum(1 for pid in fresh if found[pid] is not None)
    return {
        "n": n,
        "how": how,
        "build": build,
        "size": size,
        "cpu": 1000 * cpu / len(items),
        "merge": merge,
        "wall": 1000 * wall / len(items),
        "recall": f"{recall}/{len(expect)}",
        "false": false,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="sizes built for real")
    parser.add_argument("--bulk", default="1000000", help="sizes built in bulk")
    parser.add_argument("--per-paper", action="store_true", help="find()/add() per paper")
    parser.add_argument("--impl", help="path of another dedup module to measure")
    parser.add_argument(
        "--cache-mb", type=float, default=0, help="SQLite page cache (default: SQLite's 2 MB)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    dedup = load(args.impl)
    plans = [("real", int(s)) for s in args.sizes.split(",") if s]
    plans += [("bulk", int(s)) for s in args.bulk.split(",") if s]

    corpus = Corpus(args.seed)
    biggest = max([n for how, n in plans if how == "real"] + [TARGETS])
    print(f"generating {biggest:,} synthetic papers ...", flush=True)
    papers = corpus.papers(biggest)
    mode = "per paper" if args.per_paper or not hasattr(dedup.DedupIndex, "find_many") else "chunks"
    print(f"a batch of {BATCH} new papers checked and added ({mode}); {dedup.PARAMS_VERSION}")
    print(
        f"{'stored':>10} {'built':>5} {'build s':>8} {'MB':>7} {'cpu ms/paper':>12}"
        f" {'wall ms':>8} {'merge ms':>8} {'recall':>8} {'false':>5} {'ratio':>6}"
    )
    base = None
    for how, n in plans:
        row = run_one(dedup, how, n, corpus, papers, args)
        cost = row["cpu"] + row["merge"]
        base = base or cost
        print(
            f"{n:>10,} {how:>5} {row['build']:>8.1f} {row['size']:>7.0f} {row['cpu']:>12.3f}"
            f" {row['wall']:>8.3f} {row['merge']:>8.3f} {row['recall']:>8} {row['false']:>5}"
            f" {cost / base:>6.2f}",
            flush=True,
        )
    print(
        "merge ms = CPU per paper of the periodic merge of the recent keys (every"
        " MERGE_ROWS key rows); ratio = (cpu + merge) per new paper / the first row's"
    )


if __name__ == "__main__":
    main()
