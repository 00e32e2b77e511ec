"""The labeled real-day sample shipped in the package: size, how it was drawn, valid
labels, agreement with the real listings it came from, and the adjudication log."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from adapt_triage.classify import load_realday
from adapt_triage.realday_eval import TEST_DAYS, realday_drawn
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC


def records(name: str) -> list[dict]:
    text = resources.files("adapt_triage").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def realday() -> list[dict]:
    return records("realday.jsonl")


def test_at_least_1200_distinct_papers_with_valid_labels(realday):
    assert len(realday) >= 1200
    assert len({r["id"] for r in realday}) == len(realday)
    for r in realday:
        assert r["labels"] and len(r["labels"]) <= 3 and len(set(r["labels"])) == len(r["labels"])
        assert set(r["labels"]) <= set(DEFAULT_SLUGS), r["id"]
        assert OFF_TOPIC not in r["labels"] or r["labels"] == [OFF_TOPIC], r["id"]
        assert r["title"] and r["abstract"] and r["arxiv_category"]
    assert len(load_realday()) == len(realday)
    assert {ex.group for ex in load_realday()} == {r["day"] for r in realday}


def test_drawn_at_random_over_many_days_and_aimed_at_rare_categories(realday):
    drawn = Counter(r["drawn"] for r in realday)
    assert drawn["random"] + drawn["random-2"] >= 800
    assert drawn["top-score"] + drawn["uncertain"] + drawn["keyword"] >= 400
    uniform = [r for r in realday if r["random"]]
    assert len(uniform) >= 800 and len({r["day"] for r in uniform}) >= 10
    drawn_as = realday_drawn()
    assert sum(drawn_as[r["id"]] == "random" for r in realday) == len(uniform)
    # a real day is mostly about something else
    on_topic = sum(r["labels"] != [OFF_TOPIC] for r in uniform) / len(uniform)
    assert 0.1 < on_topic < 0.4
    # every category has examples, and the held-out days have papers of both kinds
    assert {label for r in realday for label in r["labels"]} == set(DEFAULT_SLUGS)
    test = [r for r in realday if r["day"] in TEST_DAYS]
    assert len({r["day"] for r in test}) == len(TEST_DAYS)
    assert sum(r["labels"] != [OFF_TOPIC] for r in test) >= 30


def test_every_disagreement_of_the_two_passes_was_adjudicated_and_logged(realday):
    final = {r["id"]: r["labels"] for r in realday}
    log = records("realday-adjudication.jsonl")
    assert len(log) >= 50
    for entry in log:
        assert entry["pass_1"] != entry["pass_2"]
        assert entry["labels"] == final[entry["id"]]
        assert entry["reason"].strip()
        if entry["chose"] in ("1", "2"):
            assert entry["labels"] == entry[f"pass_{entry['chose']}"]
    notes = resources.files("adapt_triage").joinpath("data/labeling-notes.md").read_text()
    assert "Cohen's kappa" in notes and "Real-day labeling rules" in notes


def test_titles_and_abstracts_are_the_real_listings(realday, shared):
    listed: dict[str, dict] = {}
    for path in sorted((shared / "realworld" / "arxiv-days").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            listed.setdefault(rec["id"], {**rec, "day": path.stem})
    for r in realday:
        real = listed[r["id"]]
        assert r["day"] == real["day"]
        assert r["title"] == " ".join(real["title"].split())
        assert r["abstract"] == " ".join(real["summary"].split())
        assert r["arxiv_category"] == real["categories"][0]
