"""The store's database: opening, WAL, migrations (the store's and dedup's), errors."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database
from store_support import T0, arxiv

from adapt_triage import dedup
from adapt_triage.store import (
    MIGRATIONS,
    SchemaTooNewError,
    Store,
    StoreError,
    default_db_path,
    migrate,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_open_creates_directories_wal_foreign_keys_and_full_schema(tmp_path):
    path = tmp_path / "a" / "b" / "history.db"
    with Store.open(path) as store:
        conn = store.db.conn
        assert path.is_file()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert store.schema_version == len(MIGRATIONS)
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
        assert names == [fn.__name__ for fn in MIGRATIONS] + [
            f"dedup:{fn.__name__}" for fn in dedup.MIGRATIONS
        ]
        tables = set(store.db.table_names()) | set(store.db.view_names())  # paper_sources: a view
        assert {
            "papers",
            "versions",
            "paper_sources",
            "sources",
            "user_labels",
            "categories",
            "digests",
            "runs",
            "papers_fts",
        } <= tables
        assert store.db["papers"].detect_fts() == "papers_fts"
    with Store(path) as again:  # reopening applies nothing
        assert again.schema_version == len(MIGRATIONS)
        assert again.db.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(
            MIGRATIONS
        ) + len(dedup.MIGRATIONS)


def test_default_db_path_env_then_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ADAPT_TRIAGE_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("ADAPT_TRIAGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_db_path()
    assert path.name == "adapt-triage.db"
    assert path.parent.name == "adapt-triage"
    with Store() as store:
        assert store.path == path and path.is_file()


def test_an_old_database_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    migrate(Database(conn), upto=1)  # the database as the first release left it
    conn.execute(
        "INSERT INTO papers (id, title, abstract, source, first_seen, last_seen, model_labels)"
        " VALUES ('arxiv:2301.00001', 'Old LoRA paper', 'stored before labels existed',"
        " 'old-feed', ?, ?, '[\"lora\"]')",
        (T0, T0),
    )
    conn.commit()
    assert "user_labels" not in Database(conn).table_names()
    conn.close()

    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        paper = store.get_paper("2301.00001")
        assert paper.title == "Old LoRA paper" and paper.shown_in_digest is None
        assert [p.id for p in store.search("labels")] == ["arxiv:2301.00001"]
        assert store.label_paper("2301.00001", add=["adapters"]) == ["adapters", "lora"]
        assert [p.id for p in store.papers_for_digest(T0)] == ["arxiv:2301.00001"]


def test_a_newer_database_is_refused_clearly_and_left_alone(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('m099_from_the_future', ?)", (T0,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match="newer adapt-triage.*m099_from_the_future"):
        Store(path)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    import adapt_triage.store.migrations as store_module

    path = tmp_path / "history.db"
    Store(path).close()

    def m900_broken(db):
        db.execute("CREATE TABLE half_done (x)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, m900_broken])
    with pytest.raises(StoreError, match="migration m900_broken failed.*no such table"):
        Store(path)
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    with Store(path) as store:
        assert "half_done" not in store.db.table_names()
        assert store.schema_version == len(MIGRATIONS)


def test_a_writer_that_waits_too_long_gets_a_clear_error(tmp_path):
    path = tmp_path / "history.db"
    with Store(path) as holder, Store(path, busy_timeout=0.1) as waiter:
        with (
            holder.write(),
            pytest.raises(StoreError, match="busy.*another adapt-triage run is writing"),
        ):
            waiter.ingest_source("feed", [arxiv(1)])
        assert waiter.ingest_source("feed", [arxiv(1)]).new == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="notes.db.*not a"):
        Store(path)


def test_dedup_migrations_run_after_the_stores_and_are_recorded_by_owner(tmp_path, monkeypatch):
    from adapt_triage import dedup_migrations
    from adapt_triage.store import applied_migrations

    def m001_probe(db):
        db.execute("CREATE TABLE dedup_probe (x)")

    own = list(dedup_migrations.MIGRATIONS)
    monkeypatch.setattr(dedup_migrations, "MIGRATIONS", [*own, m001_probe])
    path = tmp_path / "history.db"
    with Store(path) as store:
        assert "dedup_probe" in store.db.table_names()
        applied = applied_migrations(store.db)
        assert applied[: len(MIGRATIONS)] == [fn.__name__ for fn in MIGRATIONS]
        assert applied[-1] == "dedup:m001_probe"
        assert store.schema_version == len(MIGRATIONS)  # the store's own schema version
    with Store(path) as store:  # applied once
        assert applied_migrations(store.db).count("dedup:m001_probe") == 1
    monkeypatch.setattr(dedup_migrations, "MIGRATIONS", own)
    with pytest.raises(SchemaTooNewError, match="dedup:m001_probe"):
        Store(path)


def test_a_current_schema_is_known_from_one_read_and_anything_else_goes_to_migrate(tmp_path):
    """Opening a current database reads `_migrations` on the plain connection; a new file,
    a missing migration or an unknown one is not current (so `migrate` applies or refuses)."""
    from adapt_triage.store.db import current_schema

    path = tmp_path / "h.db"
    conn = sqlite3.connect(path)
    assert not current_schema(conn)  # a new file: no _migrations table
    Store(path).close()
    assert current_schema(conn)
    (last,) = conn.execute("SELECT name FROM _migrations ORDER BY rowid DESC LIMIT 1").fetchone()
    with conn:
        conn.execute("DELETE FROM _migrations WHERE name = ?", (last,))
    assert not current_schema(conn)
    with conn:
        conn.execute("INSERT INTO _migrations VALUES (?, ?), ('m099_later', ?)", (last, T0, T0))
    assert not current_schema(conn)
    conn.close()


def test_sqlite_utils_is_made_over_the_same_connection_on_first_use(store):
    """`store.db` answers `.conn` itself, and hands everything else to sqlite-utils'
    Database over the same connection (so `execute` commits a write by itself, as it
    always did, its writes share the store's transactions, and recursive triggers are on
    either way)."""
    assert store.db.conn is store.conn
    assert store.conn.execute("PRAGMA recursive_triggers").fetchone() == (1,)
    store.db.execute("INSERT INTO categories (slug, created_at) VALUES ('first', ?)", (T0,))
    assert not store.conn.in_transaction
    assert store.db["papers"].exists() and store.db.conn is store.conn
    with store.write(), store.db.atomic():  # a savepoint inside the store's transaction
        store.conn.execute("INSERT INTO categories (slug, created_at) VALUES ('probe', ?)", (T0,))
    assert [c["slug"] for c in store.list_categories()] == ["first", "probe"]
