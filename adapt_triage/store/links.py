"""The user's duplicate decisions: `dedup link` and `dedup unlink` move papers between
clusters (the cluster root is `papers.duplicate_of`) and are recorded, so that they win over
the rules on every later ingest."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from adapt_triage.store.db import stamp
from adapt_triage.store.errors import StoreError
from adapt_triage.store.queries import QueriesMixin


class LinksMixin(QueriesMixin):
    """Linking and unlinking papers by hand."""

    def link_papers(self, a_ref: str, b_ref: str, *, now: str | datetime | None = None) -> str:
        """The user says A and B are one work: their clusters become one, rooted at the
        paper seen first, whatever the rules said. Recorded (`dedup_decisions`), so that it
        wins over the rules on every later ingest. Returns what was done, as a sentence."""
        a, b = self._two_papers(a_ref, b_ref)
        when = stamp(now)
        with self.write() as conn:
            index = self.dedup_index()
            ra, rb = self._root_of(conn, a), self._root_of(conn, b)
            index.decide(a, b, "link", when)
            if ra == rb:
                return f"{a} and {b} were already linked (to {ra}); your decision is recorded"
            canonical, child = sorted((ra, rb), key=lambda pid: self._seen_order(conn, pid))
            conn.execute(
                "UPDATE papers SET duplicate_of = ?, dup_reason = ?, dup_score = 1.0 WHERE id = ?",
                (canonical, f"linked by the user ({a} = {b})", child),
            )
            conn.execute(
                "UPDATE papers SET duplicate_of = ? WHERE duplicate_of = ?", (canonical, child)
            )
        return f"linked {child} to {canonical}"

    def _two_papers(self, a_ref: str, b_ref: str) -> tuple[str, str]:
        """The stored ids of two references to different papers (else a StoreError)."""
        a, b = self._require_id(a_ref), self._require_id(b_ref)
        if a == b:
            raise StoreError(f"{a} is one paper; give two different papers")
        return a, b

    def unlink_papers(self, a_ref: str, b_ref: str, *, now: str | datetime | None = None) -> str:
        """The user says A and B are different works: the one that is a duplicate leaves
        the cluster (B when both are duplicates of a third paper), and the rules never link
        the two again. Returns what was done, as a sentence."""
        a, b = self._two_papers(a_ref, b_ref)
        when = stamp(now)
        with self.write() as conn:
            index = self.dedup_index()
            index.decide(a, b, "unlink", when)
            ra, rb = self._root_of(conn, a), self._root_of(conn, b)
            if ra != rb:
                return f"{a} and {b} were not linked; your decision is recorded"
            detach = a if rb == b else b
            conn.execute(
                "UPDATE papers SET duplicate_of = NULL, dup_reason = NULL, dup_score = NULL "
                "WHERE id = ?",
                (detach,),
            )
        return f"unlinked {detach} from {ra}"

    def dedup_decisions(self) -> list[dict[str, str]]:
        """The user's `link` / `unlink` decisions, oldest first."""
        return self.dedup_index().decisions()

    def dedup_stats(self) -> list[dict[str, Any]]:
        return self.dedup_index().bucket_stats()

    @staticmethod
    def _root_of(conn: sqlite3.Connection, pid: str) -> str:
        row = conn.execute("SELECT duplicate_of FROM papers WHERE id = ?", (pid,)).fetchone()
        return row[0] if row and row[0] else pid

    @staticmethod
    def _seen_order(conn: sqlite3.Connection, pid: str) -> tuple[str, int]:
        row = conn.execute("SELECT first_seen, rowid FROM papers WHERE id = ?", (pid,)).fetchone()
        return (row[0], row[1]) if row else ("", 0)
