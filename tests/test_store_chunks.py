"""Writing a source a chunk at a time: the outcome does not depend on the chunk size (one
lookup and one write per table per chunk, the duplicate index asked once per chunk), the
papers may come as a lazy stream, and `versions` keeps only the text that changed (the
`version_texts` view, and `Store.versions`, give it whole)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database
from store_support import T0, T1, arxiv, dump

from adapt_triage.dedup import DedupIndex
from adapt_triage.paper import Paper
from adapt_triage.store import Store, migrate

ABSTRACT = (
    "We adapt a frozen vision transformer to new domains with a low-rank update of its "
    "attention projections, trained on a few hundred labelled images per target domain, "
    "and show that the update transfers across resolutions without retraining."
)


def batch() -> list[Paper]:
    """Papers with every case a chunk boundary can split: the same id twice, a near
    duplicate of an earlier paper, a title-only listing then the full entry, versions."""
    copy = Paper(title="Low-rank domain adaptation of frozen ViTs", abstract=ABSTRACT)
    listing = Paper(title="Sparse prompts for speech models")
    full = Paper(title="Sparse prompts for speech models", abstract="Prompts for speech.")
    original = Paper(
        title="Low-rank domain adaptation of frozen ViTs",
        abstract=ABSTRACT,
        arxiv_id="2402.01234",
        version=1,
        authors=["Ana Li", "Bo Chen"],
    )
    return [
        arxiv(1),
        original,
        arxiv(2),
        listing,
        arxiv(1),  # again, in the same source
        copy,  # a duplicate of `original`
        arxiv(3),
        full,  # fills in the listing's abstract
        arxiv(2, version=2, title="Paper 2 revised: adapters for speech"),
        arxiv(4),
    ]


def ingest_in_chunks(path, chunk: int) -> tuple[list, list[str]]:
    with Store(path) as store:
        store.write_chunk, store.yield_seconds = chunk, 0.0
        index = DedupIndex(store.db)
        first = store.ingest_source("a", batch()[:6], dedup=index, now=T0)
        second = store.ingest_source("b", iter(batch()), dedup=index, now=T1)
        counts = [
            (s.items, s.new, s.updated, s.duplicates, s.unchanged, s.merged)
            for s in (first, second)
        ]
        rows = [
            line
            for line in dump(store, skip=("sources", "dedup_meta", "_migrations"))
            if "INSERT INTO" in line
        ]
        return [counts, first.new_ids, second.updated_ids, first.duplicate_ids], rows


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_the_chunk_size_does_not_change_what_is_stored(tmp_path, chunk):
    whole, whole_rows = ingest_in_chunks(tmp_path / "whole.db", 1000)
    chunked, chunked_rows = ingest_in_chunks(tmp_path / f"chunk{chunk}.db", chunk)
    assert chunked == whole
    assert chunked_rows == whole_rows
    (first, second), new_ids, updated_ids, duplicate_ids = whole
    assert first == (6, 4, 0, 1, 1, 0)  # arxiv(1) twice: the second one is unchanged
    assert second == (10, 2, 2, 0, 6, 0)  # the full entry fills the listing; arxiv(2) v2
    assert new_ids[:3] == ["arxiv:2401.00001", "arxiv:2402.01234", "arxiv:2401.00002"]
    assert updated_ids == [new_ids[3], "arxiv:2401.00002"]
    assert duplicate_ids == [batch()[5].id]


def test_a_chunked_source_links_a_duplicate_to_a_paper_of_an_earlier_chunk(tmp_path):
    with Store(tmp_path / "h.db") as store:
        store.write_chunk = 2
        store.ingest_source("a", iter(batch()[:6]), dedup=DedupIndex(store.db), now=T0)
        dup = store.get_paper(batch()[5].id)
        assert dup.duplicate_of == "arxiv:2402.01234"  # chunk 1's paper, from chunk 3


def test_a_first_version_stores_its_text_once_and_the_history_reads_whole(tmp_path):
    with Store(tmp_path / "h.db") as store:
        store.ingest_source("a", [arxiv(3)], now=T0)
        conn = store.db.conn
        assert conn.execute("SELECT title, abstract FROM versions").fetchall() == []  # m015
        revised = arxiv(3, version=2, title="Paper 3 revised: soft prompts")
        store.ingest_source("a", [revised], now=T1)
        rows = conn.execute("SELECT version, title, abstract FROM versions ORDER BY 1")
        # the superseded version keeps its title; the abstract did not change
        assert rows.fetchall() == [
            (1, "Paper 3: low-rank adaptation of frozen models", None),
            (2, None, None),
        ]
        history = store.versions("arxiv:2401.00003")
        assert [(v["version"], v["title"], v["abstract"]) for v in history] == [
            (1, "Paper 3: low-rank adaptation of frozen models", arxiv(3).abstract),
            (2, "Paper 3 revised: soft prompts", arxiv(3).abstract),
        ]
        view = conn.execute("SELECT version, title FROM version_texts ORDER BY 1").fetchall()
        assert view == [(v["version"], v["title"]) for v in history]


def test_the_migration_keeps_only_the_changed_text_of_existing_versions(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    migrate(Database(conn), upto=7)  # the versions table as it was: every text copied
    conn.execute(
        "INSERT INTO papers (id, title, abstract, source, first_seen, last_seen, version) "
        "VALUES ('arxiv:1', 'New title', 'Same abstract', 's', ?1, ?1, 2)",
        (T0,),
    )
    conn.executemany(
        "INSERT INTO versions (paper_id, version, source, seen_at, title, abstract) "
        "VALUES ('arxiv:1', ?, 's', ?, ?, 'Same abstract')",
        [(1, T0, "Old title"), (2, T1, "New title")],
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        rows = store.db.conn.execute("SELECT version, title, abstract FROM versions ORDER BY 1")
        assert rows.fetchall() == [(1, "Old title", None), (2, None, None)]
        history = store.versions("arxiv:1")
        assert [(v["version"], v["title"], v["abstract"]) for v in history] == [
            (1, "Old title", "Same abstract"),
            (2, "New title", "Same abstract"),
        ]
