"""The user's labels and categories."""

from __future__ import annotations

import pytest
from store_support import T0, arxiv

from adapt_triage.store import (
    PaperNotFoundError,
    Store,
    StoreError,
    UnknownLabelError,
)
from adapt_triage.taxonomy import OFF_TOPIC


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_user_labels_win_and_feed_training(store):
    store.ingest_source("a", [arxiv(1), arxiv(2), arxiv(3)], model_version="m1", now=T0)
    assert store.user_labeled_examples() == []
    assert store.get_paper("2401.00001").user_labels is None

    assert store.label_paper("2401.00001", add=["prompt-tuning"], remove=["adapters"]) == [
        "prompt-tuning",
        "lora",
    ]
    assert store.label_paper("2401.00002", add=[OFF_TOPIC]) == [OFF_TOPIC]
    assert store.label_paper("2401.00002", add=["fine-tuning"]) == ["fine-tuning"]
    paper = store.get_paper("2401.00001")
    assert paper.labels == ["prompt-tuning", "lora"]
    assert paper.model_labels == ["lora", "adapters"]  # kept apart
    assert store.effective_labels(paper) == paper.labels

    # Reclassification changes the model's labels, never the user's.
    store.update_scores_many([("arxiv:2401.00001", ["adapters"], {"adapters": 0.9})], "m2")
    paper = store.get_paper("2401.00001")
    assert paper.labels == ["prompt-tuning", "lora"] and paper.model_labels == ["adapters"]

    examples = store.user_labeled_examples()
    assert [(e["id"], e["labels"]) for e in examples] == [
        ("arxiv:2401.00001", ["prompt-tuning", "lora"]),
        ("arxiv:2401.00002", ["fine-tuning"]),
    ]
    assert set(examples[0]) == {"id", "title", "abstract", "labels", "categories"}

    assert store.clear_user_labels("2401.00002") is True
    assert store.get_paper("2401.00002").labels == ["lora", "adapters"]


def test_label_errors_are_clear(store):
    store.ingest_source("a", [arxiv(1)], now=T0)
    with pytest.raises(UnknownLabelError, match="unknown category 'quantum-knitting'"):
        store.label_paper("2401.00001", add=["quantum-knitting"])
    with pytest.raises(StoreError, match="would leave no label"):
        store.label_paper("2401.00001", remove=["lora", "adapters"])
    with pytest.raises(StoreError, match="stands alone"):
        store.label_paper("2401.00001", add=[OFF_TOPIC, "lora"])
    with pytest.raises(PaperNotFoundError):
        store.label_paper("2409.99999", add=["lora"])
    assert store.get_paper("2401.00001").user_labels is None


def test_custom_categories(store):
    store.ingest_source("a", [arxiv(1)], now=T0)
    assert store.add_category("model-merging", "merging fine-tuned weights", now=T0) == {
        "slug": "model-merging",
        "description": "merging fine-tuned weights",
        "created_at": T0,
    }
    store.add_category("model-merging", "weight averaging and merging")
    store.add_category("model-merging")  # re-adding without a description keeps it
    assert [(c["slug"], c["description"]) for c in store.list_categories()] == [
        ("model-merging", "weight averaging and merging")
    ]
    labels = store.known_labels()
    assert "model-merging" in labels and labels[-1] == OFF_TOPIC
    assert store.label_paper("2401.00001", add=["model-merging"])[0] == "model-merging"
    for bad in ("Model Merging", "-x", "", "lora", "1", "2x", "a--b", "a-", "x" * 64):
        with pytest.raises(StoreError):
            store.add_category(bad)
