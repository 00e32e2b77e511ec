"""`search`: a query FTS5 rejects or one of operators only is a usage error quoting the
problem; --order rank (the default) or newest; authors are searchable."""

from __future__ import annotations

import sqlite3

from conftest import FIXTURES
from helpers import jsonl, run


def seeded(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    return db


def test_rejected_and_operator_only_queries_are_usage_errors(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    for query, problem in (
        ("NOT lora", "NOT joins two terms"),
        ("*", "only operators or punctuation"),
        ('"', "only operators or punctuation"),
        ('"unbalanced', "unterminated string"),
        ("nosuchcolumn:x", "no such column"),
    ):
        result = run(["search", query], db=db)
        assert result.exit_code == 2, query
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert repr(query) in line and problem in line, line


def test_rank_is_the_default_order_and_newest_is_asked_for(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    ranked = jsonl(run(["search", "adaptation"], db=db).stdout)
    newest = jsonl(run(["search", "adaptation", "--order", "newest"], db=db).stdout)
    assert ranked and sorted(p["id"] for p in ranked) == sorted(p["id"] for p in newest)
    keys = [(p["first_seen"]) for p in newest]
    assert keys == sorted(keys, reverse=True)
    # best match first, as SQLite's bm25 ranks them
    expected = [paper_id for paper_id, _ in _fts_ranked(db, "adaptation")]
    assert [p["id"] for p in ranked] == expected
    assert run(["search", "x", "--order", "oldest"], db=db).exit_code == 2


def test_authors_are_searchable(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    run(["ingest", "--quiet", FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"], db=db)
    found = jsonl(run(["search", "Lovelace"], db=db).stdout)
    assert [p["authors"] for p in found] == [["Ada Lovelace", "Alan Turing"]]
    assert [p["authors"] for p in jsonl(run(["search", "hopper"], db=db).stdout)] == [
        ["Grace Hopper"]
    ]
    assert jsonl(run(["search", "low-rank"], db=db).stdout)  # a hyphenated word is a phrase


def test_a_search_cut_at_its_page_says_so_on_stderr(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    everything = jsonl(run(["search", "adaptation", "--limit", "1000"], db=db).stdout)
    assert len(everything) > 2
    cut = run(["search", "adaptation", "--limit", "2"], db=db)
    assert [p["id"] for p in jsonl(cut.stdout)] == [p["id"] for p in everything[:2]]
    assert "showing the first 2 matches; --limit N shows more" in cut.stderr
    whole = run(["search", "adaptation", "--limit", str(len(everything))], db=db)
    assert "showing the first" not in whole.stderr


def _fts_ranked(db, query: str) -> list[tuple[str, int]]:
    """(id, rowid) of every canonical match, best first, as SQLite's bm25 ranks them."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT p.id, p.rowid FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
            "WHERE papers_fts MATCH ? AND p.duplicate_of IS NULL "
            "ORDER BY bm25(papers_fts), p.rowid",
            (query,),
        ).fetchall()


def test_best_match_ranks_the_matches_stored_last_and_says_so(tmp_path, seed_page, monkeypatch):
    """With more matches than the ranking window, `search` ranks the newest `window` matches
    (by storage order) and says on stderr that older ones were not ranked; `--rank-all`
    ranks every match, with no note."""
    from adapt_triage.store import search as search_module

    db = seeded(tmp_path, seed_page)
    every = _fts_ranked(db, "adaptation")
    assert len(every) > 6
    with sqlite3.connect(db) as conn:
        newest = [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'adaptation' "
                "ORDER BY rowid DESC LIMIT 4"
            )
        ]
    monkeypatch.setattr(search_module, "RANK_WINDOW", 4)
    windowed = run(["search", "adaptation", "--limit", "3"], db=db)
    assert windowed.exit_code == 0
    expected = [pid for pid, rowid in every if rowid >= min(newest)][:3]
    assert [p["id"] for p in jsonl(windowed.stdout)] == expected
    assert "ranked the 4 matches stored last; older matches were not ranked" in windowed.stderr
    assert "--rank-all ranks every match" in windowed.stderr

    whole = run(["search", "adaptation", "--limit", "3", "--rank-all"], db=db)
    assert [p["id"] for p in jsonl(whole.stdout)] == [pid for pid, _ in every[:3]]
    assert "not ranked" not in whole.stderr
    assert "not ranked" not in run(["search", "adaptation", "--order", "newest"], db=db).stderr
    assert run(["--quiet", "search", "adaptation"], db=db).stderr == ""


def test_a_query_within_the_window_is_ranked_whole_without_a_note(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    result = run(["search", "adaptation", "--limit", "1000"], db=db)
    assert [p["id"] for p in jsonl(result.stdout)] == [
        pid for pid, _ in _fts_ranked(db, "adaptation")
    ]
    assert "not ranked" not in result.stderr


def test_search_help_says_what_best_match_means():
    from adapt_triage.store.search import RANK_WINDOW

    text = " ".join(run(["search", "--help"]).stdout.split())
    assert f"{RANK_WINDOW:,} matches stored last" in text
    assert "--rank-all" in text
