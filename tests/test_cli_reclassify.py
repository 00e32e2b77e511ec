"""Stored scores follow the model: after `label` the stored papers are rescored (by
`reclassify`, and by `list` and `digest` on their own), and the user's labels still win."""

from __future__ import annotations

import sqlite3

from helpers import jsonl, run

from adapt_triage.classify import Example, build_default
from adapt_triage.store import Store


def versions(db) -> set[str | None]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT model_version FROM papers")}


def test_label_then_list_rescored_every_paper_with_the_new_model(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    (before,) = versions(db)
    assert before == build_default().model_version
    target = jsonl(run(["list", "--format", "jsonl"], db=db).stdout)[0]
    assert run(["label", target["id"], "--add", "compression"], db=db).exit_code == 0
    with Store(db) as store:
        user = [
            Example(e["title"], e["abstract"], e["labels"], e["id"])
            for e in store.user_labeled_examples()
        ]
    expected = build_default(user)
    assert expected.model_version != before
    rows = jsonl(run(["list", "--format", "jsonl"], db=db).stdout)
    assert versions(db) == {expected.model_version}  # every stored paper rescored
    shown = {r["id"]: r for r in rows}[target["id"]]
    assert shown["labels"][0] == "compression"  # the user's label still wins
    # the stored scores are what the new model says, as `classify` would print
    other = next(r for r in rows if r["id"] != target["id"])
    ((labels, scores),) = expected.predict([(other["title"], other["abstract"])])
    assert other["scores"] == scores and other["labels"] == labels
    result = run(["reclassify"], db=db)
    assert result.exit_code == 0 and "rescored 0 papers" in result.stderr


def test_reclassify_rescored_stale_papers_and_digest_refreshes_by_itself(tmp_path, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", seed_page], db=db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE papers SET model_version = 'old', model_scores = '{}'")
    result = run(["reclassify"], db=db)
    assert result.exit_code == 0 and "rescored 71 papers" in result.stderr
    assert versions(db) == {build_default().model_version}
    assert "rescored 71 papers" in run(["reclassify", "--all"], db=db).stderr
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE papers SET model_version = 'old'")
    assert run(["digest", "--format", "jsonl", "--no-mark"], db=db).exit_code == 0
    assert versions(db) == {build_default().model_version}


def test_reclassify_needs_a_database(tmp_path):
    result = run(["reclassify"], db=tmp_path / "missing.db")
    assert result.exit_code == 1 and "no database" in result.stderr
