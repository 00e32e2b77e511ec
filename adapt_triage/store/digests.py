"""Digests: the canonical papers not yet shown, and the record of each digest shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from adapt_triage.store.db import dumps, normalize_timestamp, stamp
from adapt_triage.store.queries import NEWEST_FIRST, PAPER_COLUMNS, QueriesMixin, decode_paper
from adapt_triage.stored import StoredPaper


class DigestsMixin(QueriesMixin):
    """What a digest shows and what it has shown."""

    def papers_for_digest(
        self,
        since: str | datetime | date | None = None,
        *,
        include_shown: bool = False,
        category: str | Sequence[str] | None = None,
        limit: int | None = None,
        unread: bool = False,
    ) -> list[StoredPaper]:
        """Canonical papers first seen at or after `since` (None: no bound), newest first,
        leaving out papers already shown in a digest unless `include_shown` (and the papers
        marked read when `unread`). Each carries `duplicates`: its linked papers (id, title,
        url, source, dup_reason, dup_score)."""
        where, params = self._filters(
            category=category, since=since, include_duplicates=False, unread=unread
        )
        if not include_shown:
            where.append("p.shown_in_digest IS NULL")
        sql = f"SELECT {PAPER_COLUMNS} FROM papers p WHERE {' AND '.join(where)}"
        sql += f" ORDER BY {NEWEST_FIRST}"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        papers = [decode_paper(r) for r in self._rows(sql, params)]
        by_id = {p.id: p for p in papers}
        if by_id:
            for dup in self._rows(
                "SELECT id, title, url, source, duplicate_of, dup_reason, dup_score FROM papers "
                "WHERE duplicate_of IN (SELECT value FROM json_each(?)) "
                "ORDER BY first_seen, rowid",
                (dumps(list(by_id)),),
            ):
                by_id[dup["duplicate_of"]].duplicates.append(StoredPaper.from_row(dup))
        return papers

    def mark_shown(
        self,
        ids: Iterable[str],
        *,
        since: str | datetime | date | None = None,
        now: str | datetime | None = None,
    ) -> int:
        """Record a digest (even an empty one: it moves "since the last digest") and mark its
        papers, and the duplicates folded into them, as shown. Returns the digest id."""
        ids = list(dict.fromkeys(ids))
        when = stamp(now)
        with self.write() as conn:
            digest_id = conn.execute(
                "INSERT INTO digests (at, since, count) VALUES (?, ?, ?)",
                (when, normalize_timestamp(since) if since is not None else None, len(ids)),
            ).lastrowid
            conn.execute(
                """UPDATE papers SET shown_in_digest = ?
                WHERE shown_in_digest IS NULL AND (id IN (SELECT value FROM json_each(?))
                    OR duplicate_of IN (SELECT value FROM json_each(?)))""",
                (digest_id, dumps(ids), dumps(ids)),
            )
        assert digest_id is not None
        return int(digest_id)

    def count_shown(self, since: str | datetime | date | None = None) -> int:
        """Canonical papers (stored since `since`) that an earlier digest showed."""
        where, params = self._filters(category=None, since=since, include_duplicates=False)
        where.append("p.shown_in_digest IS NOT NULL")
        sql = f"SELECT count(*) FROM papers p WHERE {' AND '.join(where)}"
        return int(self.db.conn.execute(sql, params).fetchone()[0])

    def last_digest_at(self) -> str | None:
        row = self.db.conn.execute("SELECT max(at) FROM digests").fetchone()
        return row[0] if row else None
