"""The daily digest: stored papers since the last digest, grouped by primary category.

`build_digest` only reads; `Store.mark_shown` (called by the CLI after rendering) records the
digest so that its papers do not come back next time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapt_triage.dates import iso, now_utc
from adapt_triage.taxonomy import OFF_TOPIC, category_order

if TYPE_CHECKING:
    from adapt_triage.store import SourceState, Store

DEFAULT_WINDOW = timedelta(days=1)


@dataclass
class DigestGroup:
    category: str
    papers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Digest:
    since: str
    generated_at: str
    groups: list[DigestGroup] = field(default_factory=list)
    empty_reason: str | None = None  # why there is nothing to show
    source_notes: list[str] = field(default_factory=list)  # failing / unchanged / weekend

    @property
    def papers(self) -> list[dict[str, Any]]:
        return [p for g in self.groups for p in g.papers]

    @property
    def count(self) -> int:
        return sum(len(g.papers) for g in self.groups)


def primary(paper: dict[str, Any]) -> str:
    labels = paper.get("labels") or []
    return labels[0] if labels else OFF_TOPIC


def primary_score(paper: dict[str, Any]) -> float:
    """The score of the primary label; a label the user set counts as certain."""
    if paper.get("user_labels"):
        return 1.0
    return float((paper.get("scores") or {}).get(primary(paper), 0.0))


def default_since(store: Store, now: datetime | None = None) -> str:
    """Since the last digest, or one day back when there has been none."""
    last = store.last_digest_at()
    if last:
        return last
    return iso((now or now_utc()) - DEFAULT_WINDOW)


def source_notes(sources: Sequence[SourceState]) -> list[str]:
    """One line per source whose last fetch explains an empty or short digest."""
    notes = []
    for state in sources:
        name = state.name or state.url
        if state.last_status == "error":
            notes.append(
                f"{name}: failing ({state.consecutive_failures} consecutive failures): "
                f"{state.last_error or 'unknown error'}"
            )
        elif state.last_status == "not-modified":
            notes.append(f"{name}: unchanged since the previous fetch")
        elif state.last_status == "empty":
            if state.skip_days:
                notes.append(
                    f"{name}: empty feed (it publishes nothing on {', '.join(state.skip_days)})"
                )
            else:
                notes.append(f"{name}: the feed had no items")
    return notes


def build_digest(
    store: Store,
    *,
    since: str | None = None,
    include_shown: bool = False,
    categories: Sequence[str] | None = None,
    hide: Sequence[str] = (),
    min_score: float = 0.0,
    limit: int | None = None,
    announce: Sequence[str] = (),
    now: datetime | None = None,
    hide_read: bool = False,
) -> Digest:
    """Group the canonical papers stored since `since` by primary category (taxonomy order,
    custom categories next, `off-topic` last), best score first within a group.
    `limit` keeps the N best-scoring papers of the whole digest. `announce` keeps arXiv
    papers announced as one of these types (new, cross, replace, replace-cross); papers
    from sources without announce types are kept. `hide_read` leaves out the papers the
    user marked read."""
    now = now or now_utc()
    since = since or default_since(store, now)
    papers = store.papers_for_digest(
        since,
        include_shown=include_shown,
        category=list(categories) if categories else None,
        unread=hide_read,
    )
    hidden, wanted = set(hide), set(announce)
    kept = [
        p
        for p in papers
        if primary(p) not in hidden
        and primary_score(p) >= min_score
        and (not wanted or not p.get("announce_type") or p["announce_type"] in wanted)
    ]
    kept.sort(key=lambda p: (-primary_score(p), p.get("first_seen") or ""))
    if limit is not None:
        kept = kept[: max(limit, 0)]
    order = category_order(sorted({primary(p) for p in kept}))
    groups = [DigestGroup(cat, [p for p in kept if primary(p) == cat]) for cat in order]
    sources = store.list_sources()
    digest = Digest(
        since=since,
        generated_at=iso(now),
        groups=[g for g in groups if g.papers],
        source_notes=source_notes(sources),
    )
    if not digest.count:
        digest.empty_reason = _empty_reason(sources, digest, papers, include_shown)
    return digest


def _empty_reason(
    sources: Sequence[SourceState],
    digest: Digest,
    matched: list[dict[str, Any]],
    include_shown: bool,
) -> str:
    if matched:
        return (
            f"{len(matched)} papers since {digest.since}, but none passed the filters "
            "(--hide, --min-score, --limit, --announce)"
        )
    if not sources:
        return "nothing stored yet: run `adapt-triage ingest SOURCE` first"
    statuses = {s.last_status for s in sources}
    failing = [s for s in sources if s.last_status == "error"]
    if failing and statuses == {"error"}:
        return "every source is failing; see the notes below"
    if statuses <= {"not-modified"}:
        return f"nothing new since {digest.since}: every source was unchanged"
    if statuses <= {"empty", "not-modified"} and any(s.skip_days for s in sources):
        return f"nothing new since {digest.since}: the feeds are empty (a weekend or holiday)"
    shown = "" if include_shown else " that was not in an earlier digest (--all shows those)"
    return f"nothing new since {digest.since}{shown}"
