"""Writing papers: ingest semantics (new, versions, enrichment, duplicates, all or nothing)."""

from __future__ import annotations

import pytest
from store_support import T0, T1, T2, FakeDedup, arxiv, dump

from adapt_triage.paper import CONTRACT_FIELDS, Paper
from adapt_triage.store import (
    Store,
    StoreError,
    row_to_paper,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_ingest_counts_and_a_second_ingest_changes_nothing(store):
    dedup = FakeDedup()
    papers = [arxiv(1), arxiv(2), Paper(title="Paper 1: Low-Rank Adaptation of FROZEN models!")]
    first = store.ingest_source("feed.xml", papers, dedup=dedup, model_version="m1", now=T0)
    assert (first.items, first.new, first.duplicates, first.updated, first.unchanged) == (
        3,
        2,
        1,
        0,
        0,
    )
    title_id = papers[2].id
    assert first.duplicate_ids == [title_id]
    assert dedup.added == [
        ("arxiv:2401.00001", None),
        ("arxiv:2401.00002", None),
        (title_id, "arxiv:2401.00001"),
    ]
    dup = store.get_paper(title_id)
    assert (dup.duplicate_of, dup.dup_reason, dup.dup_score) == (
        "arxiv:2401.00001",
        "same title",
        0.97,
    )

    before = dump(store)
    second = store.ingest_source("feed.xml", papers, dedup=dedup, model_version="m2", now=T1)
    assert (second.new, second.duplicates, second.updated, second.unchanged) == (0, 0, 0, 3)
    assert dump(store) == before  # not even last_seen or the model version moved
    assert dedup.found == ["arxiv:2401.00001", "arxiv:2401.00002", title_id]  # known ids skip


def test_stored_paper_has_the_json_contract_fields(store):
    store.ingest_source("feed.xml", [arxiv(7)], model_version="m1", now=T0)
    row = store.get_paper("arxiv:2401.00007")
    view = {key: getattr(row, key) for key in CONTRACT_FIELDS}  # the contract, in its order
    assert list(view) == list(CONTRACT_FIELDS)
    assert view == {
        "id": "arxiv:2401.00007",
        "title": "Paper 7: low-rank adaptation of frozen models",
        "abstract": "We study adapters number 7 for parameter-efficient fine-tuning.",
        "authors": ["A. Author7", "B. Second"],
        "url": "https://arxiv.org/abs/2401.00007",
        "published": "2026-10-30",
        "source": "feed.xml",
        "labels": ["lora", "adapters"],
        "scores": {"lora": 0.8, "adapters": 0.6, "fine-tuning": 0.1},
        "duplicate_of": None,
    }
    assert row.model_version == "m1" and row.first_seen == T0
    paper = row_to_paper(row)
    assert paper.id == row.id and paper.labels == ["lora", "adapters"]


def test_a_new_version_updates_the_paper_and_keeps_the_history(store):
    dedup = FakeDedup()
    store.ingest_source("feed.xml", [arxiv(3)], dedup=dedup, model_version="m1", now=T0)
    v2 = arxiv(
        3,
        version=2,
        title="Paper 3 revised: rank-adaptive tuning",
        abstract="A rewritten abstract about soft prompts.",
        announce_type="replace",
        labels=["prompt-tuning"],
        scores={"prompt-tuning": 0.9},
    )
    summary = store.ingest_source("feed.xml", [v2], dedup=dedup, model_version="m2", now=T1)
    assert (summary.updated, summary.new, summary.duplicates) == (1, 0, 0)
    paper = store.get_paper("2401.00003")
    assert paper.version == 2 and paper.title.startswith("Paper 3 revised")
    assert paper.announce_type == "replace" and paper.duplicate_of is None
    assert (paper.first_seen, paper.last_seen) == (T0, T1)
    assert paper.labels == ["prompt-tuning"] and paper.model_version == "m2"
    history = store.versions("arxiv:2401.00003")
    assert [(v["version"], v["title"][:14], v["seen_at"]) for v in history] == [
        (1, "Paper 3: low-r", T0),
        (2, "Paper 3 revise", T1),
    ]
    assert dedup.added[-1] == ("arxiv:2401.00003", None)  # re-indexed with the new text
    # The search index follows the text.
    assert [p.id for p in store.search("soft prompts")] == ["arxiv:2401.00003"]
    assert store.search("parameter-efficient") == []

    # An older version seen afterwards is history, not an update.
    before = store.get_paper("arxiv:2401.00003")
    late = store.ingest_source("api.xml", [arxiv(3, version=1)], now=T2)
    assert (late.updated, late.unchanged) == (0, 1)
    after = store.get_paper("arxiv:2401.00003")
    assert {k: v for k, v in vars(after).items() if k != "last_seen"} == {
        k: v for k, v in vars(before).items() if k != "last_seen"
    }


def test_same_arxiv_id_from_another_service_is_one_paper_enriched(store):
    rss = arxiv(4, authors=[], published=None, announce_type="new")
    store.ingest_source("https://rss.arxiv.org/rss/cs.LG", [rss], now=T0)
    hf = Paper(
        title=rss.title,
        abstract=rss.abstract,
        authors=["A. Author4", "B. Second"],
        published="2026-10-30T00:00:00Z",
        arxiv_id="2401.00004",
        source="https://huggingface.co/api/daily_papers",
    )
    summary = store.ingest_source("https://huggingface.co/api/daily_papers", [hf], now=T1)
    assert (summary.new, summary.duplicates, summary.updated) == (0, 0, 1)
    assert store.count_papers() == 1
    paper = store.get_paper("arxiv:2401.00004")
    assert paper.authors == ["A. Author4", "B. Second"]
    assert paper.published == "2026-10-30T00:00:00Z"
    assert paper.announce_type == "new" and paper.version == 1
    assert paper.source == "https://rss.arxiv.org/rss/cs.LG"  # the first source
    assert [s["source"] for s in store.paper_sources("arxiv:2401.00004")] == [
        "https://rss.arxiv.org/rss/cs.LG",
        "https://huggingface.co/api/daily_papers",
    ]


def test_duplicate_links_point_at_the_root_and_bad_answers_are_ignored(store):
    dedup = FakeDedup()
    store.ingest_source("a", [arxiv(1)], dedup=dedup, now=T0)
    store.ingest_source(
        "b", [Paper(title="PAPER 1: low rank adaptation of frozen models")], dedup=dedup, now=T0
    )
    middle = Paper(title="PAPER 1: low rank adaptation of frozen models").id
    assert store.get_paper(middle).duplicate_of == "arxiv:2401.00001"
    third = Paper(title="Something else entirely", doi="10.1000/xyz")
    nowhere = Paper(title="Yet another", doi="10.1000/abc")
    dedup.force = {third.id: middle, nowhere.id: "arxiv:9999.99999"}
    summary = store.ingest_source("c", [third, nowhere], dedup=dedup, now=T0)
    assert (summary.duplicates, summary.new) == (1, 1)
    assert store.get_paper("doi:10.1000/xyz").duplicate_of == "arxiv:2401.00001"  # flattened
    assert store.get_paper("doi:10.1000/abc").duplicate_of is None  # unknown canonical
    clusters = store.duplicate_clusters()
    assert [c["canonical"].id for c in clusters] == ["arxiv:2401.00001"]
    assert [d.id for d in clusters[0]["duplicates"]] == [middle, "doi:10.1000/xyz"]
    assert [d.dup_reason for d in store.duplicates_of("2401.00001")] == ["same title", "forced"]
    assert store.count_papers(include_duplicates=False) == 2


def test_a_failure_mid_source_stores_nothing_of_that_source(store):
    dedup = FakeDedup()
    store.ingest_source("good", [arxiv(1), arxiv(2)], dedup=dedup, now=T0)
    before = dump(store, skip=())
    dedup.fail_on = "arxiv:2401.00012"
    batch = [arxiv(10), arxiv(11), arxiv(2, version=3), arxiv(12), arxiv(13)]
    with pytest.raises(StoreError, match="^bad: arxiv:2401.00012: duplicate check failed"):
        store.ingest_source("bad", batch, dedup=dedup, now=T1, fetch_meta={"etag": '"v9"'})
    assert dump(store, skip=()) == before  # sources table included
    assert not store.db.conn.in_transaction
    dedup.fail_on = None
    ok = store.ingest_source("bad", batch, dedup=dedup, now=T1)
    assert (ok.new, ok.updated) == (4, 1)


def test_items_without_a_title_are_reported_and_the_rest_stored(store):
    summary = store.ingest_source("f", [arxiv(1), Paper(title="   "), arxiv(2)], now=T0)
    assert (summary.items, summary.new) == (3, 2)
    assert summary.errors == ["f: item 2: no title; skipped"]
    assert store.get_fetch_state("f").last_error == "f: item 2: no title; skipped"


def test_untrusted_text_is_stored_as_received(store):
    nasty = Paper(
        title='Robert\'); DROP TABLE papers;-- \x1b[31m"red"',
        abstract="50% of \\frac{a}{b} <b>bold</b> ' OR 1=1 --",
    )
    store.ingest_source("x", [nasty], now=T0)
    (row,) = store.list_papers()
    assert (row.title, row.abstract) == (nasty.title, nasty.abstract)


# ---------------------------------------------------------------- the real dedup index


def test_with_the_real_dedup_index(store):
    dedup_module = pytest.importorskip("adapt_triage.dedup")
    index = dedup_module.DedupIndex(store.db)
    abstract = (
        "Neural machine translation systems adapt poorly to new domains at test time. We "
        "propose an adaptive method that retrieves similar sentence pairs from a datastore "
        "and updates a lightweight adapter on the fly, improving BLEU on five domains "
        "without any retraining of the base model and with negligible latency overhead."
    )
    original = Paper(
        title="Adaptive Machine Translation with Retrieval",
        abstract=abstract,
        authors=["Ana Li", "Bo Chen"],
        arxiv_id="2402.01234",
        version=1,
    )
    copy = Paper(
        title="Adaptive machine translation with retrieval.",
        abstract=abstract,
        authors=["Ana Li", "Bo Chen"],
    )
    other = Paper(
        title="Uni-Perceiver v2: a generalist model",
        abstract="A different text about "
        "generalist perception models trained on many tasks with shared encoders.",
    )
    summary = store.ingest_source("a", [original, copy, other], dedup=index, now=T0)
    assert (summary.new, summary.duplicates) == (2, 1)
    assert store.get_paper(copy.id).duplicate_of == "arxiv:2402.01234"

    before = dump(store, skip=())
    broken = Paper(title="Will fail", abstract=abstract[:50])

    class Exploding:
        def find(self, paper, paper_id):
            return index.find(paper, paper_id)

        def add(self, paper_id, paper, canonical_id=None):
            index.add(paper_id, paper, canonical_id=canonical_id)
            if paper_id == broken.id:
                raise RuntimeError("disk full")

    with pytest.raises(StoreError, match="disk full"):
        store.ingest_source("b", [arxiv(50), broken], dedup=Exploding(), now=T1)
    assert dump(store, skip=()) == before  # the index rows were rolled back as well
