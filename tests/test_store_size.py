"""Issue 12's size work on the store: each layout change keeps every answer. A database of
the layout before a change is migrated in place and answers as it did."""

from __future__ import annotations

import sqlite3

import numpy as np
import sqlite_utils
from conftest import FIXTURES
from helpers import jsonl, run
from sqlite_utils import Database
from store_support import query

from adapt_triage import dedup, hashpack
from adapt_triage.paper import Paper
from adapt_triage.sources import parse_bytes
from adapt_triage.store import Store, migrations

DAYS = [FIXTURES / "cli" / "arxiv_cs_lg_day1.xml", FIXTURES / "cli" / "arxiv_cs_lg_day2.xml"]
# Plain words, a phrase, a hyphenated word (a phrase too), NEAR, a column filter, a
# prefix, OR / NOT, an author.
QUERIES = (
    "adaptation",
    "low rank",
    '"low rank"',
    "low-rank",
    "NEAR(low rank, 3)",
    "title:adaptation",
    "adapt*",
    "lora OR adapter",
    "model NOT vision",
    "Lovelace",
    "{title authors}:learning",
)


def search_answers(db) -> dict[tuple[str, str], list[str]]:
    """Every query's `search` output (jsonl), ranked, ranked over every match, newest."""
    answers = {}
    for q in QUERIES:
        for how in (["--order", "rank"], ["--rank-all"], ["--order", "newest"]):
            result = run(["search", q, "--limit", "1000", *how, "--format", "jsonl"], db=db)
            assert result.exit_code == 0, (q, result.stderr)
            answers[(q, how[-1])] = result.stdout
    return answers


def fts_ranks(db) -> dict[str, list[tuple[int, float]]]:
    return {
        q: query(
            db,
            "SELECT rowid, rank FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank, rowid",
            (q.replace("low-rank", '"low-rank"'),),
        )
        for q in QUERIES
    }


def fts_columns(db) -> list[str]:
    return [row[1] for row in query(db, "PRAGMA table_info(papers_fts)")]


def test_m017_fts_abstract_first_answers_every_search_as_before(tmp_path, seed_page):
    """A database whose FTS index has m006's column order (title, abstract, authors) gets
    the abstract first; every search answers the same (matches, phrases, NEAR, column
    filters, prefixes, bm25 to the last bit), the index is smaller, and the triggers keep
    it in step with `papers` after the migration (FTS5's integrity-check compares it
    with the content)."""
    path = tmp_path / "m016.db"
    for source in (seed_page, *DAYS):
        assert run(["ingest", "--quiet", source], db=path).exit_code == 0
    assert fts_columns(path) == ["abstract", "title", "authors"]
    old = Database(str(path))  # back to the layout before m017
    old.execute("DELETE FROM _migrations WHERE name = 'm017_fts_abstract_first'")
    old.conn.commit()
    migrations.m006_search_authors(old)
    old.close()
    assert fts_columns(path) == ["title", "abstract", "authors"]
    before_size = query(path, "SELECT sum(length(block)) FROM papers_fts_data")[0][0]
    before, ranks = search_answers(path), fts_ranks(path)
    assert all(ranks[q] for q in QUERIES)  # every query matches something
    assert sum(len(out.splitlines()) for out in before.values()) > 100

    with Store(path):
        pass
    assert fts_columns(path) == ["abstract", "title", "authors"]
    assert search_answers(path) == before
    assert fts_ranks(path) == ranks
    after_size = query(path, "SELECT sum(length(block)) FROM papers_fts_data")[0][0]
    assert after_size < 0.9 * before_size

    # the triggers follow an insert, an update of the text and a delete
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE papers SET abstract = 'Zyxwv quokka adaptation.' "
            "WHERE rowid = (SELECT min(rowid) FROM papers)"
        )
        conn.execute("DELETE FROM papers WHERE rowid = (SELECT max(rowid) FROM papers)")
        conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('integrity-check')")
    conn.close()
    found = jsonl(run(["search", "quokka", "--format", "jsonl"], db=path).stdout)
    assert [p["abstract"] for p in found] == ["Zyxwv quokka adaptation."]
    assert (
        run(["ingest", "-q", FIXTURES / "cli" / "federated_papers.jsonl"], db=path).exit_code == 0
    )
    assert jsonl(run(["search", "federated", "--format", "jsonl"], db=path).stdout)
    query(path, "INSERT INTO papers_fts (papers_fts) VALUES ('integrity-check')")


