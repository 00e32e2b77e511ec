"""Writing papers: one source's papers stored in one transaction (all or nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
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
        """Store the papers read from one source in ONE transaction (all or nothing).

        Per paper: look up what is stored, `resolve` it (New, Duplicate, Update, Unchanged;
        see adapt_triage.resolve), write the decision. An unknown id is checked with
        `dedup.find(paper, paper_id)` (duck-typed: returns None or an object with
        `canonical_id`, `reason`, `score`) and stored linked to the root of that cluster,
        or as new; then `dedup.add(paper_id, paper, canonical_id=...)`. A known paper whose
        stored text changed is re-added to the index with its new text.
        `paper.labels` / `paper.scores` are the model's, from `model_version`.
        `fetch` (or the same fields as a mapping, `fetch_meta`) is written in the same
        transaction, so conditional-GET state never gets ahead of the papers. A paper
        without a title is skipped and reported in `errors`.
        Raises StoreError (nothing of this source stored) when storing fails.
        """
        when = stamp(now)
        record = fetch or FetchRecord(**(fetch_meta or {}))
        summary = IngestSummary(source=source)
        with self.write() as conn:
            self._ensure_source(conn, source, when, record.name, record.kind)
            for index, paper in enumerate(papers, 1):
                summary.items += 1
                if not (paper.title or "").strip():
                    summary.errors.append(f"{source}: item {index}: no title; skipped")
                    continue
                self._store_one(conn, paper, index, source, when, model_version, dedup, summary)
            self._apply_fetch(conn, source, when, _filled(record, summary))
        return summary

    def _store_one(
        self,
        conn: sqlite3.Connection,
        paper: Paper,
        index: int,
        source: str,
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        """Look up, resolve and write one paper."""
        try:
            pid, stored = self._lookup(conn, paper, source)
            match = self._match(conn, dedup, paper, pid, source) if stored is None else None
            decision = resolve(
                paper,
                pid,
                stored,
                match,
                source=source,
                item=index,
                model_version=model_version,
            )
            self._write_decision(conn, decision, source, when)
            if dedup is not None and (isinstance(decision, New) or decision.reindex):
                # Index the text as it is now stored (re-adding an id replaces its entry).
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

    def _lookup(
        self, conn: sqlite3.Connection, paper: Paper, source: str
    ) -> tuple[str, Stored | None]:
        """The id the paper is stored under and what is stored for it."""
        pid = paper.id
        row = self._paper_row(conn, pid)
        other = variant_id(paper, row)
        if other is not None:  # same title, different work: keep both
            pid, row = other, self._paper_row(conn, other)
        if row is None:
            return pid, None
        carried = conn.execute(
            "SELECT 1 FROM paper_sources WHERE paper_id = ? AND source = ?", (pid, source)
        ).fetchone()
        versions = conn.execute("SELECT version FROM versions WHERE paper_id = ?", (pid,))
        return pid, Stored(row, carried is not None, frozenset(v for (v,) in versions))

    @staticmethod
    def _paper_row(conn: sqlite3.Connection, pid: str) -> sqlite3.Row | None:
        cursor = conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute("SELECT * FROM papers WHERE id = ?", (pid,)).fetchone()

    def _match(
        self, conn: sqlite3.Connection, dedup: Any, paper: Paper, pid: str, source: str
    ) -> Match | None:
        """The duplicate index's match for an unknown paper, followed to its cluster root
        (None when the index names a paper that is not stored, or this one)."""
        if dedup is None:
            return None
        found = _guarded(lambda: dedup.find(paper, pid), f"{source}: {pid}: duplicate check failed")
        root = self._canonical(conn, found.canonical_id, pid) if found else None
        if root is None:
            return None
        score = float(found.score) if found.score is not None else None
        return Match(root, found.reason, score)

    def _canonical(
        self, conn: sqlite3.Connection, candidate: str | None, own_id: str
    ) -> str | None:
        """Follow `duplicate_of` to the root; None when the candidate is not stored."""
        seen: set[str] = set()
        while candidate and candidate not in seen:
            seen.add(candidate)
            row = conn.execute(
                "SELECT duplicate_of FROM papers WHERE id = ?", (candidate,)
            ).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return None if candidate == own_id else candidate
            candidate = row[0]
        return None

    # -- write

    def _write_decision(
        self, conn: sqlite3.Connection, decision: Decision, source: str, when: str
    ) -> None:
        pid, paper = decision.paper_id, decision.paper
        if isinstance(decision, New):
            self._insert_paper(conn, decision, source, when)
        if isinstance(decision, New) or decision.new_source:
            conn.execute(
                "INSERT OR IGNORE INTO paper_sources (paper_id, source, first_seen) "
                "VALUES (?, ?, ?)",
                (pid, source, when),
            )
        if isinstance(decision, New) or decision.new_version:
            self._add_version(conn, paper, pid, source, when)
        if isinstance(decision, Unchanged) and decision.touched:
            changes = {**decision.changes, "last_seen": when}
            assignments = ", ".join(f"{col} = ?" for col in changes)
            conn.execute(f"UPDATE papers SET {assignments} WHERE id = ?", (*changes.values(), pid))

    @staticmethod
    def _insert_paper(conn: sqlite3.Connection, decision: New, source: str, when: str) -> None:
        paper = decision.paper
        labels = list(paper.labels or [])
        dup = decision if isinstance(decision, Duplicate) else None
        conn.execute(
            """INSERT INTO papers (id, title, abstract, authors, url, published, updated,
                arxiv_id, version, doi, announce_type, categories, source, first_seen,
                last_seen, duplicate_of, dup_reason, dup_score, model_labels, model_scores,
                model_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                decision.paper_id,
                paper.title,
                paper.abstract or "",
                dumps(list(paper.authors or [])),
                paper.url,
                paper.published,
                paper.updated,
                paper.arxiv_id,
                paper.version,
                paper.doi,
                paper.announce_type,
                dumps(list(paper.categories or [])),
                source,
                when,
                when,
                dup.of if dup else None,
                dup.reason if dup else None,
                dup.score if dup else None,
                dumps(labels),
                dumps(dict(paper.scores or {})),
                decision.model_version if labels else None,
            ),
        )

    def _add_version(
        self, conn: sqlite3.Connection, paper: Paper, pid: str, source: str, when: str
    ) -> bool:
        return (
            conn.execute(
                """INSERT OR IGNORE INTO versions
                    (paper_id, version, source, seen_at, title, abstract, updated, announce_type)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    pid,
                    paper.version or 0,
                    source,
                    when,
                    paper.title,
                    paper.abstract or "",
                    paper.updated,
                    paper.announce_type,
                ),
            ).rowcount
            > 0
        )


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
