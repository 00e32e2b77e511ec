"""The model of a database: the seed set, the user's labels and custom categories, and
the stored scores kept in step with it.

Every command that classifies builds its model here (`build_classifier`), so that
`classify`, `ingest`, `show`, `review` and the listings agree; `refresh_scores` rescores
the stored papers whose scores came from another model.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapt_triage.classify import Example, TriageClassifier
    from adapt_triage.store import Store

# A progress bar over `total` papers: a context manager with `advance(n)`.
Progress = Callable[[int], AbstractContextManager[Any]]


def user_examples(store: Store | None) -> list[Example]:
    """The papers the user labelled, as training examples (their labels, never the model's)."""
    from adapt_triage.classify import Example

    if store is None:
        return []
    return [
        Example(
            e["title"],
            e["abstract"] or "",
            list(e["labels"]),
            e["id"],
            (e.get("categories") or [None])[0],
        )
        for e in store.user_labeled_examples()
    ]


def training_state(store: Store | None) -> tuple[list[Example], dict[str, str]]:
    """The user's labeled examples and custom categories (slug -> description)."""
    extra = {c["slug"]: c["description"] or "" for c in store.list_categories()} if store else {}
    return user_examples(store), extra


def build_classifier(store: Store | None) -> TriageClassifier:
    """The model: seed set + the user's labels + custom categories (never its own output)."""
    from adapt_triage.classify import build_default

    return build_default(*training_state(store))


class _Silent:
    def advance(self, n: int = 1) -> None:
        return None


def refresh_scores(store: Store, progress: Progress | None = None) -> tuple[int, str]:
    """Rescore the stored papers whose scores came from another model (after a `label`, an
    upgrade or a new category), so that listings agree with `classify` and `review`. The
    model is loaded only when some paper is stale. Returns (papers rescored, model version).
    `progress(total)` gives the bar the rescoring advances."""
    from adapt_triage.classify import build_default, default_model_version
    from adapt_triage.rescore import rescore

    user, extra = training_state(store)
    version = default_model_version(user, extra)
    total = store.count_stale_scores(version)
    if not total:
        return 0, version
    classifier = build_default(user, extra)
    with progress(total) if progress else nullcontext(_Silent()) as bar:
        done = rescore(store, classifier, on_batch=bar.advance)
    return done, classifier.model_version


def category_records(store: Store | None) -> list[dict[str, Any]]:
    """The taxonomy's categories and the user's (before off-topic), each with how many
    labeled examples (seed set and the user's labels) teach it."""
    from collections import Counter

    from adapt_triage.classify import load_seed, merge_examples
    from adapt_triage.taxonomy import DEFAULT_CATEGORIES

    custom = store.list_categories() if store else []
    training = merge_examples(load_seed(), user_examples(store))
    counts = Counter(label for example in training for label in example.labels)
    rows = [(c.slug, c.covers, False) for c in DEFAULT_CATEGORIES]
    rows[-1:-1] = [(c["slug"], c["description"] or "", True) for c in custom]
    return [
        {"slug": slug, "examples": counts.get(slug, 0), "covers": covers, "custom": mine}
        for slug, covers, mine in rows
    ]
