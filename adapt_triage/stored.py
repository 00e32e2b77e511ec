"""`StoredPaper`: one paper as the store holds it, the type every reader of the store
returns (list, search, show, digest rows) and every renderer reads by attribute.

`StoredPaper.from_row` is the one place a `papers` row (JSON columns as text, the user's
labels as a JSON array in `_user_labels`, the category list of the compact scores in
`_score_keys`, see `adapt_triage.scorepack`) becomes a paper; `to_contract` is the one place
a stored paper becomes its JSON record: `CONTRACT_FIELDS` first, in their order, then
`primary`, `primary_score` and `STORED_EXTRAS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapt_triage.paper import CONTRACT_FIELDS, Paper
from adapt_triage.scorepack import unpack

# The stored extras of a paper's JSON record, after the contract fields.
STORED_EXTRAS = (
    "user_labels",
    "dup_reason",
    "dup_score",
    "arxiv_id",
    "version",
    "doi",
    "announce_type",
    "first_seen",
)


def loads(text: str | None, default: Any) -> Any:
    """A JSON column's value; `default` when it is NULL, empty or not JSON."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


@dataclass
class StoredPaper:
    """A stored paper. `labels` are the effective ones (the user's when set, else the
    model's), `scores` the model's; `user_labels` is None when the user set none.
    `duplicates` is filled by the digest only: the papers folded into this one."""

    id: str
    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    url: str | None = None
    published: str | None = None
    updated: str | None = None
    source: str = ""
    arxiv_id: str | None = None
    version: int | None = None
    doi: str | None = None
    announce_type: str | None = None
    categories: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    duplicate_of: str | None = None
    dup_reason: str | None = None
    dup_score: float | None = None
    model_labels: list[str] = field(default_factory=list)
    model_scores: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None
    shown_in_digest: int | None = None
    user_labels: list[str] | None = None
    labels: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    duplicates: list[StoredPaper] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StoredPaper:
        """A `papers` row (all columns, or a subset such as id and title) as a paper."""
        model_labels = list(loads(row.get("model_labels"), []))
        user = list(loads(row.get("_user_labels"), []))
        scores = unpack(row.get("model_scores"), row.get("_score_keys"))
        return cls(
            id=row["id"],
            title=row.get("title") or "",
            abstract=row.get("abstract") or "",
            authors=list(loads(row.get("authors"), [])),
            url=row.get("url"),
            published=row.get("published"),
            updated=row.get("updated"),
            source=row.get("_source") or row.get("source") or "",
            arxiv_id=row.get("arxiv_id"),
            version=row.get("version"),
            doi=row.get("doi"),
            announce_type=row.get("announce_type"),
            categories=list(loads(row.get("categories"), [])),
            first_seen=row.get("first_seen"),
            last_seen=row.get("last_seen"),
            duplicate_of=row.get("duplicate_of"),
            dup_reason=row.get("dup_reason"),
            dup_score=row.get("dup_score"),
            model_labels=model_labels,
            model_scores=scores,
            model_version=row.get("model_version"),
            shown_in_digest=row.get("shown_in_digest"),
            user_labels=user or None,
            labels=list(user) if user else list(model_labels),
            scores=dict(scores),
        )

    @property
    def primary(self) -> str | None:
        """The primary (first) effective label, None when there is none."""
        return self.labels[0] if self.labels else None

    @property
    def primary_score(self) -> float | None:
        """The primary label's score; a label the user set counts as certain (1.0), in
        every listing, export and digest alike."""
        if not self.labels:
            return None
        if self.user_labels:
            return 1.0
        return round(float(self.scores.get(self.labels[0], 0.0)), 4)

    def score_for(self, category: str) -> float:
        """The model's score for `category`; 1.0 for every label when the user set them."""
        if self.user_labels:
            return 1.0
        return float(self.scores.get(category, 0.0))

    def to_contract(self) -> dict[str, Any]:
        """The JSON record: the contract fields first, then primary, primary_score and the
        stored extras."""
        record: dict[str, Any] = {key: getattr(self, key) for key in CONTRACT_FIELDS}
        record.update(
            authors=list(self.authors),
            labels=list(self.labels),
            scores={k: round(float(v), 4) for k, v in self.scores.items()},
            primary=self.primary,
            primary_score=self.primary_score,
        )
        record.update((key, getattr(self, key)) for key in STORED_EXTRAS)
        return record

    def to_paper(self) -> Paper:
        """The stored paper as a `Paper` (labels are the effective ones), for the model."""
        return Paper(
            title=self.title,
            abstract=self.abstract,
            authors=list(self.authors),
            url=self.url,
            published=self.published,
            updated=self.updated,
            source=self.source,
            arxiv_id=self.arxiv_id,
            version=self.version,
            doi=self.doi,
            announce_type=self.announce_type,
            categories=list(self.categories),
            labels=list(self.labels),
            scores=dict(self.scores),
            duplicate_of=self.duplicate_of,
        )
