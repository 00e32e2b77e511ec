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
  random buckets, as many keys of each kind a paper as the 1,000 real ones have (measured
  from them: 10 LSH bands, ~13 anchors, up to four title keys). For unrelated papers this
  is what real keys look like; it makes a million-paper index buildable in minutes. The
  background docs have no text: the dedup_docs size at 1M is not a real one (see
  benchmarks/scale.py's size part for bytes per paper).

The batch (one transaction, `find_many` then `add_many` per chunk of 500, as the store
will call them): 100 near-duplicates of stored papers (abstract cut to 60%, "Abstract:"
prefix, title upper-cased), 20 papers together with a near-duplicate of each later in the
same batch, and fresh papers up to 1,000. In --bulk mode the batch meets the recent-keys
table half full (MERGE_ROWS / 2 rows), its average state. Printed per size: build time,
file size, CPU ms and wall ms per new paper, the periodic merge's CPU ms per paper (the
recent table filled to MERGE_ROWS, merged once, divided by the papers it held), recall
(duplicates linked to the right paper / planted), false links (fresh papers linked to
anything), and (cpu + merge) per paper over the first row's. The database is in WAL mode
with the store's page cache (`store.db.CACHE_KIB`) unless --cache-mb says otherwise.
Timings are figures to read, not assertions (the machine may be loaded).

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
from adapt_triage.store.db import CACHE_KIB  # noqa: E402

VOCABULARY = 50_000
TARGETS = 1_000  # papers added for real in --bulk mode (the near-duplicates hit them)
BATCH = 1_000  # new papers a day
PLANTED = 100  # near-duplicates of stored papers in the batch
INNER = 20  # pairs inside the batch (a paper and, later, its near-duplicate)
CHUNK = 500  # papers per find_many / add_many


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


def key_layout(db: sqlite_utils.Database) -> str:
    """ "band" for the (band, bucket, doc) key rows of dedup-3 and earlier, else "key"."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_bands)")}
    return "band" if "band" in columns else "key"


def key_profile(db: sqlite_utils.Database, dedup: ModuleType) -> dict[int, float]:
    """Keys of each kind (band) a paper has, on average over the indexed papers."""
    band = "band" if key_layout(db) == "band" else dedup._SQL_BAND
    rows = db.execute(
        f"SELECT {band} AS band, count(*) FROM (SELECT * FROM dedup_bands UNION ALL "
        "SELECT * FROM dedup_recent) GROUP BY band"
    ).fetchall()
    papers = db.execute("SELECT count(*) FROM dedup_docs").fetchone()[0]
    return {int(b): n / papers for b, n in rows}


def random_keys(dedup: ModuleType, layout: str, band: int, n: int, rng) -> list[tuple]:
    """`n` random key values of one band, as stored: (band, 32-bit bucket) in the old
    layout, one folded 32-bit key (`dedup._fold`) in the new."""
    buckets = rng.integers(-(2**31), 2**31 - 1, size=n, dtype=np.int64)
    if layout == "band":
        return [(band, b) for b in buckets.tolist()]
    if band == dedup.ANCHOR_BAND:
        keys = (buckets & dedup._ANCHOR_MASK) - 2**31
    else:
        keys = (dedup._band_code(band) << 27) | (buckets & dedup._OTHER_MASK)
    return [(k,) for k in keys.tolist()]


def build_bulk(
    db: sqlite_utils.Database, dedup: ModuleType, start: int, n: int, seed: int, profile: dict
):
    """`n` background papers (doc numbers from `start`) with random keys, as many of each
    kind a paper as `profile` says (`key_profile` of the real papers)."""
    rng = np.random.default_rng(seed)
    layout = key_layout(db)
    docs = np.arange(start, start + n, dtype=np.int64)
    pack = getattr(dedup, "_pack16", dedup._pack_hashes)
    blob = pack(np.zeros(0, dtype=np.uint64))  # no text
    authors = "[]" if layout == "band" else b""  # JSON names before dedup-4, then hashes
    rows = ((int(d), f"bg{int(d)}", "", blob, b"", authors) for d in docs)
    db.conn.executemany(
        "INSERT INTO dedup_docs (doc, paper_id, title, hashes, stems, authors)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    insert = (
        "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)"
        if layout == "band"
        else "INSERT OR IGNORE INTO dedup_bands (key, doc) VALUES (?, ?)"
    )
    for band, per_paper in profile.items():
        for at in range(0, n, 200_000):  # bounded memory
            part = docs[at : at + 200_000]
            # floor(per_paper) keys each, one more for a share frac(per_paper) of papers
            counts = int(per_paper) + (rng.random(len(part)) < per_paper % 1)
            owners = np.repeat(part, counts)
            keys = random_keys(dedup, layout, band, len(owners), rng)
            rows = sorted(zip(keys, owners.tolist(), strict=True))
            db.conn.executemany(insert, [(*k, d) for k, d in rows])
    db.conn.commit()


def fill_recent(
    db: sqlite_utils.Database, dedup: ModuleType, rows: int, first: int, seed: int, profile: dict
):
    """Random key rows into dedup_recent up to `rows`, for papers numbered from `first`,
    the kinds of keys in `profile`'s proportions."""
    rng = np.random.default_rng(seed)
    n = max(0, rows - db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0])
    layout = key_layout(db)
    per_paper = sum(profile.values())
    docs = (first + np.arange(n) / per_paper).astype(np.int64).tolist()
    bands = rng.choice(list(profile), size=n, p=np.array(list(profile.values())) / per_paper)
    keys: list[tuple] = []
    for band in profile:
        keys += random_keys(dedup, layout, band, int((bands == band).sum()), rng)
    values = sorted((*k, d) for k, d in zip(keys, docs, strict=True))
    marks = ", ".join("?" * (3 if layout == "band" else 2))
    with db.atomic():
        db.conn.executemany(f"INSERT OR IGNORE INTO dedup_recent VALUES ({marks})", values)


