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
