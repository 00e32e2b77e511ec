"""Writing papers: one source's papers stored all or nothing. Per paper: look up what is
stored or staged, `resolve` it (adapt_triage.resolve, no SQL), write the decision into
staging; the source's last transaction folds the staging into the stored tables (see the
package docstring for why and how)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from adapt_triage.paper import Paper, collapse_whitespace
from adapt_triage.resolve import (
    Decision,
    Duplicate,
    Match,
    New,
    Stored,
    Unchanged,
    Update,
    resolve,
    variant_id,
)
from adapt_triage.store.db import dumps, stamp
from adapt_triage.store.errors import StoreError
from adapt_triage.store.feeds import FeedsMixin, FetchRecord
from adapt_triage.store.staging import Staging, discard_stale


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


class PapersMixin(FeedsMixin):
    """Ingest: papers, their versions and the sources that carried them."""

    # Papers resolved and written per write transaction (see the module docstring), and the
    # pause after each intermediate commit that lets another writer take the lock.
    write_chunk: int = 1000
    yield_seconds: float = 0.15

    def ingest_source(
        self,
        source: str,
        papers: Iterable[Paper],
        *,
        dedup: Any = None,
        model_version: str | None = None,
        now: str | datetime | None = None,
        fetch: FetchRecord | None = None,
        fetch_meta: Mapping[str, Any] | None = None,
    ) -> IngestSummary:
        """Store the papers read from one source, all or nothing.

        Per paper: look up what is stored, `resolve` it (New, Duplicate, Update, Unchanged;
        see adapt_triage.resolve), write the decision. An unknown id is checked with
        `dedup.find(paper, paper_id)` (duck-typed: returns None or an object with
        `canonical_id`, `reason`, `score`) and stored linked to the root of that cluster,
        or as new; then `dedup.add(paper_id, paper, canonical_id=...)`. A known paper whose
        stored text changed is re-added to the index with its new text.
        `paper.labels` / `paper.scores` are the model's, from `model_version`.
        `fetch` (or the same fields as a mapping, `fetch_meta`) is written with the papers,
        so conditional-GET state never gets ahead of them. A paper without a title is
        skipped and reported in `errors`. Decisions are written `write_chunk` papers a
        transaction into staging and folded into the stored tables in the last one.
        Raises StoreError (nothing of this source stored) when storing fails.
        """
        when = stamp(now)
        record = fetch or FetchRecord(**(fetch_meta or {}))
        summary = IngestSummary(source=source)
        todo = iter(enumerate(papers, 1))
        staging: Staging | None = None
        try:
            while True:
                with self.write() as conn:
                    if staging is None:
                        discard_stale(conn, lambda: dedup if dedup is not None else self._index())
                        staging = Staging(conn)
                    chunk = list(islice(todo, self.write_chunk))
                    for index, paper in chunk:
                        self._store_one(staging, paper, index, source, when, model_version,
                                        dedup, summary)  # fmt: skip
                    last = len(chunk) < self.write_chunk
                    if last:
                        self._ensure_source(conn, source, when, record.name, record.kind)
                        staging.fold()
                        self._apply_fetch(conn, source, when, _filled(record, summary))
                if last:
                    return summary
                time.sleep(self.yield_seconds)  # another writer may take the lock now
        except BaseException:
            self._undo_chunks(staging, dedup)
            raise

    def _index(self) -> Any:
        from adapt_triage.dedup import DedupIndex

        return DedupIndex(self.db)

    def _undo_chunks(self, staging: Staging | None, dedup: Any) -> None:
        """After a failure: undo the index entries of the chunks already committed (the
        next ingest does it if this cannot)."""
        if staging is None:
            return
        with contextlib.suppress(Exception), self.write() as conn:
            discard_stale(conn, lambda: dedup if dedup is not None else self._index())
            with contextlib.suppress(sqlite3.Error):
                staging.clear()

    def _store_one(
        self,
        staging: Staging,
        paper: Paper,
        index: int,
        source: str,
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        """Look up, resolve and write one paper."""
        if not (paper.title or "").strip():
            summary.items += 1
            summary.errors.append(f"{source}: item {index}: no title; skipped")
            return
        summary.items += 1
        try:
            pid, stored = self._lookup(staging, paper, source)
            match = self._match(staging, dedup, paper, pid, source) if stored is None else None
            decision = resolve(
                paper,
                pid,
                stored,
                match,
                source=source,
                item=index,
                model_version=model_version,
            )
            self._write_decision(staging, decision, source, when)
            if dedup is not None and (isinstance(decision, New) or decision.reindex):
                # Index the text as it is now stored (re-adding an id replaces its entry).
                Staging.pending(staging.conn, pid, existed=stored is not None)
                _guarded(
                    lambda: dedup.add(pid, paper, canonical_id=decision.canonical_id),
                    f"{source}: {pid}: duplicate index update failed",
                )
        except (StoreError, sqlite3.Error):
            raise
        except Exception as exc:
            raise StoreError(
                f"{source}: item {index} ({paper.id}): could not be stored, nothing "
                f"from this source was saved: {collapse_whitespace(str(exc))}"
            ) from exc
        summary.count(decision)

    # -- lookup

    def _lookup(self, staging: Staging, paper: Paper, source: str) -> tuple[str, Stored | None]:
        """The id the paper is stored under and what is stored (or staged) for it."""
        pid = paper.id
        row = staging.paper_row(pid)
        other = variant_id(paper, row)
        if other is not None:  # same title, different work: keep both
            pid, row = other, staging.paper_row(other)
        if row is None:
            return pid, None
        return pid, Stored(row, staging.carried(pid, source), staging.versions(pid))

    def _match(
        self, staging: Staging, dedup: Any, paper: Paper, pid: str, source: str
    ) -> Match | None:
        """The duplicate index's match for an unknown paper, followed to its cluster root
        (None when the index names a paper that is not stored, or this one)."""
        if dedup is None:
            return None
        found = _guarded(lambda: dedup.find(paper, pid), f"{source}: {pid}: duplicate check failed")
        root = _root(staging, found.canonical_id, pid) if found else None
        if root is None:
            return None
        score = float(found.score) if found.score is not None else None
        return Match(root, found.reason, score)

    # -- write

    @staticmethod
    def _write_decision(staging: Staging, decision: Decision, source: str, when: str) -> None:
        pid, paper = decision.paper_id, decision.paper
        if isinstance(decision, New):
            staging.insert_paper(_paper_values(decision, source, when))
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
        row = staging.paper_row(candidate)
        if row is None:
            return None
        if row["duplicate_of"] is None:
            return None if candidate == own_id else candidate
        candidate = row["duplicate_of"]
    return None


def _paper_values(decision: New, source: str, when: str) -> dict[str, Any]:
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
        "model_scores": dumps(dict(paper.scores or {})),
        "model_version": decision.model_version if labels else None,
    }


def _filled(record: FetchRecord, summary: IngestSummary) -> FetchRecord:
    """The fetch record with what the ingest found filled in where the caller left it open."""
    return replace(
        record,
        status=record.status or ("ok" if summary.items else "empty"),
        item_count=summary.items if record.item_count is None else record.item_count,
        new=summary.new if record.new is None else record.new,
        error=record.error or (summary.errors[0] if summary.errors else None),
    )


T = TypeVar("T")


def _guarded(call: Callable[[], T], what: str) -> T:
    """Run a duplicate-index call; its failure fails the source, naming the paper."""
    try:
        return call()
    except Exception as exc:
        raise StoreError(
            f"{what}, nothing from this source was saved: {collapse_whitespace(str(exc))}"
        ) from exc
