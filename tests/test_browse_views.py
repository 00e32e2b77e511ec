"""The SQL views for sqlite3 / Datasette users, on a database the real CLI wrote."""

from __future__ import annotations

import json
import sqlite3

from conftest import FIXTURES
from helpers import run

from adapt_triage import dedup
from adapt_triage.store import MIGRATIONS, Store, migrate

CLI = FIXTURES / "cli"


def rows(db, sql, params=()):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def test_views_show_final_labels_duplicates_sources_and_marks(tmp_path, seed_page):
    db = tmp_path / "t.db"
    sources = [CLI / "arxiv_cs_lg_day1.xml", CLI / "hf_daily_day1.json", seed_page]
    assert run(["ingest", "-q", *sources], db=db).exit_code == 0
    assert run(["label", "2501.00001", "--add", "adapters"], db=db).exit_code == 0
    assert run(["mark", "2501.00002", "--star"], db=db).exit_code == 0

    papers = {r["id"]: r for r in rows(db, "SELECT * FROM browse_papers")}
    assert len(papers) == 74  # 2 RSS + 1 new from HF + 71 seed (one linked as a duplicate)
    mine = papers["arxiv:2501.00001"]
    assert mine["labels_from"] == "user" and mine["primary_label"] == "adapters"
    assert json.loads(mine["labels"]) == ["adapters", "lora"]
    other = papers["arxiv:2501.00002"]
    assert other["labels_from"] == "model" and other["starred"] == 1 and other["read"] == 0
    assert json.loads(other["labels"])[0] == other["primary_label"] == "test-time-adaptation"

    labels = rows(db, "SELECT * FROM browse_labels WHERE paper_id = 'arxiv:2501.00001'")
    assert [(r["label"], r["position"], r["labels_from"]) for r in labels] == [
        ("adapters", 0, "user"),
        ("lora", 1, "user"),
    ]
    assert labels[1]["model_score"] > 0.5
    lora = rows(db, "SELECT paper_id FROM browse_labels WHERE label = 'lora'")
    listed = [p for p in papers.values() if "lora" in json.loads(p["labels"])]
    assert {r["paper_id"] for r in lora} == {p["id"] for p in listed}

    (dup,) = rows(db, "SELECT * FROM browse_duplicates")
    assert dup["duplicate_title"] == "Language Modelling Approaches to Adaptive Machine Translation"
    assert papers[dup["canonical_id"]]["duplicates"] == 1 and dup["reason"] and dup["score"] > 0

    both = rows(
        db,
        "SELECT * FROM browse_sources WHERE paper_id IN (SELECT paper_id "
        "FROM paper_sources GROUP BY paper_id HAVING count(*) > 1)",
    )
    assert {r["source"] for r in both} == {str(sources[0]), str(sources[1])}
    assert papers[both[0]["paper_id"]]["sources"] == 2

    # Full-text search as Datasette runs it, joined to the view.
    found = rows(
        db,
        "SELECT b.id, b.primary_label FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
        " JOIN browse_papers b ON b.id = p.id WHERE papers_fts MATCH ?",
        ("title:singular title:initialisation",),
    )
    assert found == [{"id": "arxiv:2501.00001", "primary_label": "adapters"}]


def test_an_older_database_gets_the_views_and_marks_by_migration(tmp_path):
    path = tmp_path / "old.db"
    with Store(":memory:") as scratch:  # the module's migrations, as a list
        names = [fn.__name__ for fn in MIGRATIONS]
        assert scratch.schema_version == len(names)
    assert names.index("m003_paper_marks") < names.index("m004_browse_views")
    from sqlite_utils import Database

    old = Database(str(path))
    migrate(old, upto=2)
    old.close()
    assert run(["ingest", "-q", FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"], db=path).exit_code == 0
    assert run(["mark", "2501.00001", "--read"], db=path).exit_code == 0
    got = rows(path, "SELECT id, read FROM browse_papers ORDER BY id")
    assert got == [{"id": "arxiv:2501.00001", "read": 1}, {"id": "arxiv:2501.00002", "read": 0}]
    applied = rows(path, "SELECT name FROM _migrations ORDER BY rowid")
    assert [r["name"] for r in applied] == names + [
        f"dedup:{fn.__name__}" for fn in dedup.MIGRATIONS
    ]
