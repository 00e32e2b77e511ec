"""One chunk of a source's papers, resolved and written: the chunk's stored rows looked
up once per table, its unknown papers asked of the duplicate index together, each paper's
decision from `adapt_triage.resolve` (no SQL), then one write per staging table."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from adapt_triage.paper import Paper, collapse_whitespace
from adapt_triage.resolve import (
    Decision,
    Duplicate,
    Match,
    New,
    Stored,
    Unchanged,
    resolve,
    variant_id,
)
from adapt_triage.store.db import dumps
from adapt_triage.store.errors import StoreError
from adapt_triage.store.staging import Staging

if TYPE_CHECKING:
    from adapt_triage.records import IngestSummary


class ChunkWriter:
    """One chunk's decisions, in input order. An unknown paper waits (its row staged as
    new, so later papers see it) until the chunk's unknown papers are checked against the
    duplicate index together; a per-paper index is asked at once."""

    def __init__(
        self,
        staging: Staging,
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        self.staging, self.source, self.when = staging, staging.source, when
        self.model_version, self.dedup, self.summary = model_version, dedup, summary
        self.batched = dedup is not None and hasattr(dedup, "find_many")
        self.decisions: list[Decision | None] = []
        self.waiting: list[tuple[int, int, str, Paper]] = []  # (slot, item, id, paper)
        self.reindex: list[tuple[str, Paper]] = []

    def take(self, index: int, paper: Paper) -> None:
        summary = self.summary
        summary.items += 1
        if not (paper.title or "").strip():
            summary.errors.append(f"{self.source}: item {index}: no title; skipped")
            return
        with _named_failure(self.source, index, paper):
            pid, stored = self._lookup(paper)
            if stored is None and self.batched:
                self.waiting.append((len(self.decisions), index, pid, paper))
                self._write(New(pid, paper, self.model_version))  # its row, until decided
                self.decisions.append(None)
                return
            match = self._match_one(paper, pid) if stored is None else None
            decision = self._resolve(paper, pid, stored, match, index)
            self._write(decision)
            if self.dedup is not None and (isinstance(decision, New) or decision.reindex):
                self.staging.pending(pid, existed=stored is not None, now=not self.batched)
                if self.batched:
                    self.reindex.append((pid, paper))
                else:
                    _guarded(
                        lambda: self.dedup.add(pid, paper, canonical_id=decision.canonical_id),
                        f"{self.source}: {pid}: duplicate index update failed",
                    )
        self.decisions.append(decision)

    def _resolve(
        self, paper: Paper, pid: str, stored: Stored | None, match: Match | None, index: int
    ) -> Decision:
        return resolve(
            paper,
            pid,
            stored,
            match,
            source=self.source,
            item=index,
            model_version=self.model_version,
        )

    def finish(self) -> None:
        """Check the waiting papers against the index (re-indexed texts first), then
        count every decision in input order."""
        if self.reindex:
            items = self.reindex
            _guarded(
                lambda: self.dedup.add_many(items),
                f"{self.source}: {len(items)} papers: duplicate index update failed",
            )
        waiting = self.waiting
        while waiting:
            done = self._settle(waiting)
            items = [(pid, paper) for _, _, pid, paper in waiting[:done]]
            _guarded(
                partial(self.dedup.add_many, items),
                f"{self.source}: {items[0][0]}: duplicate index update failed",
            )
            waiting = waiting[done:]
        for decision in self.decisions:
            assert decision is not None
            self.summary.count(decision)

    def _settle(self, waiting: list[tuple[int, int, str, Paper]]) -> int:
        """Decide the waiting papers from one `find_many`; returns how many were decided
        (fewer than all when a match is refused: find_many assumed it linked, so the rest
        are asked again)."""
        found = _guarded(
            lambda: self.dedup.find_many([(pid, paper) for _, _, pid, paper in waiting]),
            f"{self.source}: {waiting[0][2]}: duplicate check failed",
        )
        self.staging.load(hit.canonical_id for hit in found if hit is not None)
        for n, ((slot, index, pid, paper), hit) in enumerate(zip(waiting, found, strict=True)):
            with _named_failure(self.source, index, paper):
                match = self._rooted(hit, pid)
                decision = self._resolve(paper, pid, None, match, index)
                if isinstance(decision, Duplicate):
                    entry = self.staging.entries[pid]
                    assert entry is not None
                    entry.row.update(
                        duplicate_of=decision.of,
                        dup_reason=decision.reason,
                        dup_score=decision.score,
                    )
                self.staging.pending(pid, existed=False)
                self.decisions[slot] = decision
            if hit is not None and match is None:
                return n + 1
        return len(waiting)

    # -- lookup

    def _lookup(self, paper: Paper) -> tuple[str, Stored | None]:
        """The id the paper is stored under and what is stored (or staged) for it."""
        pid = paper.id
        entry = self.staging.get(pid)
        other = variant_id(paper, entry.row if entry else None)
        if other is not None:  # same title, different work: keep both
            pid, entry = other, self.staging.get(other)
        if entry is None:
            return pid, None
        return pid, Stored(entry.row, entry.carried, frozenset(entry.versions))

    def _match_one(self, paper: Paper, pid: str) -> Match | None:
        """A per-paper index's match for an unknown paper, rooted."""
        if self.dedup is None:
            return None
        found = _guarded(
            lambda: self.dedup.find(paper, pid),
            f"{self.source}: {pid}: duplicate check failed",
        )
        return self._rooted(found, pid)

    def _rooted(self, found: Any, pid: str) -> Match | None:
        """The index's match followed to its cluster root (None when the index names a
        paper that is not stored, or this one)."""
        root = _root(self.staging, found.canonical_id, pid) if found else None
        if root is None:
            return None
        score = float(found.score) if found.score is not None else None
        return Match(root, found.reason, score)

    # -- write

    def _write(self, decision: Decision) -> None:
        staging, source, when = self.staging, self.source, self.when
        pid, paper = decision.paper_id, decision.paper
        if isinstance(decision, New):
            staging.insert_paper(_paper_values(decision, source, when, staging.scores_text))
        if isinstance(decision, New) or decision.new_source:
            staging.add_source(pid, source, when)
        if isinstance(decision, New) or decision.new_version:
            staging.add_version(
                {
                    "paper_id": pid,
                    "version": paper.version or 0,
                    "source": source,
                    "seen_at": when,
                    "title": paper.title,
                    "abstract": paper.abstract or "",
                    "updated": paper.updated,
                    "announce_type": paper.announce_type,
                }
            )
        if isinstance(decision, Unchanged) and decision.touched:
            staging.update_paper(pid, {**decision.changes, "last_seen": when})