def test_hashpack_gives_back_every_sequence_and_is_smaller_on_abstracts():
    rng = np.random.default_rng(7)
    cases = [[], [1], [int(hashpack.TABLE[0])], list(hashpack.TABLE[:10]), list(range(100))]
    cases += [rng.choice(hashpack.TABLE, 50).tolist() + rng.integers(0, 1 << 16, 30).tolist()]
    for values in cases:
        h = np.array(values, dtype=np.uint16)
        blob = hashpack.pack(h)
        assert np.array_equal(hashpack.unpack(blob), h)
        assert len(blob) <= 2 * len(h) or len(blob) == 0
        assert len(blob) % 2 == (1 if len(blob) < 2 * len(h) else 0)  # coded: odd
    text = (FIXTURES / "seed_page.txt").read_text()
    doc = dedup._Doc.of(Paper(title="t", abstract=text[:1500]))
    assert len(hashpack.pack(doc.h16.astype(np.uint16))) < 0.9 * 2 * len(doc.h16)


def test_dedup_m006_docs_stored_with_raw_hashes_read_as_before_and_new_ones_are_coded(
    tmp_path, monkeypatch
):
    """An index written before dedup m006 (token hashes as a raw uint16 array) is not
    rewritten: its docs read back the same hashes, and find the same duplicates, as docs
    stored now (coded, smaller); the store records m006, so an older adapt-triage refuses
    the file."""
    items = [
        (f"p{n}", Paper(title=p.title, abstract=p.abstract, authors=p.authors))
        for n, p in enumerate(
            parse_bytes((FIXTURES / "seed_page.txt").read_bytes(), source="seed").papers
        )
    ]
    raw = lambda h: (h & np.uint64(0xFFFF)).astype("<u2").tobytes()  # noqa: E731
    with monkeypatch.context() as before:
        before.setattr(dedup, "_pack16", raw)
        old = sqlite_utils.Database(tmp_path / "old.db")
        with old.atomic():
            dedup.DedupIndex(old).add_many(items)
    fresh = sqlite_utils.Database(tmp_path / "fresh.db")
    with fresh.atomic():
        dedup.DedupIndex(fresh).add_many(items)
    old_h = [r[0] for r in old.execute("SELECT hashes FROM dedup_docs ORDER BY doc")]
    new_h = [r[0] for r in fresh.execute("SELECT hashes FROM dedup_docs ORDER BY doc")]
    assert all(len(b) % 2 == 0 for b in old_h) and any(len(b) % 2 == 1 for b in new_h)
    assert sum(map(len, new_h)) < 0.92 * sum(map(len, old_h))
    reread_old, reread_new = dedup.DedupIndex(old), dedup.DedupIndex(fresh)
    numbers = set(range(1, len(items) + 1))
    docs_old, docs_new = reread_old._candidates(numbers), reread_new._candidates(numbers)
    for n in numbers:
        assert docs_old[n].doc.hashes.dtype == docs_new[n].doc.hashes.dtype == np.uint64
        assert np.array_equal(docs_old[n].doc.hashes, docs_new[n].doc.hashes)
    for _, paper in items:
        copy = Paper(title=paper.title.upper(), abstract=paper.abstract)
        assert reread_old.find(copy, "x") == reread_new.find(copy, "x")
    old.close()
    fresh.close()
    with Store(tmp_path / "papers.db") as store:
        applied = {row[0] for row in store.db.execute("SELECT name FROM _migrations")}
        assert "dedup:m006_dedup_coded_hashes" in applied
