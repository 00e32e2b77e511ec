"""Rescoring: the papers a model did not score, and bulk score updates."""

from __future__ import annotations

import pytest
from store_support import T0, arxiv

from adapt_triage.paper import Paper
from adapt_triage.store import (
    Store,
)
from adapt_triage.taxonomy import OFF_TOPIC


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_papers_needing_scores_and_bulk_updates(store):
    store.ingest_source("a", [arxiv(n) for n in range(1, 8)], model_version="m1", now=T0)
    store.ingest_source("b", [Paper(title="Unclassified")], now=T0)
    stale = [p.id for p in store.papers_needing_scores("m2", batch=3)]
    assert len(stale) == 8
    # Counted by range scans of papers_model_version: NULL, below and above the version.
    assert store.count_stale_scores("m2") == 8
    assert store.count_stale_scores("m0") == 8
    assert store.count_stale_scores("m1") == 1  # the unclassified paper
    assert store.count_stale_scores(None) == 7
    assert (
        store.update_scores_many([(pid, [OFF_TOPIC], {OFF_TOPIC: 0.7}) for pid in stale], "m2") == 8
    )
    assert list(store.papers_needing_scores("m2")) == []
    assert store.count_stale_scores("m2") == 0
    assert [p.id for p in store.papers_needing_scores("m1")] == stale
    assert store.update_scores_many([("arxiv:0000.00000", ["lora"], {})], "m2") == 0
