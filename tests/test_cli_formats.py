"""One way to ask for output: every record-printing command takes every format of its
documented set; json is one document and jsonl one object a line everywhere; a pipe gets
JSON Lines; --json is --format jsonl; scores are floats; a user label scores 1.0."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import FIXTURES
from helpers import jsonl, run

SETS = {
    ("list",): ("table", "jsonl", "json", "csv", "markdown"),
    ("search", "adaptation"): ("table", "jsonl", "json", "csv", "markdown"),
    ("export",): ("table", "jsonl", "json", "csv", "markdown"),
    ("categories", "list"): ("table", "jsonl", "json", "csv", "markdown"),
    ("feeds", "list"): ("table", "jsonl", "json", "csv"),
    ("sources", "list"): ("table", "jsonl", "json", "csv"),
    ("show", "2501.00001"): ("table", "jsonl", "json"),
    ("dedup",): ("table", "jsonl", "json"),
    ("digest", "--no-mark"): ("table", "jsonl", "json", "csv", "markdown"),
    ("trends",): ("text", "csv", "jsonl", "json"),
    ("classify", str(FIXTURES / "cli" / "unseen_abstracts.jsonl")): (
        "table",
        "jsonl",
        "json",
        "csv",
    ),
}
DAY1 = "arxiv_cs_lg_day1.xml"
JSON_LINES_BY_DEFAULT = [
    ("list",),
    ("search", "adaptation"),
    ("categories", "list"),
    ("feeds", "list"),
    ("sources", "list"),
    ("show", "2501.00001"),
    ("dedup",),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory, model_cache_dir):
    """One database for the module (built with the session's model cache)."""
    db = tmp_path_factory.mktemp("formats") / "t.db"
    runner_env = pytest.MonkeyPatch()
    runner_env.setenv("ADAPT_TRIAGE_CACHE", str(model_cache_dir))
    runner_env.setenv("ADAPT_TRIAGE_DB", str(db))
    runner_env.setenv("XDG_CONFIG_HOME", str(db.parent / "config"))
    try:
        result = run(
            [
                "ingest",
                "--quiet",
                FIXTURES / "seed_page.txt",
                FIXTURES / "cli" / "arxiv_cs_lg_day1.xml",
            ],
            db=db,
        )
        assert result.exit_code == 0, result.output
        assert run(["feeds", "add", "cs.LG", "--name", "lg"], db=db).exit_code == 0
        assert run(["label", "2501.00001", "--add", "fine-tuning"], db=db).exit_code == 0
    finally:
        runner_env.undo()
    return db


def check(fmt: str, text: str) -> None:
    if fmt == "json":
        json.loads(text)  # one document
    elif fmt == "jsonl":
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1
    elif fmt == "markdown":
        assert text.lstrip().startswith(("|", "#"))
    else:
        assert text.strip()


@pytest.mark.parametrize("command", list(SETS), ids=" ".join)
def test_every_format_of_the_documented_set(db, command):
    for fmt in SETS[command]:
        result = run([*command, "--format", fmt], db=db)
        assert result.exit_code == 0, (command, fmt, result.output)
        check(fmt, result.stdout)
    bogus = run([*command, "--format", "yaml"], db=db)
    assert bogus.exit_code == 2
    assert all(f"'{fmt}'" in bogus.stderr for fmt in SETS[command])


@pytest.mark.parametrize("command", JSON_LINES_BY_DEFAULT, ids=" ".join)
def test_a_pipe_gets_json_lines_and_json_is_an_alias(db, command):
    piped = run(list(command), db=db)
    assert piped.exit_code == 0, piped.output
    assert jsonl(piped.stdout)
    assert run([*command, "--json"], db=db).stdout == piped.stdout


def test_scores_are_floats_and_a_user_label_scores_one(db):
    listed = jsonl(run(["list"], db=db).stdout)
    exported = jsonl(run(["export"], db=db).stdout)
    digest = jsonl(run(["digest", "--no-mark", "--json"], db=db).stdout)
    shown = json.loads(run(["show", "2501.00001", "-f", "json"], db=db).stdout)
    for records in (listed, exported, digest, [shown]):
        for record in records:
            assert all(type(v) is float for v in record["scores"].values())
            assert type(record["primary_score"]) is float
        (mine,) = [r for r in records if r["id"] == "arxiv:2501.00001"]
        assert mine["primary"] == "fine-tuning" and mine["primary_score"] == 1.0
    table = run(["list", "-f", "table", "-c", "fine-tuning"], db=db).stdout
    assert "1.00" in table


def test_tables_show_local_times_with_the_zone(db, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    import time

    time.tzset()
    try:
        table = run(["feeds", "list", "-f", "table"], db=db).stdout
        listed = run(["list", "-f", "table", "--limit", "1"], db=db).stdout
        record = jsonl(run(["list", "--limit", "1"], db=db).stdout)[0]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert "never" in table
    assert "CET" in listed or "CEST" in listed
    assert record["first_seen"].endswith("+00:00")  # JSON keeps ISO 8601 UTC
