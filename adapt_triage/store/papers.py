"""Writing papers: one source's papers stored in one transaction (all or nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from adapt_triage.paper import Paper, collapse_whitespace, text_variant_id
from adapt_triage.store.db import dumps, stamp
from adapt_triage.store.errors import StoreError
from adapt_triage.store.feeds import FeedsMixin


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
        fetch_meta: Mapping[str, Any] | None = None,
    ) -> IngestSummary:
        """Store the papers read from one source in ONE transaction (all or nothing).

        Per paper: a known id with a newer version is updated (a `versions` row added);
        a known id with missing fields filled in from this source is `updated`; otherwise it is
        `unchanged` and its row is not touched. An unknown id is checked with
        `dedup.find(paper, paper_id)` (duck-typed: returns None or an object with
        `canonical_id`, `reason`, `score`) and stored linked to the canonical paper (first seen,
        chains flattened) or as `new`; then `dedup.add(paper_id, paper, canonical_id=...)`.
        A known paper whose stored text changed is re-added to the index with its new text.
        `paper.labels` / `paper.scores` are the model's, from `model_version`.
        `fetch_meta` (status, etag, last_modified, item_count, feed_date, skip_days, name)
        is written in the same transaction, so conditional-GET state never gets ahead of the
        papers. A paper without a title is skipped and reported in `errors`.
        Raises StoreError (nothing of this source stored) when storing fails.
        """
        when = stamp(now)
        summary = IngestSummary(source=source)
        with self.write() as conn:
            self._ensure_source(conn, source, when, fetch_meta)
            for index, paper in enumerate(papers, 1):
                summary.items += 1
                title = (paper.title or "").strip()
                if not title:
                    summary.errors.append(f"{source}: item {index}: no title; skipped")
                    continue
                try:
                    self._ingest_one(conn, paper, source, when, model_version, dedup, summary)
                except (StoreError, sqlite3.Error):
                    raise
                except Exception as exc:
                    raise StoreError(
                        f"{source}: item {index} ({paper.id}): could not be stored, nothing "
                        f"from this source was saved: {collapse_whitespace(str(exc))}"
                    ) from exc
            meta = dict(fetch_meta or {})
            meta.setdefault("status", "ok" if summary.items else "empty")
            meta.setdefault("item_count", summary.items)
            meta.setdefault("new", summary.new)
            if summary.errors:
                meta.setdefault("error", summary.errors[0])
            self._apply_fetch(conn, source, when, **meta)
        return summary

    def _canonical(self, conn: sqlite3.Connection, candidate: str | None, own_id: str):
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

    def _ingest_one(
        self,
        conn: sqlite3.Connection,
        paper: Paper,
        source: str,
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        pid = paper.id
        cursor = conn.cursor()
        cursor.row_factory = sqlite3.Row
        row = cursor.execute("SELECT * FROM papers WHERE id = ?", (pid,)).fetchone()
        if row is not None and pid.startswith("title:") and _other_work(row, paper):
            # Same title, different work (no arXiv id or DOI to tell them apart): keep both.
            pid = text_variant_id(paper)
            row = cursor.execute("SELECT * FROM papers WHERE id = ?", (pid,)).fetchone()
        if (
            row is not None
            and pid.startswith("title:")
            and _differs(row, paper)
            and not conn.execute(
                "SELECT 1 FROM paper_sources WHERE paper_id = ? AND source = ?", (pid, source)
            ).fetchone()
        ):
            summary.merged += 1
            summary.warnings.append(
                f"{source}: item {summary.items}: {collapse_whitespace(paper.title)[:80]!r} "
                f"merged into {pid} ({collapse_whitespace(row['title'])[:80]!r}): same "
                "normalised title, "
                "no arXiv id or DOI, and the texts do not show two works"
            )
        labels = list(paper.labels or [])
        scores = dict(paper.scores or {})
        if row is None:
            match = None
            if dedup is not None:
                try:
                    match = dedup.find(paper, pid)
                except Exception as exc:
                    raise StoreError(
                        f"{source}: {pid}: duplicate check failed, nothing from this source "
                        f"was saved: {collapse_whitespace(str(exc))}"
                    ) from exc
            canonical = self._canonical(conn, match.canonical_id, pid) if match else None
            conn.execute(
                """INSERT INTO papers (id, title, abstract, authors, url, published, updated,
                    arxiv_id, version, doi, announce_type, categories, source, first_seen,
                    last_seen, duplicate_of, dup_reason, dup_score, model_labels, model_scores,
                    model_version)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    pid,
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
                    canonical,
                    match.reason if canonical else None,
                    float(match.score) if canonical and match.score is not None else None,
                    dumps(labels),
                    dumps(scores),
                    model_version if labels else None,
                ),
            )
            self._add_version(conn, paper, pid, source, when)
            conn.execute(
                "INSERT OR IGNORE INTO paper_sources (paper_id, source, first_seen) "
                "VALUES (?, ?, ?)",
                (pid, source, when),
            )
            if dedup is not None:
                try:
                    dedup.add(pid, paper, canonical_id=canonical)
                except Exception as exc:
                    raise StoreError(
                        f"{source}: {pid}: duplicate index update failed, nothing from this "
                        f"source was saved: {collapse_whitespace(str(exc))}"
                    ) from exc
            if canonical:
                summary.duplicates += 1
                summary.duplicate_ids.append(pid)
            else:
                summary.new += 1
                summary.new_ids.append(pid)
            return

        changes: dict[str, Any] = {}
        stored_version = row["version"]
        newer = paper.version is not None and (
            stored_version is None or paper.version > stored_version
        )
        if newer:
            changes["version"] = paper.version
            if paper.title != row["title"]:
                changes["title"] = paper.title
            if paper.abstract and paper.abstract != row["abstract"]:
                changes["abstract"] = paper.abstract
            for col in ("url", "updated", "announce_type"):
                value = getattr(paper, col)
                if value and value != row[col]:
                    changes[col] = value
            if paper.authors and dumps(list(paper.authors)) != row["authors"]:
                changes["authors"] = dumps(list(paper.authors))
            if paper.categories and dumps(list(paper.categories)) != row["categories"]:
                changes["categories"] = dumps(list(paper.categories))
        # Fill what the stored row lacks (another source may know more about the same paper).
        if not row["abstract"] and paper.abstract:
            changes["abstract"] = paper.abstract
        if row["authors"] == "[]" and paper.authors:
            changes["authors"] = dumps(list(paper.authors))
        if row["categories"] == "[]" and paper.categories:
            changes["categories"] = dumps(list(paper.categories))
        for col in ("url", "published", "updated", "doi", "announce_type"):
            value = getattr(paper, col)
            if row[col] is None and value:
                changes[col] = value
        text_changed = "abstract" in changes or "title" in changes
        if labels and (text_changed or row["model_labels"] == "[]"):
            changes["model_labels"] = dumps(labels)
            changes["model_scores"] = dumps(scores)
            changes["model_version"] = model_version
        new_source = (
            conn.execute(
                "INSERT OR IGNORE INTO paper_sources (paper_id, source, first_seen) "
                "VALUES (?, ?, ?)",
                (pid, source, when),
            ).rowcount
            > 0
        )
        new_version_row = self._add_version(conn, paper, pid, source, when)
        if changes or new_source or new_version_row:
            changes["last_seen"] = when
        if changes:
            assignments = ", ".join(f"{col} = ?" for col in changes)
            conn.execute(f"UPDATE papers SET {assignments} WHERE id = ?", (*changes.values(), pid))
        if dedup is not None and text_changed:
            # Index the text as it is now stored (re-adding an id replaces its entry).
            try:
                dedup.add(pid, paper, canonical_id=row["duplicate_of"])
            except Exception as exc:
                raise StoreError(
                    f"{source}: {pid}: duplicate index update failed, nothing from this "
                    f"source was saved: {collapse_whitespace(str(exc))}"
                ) from exc
        if set(changes) - {"last_seen"}:
            summary.updated += 1
            summary.updated_ids.append(pid)
        else:
            summary.unchanged += 1

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
