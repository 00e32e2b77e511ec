"""The resolve step on its own: a paper and what is stored in, one decision out, no SQL."""

from __future__ import annotations

import json

from adapt_triage.paper import Paper, text_variant_id
from adapt_triage.resolve import (
    Duplicate,
    Match,
    New,
    Stored,
    Unchanged,
    Update,
    resolve,
    variant_id,
)

ABSTRACT = "We study adapters for parameter-efficient fine-tuning of frozen language models."


def paper(**kw) -> Paper:
    data = {
        "title": "Low-rank adaptation of frozen models",
        "abstract": ABSTRACT,
        "authors": ["A. Author"],
        "arxiv_id": "2401.00001",
        "version": 1,
        "labels": ["lora"],
        "scores": {"lora": 0.9},
    }
    data.update(kw)
    return Paper(**data)


def row(p: Paper, **kw) -> dict:
    """A `papers` row as the store keeps it (JSON columns as text)."""
    data = {
        "id": p.id,
        "title": p.title,
        "abstract": p.abstract or "",
        "authors": json.dumps(list(p.authors)),
        "url": p.url,
        "published": p.published,
        "updated": p.updated,
        "arxiv_id": p.arxiv_id,
        "version": p.version,
        "doi": p.doi,
        "announce_type": p.announce_type,
        "categories": json.dumps(list(p.categories)),
        "duplicate_of": None,
        "model_labels": json.dumps(list(p.labels)),
    }
    data.update(kw)
    return data


def decide(p: Paper, stored: Stored | None = None, match: Match | None = None):
    return resolve(p, p.id, stored, match, source="feed", item=3, model_version="m1")


def test_an_unknown_paper_is_new_and_a_matched_one_a_duplicate_of_the_root():
    p = paper()
    new = decide(p)
    assert type(new) is New and new.paper_id == "arxiv:2401.00001"
    assert new.canonical_id is None and new.model_version == "m1"
    dup = decide(p, match=Match("arxiv:2312.09999", "same title", 0.97))
    assert type(dup) is Duplicate and isinstance(dup, New)
    assert (dup.of, dup.reason, dup.score, dup.canonical_id) == (
        "arxiv:2312.09999",
        "same title",
        0.97,
        "arxiv:2312.09999",
    )


def test_a_re_read_is_unchanged_and_untouched():
    p = paper()
    decision = decide(p, Stored(row(p), carried_by_source=True, versions=frozenset({1})))
    assert type(decision) is Unchanged
    assert decision.changes == {} and not decision.touched and not decision.reindex
    assert decision.warning is None


def test_a_new_source_or_version_row_touches_without_updating():
    p = paper()
    decision = decide(p, Stored(row(p), carried_by_source=False, versions=frozenset({1})))
    assert type(decision) is Unchanged and decision.touched and decision.new_source
    older = paper(version=1)
    stored = Stored(row(older, version=2), carried_by_source=True, versions=frozenset({2}))
    decision = decide(older, stored)
    assert type(decision) is Unchanged and decision.new_version and decision.touched


def test_a_newer_version_updates_text_and_rescored_labels():
    v1 = paper()
    v2 = paper(version=2, title="Low-rank adaptation, revisited", labels=["adapters"])
    stored = Stored(row(v1), carried_by_source=True, versions=frozenset({1}))
    decision = decide(v2, stored)
    assert type(decision) is Update and isinstance(decision, Unchanged)
    assert decision.changes["version"] == 2
    assert decision.changes["title"] == "Low-rank adaptation, revisited"
    assert json.loads(decision.changes["model_labels"]) == ["adapters"]
    assert decision.changes["model_version"] == "m1"
    assert decision.reindex and decision.new_version and decision.touched


def test_missing_fields_are_filled_in_from_another_source():
    bare = paper(abstract="", authors=[], labels=[])
    full = paper(doi="10.1000/xyz", url="https://arxiv.org/abs/2401.00001")
    stored = Stored(row(bare), carried_by_source=False, versions=frozenset({1}))
    decision = decide(full, stored)
    assert type(decision) is Update
    assert decision.changes["abstract"] == ABSTRACT
    assert json.loads(decision.changes["authors"]) == ["A. Author"]
    assert decision.changes["doi"] == "10.1000/xyz"
    assert json.loads(decision.changes["model_labels"]) == ["lora"]  # none were stored
    assert "version" not in decision.changes


def test_a_title_id_folded_from_another_source_is_named_in_a_warning():
    listing = Paper(title="Adapters everywhere", abstract="")
    full = Paper(title="Adapters   everywhere", abstract=ABSTRACT)
    stored = Stored(row(listing), carried_by_source=False)
    decision = decide(full, stored)
    assert decision.warning is not None
    assert decision.warning.startswith("feed: item 3: 'Adapters everywhere' merged into title:")
    again = decide(full, Stored(row(listing), carried_by_source=True))
    assert again.warning is None  # the same source re-read


def test_a_title_id_of_another_work_gets_its_text_variant_id():
    long_abstract = (
        "We study adapters for parameter-efficient fine-tuning of frozen language models and "
        "show that small bottleneck layers inserted after attention recover most of the "
        "accuracy of full fine-tuning on eight benchmarks at a fraction of the memory."
    )
    stored = Paper(title="Adapters everywhere", abstract=long_abstract)
    other = Paper(
        title="Adapters everywhere",
        abstract="A survey of bird migration routes across the northern hemisphere in spring.",
    )
    assert variant_id(other, row(stored)) == text_variant_id(other)
    assert variant_id(stored, row(stored)) is None
    assert variant_id(other, None) is None
    assert variant_id(paper(), row(stored)) is None  # an arXiv id tells works apart
