"""The records a source's ingest produces, kept apart from the store so that the pipeline
(and `classify`, which stores nothing) can use them without loading the database layer:
`FetchRecord`, one fetch as the `sources` row records it, and `IngestSummary`, what storing
one source's papers did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from adapt_triage.resolve import Decision, Duplicate, New, Update

KEEP: Any = object()  # "leave this column as it is"


@dataclass(frozen=True)
class FetchRecord:
    """One fetch of a source as the `sources` row records it. `status` None means "ok, or
    empty when no item was read" (an ingest fills it in); `etag` / `last_modified` left as
    `KEEP` keep the stored validators; on a 304 a missing validator is kept too."""

    status: str | None = None  # ok | not-modified | error | empty
    error: str | None = None
    item_count: int | None = None
    new: int | None = None
    feed_date: str | None = None
    skip_days: Sequence[str] | None = None
    etag: Any = KEEP
    last_modified: Any = KEEP
    name: str | None = None
    kind: str | None = None


@dataclass
class IngestSummary:
    """What one `ingest_source` call did. `errors` are items skipped (the rest was stored)."""

    source: str
    items: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    # Inputs folded into a stored paper of the same `title:` id although their text
    # differs (a title-only listing and the full entry, say): counted and named in
    # `warnings`, so that N distinct inputs are always N papers or N - merged.
    merged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def count(self, decision: Decision) -> None:
        """Count one resolved paper."""
        if decision.warning:
            self.merged += 1
            self.warnings.append(decision.warning)
        if isinstance(decision, Duplicate):
            self.duplicates += 1
            self.duplicate_ids.append(decision.paper_id)
        elif isinstance(decision, New):
            self.new += 1
            self.new_ids.append(decision.paper_id)
        elif isinstance(decision, Update):
            self.updated += 1
            self.updated_ids.append(decision.paper_id)
        else:
            self.unchanged += 1
