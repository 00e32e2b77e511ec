"""m004: an index written by the previous layout (keys as (band, bucket, doc), 32-bit
dictionary-encoded token hashes, author names as JSON) is converted when opened, without
rebuilding its keys from text: afterwards it holds exactly what the current code writes
for the same papers, and finds the same duplicates.

`fixtures/dedup/index_layout3.sql` is the `iterdump` of a bare index written by the code
of commit 85a12a5 (the last of layout 3): the seed page's first 12 papers (every third
given an arXiv id and two authors, the fifth a DOI), the thesis pair's paper as "A" after
the first six, and one `unlink` decision. `papers()` below rebuilds the same input."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from adapt_triage import dedup, dedup_migrations
from adapt_triage.dedup import DedupIndex
from adapt_triage.paper import Paper
from adapt_triage.sources import parse_bytes
from adapt_triage.store import Store

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures/dedup/index_layout3.sql"
ALL_KEYS = "SELECT key, doc FROM dedup_bands UNION SELECT key, doc FROM dedup_recent ORDER BY 1, 2"
DOCS = f"SELECT {dedup._DOC_COLUMNS} FROM dedup_docs ORDER BY doc"


def pair() -> tuple[Paper, Paper]:
    pairs = [json.loads(line) for line in (ROOT / "fixtures/dedup/pairs.jsonl").open()]
    row = next(p for p in pairs if p["kind"].startswith("thesis whose abstract"))
    return Paper(**row["a"]), Paper(**row["b"])


def papers() -> list[tuple[str, Paper]]:
    """The fixture's papers, in the order they were added."""
    data = (ROOT / "fixtures/seed_page.txt").read_bytes()
    seed = parse_bytes(data, source="seed_page.txt").papers[:12]
    seed = [
        dataclasses.replace(p, arxiv_id=f"2501.{i:05d}", authors=[f"Ana Author{i}", "Bo Second"])
        if i % 3 == 0
        else p
        for i, p in enumerate(seed)
    ]
    seed[4] = dataclasses.replace(seed[4], doi="10.1000/xyz.4")
    items = [(p.id, p) for p in seed]
    return [*items[:6], ("A", pair()[0]), *items[6:]]


def layout3(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text())
    conn.close()
    return sqlite_utils.Database(path)


@pytest.fixture
def old(tmp_path: Path) -> sqlite_utils.Database:
    db = layout3(tmp_path / "old.db")
    columns = [row[1] for row in db.execute("PRAGMA table_info(dedup_bands)")]
    assert columns == ["band", "bucket", "doc"]  # the fixture is of the previous layout
    yield db
    db.close()


def test_the_converted_index_is_what_the_current_code_writes(old, tmp_path, monkeypatch):
    def no_rebuild(self):
        raise AssertionError("m004 converts the keys; nothing is recomputed from text")

    monkeypatch.setattr(DedupIndex, "_rebuild", no_rebuild)
    keys_before = old.execute("SELECT count(*) FROM dedup_bands").fetchone()[0]
    keys_before += old.execute("SELECT count(*) FROM dedup_recent").fetchone()[0]
    size_before = sum(len(row[0]) for row in old.execute("SELECT hashes FROM dedup_docs"))
    index = DedupIndex(old)
    assert [r[1] for r in old.execute("PRAGMA table_info(dedup_bands)")] == ["key", "doc"]
    assert [r[1] for r in old.execute("PRAGMA table_info(dedup_recent)")] == ["key", "doc"]
    meta = old.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()[0]
    assert meta == dedup.PARAMS_VERSION == dedup_migrations.LAYOUT4_PARAMS

    fresh = sqlite_utils.Database(tmp_path / "fresh.db")
    new = DedupIndex(fresh)
    items = papers()
    with fresh.atomic():
        new.add_many(items[:6])
        new.add(*items[6])
        new.add_many(items[7:])
    assert old.execute(DOCS).fetchall() == fresh.execute(DOCS).fetchall()
    assert old.execute(ALL_KEYS).fetchall() == fresh.execute(ALL_KEYS).fetchall()
    assert len(old.execute(ALL_KEYS).fetchall()) == keys_before  # no key lost
    size_after = sum(len(row[0]) for row in old.execute("SELECT hashes FROM dedup_docs"))
    assert size_after < 0.75 * size_before
    # the ids the paper id spells are not stored twice, and read back whole
    row = old.execute("SELECT arxiv_id, doi FROM dedup_docs WHERE paper_id = ?", [items[0][0]])
    assert row.fetchone() == ("", None)
    doc = index._candidates({1, 5})
    assert doc[1].doc.arxiv_id == "2501.00000" and doc[5].doc.doi == "10.1000/xyz.4"

    # duplicates are found as before, and the user's decision still holds
    thesis = pair()[1]
    assert index.find(thesis, "B").canonical_id == "A"
    for paper_id, paper in items:
        copy = Paper(title=paper.title.upper(), abstract="Abstract: " + paper.abstract)
        assert index.find(copy, "copy").canonical_id == paper_id
    assert index.decision(items[1][0], items[2][0]) == "unlink"
    for migration in dedup.MIGRATIONS:  # each can run again: nothing changes
        migration(old)
    assert old.execute(ALL_KEYS).fetchall() == fresh.execute(ALL_KEYS).fetchall()
    fresh.close()


