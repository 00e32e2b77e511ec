"""Issue 12's size work on the store: each layout change keeps every answer. A database of
the layout before a change is migrated in place and answers as it did."""

from __future__ import annotations

import sqlite3

from conftest import FIXTURES
from helpers import jsonl, run
from sqlite_utils import Database

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


def query(db, sql, params=()):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


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
