"""Integrity of the labeled seed set shipped as package data (adapt_triage/data/seed.jsonl).

The seed set is the classifier's ground truth; these tests pin down its shape, its agreement
with the copied seed page, and the labels that the taxonomy's worked examples prescribe.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC

SEED_PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "seed_page.txt"
PAGE_CHROME = (
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
    "Aug 11",
)
EXPECTED_KEYS = {"id", "title", "abstract", "labels"}

# The worked examples of taxonomy.md, with their labels in the order the taxonomy gives.
WORKED_EXAMPLES = {
    "Resource-Aware Arabic LLM Creation": ["lora", "domain-adaptation"],
    "Knowledge Composition using Task Vectors with Learned Anisotropic Scaling": [
        "model-composition"
    ],
    "Test-time Batch Statistics Calibration for Covariate Shift": ["test-time-adaptation"],
    "Adaptive coding efficiency in recurrent cortical circuits via gain control": [OFF_TOPIC],
    "Symbolic Discovery of Optimization Algorithms": [OFF_TOPIC],
    "Adaptive Machine Translation with Large Language Models": [
        "in-context-learning",
        "domain-adaptation",
    ],
    "Language Modelling Approaches to Adaptive Machine Translation": [
        "in-context-learning",
        "domain-adaptation",
    ],
}


def _seed_text() -> str:
    resource = importlib.resources.files("adapt_triage") / "data" / "seed.jsonl"
    return resource.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for number, line in enumerate(_seed_text().splitlines(), start=1):
        assert line.strip(), f"seed.jsonl line {number} is blank"
        out.append(json.loads(line))
    return out


def _page_pairs() -> list[tuple[str, str]]:
    """Split the copied page into blank-line separated blocks, drop the chrome, pair them."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    blocks = [b.strip() for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    assert tuple(blocks[: len(PAGE_CHROME)]) == PAGE_CHROME
    papers = blocks[len(PAGE_CHROME) :]
    assert len(papers) % 2 == 0, "page has a title without an abstract"
    for block in papers:
        assert "\n" not in block, f"multi-line block on the seed page: {block[:60]!r}"
    return list(zip(papers[0::2], papers[1::2], strict=True))


def _by_title(records: list[dict], prefix: str) -> dict:
    matches = [r for r in records if r["title"].startswith(prefix)]
    assert len(matches) == 1, f"{len(matches)} records titled {prefix!r}"
    return matches[0]


def test_seed_set_has_71_records_with_exact_keys(records):
    assert len(records) == 71
    for record in records:
        assert set(record) == EXPECTED_KEYS, record.get("id")
        assert isinstance(record["labels"], list)
        assert all(isinstance(record[k], str) and record[k] for k in ("id", "title", "abstract"))


def test_ids_are_sequential_in_page_order(records):
    assert [r["id"] for r in records] == [f"seed-{n:03d}" for n in range(1, 72)]


def test_titles_are_unique(records):
    titles = Counter(r["title"] for r in records)
    assert [t for t, n in titles.items() if n > 1] == []


def test_labels_are_valid_nonempty_and_not_repeated(records):
    for record in records:
        labels = record["labels"]
        assert labels, f"{record['id']} has no label"
        assert len(labels) == len(set(labels)), f"{record['id']} repeats a label: {labels}"
        unknown = [label for label in labels if label not in DEFAULT_SLUGS]
        assert unknown == [], f"{record['id']} has unknown labels {unknown}"


def test_off_topic_stands_alone(records):
    for record in records:
        if OFF_TOPIC in record["labels"]:
            assert record["labels"] == [OFF_TOPIC], record["id"]


def test_titles_and_abstracts_match_the_seed_page(records):
    pairs = _page_pairs()
    assert len(pairs) == 71
    assert [(r["title"], r["abstract"]) for r in records] == pairs


def test_worked_examples_carry_the_taxonomy_labels(records):
    for title, labels in WORKED_EXAMPLES.items():
        assert _by_title(records, title)["labels"] == labels, title


def test_uni_perceiver_papers_are_distinct_records(records):
    v1 = _by_title(records, "Uni-Perceiver: ")
    v2 = _by_title(records, "Uni-Perceiver v2")
    assert v1["id"] != v2["id"] and v1["abstract"] != v2["abstract"]


def test_every_category_has_an_example(records):
    counts = Counter(label for r in records for label in r["labels"])
    missing = [slug for slug in DEFAULT_SLUGS if counts[slug] == 0]
    assert missing == []


def test_labeling_notes_refer_to_existing_records(records):
    notes = (importlib.resources.files("adapt_triage") / "data" / "labeling-notes.md").read_text(
        encoding="utf-8"
    )
    by_id = {r["id"]: r for r in records}
    cited = re.findall(r"^- (seed-\d{3}) (.+?) — ", notes, flags=re.MULTILINE)
    assert len(cited) >= 20
    for seed_id, title_prefix in cited:
        assert seed_id in by_id, seed_id
        assert by_id[seed_id]["title"].startswith(title_prefix), (seed_id, title_prefix)
