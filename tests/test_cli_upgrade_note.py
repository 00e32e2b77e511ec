"""Upgrading an existing database is said once on stderr (it takes minutes on a large
history and would otherwise look like a hang); creating one, or opening a current one, says
nothing, and `--quiet` silences the note."""

from __future__ import annotations

import sqlite3

from helpers import jsonl, run
from sqlite_utils import Database
from store_support import T0

from adapt_triage.store import Store
from adapt_triage.store.migrate import migrate, owned_migrations


def old_database(path) -> None:
    conn = sqlite3.connect(path)
    migrate(Database(conn), upto=9)  # before packed scores (m010) and source ids (m011)
    conn.execute(
        "INSERT INTO papers (id, title, abstract, source, first_seen, last_seen, model_labels)"
        " VALUES ('arxiv:2301.00001', 'Old LoRA paper', 'stored by an older release',"
        " 'old-feed', ?, ?, '[\"lora\"]')",
        (T0, T0),
    )
    conn.commit()
    conn.close()


def test_an_upgrade_is_said_once_on_stderr_and_the_command_still_answers(tmp_path):
    db = tmp_path / "old.db"
    old_database(db)
    steps = len(owned_migrations()) - 9
    first = run(["list", "--all", "--format", "jsonl"], db=db)
    assert first.exit_code == 0, first.stderr
    (note,) = first.stderr.splitlines()
    assert note.startswith(f"{db}: upgrading the database for this version of adapt-triage")
    assert f"({steps} steps, once;" in note
    assert [p["id"] for p in jsonl(first.stdout)] == ["arxiv:2301.00001"]
    again = run(["list", "--all", "--format", "jsonl"], db=db)
    assert again.exit_code == 0 and again.stderr == ""
    assert again.stdout == first.stdout


def test_quiet_silences_the_upgrade_note(tmp_path):
    db = tmp_path / "old.db"
    old_database(db)
    result = run(["--quiet", "list", "--all", "--format", "jsonl"], db=db)
    assert result.exit_code == 0 and result.stderr == ""
    with Store(db) as store:  # upgraded all the same
        assert store.get_paper("2301.00001").title == "Old LoRA paper"


def test_a_new_database_is_created_without_an_upgrade_note(tmp_path, seed_page):
    db = tmp_path / "new.db"
    result = run(["ingest", seed_page], db=db)
    assert result.exit_code == 0
    assert "upgrading" not in result.stderr


def _index_rows(db) -> tuple[list[tuple], list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        keys = conn.execute("SELECT * FROM dedup_bands UNION ALL SELECT * FROM dedup_recent")
        links = conn.execute("SELECT id, duplicate_of FROM papers ORDER BY id")
        return sorted(keys.fetchall()), links.fetchall()
    finally:
        conn.close()


def test_a_rebuild_of_the_duplicate_index_is_said_once_on_stderr(tmp_path, seed_page):
    db = tmp_path / "index.db"
    assert run(["ingest", seed_page], db=db).exit_code == 0
    keys, links = _index_rows(db)
    conn = sqlite3.connect(db)
    with conn:  # as a release with other dedup parameters left it
        conn.execute("UPDATE dedup_meta SET value = 'dedup-older' WHERE key = 'params'")
        conn.execute("DELETE FROM dedup_recent")
    conn.close()
    first = run(["ingest", seed_page], db=db)
    assert first.exit_code == 0, first.stderr
    notes = [line for line in first.stderr.splitlines() if "rebuilding" in line]
    assert notes == [
        f"{db}: rebuilding the duplicate index for this version of adapt-triage "
        "(once; a large history takes a few minutes)"
    ]
    assert _index_rows(db) == (keys, links)  # the same keys, recomputed from the papers
    again = run(["ingest", seed_page], db=db)
    assert again.exit_code == 0 and "rebuilding" not in again.stderr


def test_quiet_silences_the_index_rebuild_note(tmp_path, seed_page):
    db = tmp_path / "index.db"
    assert run(["ingest", seed_page], db=db).exit_code == 0
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE dedup_meta SET value = 'dedup-older' WHERE key = 'params'")
    conn.close()
    result = run(["--quiet", "ingest", seed_page], db=db)
    assert result.exit_code == 0 and "rebuilding" not in result.stderr
    conn = sqlite3.connect(db)
    (params,) = conn.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
    conn.close()
    assert params != "dedup-older"  # rebuilt all the same
