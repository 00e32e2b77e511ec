"""Stored scores follow the model: rescore the papers whose scores came from another model.

A paper keeps the labels and scores of the model that scored it, with that model's
`model_version`. After a `label` (which changes the training data), a new version of the
package, or a new custom category, the model changes and so does its version; `rescore`
brings every stored paper whose `model_version` differs up to date, in batches, each batch
one short write transaction (the model works outside it). The user's labels are kept apart
and still win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.store import Store
    from adapt_triage.stored import StoredPaper

__all__ = ["rescore"]


def rescore(
    store: Store,
    classifier: TriageClassifier,
    *,
    batch: int = 512,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Rescore every paper whose scores are not from `classifier.model_version`; returns how
    many were rescored. `on_batch(n)` is called after each batch of n papers is written."""
    version = classifier.model_version
    done = 0
    pending: list[StoredPaper] = []

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        results = classifier.predict(pending)
        store.update_scores_many(
            [(p.id, labels, scores) for p, (labels, scores) in zip(pending, results, strict=True)],
            version,
        )
        done += len(pending)
        if on_batch is not None:
            on_batch(len(pending))
        pending.clear()

    for paper in store.papers_needing_scores(version, batch=batch):
        pending.append(paper)
        if len(pending) >= batch:
            flush()
    flush()
    return done
