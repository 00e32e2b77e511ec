"""Digests."""

from __future__ import annotations

import pytest
from store_support import T0, T1, T2, FakeDedup, arxiv

from adapt_triage.paper import Paper
from adapt_triage.store import (
    Store,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_digest_shows_papers_once_with_duplicates_folded(store):
    dedup = FakeDedup()
    assert store.last_digest_at() is None
    store.ingest_source("a", [arxiv(1), arxiv(2)], dedup=dedup, now=T0)
    store.ingest_source(
        "hf",
        [Paper(title="paper 1 - LOW-RANK adaptation of frozen models", url="https://hf.co/p/1")],
        dedup=dedup,
        now=T0,
    )
    digest = store.papers_for_digest(since="2026-11-01")
    assert [p.id for p in digest] == ["arxiv:2401.00001", "arxiv:2401.00002"]  # feed order
    folded = digest[0].duplicates
    assert [(d.url, d.dup_reason) for d in folded] == [("https://hf.co/p/1", "same title")]

    digest_id = store.mark_shown([p.id for p in digest], since="2026-11-01", now=T1)
    assert store.last_digest_at() == T1
    assert store.papers_for_digest(since="2026-11-01") == []
    again = store.papers_for_digest(since="2026-11-01", include_shown=True)
    assert len(again) == 2
    shown = store.db.conn.execute(
        "SELECT count(*) FROM papers WHERE shown_in_digest = ?", (digest_id,)
    )
    assert shown.fetchone()[0] == 3  # the folded duplicate too

    store.ingest_source("a", [arxiv(3)], now=T2)
    assert [p.id for p in store.papers_for_digest(since=store.last_digest_at())] == [
        "arxiv:2401.00003"
    ]
    assert store.mark_shown([], now=T2) > digest_id  # an empty digest still moves "since"
    assert store.last_digest_at() == T2


def _selected_in_python(window, *, hide=(), min_score=0.0, announce=(), limit=None):
    """The digest's selection as build_digest did it in Python before it moved to SQL."""
    from adapt_triage.digest import primary, primary_score

    kept = [
        p
        for p in window
        if primary(p) not in set(hide)
        and primary_score(p) >= min_score
        and (not announce or not p.announce_type or p.announce_type in announce)
    ]
    kept.sort(key=lambda p: (-primary_score(p), p.first_seen or ""))
    return kept if limit is None else kept[:limit]


def test_the_digest_selection_in_sql_matches_the_python_one(store):
    scores = [0.9, 0.4, 0.9, 0.1, 0.7, 0.4, 0.55, 0.2]
    kinds = ["new", "cross", None, "replace", "new", "cross", "new", None]
    labels = [["lora"], ["adapters", "lora"], ["prompt-tuning"], ["off-topic"], ["lora"], [],
              ["compression"], ["adapters"]]  # fmt: skip
    store.ingest_source(
        "a",
        [
            arxiv(
                n + 1,
                labels=labels[n],
                scores={**dict.fromkeys(labels[n], scores[n])},
                announce_type=kinds[n],
                published=f"2026-10-{10 + n % 3:02d}",
            )
            for n in range(8)
        ],  # fmt: skip
        now=T0,
    )
    store.ingest_source("b", [arxiv(9, labels=["lora"], scores={"lora": 0.9})], now=T1)
    store.label_paper("2401.00004", add=["lora"])  # a user's label scores 1.0
    window = store.papers_for_digest()
    assert len(window) == 9
    cases = [
        {},
        {"limit": 3},
        {"hide": ["off-topic", "adapters"]},
        {"min_score": 0.5},
        {"announce": ["new"]},
        {"hide": ["compression"], "min_score": 0.3, "announce": ["new", "cross"], "limit": 4},
        {"limit": 0},
    ]
    for case in cases:
        got = store.papers_for_digest(best_first=True, **case)
        want = _selected_in_python(window, **case)
        assert [p.id for p in got] == [p.id for p in want], case
    assert store.papers_for_digest(best_first=True)[0].id == "arxiv:2401.00004"
    assert store.count_for_digest() == 9 and store.count_for_digest(T1) == 1
    assert store.count_for_digest(category="lora") == 5
