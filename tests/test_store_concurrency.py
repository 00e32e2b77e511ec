"""The store under real processes: a killed ingest, concurrent ingests, the whole-run lock."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from adapt_triage import dedup
from adapt_triage.store import RunLockedError, Store

WORKER = Path(__file__).with_name("store_worker.py")
pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX signals")


def start_worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == marker:
            return
    raise AssertionError(f"worker ended before {marker}: {proc.wait()} {proc.stderr.read()}")


def finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def table_counts(store: Store) -> dict[str, int]:
    return {
        table: store.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("papers", "version_texts", "paper_sources", "papers_fts")
    }


def test_killed_ingest_leaves_database_as_before_that_source(tmp_path):
    db = tmp_path / "history.db"
    # 4 KiB pages (an older database's; a new one has 8 KiB): the rows of 300 small papers
    # then overflow the worker's 5-page cache and reach the WAL before any commit.
    old = sqlite3.connect(db)
    old.execute("PRAGMA page_size = 4096")
    old.execute("CREATE TABLE scratch (x)")
    old.execute("DROP TABLE scratch")
    old.close()
    first = start_worker("ingest", str(db), "feed-a", "1", "50")
    summary_a = finish(first)
    assert summary_a["new"] == 50

    victim = start_worker("ingest", str(db), "feed-b", "1000", "400", "--pause-after", "300")
    read_until(victim, "PAUSED")  # 300 papers written inside the open transaction
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0  # uncommitted pages really reached the disk
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    assert integrity(db) == "ok"
    with Store(db) as store:
        assert store.count_papers() == 50
        assert table_counts(store) == {
            "papers": 50,
            "version_texts": 50,
            "paper_sources": 50,
            "papers_fts": 50,
        }
        assert store.db.conn.execute(
            "SELECT count(*) FROM papers WHERE source = 'feed-b'"
        ).fetchone() == (0,)
        assert store.get_fetch_state("feed-b") is None  # not even the source row
        assert [p.id for p in store.search("synthetic", limit=3)]
        # The same source ingests fine afterwards.
        again = store.ingest_source("feed-b", [])
        assert again.items == 0
    assert integrity(db) == "ok"


def test_a_source_killed_between_committed_chunks_is_not_stored_and_its_index_is_undone(
    tmp_path,
):
    """A big source commits every chunk (other writers get the lock in between) yet is
    still stored whole or not at all: its rows wait in staging, and the duplicate-index
    entries of the committed chunks are undone by the next ingest."""
    from store_worker import synthetic_papers

    from adapt_triage.dedup import DedupIndex
    from adapt_triage.paper import Paper

    db = tmp_path / "history.db"
    assert finish(start_worker("ingest", str(db), "feed-a", "1", "50", "--real-dedup"))["new"] == 50
    victim = start_worker(
        "ingest", str(db), "feed-b", "1000", "400", "--chunk", "100", "--pause-after", "250",
        "--real-dedup",
    )  # fmt: skip
    read_until(victim, "PAUSED")  # two chunks committed, the third open
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    assert integrity(db) == "ok"
    raw = sqlite3.connect(db)
    try:
        counts = {
            t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("papers", "version_texts", "paper_sources", "papers_fts", "ingest_pending")
        }
        assert raw.execute("SELECT count(*) FROM sources WHERE url = 'feed-b'").fetchone() == (0,)
    finally:
        raw.close()
    assert counts == {
        "papers": 50,
        "version_texts": 50,
        "paper_sources": 50,
        "papers_fts": 50,
        "ingest_pending": 200,  # the committed chunks' index entries, not yet undone
    }
    (killed,) = synthetic_papers(1000, 1, "feed-b", distinct=True)
    copy = Paper(title=killed.title, abstract=killed.abstract)
    with Store(db) as store:
        assert DedupIndex(store.db).find(copy, copy.id) is not None  # an entry left behind
        store.ingest_source("feed-c", [], dedup=DedupIndex(store.db))
        assert store.db.conn.execute("SELECT count(*) FROM ingest_pending").fetchone() == (0,)
        assert DedupIndex(store.db).find(copy, copy.id) is None
        assert table_counts(store)["papers"] == 50
    again = finish(start_worker("ingest", str(db), "feed-b", "1000", "400", "--real-dedup"))
    assert (again["new"], again["duplicates"]) == (400, 0)
    assert integrity(db) == "ok"


def test_concurrent_ingests_of_the_same_papers_store_each_once(tmp_path):
    db = tmp_path / "fresh" / "history.db"  # not created yet: the workers race on migrations
    go = tmp_path / "go"
    workers = [
        start_worker("ingest", str(db), f"feed-{n}", "1", "150", "--go", str(go)) for n in range(3)
    ]
    go.touch()
    summaries = [finish(w) for w in workers]

    assert sum(s["new"] for s in summaries) == 150
    assert all(s["new"] + s["unchanged"] == 150 for s in summaries)
    assert all(s["duplicates"] == 0 and s["updated"] == 0 for s in summaries)
    assert integrity(db) == "ok"
    with Store(db) as store:
        counts = table_counts(store)
        assert counts["papers"] == counts["version_texts"] == counts["papers_fts"] == 150
        assert counts["paper_sources"] == 450  # each paper carried by all three feeds
        # Each migration recorded once although three processes raced on them: the
        # store's own (their count is the schema version), then dedup's.
        recorded = [r[0] for r in store.db.conn.execute("SELECT name FROM _migrations")]
        assert len(recorded) == len(set(recorded))
        own = [name for name in recorded if not name.startswith("dedup:")]
        assert len(own) == store.schema_version
        assert len(recorded) - len(own) == len(dedup.MIGRATIONS)


def test_second_writer_waits_for_the_first(tmp_path):
    db = tmp_path / "history.db"
    Store(db).close()
    release = tmp_path / "release"
    holder = start_worker(
        "ingest", str(db), "feed-a", "1", "100", "--pause-after", "60", "--release", str(release)
    )
    read_until(holder, "PAUSED")  # holds the write lock
    waiter = start_worker("ingest", str(db), "feed-b", "1", "100")
    read_until(waiter, "STARTING")
    # Readers are not blocked by the open write transaction, and see none of it.
    with Store(db) as store:
        assert store.count_papers() == 0
    release.touch()
    a, b = finish(holder), finish(waiter)
    assert a["new"] + b["new"] == 100
    assert a["new"] + a["unchanged"] == b["new"] + b["unchanged"] == 100
    with Store(db) as store:
        assert table_counts(store)["papers"] == 100
    assert integrity(db) == "ok"


def test_run_lock_names_the_holder_and_is_freed_when_it_is_killed(tmp_path):
    db = tmp_path / "history.db"
    holder = start_worker("lock", str(db))
    read_until(holder, "LOCKED")
    with Store(db) as store:
        with pytest.raises(RunLockedError, match=f"pid {holder.pid}"), store.run_lock(timeout=0):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with store.run_lock(timeout=10, command="ingest"):  # no stale lock after a kill
            assert f"pid {os.getpid()}" in store.lock_path.read_text()
