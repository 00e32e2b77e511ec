"""A killed ingest and two overlapping ingests, through the real CLI in real processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import REPO

WORKER = Path(__file__).with_name("cli_worker.py")


def synthetic_jsonl(path: Path, first: int, count: int) -> Path:
    with path.open("w") as out:
        for i in range(first, first + count):
            out.write(
                json.dumps(
                    {
                        "id": f"arXiv:2402.{i:05d}",
                        "title": f"Paper {i}: a study of adapter number {i * 7919 % 10007}",
                        "abstract": f"Item {i} looks at frozen backbones with bottleneck "
                        f"adapters of width {i % 97} on task {i * 31 % 1013}.",
                    }
                )
                + "\n"
            )
    return path


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_killed_ingest_leaves_the_database_intact_and_the_source_all_or_nothing(
    tmp_path, seed_page
):
    db = tmp_path / "t.db"
    env = {**os.environ, "ADAPT_TRIAGE_DB": str(db)}
    first = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "ingest", str(seed_page)],
        env=env,
        cwd=REPO,
        capture_output=True,
    )
    assert first.returncode == 0, first.stderr
    before = query(db, "SELECT * FROM papers ORDER BY id")
    big = synthetic_jsonl(tmp_path / "big.jsonl", 0, 300)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "200", "ingest", str(big)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # PAUSED: 200 of the 300 papers are written inside the source's open transaction.
        assert proc.stdout.readline().strip() == "PAUSED"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT * FROM papers ORDER BY id") == before
    assert query(db, f"SELECT count(*) FROM paper_sources WHERE source = '{big}'") == [(0,)]
    # The lock died with the process: the next run stores the whole source.
    again = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "ingest", str(big)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert "new 300" in again.stderr
    assert query(db, "SELECT count(*) FROM papers") == [(371,)]


def test_two_overlapping_ingests_both_succeed_without_duplicate_rows(tmp_path, seed_page):
    db = tmp_path / "t.db"
    env = {**os.environ, "ADAPT_TRIAGE_DB": str(db)}
    a = synthetic_jsonl(tmp_path / "a.jsonl", 0, 150)
    b = synthetic_jsonl(tmp_path / "b.jsonl", 100, 150)  # 50 papers in common with a
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "adapt_triage", "ingest", *map(str, sources)],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for sources in ((a, seed_page), (b, seed_page))
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM papers") == [(321, 321)]
    assert query(db, "SELECT count(*) FROM papers WHERE duplicate_of IS NOT NULL") == [(1,)]
    assert query(
        db, "SELECT count(*) FROM (SELECT paper_id, source FROM paper_sources GROUP BY 1, 2)"
    ) == query(db, "SELECT count(*) FROM paper_sources")
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
