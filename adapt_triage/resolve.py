"""What storing one paper means, decided without SQL.

The store looks up what it knows (the stored row for the paper's id, whether this source
carried it already, which versions are kept, and the duplicate index's match, rooted), then
`resolve` returns one decision and the store writes it:

- `New`: an unknown paper; `Duplicate`: an unknown paper linked to a canonical one;
- `Update`: a known paper with something new (a newer version, a field it lacked);
- `Unchanged`: a known paper with nothing new (it may still gain a source or a version row,
  which moves `last_seen` but is not an update).

`variant_id` comes first: a `title:` id that names another work (same title, unrelated text)
is looked up again under the paper's text-variant id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapt_triage.paper import Paper, collapse_whitespace, text_variant_id


@dataclass(frozen=True)
class Stored:
    """What the store holds for one paper id: its `papers` row (JSON columns as stored
    text), whether the source being ingested carried it already, and its version numbers
    (0 for "no version")."""

    row: Mapping[str, Any]
    carried_by_source: bool = False
    versions: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Match:
    """The duplicate index's answer, already followed to the cluster root."""

    canonical_id: str
    reason: str
    score: float | None


@dataclass(frozen=True)
class New:
    paper_id: str
    paper: Paper
    model_version: str | None
    warning: str | None = None

    @property
    def canonical_id(self) -> str | None:
        return None


@dataclass(frozen=True)
class Duplicate(New):
    of: str = ""
    reason: str = ""
    score: float | None = None

    @property
    def canonical_id(self) -> str | None:
        return self.of


@dataclass(frozen=True)
class Unchanged:
    """A known paper. `changes` are the `papers` columns to set (JSON as text); empty for
    `Unchanged`. `touched` when a source or version row is new (last_seen moves)."""

    paper_id: str
    paper: Paper
    canonical_id: str | None
    new_source: bool
    new_version: bool
    changes: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None

    @property
    def touched(self) -> bool:
        return bool(self.changes) or self.new_source or self.new_version

    @property
    def reindex(self) -> bool:
        """The stored text changes: the duplicate index must see the new text."""
        return "title" in self.changes or "abstract" in self.changes


@dataclass(frozen=True)
class Update(Unchanged):
    pass


Decision = New | Unchanged  # New, Duplicate, Update or Unchanged


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _other_work(row: Mapping[str, Any], paper: Paper) -> bool:
    """A stored paper and an incoming one share a `title:` id; are they different works?
    Only when both have abstracts and the duplicate check finds them unrelated."""
    if not (row["abstract"] or "").strip() or not (paper.abstract or "").strip():
        return False
    from adapt_triage.dedup import THRESHOLD, similarity

    stored = Paper(title=row["title"], abstract=row["abstract"])
    return similarity(stored, Paper(title=paper.title, abstract=paper.abstract))[0] < THRESHOLD


def _differs(row: Mapping[str, Any], paper: Paper) -> bool:
    """The incoming paper is not a re-read of the stored one (its title or abstract text
    differs beyond whitespace)."""
    return collapse_whitespace(row["title"]) != collapse_whitespace(paper.title) or (
        bool((paper.abstract or "").strip())
        and collapse_whitespace(row["abstract"]) != collapse_whitespace(paper.abstract)
    )


def variant_id(paper: Paper, row: Mapping[str, Any] | None) -> str | None:
    """The id to look up instead of `paper.id`, when the stored paper of that `title:` id is
    another work (no arXiv id or DOI to tell them apart: keep both); else None."""
    if row is not None and paper.id.startswith("title:") and _other_work(row, paper):
        return text_variant_id(paper)
    return None


def resolve(
    paper: Paper,
    paper_id: str,
    stored: Stored | None,
    match: Match | None,
    *,
    source: str,
    item: int,
    model_version: str | None,
) -> Decision:
    """The decision for one paper (`item` is its position in the source, for warnings)."""
    if stored is None:
        if match is None:
            return New(paper_id, paper, model_version)
        return Duplicate(
            paper_id,
            paper,
            model_version,
            of=match.canonical_id,
            reason=match.reason,
            score=match.score,
        )
    row = stored.row
    changes = {**_newer_version(row, paper), **_filled_in(row, paper)}
    text_changed = "abstract" in changes or "title" in changes
    labels = list(paper.labels or [])
    if labels and (text_changed or row["model_labels"] == "[]"):
        changes["model_labels"] = _dumps(labels)
        changes["model_scores"] = _dumps(dict(paper.scores or {}))
        changes["model_version"] = model_version
    kind = Update if changes else Unchanged
    return kind(
        paper_id,
        paper,
        row["duplicate_of"],
        new_source=not stored.carried_by_source,
        new_version=(paper.version or 0) not in stored.versions,
        changes=changes,
        warning=_merge_warning(paper, paper_id, stored, source, item),
    )


def _merge_warning(paper: Paper, pid: str, stored: Stored, source: str, item: int) -> str | None:
    """Inputs folded into a stored paper of the same `title:` id although their text differs
    (a title-only listing and the full entry, say) are named, so that N distinct inputs are
    always N papers or N - merged."""
    row = stored.row
    if not pid.startswith("title:") or stored.carried_by_source or not _differs(row, paper):
        return None
    return (
        f"{source}: item {item}: {collapse_whitespace(paper.title)[:80]!r} "
        f"merged into {pid} ({collapse_whitespace(row['title'])[:80]!r}): same "
        "normalised title, no arXiv id or DOI, and the texts do not show two works"
    )


def _newer_version(row: Mapping[str, Any], paper: Paper) -> dict[str, Any]:
    """What a newer version than the stored one changes."""
    stored_version = row["version"]
    if paper.version is None or (stored_version is not None and paper.version <= stored_version):
        return {}
    changes: dict[str, Any] = {"version": paper.version}
    if paper.title != row["title"]:
        changes["title"] = paper.title
    if paper.abstract and paper.abstract != row["abstract"]:
        changes["abstract"] = paper.abstract
    for col in ("url", "updated", "announce_type"):
        value = getattr(paper, col)
        if value and value != row[col]:
            changes[col] = value
    if paper.authors and _dumps(list(paper.authors)) != row["authors"]:
        changes["authors"] = _dumps(list(paper.authors))
    if paper.categories and _dumps(list(paper.categories)) != row["categories"]:
        changes["categories"] = _dumps(list(paper.categories))
    return changes


def _filled_in(row: Mapping[str, Any], paper: Paper) -> dict[str, Any]:
    """What the stored row lacks and this input has (another source may know more)."""
    changes: dict[str, Any] = {}
    if not row["abstract"] and paper.abstract:
        changes["abstract"] = paper.abstract
    if row["authors"] == "[]" and paper.authors:
        changes["authors"] = _dumps(list(paper.authors))
    if row["categories"] == "[]" and paper.categories:
        changes["categories"] = _dumps(list(paper.categories))
    for col in ("url", "published", "updated", "doi", "announce_type"):
        value = getattr(paper, col)
        if row[col] is None and value:
            changes[col] = value
    return changes