def _root(staging: Staging, candidate: str | None, own_id: str) -> str | None:
    """Follow `duplicate_of` to the root; None when the candidate is not stored."""
    seen: set[str] = set()
    while candidate and candidate not in seen:
        seen.add(candidate)
        entry = staging.get(candidate)
        if entry is None:
            return None
        if entry.row["duplicate_of"] is None:
            return None if candidate == own_id else candidate
        candidate = entry.row["duplicate_of"]
    return None


@contextlib.contextmanager
def _named_failure(source: str, index: int, paper: Paper) -> Iterator[None]:
    """A failure while resolving one paper fails the source, naming the item."""
    try:
        yield
    except (StoreError, sqlite3.Error):
        raise
    except Exception as exc:
        raise StoreError(
            f"{source}: item {index} ({paper.id}): could not be stored, nothing "
            f"from this source was saved: {collapse_whitespace(str(exc))}"
        ) from exc


def _paper_values(
    decision: New, source: str, when: str, scores_text: Callable[[Any], str]
) -> dict[str, Any]:
    paper = decision.paper
    labels = list(paper.labels or [])
    dup = decision if isinstance(decision, Duplicate) else None
    return {
        "id": decision.paper_id,
        "title": paper.title,
        "abstract": paper.abstract or "",
        "authors": dumps(list(paper.authors or [])),
        "url": paper.url,
        "published": paper.published,
        "updated": paper.updated,
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "doi": paper.doi,
        "announce_type": paper.announce_type,
        "categories": dumps(list(paper.categories or [])),
        "source": source,
        "first_seen": when,
        "last_seen": when,
        "duplicate_of": dup.of if dup else None,
        "dup_reason": dup.reason if dup else None,
        "dup_score": dup.score if dup else None,
        "model_labels": dumps(labels),
        "model_scores": scores_text(paper.scores),
        "model_version": decision.model_version if labels else None,
    }


T = TypeVar("T")


def _guarded(call: Callable[[], T], what: str) -> T:
    """Run a duplicate-index call; its failure fails the source, naming the paper (a
    failure of the database itself, a read-only file say, is reported as such)."""
    try:
        return call()
    except (StoreError, sqlite3.Error):
        raise
    except Exception as exc:
        raise StoreError(
            f"{what}, nothing from this source was saved: {collapse_whitespace(str(exc))}"
        ) from exc
