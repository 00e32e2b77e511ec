"""The user's labels and categories."""

from __future__ import annotations

import pytest
from store_support import T0, T1, arxiv

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


def label_table(store: Store) -> dict[str, set[str]]:
    """`paper_labels` as {paper id: labels}, checking each row's sort key against papers."""
    rows = store.db.conn.execute(
        "SELECT p.id, l.label, l.first_seen = p.first_seen, "
        "l.published IS p.published, p.rowid IS NOT NULL "
        "FROM paper_labels l LEFT JOIN papers p ON p.rowid = l.seq"
    ).fetchall()
    table: dict[str, set[str]] = {}
    for pid, label, *key in rows:
        assert key == [1, 1, 1], f"{pid} {label}: sort key out of step"
        table.setdefault(pid, set()).add(label)
    return table


def effective(store: Store) -> dict[str, set[str]]:
    """The effective labels as the JSON columns and user_labels say (what the table mirrors)."""
    papers = store.list_papers(include_duplicates=True)
    return {p.id: set(store.effective_labels(p)) for p in papers if store.effective_labels(p)}


def test_the_label_table_follows_labels_rescores_and_new_versions(store):
    store.ingest_source("a", [arxiv(1), arxiv(2), arxiv(3, labels=[])], model_version="m1", now=T0)
    assert label_table(store) == effective(store)
    assert label_table(store)["arxiv:2401.00001"] == {"lora", "adapters"}
    assert "arxiv:2401.00003" not in label_table(store)  # no label: no row

    store.label_paper("2401.00001", add=["prompt-tuning"], remove=["adapters"])
    assert label_table(store)["arxiv:2401.00001"] == {"prompt-tuning", "lora"}
    store.set_user_labels("2401.00002", [OFF_TOPIC])
    assert label_table(store)["arxiv:2401.00002"] == {OFF_TOPIC}
    assert label_table(store) == effective(store)

    # A rescore changes the model's labels: the table follows them unless the user's win.
    store.update_scores_many(
        [
            ("arxiv:2401.00001", ["adapters"], {"adapters": 0.9}),
            ("arxiv:2401.00003", ["compression"], {"compression": 0.8}),
        ],
        "m2",
    )
    assert label_table(store)["arxiv:2401.00001"] == {"prompt-tuning", "lora"}
    assert label_table(store)["arxiv:2401.00003"] == {"compression"}

    # Unlabel: the model's labels apply again.
    assert store.clear_user_labels("2401.00001") is True
    assert label_table(store)["arxiv:2401.00001"] == {"adapters"}

    # A new version with new text is reclassified by the ingest: its model labels change.
    store.ingest_source(
        "b",
        [
            arxiv(3, version=2, abstract="Now about prompts.", labels=["prompt-tuning"]),
            arxiv(4, labels=["continual-learning"]),
        ],
        model_version="m3",
        now=T1,
    )
    assert label_table(store)["arxiv:2401.00003"] == {"prompt-tuning"}
    assert label_table(store)["arxiv:2401.00004"] == {"continual-learning"}
    assert label_table(store) == effective(store)


def test_category_filter_uses_the_users_labels_over_the_models(store):
    store.ingest_source("a", [arxiv(1), arxiv(2), arxiv(3)], now=T0)
    store.ingest_source("b", [arxiv(4, labels=["prompt-tuning"])], now=T1)
    assert [p.id for p in store.list_papers(category="lora")] == [
        "arxiv:2401.00001",
        "arxiv:2401.00002",
        "arxiv:2401.00003",
    ]
    store.label_paper("2401.00002", add=["prompt-tuning"], remove=["lora", "adapters"])
    store.set_user_labels("2401.00004", ["lora"])
    assert [p.id for p in store.list_papers(category="lora")] == [
        "arxiv:2401.00004",
        "arxiv:2401.00001",
        "arxiv:2401.00003",
    ]
    assert [p.id for p in store.list_papers(category="prompt-tuning")] == ["arxiv:2401.00002"]
    assert [p.id for p in store.list_papers(category="lora", limit=2)] == [
        "arxiv:2401.00004",
        "arxiv:2401.00001",
    ]
    # Two categories: one list, newest first, each paper once.
    both = [p.id for p in store.list_papers(category=["lora", "prompt-tuning"])]
    assert both == ["arxiv:2401.00004", "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"]
    assert [p.id for p in store.list_papers(category=["adapters", "lora"], since=T1)] == [
        "arxiv:2401.00004"
    ]
    assert [p.id for p in store.search("adaptation", category="prompt-tuning")] == [
        "arxiv:2401.00002"
    ]
    digest = store.papers_for_digest(category=["prompt-tuning"])
    assert [p.id for p in digest] == ["arxiv:2401.00002"]


def test_the_migration_fills_the_label_table_for_an_existing_history(tmp_path):
    from sqlite_utils import Database

    from adapt_triage.store import MIGRATIONS, migrate

    path = tmp_path / "old.db"
    old = Database(str(path))
    upto = [fn.__name__ for fn in MIGRATIONS].index("m008_query_indexes")
    migrate(old, upto=upto)
    old.executescript(
        """
        INSERT INTO papers (id, title, source, first_seen, last_seen, model_labels)
        VALUES ('arxiv:1', 'One', 'a', '2026-11-01T08:00:00Z', '2026-11-01T08:00:00Z',
                '["lora", "adapters"]'),
               ('arxiv:2', 'Two', 'a', '2026-11-02T08:00:00Z', '2026-11-02T08:00:00Z',
                '["lora"]'),
               ('arxiv:3', 'Three', 'a', '2026-11-03T08:00:00Z', '2026-11-03T08:00:00Z',
                'not json');
        INSERT INTO user_labels (paper_id, label, position, at)
        VALUES ('arxiv:2', 'prompt-tuning', 0, '2026-11-02T09:00:00Z');
        """
    )
    old.close()
    with Store(path) as store:
        assert label_table(store) == {
            "arxiv:1": {"lora", "adapters"},
            "arxiv:2": {"prompt-tuning"},
        }
        assert [p.id for p in store.list_papers(category="lora")] == ["arxiv:1"]
