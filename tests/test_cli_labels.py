"""The user's labels: `label`, `review`, custom `categories`, and what the next model learns."""

from __future__ import annotations

import json

from conftest import FIXTURES
from helpers import jsonl, run

from adapt_triage.review import category_keys
from adapt_triage.store import Store

CLI = FIXTURES / "cli"


def stored(db, paper_id):
    return json.loads(run(["show", paper_id, "--format", "json"], db=db).stdout)


def test_label_add_remove_wins_over_the_model_and_shows_in_show(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    before = stored(db, "2501.00001")
    assert before["labels"][0] == "lora" and before["user_labels"] is None
    result = run(["label", "2501.00001", "--add", "fine-tuning", "--remove", "lora"], db=db)
    assert result.exit_code == 0, result.output
    after = stored(db, "2501.00001")
    assert after["labels"][0] == "fine-tuning" and "lora" not in after["labels"]
    assert after["user_labels"] == after["labels"]
    assert after["scores"] == before["scores"]  # the model's scores are kept apart
    text = run(["show", "2501.00001", "-f", "table"], db=db).stdout
    assert "your labels: fine-tuning" in text and "model labels: lora" in text
    listed = jsonl(run(["list", "--category", "fine-tuning", "-f", "jsonl"], db=db).stdout)
    assert [p["id"] for p in listed] == ["arxiv:2501.00001"]


def test_off_topic_stands_alone_and_clear_gives_the_model_back(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    assert run(["label", "2501.00002", "--off-topic"], db=db).exit_code == 0
    assert stored(db, "2501.00002")["labels"] == ["off-topic"]
    assert run(["label", "2501.00002", "--add", "lora"], db=db).exit_code == 0
    assert stored(db, "2501.00002")["labels"] == ["lora"]
    assert run(["label", "2501.00002", "--clear"], db=db).exit_code == 0
    assert stored(db, "2501.00002")["user_labels"] is None


def test_label_errors_are_one_line(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    unknown = run(["label", "2501.00001", "--add", "quantum-dance"], db=db)
    assert unknown.exit_code == 1 and "unknown category 'quantum-dance'" in unknown.stderr
    missing = run(["label", "9999.99999", "--add", "lora"], db=db)
    assert missing.exit_code == 1 and "9999.99999" in missing.stderr
    nothing = run(["label", "2501.00001"], db=db)
    assert nothing.exit_code == 2


def test_review_saves_labels_and_changes_the_next_classification(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "federated_papers.jsonl"], db=db)
    assert (
        run(["categories", "add", "federated", "-d", "training across clients"], db=db).exit_code
        == 0
    )
    unseen = CLI / "federated_unseen.jsonl"
    (before,) = jsonl(run(["classify", unseen], db=db).stdout)
    with Store(db) as store:
        key = {v: k for k, v in category_keys(store.known_labels()).items()}["federated"]
    script = f"{key}\n{key}\ns\n{key}\n"  # three labels, one skip, then end of input
    result = run(["review"], db=db, input=script)
    assert result.exit_code == 0, result.output
    assert "3 labelled, 1 skipped (end-of-input)" in result.stdout
    with Store(db) as store:
        examples = store.user_labeled_examples()
    assert len(examples) == 3 and all(e["labels"] == ["federated"] for e in examples)
    (after,) = jsonl(run(["classify", unseen], db=db).stdout)
    assert after["scores"]["federated"] > before["scores"]["federated"]
    assert after["labels"][0] == "federated"
    listed = run(["categories", "list", "-f", "table"], db=db).stdout
    assert any(line.split()[:2] == ["federated", "3"] for line in listed.splitlines())


def test_review_quit_key_stops_and_keeps_what_was_entered(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    result = run(["review"], db=db, input="y\nq\n")
    assert result.exit_code == 0
    assert "1 labelled, 0 skipped (quit)" in result.stdout
    with Store(db) as store:
        assert len(store.user_labeled_examples()) == 1


def test_review_rejects_unknown_keys_and_asks_again(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    result = run(["review", "--limit", "1"], db=db, input="!\no\n")
    assert "unknown key '!'" in result.stdout
    assert "1 labelled" in result.stdout
    with Store(db) as store:
        (example,) = store.user_labeled_examples()
    assert example["labels"] == ["off-topic"]


def test_custom_category_appears_in_eval_once_it_has_examples(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", CLI / "federated_papers.jsonl"], db=db)
    run(["categories", "add", "federated", "-d", "training across clients"], db=db)
    with Store(db) as store:
        ids = [p.id for p in store.list_papers()]
    for paper_id in ids:
        assert run(["label", paper_id, "--add", "federated"], db=db).exit_code == 0
    result = run(
        ["eval", "--view", "seed", "--format", "json", "--folds", "2", "--repeats", "1"], db=db
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["seed_cv"]
    assert report["n_examples"] == 71 + 6
    assert report["support"]["federated"] == 6
    assert "federated" in report["methods"]["model"]["per_category"]


def test_categories_add_rejects_bad_slugs(tmp_path):
    db = tmp_path / "t.db"
    bad = run(["categories", "add", "Not A Slug"], db=db)
    assert bad.exit_code == 2 and "lower-case" in bad.stderr
    dup = run(["categories", "add", "lora"], db=db)
    assert dup.exit_code == 2 and "already" in dup.stderr
    digit = run(["categories", "add", "1"], db=db)
    assert digit.exit_code == 2 and "starting with a letter" in digit.stderr


def test_re_adding_a_category_keeps_its_description(tmp_path):
    db = tmp_path / "t.db"
    run(["categories", "add", "federated", "-d", "training across clients"], db=db)
    assert run(["categories", "add", "federated"], db=db).exit_code == 0
    listed = run(["categories", "list", "-f", "table"], db=db).stdout
    assert "training across clients (yours)" in listed
