"""Other writers during a big ingest: no write lock is held while the model works, and the
papers are written in chunks, each its own short transaction, so `label`, `feeds add` and
`categories add` get the lock while a 20,000-paper ingest runs, not after it.

How long each command may take is not asserted (that depends on the machine's load): the
ingest is stopped (SIGSTOP) in its write phase, between two chunks, while the commands run,
so they can only succeed if they never wait for the ingest; it then goes on and stores
every paper."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses a subprocess ingest")


def write_papers(path: Path, count: int, seed: int) -> Path:
    """`count` papers of their own text each (none a duplicate of another)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(4, 9))) for _ in range(5000)]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            title = " ".join(rng.choices(vocab, k=8)) + f" {seed}-{i}"
            abstract = " ".join(rng.choices(vocab, k=60)) + "."
            out.write(json.dumps({"title": title, "abstract": abstract}) + "\n")
    return path


def cli(db: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def scalar(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_label_feeds_add_and_categories_add_succeed_during_a_20000_paper_ingest(tmp_path):
    db = tmp_path / "history.db"
    seed = cli(db, "ingest", str(write_papers(tmp_path / "seed.jsonl", 3, seed=1)), timeout=300)
    assert seed.returncode == 0, seed.stderr
    paper_id = [r for r in sqlite3.connect(db).execute("SELECT id FROM papers ORDER BY id")][0][0]
    big = write_papers(tmp_path / "big.jsonl", 20_000, seed=2)

    ingest = subprocess.Popen(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", str(big)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait for the write phase: a committed chunk lists its papers in ingest_pending.
        deadline = time.monotonic() + 600
        while scalar(db, "SELECT count(*) FROM ingest_pending") == 0:
            assert ingest.poll() is None, f"the ingest ended early: {ingest.stderr.read()}"
            assert time.monotonic() < deadline, "the ingest never reached its write phase"
            time.sleep(0.2)
        # Take the write lock as another writer would (this waits for the chunk being
        # written, never for the whole ingest), and stop the ingest while it is ours: the
        # stopped ingest holds no write lock, and is still in its write phase.
        holder = sqlite3.connect(db, timeout=60, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            ingest.send_signal(signal.SIGSTOP)
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert ingest.poll() is None, f"the ingest ended early: {ingest.stderr.read()}"
        pending = scalar(db, "SELECT count(*) FROM ingest_pending")
        assert pending > 0, pending  # chunks committed, the source not yet whole
        for command in (
            ("label", paper_id, "--add", "adapters"),
            ("feeds", "add", "https://example.org/new-feed.xml", "--name", "new-feed"),
            ("categories", "add", "model-merging", "-d", "merging fine-tuned weights"),
        ):
            # The ingest cannot finish while stopped: a command that waited for it would
            # hang until this bound (a guard for the suite, no timing assert).
            done = cli(db, *command, timeout=120)
            assert done.returncode == 0, (command, done.stderr)
        ingest.send_signal(signal.SIGCONT)
        assert ingest.wait(timeout=900) == 0, ingest.stderr.read()
    finally:
        if ingest.poll() is None:
            ingest.send_signal(signal.SIGCONT)
            ingest.kill()
            ingest.wait()

    assert scalar(db, "SELECT count(*) FROM papers") == 20_003
    assert scalar(db, "SELECT count(*) FROM ingest_pending") == 0
    assert scalar(db, f"SELECT count(*) FROM user_labels WHERE paper_id = '{paper_id}'") >= 1
    assert scalar(db, "SELECT count(*) FROM sources WHERE name = 'new-feed' AND subscribed") == 1
    assert scalar(db, "SELECT count(*) FROM categories WHERE slug = 'model-merging'") == 1
