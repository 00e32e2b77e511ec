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