def test_opening_it_through_the_store_migrates_it(tmp_path):
    layout3(tmp_path / "papers.db").close()
    store = Store.open(tmp_path / "papers.db")
    applied = {row[0] for row in store.db.execute("SELECT name FROM _migrations")}
    assert "dedup:m004_dedup_compact_layout" in applied
    columns = [row[1] for row in store.db.execute("PRAGMA table_info(dedup_bands)")]
    assert columns == ["key", "doc"]
    index = DedupIndex(store.db)
    assert index.find(pair()[1], "B").canonical_id == "A"
    store.close()


def test_an_index_of_other_keys_is_converted_then_rebuilt(old, monkeypatch):
    """Keys of another parameter version than layout 3's are converted like the others,
    then rebuilt as any parameter change is (from the docs, here without papers rows:
    the title keys and the text keys their stored form gives)."""
    old.execute("UPDATE dedup_meta SET value = 'dedup-2:older' WHERE key = 'params'")
    old.conn.commit()
    rebuilt = []
    real = DedupIndex._rebuild
    monkeypatch.setattr(DedupIndex, "_rebuild", lambda self: rebuilt.append(1) or real(self))
    index = DedupIndex(old)
    assert rebuilt == [1]
    assert old.execute("SELECT value FROM dedup_meta").fetchone()[0] == dedup.PARAMS_VERSION
    paper_id, paper = papers()[1]
    assert index.find(Paper(title=paper.title.upper(), abstract=""), "x").canonical_id == paper_id


def test_m005_docs_stored_with_raw_stems_read_as_before_and_new_ones_are_coded(
    tmp_path, monkeypatch
):
    """An index written before m005 (stem hashes as a raw uint16 array) is not rewritten:
    its docs read back the same stems, and find the same duplicates, as docs stored now
    (coded, smaller); the store records m005, so an older adapt-triage refuses the file."""
    items = papers()

    def raw_stems(doc):
        return doc.stem_hashes.tobytes() if len(dedup._content(doc.title)) >= 4 else b""

    with monkeypatch.context() as before:
        before.setattr(dedup, "_stored_stems", raw_stems)
        old = sqlite_utils.Database(tmp_path / "old.db")
        with old.atomic():
            DedupIndex(old).add_many(items)
    fresh = sqlite_utils.Database(tmp_path / "fresh.db")
    with fresh.atomic():
        DedupIndex(fresh).add_many(items)
    old_stems = old.execute("SELECT stems FROM dedup_docs ORDER BY doc").fetchall()
    new_stems = fresh.execute("SELECT stems FROM dedup_docs ORDER BY doc").fetchall()
    assert any(len(a) % 2 == 1 for (a,) in new_stems)  # coded
    assert all(len(a) % 2 == 0 for (a,) in old_stems)  # raw
    assert sum(len(a) for (a,) in new_stems) < 0.8 * sum(len(a) for (a,) in old_stems)
    reread_old, reread_new = DedupIndex(old), DedupIndex(fresh)
    numbers = set(range(1, len(items) + 1))
    docs_old, docs_new = reread_old._candidates(numbers), reread_new._candidates(numbers)
    for n in numbers:
        old_doc, new_doc = docs_old[n].doc, docs_new[n].doc
        assert old_doc.stem_hashes.dtype == new_doc.stem_hashes.dtype == np.uint16
        assert np.array_equal(old_doc.stem_hashes, new_doc.stem_hashes)
    thesis = pair()[1]
    assert reread_old.find(thesis, "B") == reread_new.find(thesis, "B")
    assert reread_old.find(thesis, "B").canonical_id == "A"
    old.close()
    fresh.close()
    with Store(tmp_path / "papers.db") as store:
        applied = {row[0] for row in store.db.execute("SELECT name FROM _migrations")}
        assert "dedup:m005_dedup_coded_stems" in applied


def test_two_processes_setting_up_one_new_index_do_not_fail_on_the_lock(tmp_path, monkeypatch):
    """Another process may set up the same new file between this one's read of the params
    and its write of them (two ingests started at once): the set-up takes the write lock
    before it reads, so it waits instead of failing with "database is locked"."""
    path = tmp_path / "new.db"
    db = sqlite_utils.Database(sqlite3.connect(path, timeout=5))
    db.conn.execute("PRAGMA journal_mode = WAL")
    DedupIndex(db)
    db.execute("DELETE FROM dedup_meta")  # as a new file is: tables, no params yet
    db.conn.commit()
    other = sqlite3.connect(path, timeout=0)
    interleaved: list[str] = []

    def another_process_writes(index_db) -> None:  # after this set-up's first read
        index_db.execute("SELECT count(*) FROM dedup_meta").fetchone()
        try:
            with other:
                other.execute(
                    "INSERT OR REPLACE INTO dedup_meta (key, value) VALUES ('other', 'x')"
                )
            interleaved.append("wrote")
        except sqlite3.OperationalError as exc:
            interleaved.append(str(exc))

    monkeypatch.setattr(dedup, "MIGRATIONS", [another_process_writes, *dedup.MIGRATIONS])
    DedupIndex(db)  # raised "database is locked" when the other write came in between
    assert interleaved == ["database is locked"]  # the other one waited (here: gave up)
    params = db.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
    assert params == (dedup.PARAMS_VERSION,)
