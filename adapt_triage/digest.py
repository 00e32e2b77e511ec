"""The daily digest: the stored papers not shown in an earlier digest, grouped by primary
category.

`build_digest` only reads. The CLI writes the digest paper by paper and then calls
`Store.mark_shown` with exactly the papers that reached the reader, so what a filter,
`--limit` or a closed pipe left out comes back in the next digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from adapt_triage.dates import iso, local_text, now_utc, plural
from adapt_triage.taxonomy import OFF_TOPIC, category_order

if TYPE_CHECKING:
    from adapt_triage.store import SourceState, Store
    from adapt_triage.stored import StoredPaper

FILTER_OPTIONS = "--category, --hide, --min-score, --limit, --announce, --hide-read"


@dataclass
class DigestGroup:
    category: str
    papers: list[StoredPaper] = field(default_factory=list)


@dataclass
class Digest:
    since: str | None  # None: every paper not shown before, however old
    generated_at: str
    groups: list[DigestGroup] = field(default_factory=list)
    empty_reason: str | None = None  # why there is nothing to show
    source_notes: list[str] = field(default_factory=list)  # failing / unchanged / weekend
    include_shown: bool = False

    @property
    def window(self) -> str:
        """The papers it covers, for a heading: `since 2026-11-30 16:38 CET`, `not shown
        before`, or `stored` (--all with no --since)."""
        if self.since:
            return f"since {local_text(self.since)}"
        return "stored" if self.include_shown else "not shown before"

    @property
    def title(self) -> str:
        if self.since:
            return f"Papers {self.window}"
        return "All stored papers" if self.include_shown else "New papers"

    @property
    def papers(self) -> list[StoredPaper]:
        return [p for g in self.groups for p in g.papers]

    @property
    def count(self) -> int:
        return sum(len(g.papers) for g in self.groups)


def primary(paper: StoredPaper) -> str:
    return paper.primary or OFF_TOPIC


def primary_score(paper: StoredPaper) -> float:
    """The score of the primary label; a label the user set counts as certain."""
    return paper.score_for(primary(paper))


def source_notes(sources: Sequence[SourceState]) -> list[str]:
    """One line per subscribed feed whose last fetch explains an empty or short digest
    (one-off sources are not the digest's business: `sources list` shows them)."""
    notes = []
    for state in sources:
        name = state.name or state.url
        if state.last_status == "error":
            failures = plural(state.consecutive_failures, "consecutive failure")
            notes.append(f"{name}: failing ({failures}): {state.last_error or 'unknown error'}")
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
    """Group the canonical papers not shown in an earlier digest (all of them with
    `include_shown`), stored since `since` when given, by primary category (taxonomy order,
    custom categories next, `off-topic` last), best score first within a group.
    `limit` keeps the N best-scoring papers of the whole digest. `announce` keeps arXiv
    papers announced as one of these types (new, cross, replace, replace-cross); papers
    from sources without announce types are kept. `hide_read` leaves out the papers the
    user marked read."""
    now = now or now_utc()
    kept = store.papers_for_digest(  # the selection is SQL over the window, not Python
        since,
        include_shown=include_shown,
        category=list(categories) if categories else None,
        unread=hide_read,
        hide=list(hide),
        min_score=min_score,
        announce=list(announce),
        best_first=True,
        limit=None if limit is None else max(limit, 0),
    )
    order = category_order(sorted({primary(p) for p in kept}))
    groups = [DigestGroup(cat, [p for p in kept if primary(p) == cat]) for cat in order]
    feeds = store.list_feeds()
    digest = Digest(
        since=since,
        generated_at=iso(now),
        groups=[g for g in groups if g.papers],
        source_notes=source_notes(feeds),
        include_shown=include_shown,
    )
    if not digest.count:
        shown = 0 if include_shown else store.count_shown(since)
        matched = store.count_for_digest(
            since,
            include_shown=include_shown,
            category=list(categories) if categories else None,
            unread=hide_read,
        )
        digest.empty_reason = _empty_reason(store, feeds, digest, matched, shown)
    return digest


def _empty_reason(
    store: Store,
    feeds: Sequence[SourceState],
    digest: Digest,
    matched: int,
    shown: int,
) -> str:
    """Why the digest is empty, and only hints that hold (`--all` shows `shown` papers)."""
    if matched:
        what = "stored" if digest.include_shown else "not shown before"
        since = f" {digest.window}" if digest.since else ""
        return (
            f"{plural(matched, 'paper')} {what}{since}, but none passed the filters "
            f"({FILTER_OPTIONS})"
        )
    hint = f"; {plural(shown, 'paper')} from earlier digests (--all shows them)" if shown else ""
    if not feeds and not store.has_papers():
        return "nothing stored yet: run `adapt-triage ingest SOURCE` first"
    statuses = {s.last_status for s in feeds}
    since = f" {digest.window}" if digest.since else ""
    if feeds and statuses == {"error"}:
        return f"nothing new: every feed is failing; see the notes{hint}"
    if feeds and statuses <= {"not-modified"}:
        return f"nothing new{since}: every feed was unchanged{hint}"
    if feeds and statuses <= {"empty", "not-modified"} and any(s.skip_days for s in feeds):
        return f"nothing new{since}: the feeds are empty (a weekend or holiday){hint}"
    return f"nothing new{since}{hint}"
