"""The store's size (issue 12): a new database's page size, the compact model scores of
`adapt_triage.scorepack`, and the migration that converts an older database's rows."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3

import pytest
from conftest import FIXTURES
from helpers import jsonl, run
from sqlite_utils import Database
from store_support import query

from adapt_triage import scorepack
from adapt_triage.classify import default_model_version
from adapt_triage.model import training_state
from adapt_triage.store import Store, migrate
from adapt_triage.store.db import CACHE_KIB, PAGE_SIZE

DAY1 = FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"


def test_a_new_database_gets_large_pages_wal_and_a_cache_sized_in_bytes(tmp_path):
    with Store(tmp_path / "new.db") as store:
        conn = store.db.conn
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 8192
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB  # KiB, any page


def test_an_existing_database_keeps_its_page_size(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size = 4096")
    old.execute("CREATE TABLE t (x)")
    old.close()
    with Store(path) as store:
        assert store.db.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert run(["ingest", "-q", DAY1], db=path).exit_code == 0
    assert len(jsonl(run(["list", "--format", "jsonl"], db=path).stdout)) == 2


def test_pack_gives_four_decimal_scores_back_exactly_and_refuses_the_rest():
    scores = {"lora": 0.8123, "adapters": 0.0407, "off-topic": 0.0, "x": 1.0, "y": 0.1}
    text = scorepack.pack(scores, 7)
    assert text == "[7,8123,407,0,10000,1000]"
    keys = scorepack.keys_text(tuple(scores))
    assert scorepack.unpack(text, keys) == scores
    assert list(scorepack.unpack(text, keys)) == list(scores)  # the model's order
    for bad in (0.123456, math.nan, math.inf, "0.5", True):
        assert scorepack.pack({"lora": bad}, 1) is None
    # The object form (older rows, scores with more decimals) is still read.
    assert scorepack.unpack('{"lora": 0.123456}', None) == {"lora": 0.123456}
    for empty in (None, "", "not json", "[]", "[3,1,2]"):  # [3,1,2]: its key list unknown
        assert scorepack.unpack(empty, None) == {}
    # A hand-edited row that is not what pack writes reads as no scores, not a crash.
    for edited in ('[7,"x",1,2,3,4]', "[7,null,1,2,3,4]", "[7,true,1,2,3,4]", "[7,1.5,1,2,3,4]"):
        assert scorepack.unpack(edited, keys) == {}


def test_ingested_scores_are_stored_compact_and_read_back_as_classified(tmp_path):
    db = tmp_path / "t.db"
    classified = {r["id"]: r["scores"] for r in jsonl(run(["classify", DAY1]).stdout)}
    assert run(["ingest", "-q", DAY1], db=db).exit_code == 0
    listed = jsonl(run(["list", "--format", "jsonl"], db=db).stdout)
    assert {r["id"]: r["scores"] for r in listed} == classified
    assert all(len(scores) >= 16 for scores in classified.values())
    ((keys,),) = query(db, "SELECT keys FROM score_keys")
    assert json.loads(keys) == list(next(iter(classified.values())))
    for (text,) in query(db, "SELECT model_scores FROM papers"):
        assert text.startswith("[1,") and len(text) < 120
    shown = json.loads(run(["show", "2501.00001", "--format", "json"], db=db).stdout)
    assert shown["scores"] == classified["arxiv:2501.00001"]
    # The views decode them: one row a score, and each label's score.
    by_view = query(
        db,
        "SELECT category, score FROM browse_scores WHERE paper_id = 'arxiv:2501.00001'",
    )
    assert dict(by_view) == classified["arxiv:2501.00001"]
    labels = query(
        db,
        "SELECT label, model_score FROM browse_labels WHERE paper_id = 'arxiv:2501.00001'",
    )
    assert labels and all(score == classified["arxiv:2501.00001"][k] for k, score in labels)


def test_a_relabelled_paper_and_a_reclassify_keep_compact_scores(tmp_path):
    db = tmp_path / "t.db"
    assert run(["ingest", "-q", DAY1], db=db).exit_code == 0
    with Store(db) as store:
        store.update_scores_many([("arxiv:2501.00001", ["lora"], {"lora": 0.25, "b": 0.5})], "m")
        store.update_scores_many([("arxiv:2501.00002", ["lora"], {"lora": 0.123456})], "m")
        paper = store.get_paper("arxiv:2501.00001")
        assert paper is not None and paper.scores == {"lora": 0.25, "b": 0.5}
        other = store.get_paper("arxiv:2501.00002")
        assert other is not None and other.scores == {"lora": 0.123456}
    assert query(db, "SELECT count(*) FROM score_keys") == [(3,)]
    assert query(db, "SELECT model_scores FROM papers WHERE id = 'arxiv:2501.00002'") == [
        ('{"lora": 0.123456}',)
    ]
    assert query(
        db,
        "SELECT category, score FROM browse_scores WHERE paper_id LIKE 'arxiv:2501.0000_' "
        "ORDER BY paper_id, category",
    ) == [("b", 0.5), ("lora", 0.25), ("lora", 0.123456)]


OLD_SCORES = {
    "arxiv:2401.00001": {"lora": 0.9123, "adapters": 0.5, "off-topic": 0.0012},
    "arxiv:2401.00002": {"off-topic": 0.97, "lora": 0.0301},
    "arxiv:2401.00003": {"lora": 0.123456, "adapters": 0.5},  # not four decimals
    "arxiv:2401.00004": {},
}


@pytest.fixture
def old_db(tmp_path):
    """A database of the schema before m010 (m001..m009), with rows as that version wrote
    them: JSON-object scores, a user's label, versions and sources."""
    path = tmp_path / "old.db"
    old = Database(str(path))
    migrate(old, upto=9)
    assert "m009_versions_keep_what_changed" in {
        r[0] for r in old.execute("SELECT name FROM _migrations")
    }
    for n, (pid, scores) in enumerate(OLD_SCORES.items(), 1):
        labels = sorted(scores, key=lambda k: -scores[k])[:1]
        old.conn.execute(
            "INSERT INTO papers (id, title, abstract, authors, url, arxiv_id, version, "
            "source, first_seen, last_seen, model_labels, model_scores, model_version) "
            "VALUES (?, ?, ?, '[\"A. Author\"]', ?, ?, 1, 'feed.xml', ?, ?, ?, ?, 'm1')",
            (
                pid,
                f"Old paper {n} on low-rank adapters",
                f"Abstract {n} of an old paper.",
                f"https://arxiv.org/abs/{pid[6:]}",
                pid[6:],
                f"2026-11-0{n}T08:00:00+00:00",
                f"2026-11-0{n}T08:00:00+00:00",
                json.dumps(labels),
                json.dumps(scores),
            ),
        )
        old.conn.execute(
            "INSERT INTO versions (paper_id, version, source, seen_at) VALUES (?, 1, ?, ?)",
            (pid, "feed.xml", f"2026-11-0{n}T08:00:00+00:00"),
        )
        old.conn.execute(
            "INSERT INTO paper_sources (paper_id, source, first_seen) VALUES (?, ?, ?)",
            (pid, "feed.xml", f"2026-11-0{n}T08:00:00+00:00"),
        )
    old.conn.execute(
        "INSERT INTO paper_sources (paper_id, source, first_seen) VALUES (?, ?, ?)",
        ("arxiv:2401.00001", "https://huggingface.co/api/daily_papers", "2026-11-05T08:00:00"),
    )
    old.conn.execute(
        "INSERT INTO user_labels (paper_id, label, position, at) VALUES (?, 'adapters', 0, ?)",
        ("arxiv:2401.00002", "2026-11-06T08:00:00+00:00"),
    )
    old.conn.commit()
    # Scored by the model of this training data (so that reading them rescores nothing).
    shutil.copy(path, path.with_name("copy.db"))
    with Store(path.with_name("copy.db")) as copy:
        version = default_model_version(*training_state(copy))
    old.conn.execute("UPDATE papers SET model_version = ?", (version,))
    old.conn.commit()
    before = {
        view: sorted(old.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
        for view in ("browse_labels", "browse_sources", "browse_papers", "version_texts")
    }
    before["paper_sources"] = sorted(
        old.execute("SELECT paper_id, source, first_seen FROM paper_sources").fetchall()
    )
    old.close()
    return path, before


def test_an_older_database_migrates_its_scores_and_sources_without_losing_any(old_db):
    path, before = old_db
    listed = jsonl(run(["list", "--all", "--format", "jsonl"], db=path).stdout)
    assert {r["id"]: r["scores"] for r in listed} == {
        pid: {k: round(v, 4) for k, v in scores.items()} for pid, scores in OLD_SCORES.items()
    }
    shown = json.loads(run(["show", "2401.00001", "--format", "json"], db=path).stdout)
    assert shown["scores"] == OLD_SCORES["arxiv:2401.00001"]
    with Store(path) as store:  # unrounded, as stored
        assert {p.id: p.scores for p in store.iter_papers()} == OLD_SCORES
    raw = dict(query(path, "SELECT id, model_scores FROM papers"))
    assert raw["arxiv:2401.00001"].startswith("[") and raw["arxiv:2401.00002"].startswith("[")
    assert json.loads(raw["arxiv:2401.00003"]) == OLD_SCORES["arxiv:2401.00003"]  # kept as is
    assert raw["arxiv:2401.00004"] == "{}"
    # The views show what they showed before the migration.
    sources = before.pop("paper_sources")
    for view, rows in before.items():
        assert sorted(query(path, f"SELECT * FROM {view}"), key=repr) == rows, view
    # paper_sources (m011): the same rows, each source's text once in source_keys.
    assert sorted(query(path, "SELECT paper_id, source, first_seen FROM paper_sources")) == (
        sources
    )
    assert query(path, "SELECT source FROM source_keys ORDER BY id") == [
        ("feed.xml",),
        ("https://huggingface.co/api/daily_papers",),
    ]
    with Store(path) as store:  # in first-seen order, as `show` lists them
        assert [s["source"] for s in store.paper_sources("arxiv:2401.00001")] == [
            "feed.xml",
            "https://huggingface.co/api/daily_papers",
        ]
    # A new source after the migration goes through the view's trigger, once per paper.
    assert run(["ingest", "-q", DAY1], db=path).exit_code == 0
    assert run(["ingest", "-q", DAY1], db=path).exit_code == 0
    assert query(path, "SELECT count(*) FROM paper_sources WHERE source = ?", (str(DAY1),)) == [
        (2,)
    ]
    # A digest ranks by the converted scores: best first, the user's label counting 1.0.
    digest = jsonl(
        run(["digest", "--all", "--since", "2026-01-01", "--format", "jsonl"], db=path).stdout
    )
    assert {r["id"]: r["primary_score"] for r in digest if "2401" in r["id"]} == {
        "arxiv:2401.00001": 0.9123,
        "arxiv:2401.00002": 1.0,
        "arxiv:2401.00003": 0.5,
        "arxiv:2401.00004": None,
    }


@pytest.fixture
def m011_db(tmp_path):
    """A database of the schema before m012 (m001..m011), with rows as that code wrote
    them: every version and source row with its own source and time, the first ones equal
    to the paper's; a second version and a second source that differ."""
    path = tmp_path / "m011.db"
    old = Database(str(path))
    migrate(old, upto=11)
    t0, t1 = "2026-11-01T08:00:00+00:00", "2026-11-03T09:30:00+00:00"
    for n in (1, 2):
        pid = f"arxiv:2401.0000{n}"
        old.conn.execute(
            "INSERT INTO papers (id, title, abstract, authors, url, arxiv_id, version, "
            "source, first_seen, last_seen) "
            "VALUES (?, ?, ?, '[\"A. Author\"]', ?, ?, ?, 'feed.xml', ?, ?)",
            (pid, f"Paper {n} revised", f"Text {n} now.", f"u{n}", pid[6:], n, t0, t1),
        )
        old.conn.execute(
            "INSERT INTO versions (paper_id, version, source, seen_at, title, abstract) "
            "VALUES (?, 1, 'feed.xml', ?, ?, ?)",
            (pid, t0, *((f"Paper {n}", f"Text {n} then.") if n == 2 else (None, None))),
        )
        old.conn.execute(
            "INSERT INTO paper_sources (paper_id, source, first_seen) VALUES (?, 'feed.xml', ?)",
            (pid, t0),
        )
    old.conn.execute(
        "INSERT INTO versions (paper_id, version, source, seen_at, updated) "
        "VALUES ('arxiv:2401.00002', 2, 'api.xml', ?, '2026-11-02')",
        (t1,),
    )
    old.conn.execute(
        "INSERT INTO paper_sources (paper_id, source, first_seen) "
        "VALUES ('arxiv:2401.00002', 'api.xml', ?)",
        (t1,),
    )
    old.conn.commit()
    before = {
        view: sorted(old.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
        for view in ("version_texts", "paper_sources", "browse_sources", "browse_papers")
    }
    old.close()
    return path, before


def test_m012_first_rows_share_the_papers_source_and_time_without_losing_any(m011_db):
    path, before = m011_db
    with Store(path) as store:
        assert [
            (v["version"], v["source"], v["seen_at"]) for v in store.versions("2401.00002")
        ] == [
            (1, "feed.xml", "2026-11-01T08:00:00+00:00"),
            (2, "api.xml", "2026-11-03T09:30:00+00:00"),
        ]
        assert store.paper_sources("2401.00002") == [
            {"source": "feed.xml", "first_seen": "2026-11-01T08:00:00+00:00"},
            {"source": "api.xml", "first_seen": "2026-11-03T09:30:00+00:00"},
        ]
    for view, rows in before.items():
        assert sorted(query(path, f"SELECT * FROM {view}"), key=repr) == rows, view
    # Only what differs from the paper's own fields is stored (and since m015 no row
    # for the version a paper holds that says nothing more).
    assert query(path, "SELECT paper_id, version, source, seen_at FROM versions ORDER BY 1, 2") == [
        ("arxiv:2401.00002", 1, None, None),
        ("arxiv:2401.00002", 2, "api.xml", "2026-11-03T09:30:00+00:00"),
    ]
    assert query(path, "SELECT paper_id, first_seen FROM paper_source_ids ORDER BY 1, 2") == [
        ("arxiv:2401.00001", None),
        ("arxiv:2401.00002", None),
        ("arxiv:2401.00002", "2026-11-03T09:30:00+00:00"),
    ]
    # The view's insert trigger stores the same way (a time of its own is kept).
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO paper_sources (paper_id, source, first_seen) VALUES "
            "('arxiv:2401.00001', 'x.xml', '2026-11-01T08:00:00+00:00'), "
            "('arxiv:2401.00001', 'y.xml', '2026-11-09T08:00:00+00:00')"
        )
    conn.close()
    assert query(
        path,
        "SELECT k.source, r.first_seen FROM paper_source_ids r JOIN source_keys k "
        "ON k.id = r.source_id WHERE r.paper_id = 'arxiv:2401.00001' ORDER BY 1",
    ) == [("feed.xml", None), ("x.xml", None), ("y.xml", "2026-11-09T08:00:00+00:00")]


def test_an_ingest_stores_first_versions_and_sources_without_the_papers_fields(tmp_path):
    db = tmp_path / "t.db"
    assert run(["ingest", "-q", DAY1], db=db).exit_code == 0
    # a paper arriving stores no version row (m015): version_texts reads it from papers
    assert query(db, "SELECT count(*) FROM versions") == [(0,)]
    assert query(db, "SELECT count(*) FROM version_texts") == [(2,)]
    # nor a row for its own source (m016): paper_sources reads it from papers
    assert query(db, "SELECT count(*) FROM paper_source_ids") == [(0,)]
    assert query(db, "SELECT count(*) FROM paper_sources") == [(2,)]
    shown = json.loads(run(["show", "2501.00001", "--format", "json"], db=db).stdout)
    ((first_seen,),) = query(db, "SELECT first_seen FROM papers WHERE id = 'arxiv:2501.00001'")
    assert [(v["source"], v["seen_at"]) for v in shown["versions"]] == [(str(DAY1), first_seen)]
    assert [(s["source"], s["first_seen"]) for s in shown["sources"]] == [(str(DAY1), first_seen)]


def test_m013_paper_labels_by_rowid_keeps_every_label_and_stays_in_step(tmp_path):
    """A database of the schema before m013, its labels mirrored by m008's triggers, keeps
    the same (paper, label, sort key) rows, now named by rowid; the new triggers follow a
    new paper, a user's label, a rescore and a deletion as the old ones did."""
    path = tmp_path / "m012.db"
    old = Database(str(path))
    migrate(old, upto=12)
    for n, labels in enumerate((["lora"], ["lora", "adapters"], [], ["off-topic"]), 1):
        old.conn.execute(
            "INSERT INTO papers (id, title, source, first_seen, last_seen, published, "
            "model_labels) VALUES (?, ?, 'feed.xml', ?, ?, ?, ?)",
            (
                f"arxiv:2401.0000{n}",
                f"Paper {n}",
                f"2026-11-0{n}T08:00:00+00:00",
                f"2026-11-0{n}T08:00:00+00:00",
                None if n == 2 else f"2026-10-0{n}",
                json.dumps(labels),
            ),
        )
    old.conn.execute(
        "INSERT INTO user_labels (paper_id, label, position, at) "
        "VALUES ('arxiv:2401.00004', 'adapters', 0, '2026-11-06T08:00:00+00:00')"
    )
    old.conn.commit()
    sql = (
        "SELECT p.id, l.label, l.first_seen, l.published, p.rowid FROM paper_labels l "
        "JOIN papers p ON {} ORDER BY 1, 2"
    )
    before = old.execute(sql.format("p.id = l.paper_id")).fetchall()
    assert len(before) == 4
    old.close()
    with Store(path) as store:
        conn = store.db.conn
        assert conn.execute(sql.format("p.rowid = l.seq")).fetchall() == before
        assert [r[1] for r in conn.execute("PRAGMA table_info(paper_labels)")] == [
            "seq",
            "label",
            "first_seen",
            "published",
        ]
        assert [p.id for p in store.list_papers(category="adapters")] == [
            "arxiv:2401.00004",
            "arxiv:2401.00002",
        ]
        store.set_user_labels("2401.00001", ["adapters"])
        store.update_scores_many([("arxiv:2401.00002", ["off-topic"], {"off-topic": 0.9})], "m")
        with store.write() as w:
            w.execute("DELETE FROM papers WHERE id = 'arxiv:2401.00003'")
        assert [p.id for p in store.list_papers(category="adapters")] == [
            "arxiv:2401.00004",
            "arxiv:2401.00001",
        ]
        assert conn.execute(sql.format("p.rowid = l.seq")).fetchall() == [
            ("arxiv:2401.00001", "adapters", "2026-11-01T08:00:00+00:00", "2026-10-01", 1),
            ("arxiv:2401.00002", "off-topic", "2026-11-02T08:00:00+00:00", None, 2),
            ("arxiv:2401.00004", "adapters", "2026-11-04T08:00:00+00:00", "2026-10-04", 4),
        ]
        assert conn.execute("SELECT count(*) FROM paper_labels").fetchone() == (3,)


def test_m014_papers_name_their_source_by_id_and_read_it_back_as_text(tmp_path):
    """Rows stored before m014 keep their source's text; papers stored after hold its id
    ('' in `source`); every reader (records, views, a digest's duplicates) gives the text."""
    path = tmp_path / "m013.db"
    old = Database(str(path))
    migrate(old, upto=13)
    old.conn.execute(
        "INSERT INTO papers (id, title, source, first_seen, last_seen, version) "
        "VALUES ('arxiv:2401.00001', 'Old paper', 'old-feed.xml', ?, ?, 1)",
        ("2026-11-01T08:00:00+00:00", "2026-11-01T08:00:00+00:00"),
    )
    old.conn.execute(
        "INSERT INTO versions (paper_id, version, source, seen_at) "
        "VALUES ('arxiv:2401.00001', 1, NULL, NULL)"
    )
    old.conn.commit()
    views = ("browse_papers", "browse_duplicates", "version_texts")
    before = {view: old.execute(f"SELECT * FROM {view}").fetchall() for view in views}
    old.close()
    Store(path).close()  # migrated: the views show what they showed
    for view, rows in before.items():
        assert query(path, f"SELECT * FROM {view}") == rows, view
    copy = FIXTURES / "cli" / "pasted_copy.txt"
    assert run(["ingest", "-q", DAY1], db=path).exit_code == 0
    assert run(["ingest", "-q", copy], db=path).exit_code == 0
    raw = dict(query(path, "SELECT id, source || '|' || coalesce(source_id, '') FROM papers"))
    assert raw["arxiv:2401.00001"] == "old-feed.xml|"  # as stored, not rewritten
    ids = dict(query(path, "SELECT source, id FROM source_keys"))
    assert raw["arxiv:2501.00001"] == f"|{ids[str(DAY1)]}"
    listed = jsonl(run(["list", "--all", "--format", "jsonl"], db=path).stdout)
    sources = {r["id"]: r["source"] for r in listed}
    assert sources["arxiv:2401.00001"] == "old-feed.xml"
    assert sources["arxiv:2501.00001"] == str(DAY1)
    (dup,) = [r for r in listed if r.get("duplicate_of")]
    assert sources[dup["id"]] == str(copy)
    with Store(path) as store:
        assert store.get_paper("2401.00001").source == "old-feed.xml"
        assert [v["source"] for v in store.versions("2501.00001")] == [str(DAY1)]
        digest = store.papers_for_digest(since="2000-01-01")
        shown = {p.id: p for p in digest}
        assert [d.source for d in shown["arxiv:2501.00001"].duplicates] == [str(copy)]
    assert query(path, "SELECT source FROM browse_papers WHERE id = 'arxiv:2501.00001'") == [
        (str(DAY1),)
    ]
    assert query(path, "SELECT duplicate_source FROM browse_duplicates") == [(str(copy),)]


def test_m015_a_papers_own_version_row_is_implicit_and_written_out_before_it_changes(tmp_path):
    """Before m015 every paper stored the row of the version it arrived with. Rows that
    say nothing the paper does not go (version_texts reads the same), the others stay;
    afterwards an ingest writes that row out, as it read, before the paper changes it."""
    from store_support import T0, T1, T2, arxiv

    path = tmp_path / "m014.db"
    old = Database(str(path))
    migrate(old, upto=14)
    for n, updated in ((1, None), (2, "2026-10-31"), (3, "2026-10-31")):
        old.conn.execute(
            "INSERT INTO papers (id, title, abstract, source, first_seen, last_seen, version, "
            "updated) VALUES (?, ?, 'Text.', 'feed.xml', ?, ?, 1, ?)",
            (f"arxiv:2401.0000{n}", f"Paper {n}", T0, T1, updated),
        )
        # paper 3's field was filled in after it arrived: its row still says NULL
        old.conn.execute(
            "INSERT INTO versions (paper_id, version, updated) VALUES (?, 1, ?)",
            (f"arxiv:2401.0000{n}", None if n == 3 else updated),
        )
    old.conn.commit()
    view = "SELECT * FROM version_texts ORDER BY paper_id, version"
    before = old.execute(view).fetchall()
    old.close()
    with Store(path) as store:
        conn = store.db.conn
        assert conn.execute(view).fetchall() == before
        assert conn.execute("SELECT paper_id, version, updated FROM versions").fetchall() == [
            ("arxiv:2401.00003", 1, None)
        ]
        # a new version: the old one's row is written out first, with its text
        v2 = arxiv(1, version=2, title="Paper 1, revised", updated="2026-11-02")
        store.ingest_source("api.xml", [v2], now=T1)
        # a field filled in: the row keeps what it said
        filled = arxiv(2, version=1, title="Paper 2", abstract="Text.", announce_type="new")
        store.ingest_source("api.xml", [filled], now=T1)
        rows = conn.execute(
            "SELECT paper_id, version, source, seen_at, title, updated, announce_type "
            "FROM version_texts WHERE paper_id IN ('arxiv:2401.00001', 'arxiv:2401.00002') "
            "ORDER BY 1, 2"
        ).fetchall()
        assert rows == [
            ("arxiv:2401.00001", 1, "feed.xml", T0, "Paper 1", None, None),
            ("arxiv:2401.00001", 2, "api.xml", T1, "Paper 1, revised", "2026-11-02", None),
            ("arxiv:2401.00002", 1, "feed.xml", T0, "Paper 2", "2026-10-31", None),
        ]
        assert conn.execute(
            "SELECT announce_type FROM papers WHERE id = 'arxiv:2401.00002'"
        ).fetchone() == ("new",)
        # the same input again: nothing new, no row written
        stored = conn.execute("SELECT count(*) FROM versions").fetchone()
        again = store.ingest_source("api.xml", [filled], now=T2)
        assert (again.new, again.updated) == (0, 0)
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == stored
        assert [v["version"] for v in store.versions("2401.00003")] == [1]


def test_m016_a_papers_own_source_row_is_implicit(tmp_path):
    """A paper that names its source by id (m014) loses its stored row for that source
    (paper_sources reads the same); re-reading that source finds the paper carried, and
    another source still gets its row."""
    from store_support import T0, T1, T2, arxiv

    path = tmp_path / "m015.db"
    with Store(path) as store:  # rows as the code before m016 wrote them
        store.ingest_source("feed.xml", [arxiv(1), arxiv(2)], now=T0)
        store.ingest_source("api.xml", [arxiv(2)], now=T1)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM _migrations WHERE name = 'm016_arrival_sources_implicit'")
        own = "(SELECT source_id FROM papers WHERE id = ?)"
        for pid in ("arxiv:2401.00001", "arxiv:2401.00002"):
            conn.execute(
                f"INSERT INTO paper_source_ids (paper_id, source_id) VALUES (?, {own})", (pid, pid)
            )
    conn.close()
    view = "SELECT paper_id, source, first_seen, rowid FROM paper_sources ORDER BY 1, 3, 4"
    before = query(path, view)
    assert len(before) == 3 and len(query(path, "SELECT * FROM paper_source_ids")) == 3
    with Store(path) as store:
        assert query(path, view) == before
        assert query(path, "SELECT paper_id, first_seen FROM paper_source_ids") == [
            ("arxiv:2401.00002", T1)
        ]
        assert [s["source"] for s in store.paper_sources("2401.00002")] == ["feed.xml", "api.xml"]
        again = store.ingest_source("feed.xml", [arxiv(1), arxiv(2)], now=T2)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
        assert store.get_paper("2401.00001").last_seen == T0  # nothing new: not touched
        store.ingest_source("hf.json", [arxiv(1)], now=T2)
    assert query(path, view) == sorted(
        [*before, ("arxiv:2401.00001", "hf.json", T2, 3)], key=lambda r: (r[0], r[2], r[3])
    )
    # the view's trigger ignores the paper's own source, as it ignored a row already there
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO paper_sources (paper_id, source, first_seen) "
            "VALUES ('arxiv:2401.00001', 'feed.xml', ?)",
            (T2,),
        )
    conn.close()
    assert query(path, "SELECT count(*) FROM paper_source_ids") == [(2,)]