def measure_merge(
    db: sqlite_utils.Database, dedup: ModuleType, index, seed: int, profile: dict
) -> float:
    """CPU ms per paper of the merge that moves the recent keys into dedup_bands: the
    recent table filled to MERGE_ROWS rows (as many papers as that holds), merged once
    and timed, divided by those papers."""
    top = db.execute("SELECT max(doc) FROM dedup_docs").fetchone()[0]
    fill_recent(db, dedup, dedup.MERGE_ROWS, top + 1, seed, profile)
    cpu = time.process_time()
    with db.atomic():
        index._merge()
    keys_per_paper = sum(profile.values())
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
        profile = key_profile(db, dedup)  # of the real papers
        if how == "bulk":
            build_bulk(db, dedup, real + 1, n - real, args.seed + n, profile)
        build = time.perf_counter() - t
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = os.path.getsize(path) / 1e6
        if how == "bulk" and hasattr(dedup, "MERGE_ROWS"):
            # on average the recent table is half full when a batch comes (its papers:
            # the newest of the background)
            keys_per_paper = sum(profile.values())
            half = int(min(dedup.MERGE_ROWS // 2, (n - real) * keys_per_paper))
            fill_recent(db, dedup, half, n - int(half / keys_per_paper), args.seed, profile)
        items, expect, fresh = batch(corpus, papers[:real], args.seed)
        index = dedup.DedupIndex(db)  # a new run opens the index
        cpu, wall = time.process_time(), time.perf_counter()
        with db.atomic():
            matches = check_and_add(index, items, args.per_paper)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        found = dict(zip([pid for pid, _ in items], matches, strict=True))
        merge = (
            measure_merge(db, dedup, index, args.seed, profile) if hasattr(index, "_merge") else 0.0
        )
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
        "--cache-mb",
        type=float,
        default=CACHE_KIB / 1024,
        help=f"SQLite page cache (default: the store's, {CACHE_KIB / 1024:g} MB; 0: SQLite's 2 MB)",
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
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
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
