"""A separate process for the store's concurrency tests (not a test module itself).

    python store_worker.py ingest DB SOURCE FIRST COUNT [--go FILE] [--pause-after N]
                                                         [--release FILE]
    python store_worker.py lock DB

`ingest` stores COUNT synthetic papers (arXiv ids 2401.FIRST ... ) from SOURCE in one
`ingest_source` call and prints the summary as JSON. `--chunk N` writes N papers a
transaction; `--real-dedup` checks them with the real duplicate index (and gives each paper
its own text, so that none is a duplicate). `--go FILE` waits until FILE exists
before starting (so several workers start together). `--pause-after N` prints PAUSED after
the N-th paper was written inside the transaction, then waits until `--release FILE` exists
(or forever, to be killed there). `lock` takes the whole-run lock, prints LOCKED and sleeps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapt_triage.paper import Paper  # noqa: E402
from adapt_triage.store import Store  # noqa: E402


def distinct_abstract(i: int) -> str:
    """A text no other paper shares (random words, seeded by the paper's number)."""
    import random

    rng = random.Random(i)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choices(letters, k=rng.randint(4, 9))) for _ in range(60))


def synthetic_papers(first: int, count: int, source: str, distinct: bool = False) -> list[Paper]:
    papers = [
        Paper(
            title=f"Synthetic paper {i} on adaptation",
            abstract=f"Abstract {i}: " + "low-rank adapters for frozen backbones. " * 20,
            authors=[f"Author {i}", "Second Author"],
            url=f"https://arxiv.org/abs/2401.{i:05d}v1",
            arxiv_id=f"2401.{i:05d}",
            version=1,
            source=source,
            labels=["lora"],
            scores={"lora": 0.9, "adapters": 0.2},
        )
        for i in range(first, first + count)
    ]
    if distinct:
        for i, paper in enumerate(papers, first):
            paper.title = f"Synthetic paper {i}: " + distinct_abstract(-i)[:60]
            paper.abstract = distinct_abstract(i)
    return papers


def wait_for(path: str | None) -> None:
    while path is not None and not Path(path).exists():
        time.sleep(0.01)


class PausingIndex:
    """A dedup stand-in that never finds a match and can stop the ingest half-way."""

    def __init__(self, pause_after: int | None, release: str | None, real=None) -> None:
        self.pause_after = pause_after
        self.release = release
        self.added = 0
        self.real = real  # a real DedupIndex to ask and fill, if given

    def find(self, paper: Paper, paper_id: str):
        return self.real.find(paper, paper_id) if self.real is not None else None

    def add(self, paper_id: str, paper: Paper, canonical_id: str | None = None) -> None:
        if self.real is not None:
            self.real.add(paper_id, paper, canonical_id=canonical_id)
        self.added += 1
        if self.added == self.pause_after:
            print("PAUSED", flush=True)
            if self.release is None:
                while True:
                    time.sleep(60)
            wait_for(self.release)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["ingest", "lock"])
    parser.add_argument("db")
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--go")
    parser.add_argument("--pause-after", type=int)
    parser.add_argument("--release")
    parser.add_argument("--chunk", type=int)
    parser.add_argument("--real-dedup", action="store_true")
    args = parser.parse_args()
    if args.command == "lock":
        with Store(args.db) as store, store.run_lock(command="test"):
            print("LOCKED", flush=True)
            while True:
                time.sleep(60)
    source, first, count = args.rest[0], int(args.rest[1]), int(args.rest[2])
    papers = synthetic_papers(first, count, source, distinct=args.real_dedup)
    wait_for(args.go)
    with Store(args.db) as store:
        # A tiny page cache makes SQLite spill uncommitted pages into the WAL mid-transaction,
        # so a kill finds real uncommitted frames on disk.
        store.db.conn.execute("PRAGMA cache_size = 5")
        if args.chunk:
            store.write_chunk, store.yield_seconds = args.chunk, 0.0
        real = None
        if args.real_dedup:
            from adapt_triage.dedup import DedupIndex

            real = DedupIndex(store.db)
        print("STARTING", flush=True)
        summary = store.ingest_source(
            source,
            papers,
            dedup=PausingIndex(args.pause_after, args.release, real),
            model_version="worker",
        )
    print(json.dumps(summary.to_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
