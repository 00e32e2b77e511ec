"""Digests: the canonical papers not yet shown, and the record of each digest shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from adapt_triage.scorepack import score_sql
from adapt_triage.store.db import dumps, normalize_timestamp, stamp
from adapt_triage.store.migrations import paper_source_sql
from adapt_triage.store.queries import PAPER_COLUMNS, QueriesMixin, decode_paper
from adapt_triage.stored import StoredPaper
from adapt_triage.taxonomy import OFF_TOPIC


def _scored_window(where: Sequence[str]) -> str:
    """CTEs `win` (the papers the WHERE terms over `papers p` admit, with the primary
    label: the user's first when they set any, else the model's first) and `scored` (plus
    the primary score: 1.0 for a user's label, else the model's score of it, else 0)."""
    return f"""WITH win AS MATERIALIZED (
        SELECT p.rowid AS rid, p.first_seen AS fs, p.published AS pub,
            (SELECT u.label FROM user_labels u WHERE u.paper_id = p.id
             ORDER BY u.position LIMIT 1) AS ulabel,
            CASE WHEN json_valid(p.model_labels) THEN json_extract(p.model_labels, '$[0]')
            END AS mlabel,
            CASE WHEN json_valid(p.model_scores) THEN p.model_scores ELSE '{{}}' END AS ms
        FROM papers p WHERE {" AND ".join(where)}),
    scored AS (
        SELECT rid, fs, pub, COALESCE(ulabel, mlabel, '{OFF_TOPIC}') AS _primary,
            CASE WHEN ulabel IS NOT NULL THEN 1.0 ELSE COALESCE(
                {score_sql("ms", f"COALESCE(mlabel, '{OFF_TOPIC}')")}, 0.0) END AS _score
        FROM win)"""


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
        hide: Sequence[str] = (),
        min_score: float | None = None,
        announce: Sequence[str] = (),
        best_first: bool = False,
    ) -> list[StoredPaper]:
        """Canonical papers first seen at or after `since` (None: no bound), newest first,
        leaving out papers already shown in a digest unless `include_shown` (and the papers
        marked read when `unread`). Each carries `duplicates`: its linked papers (id, title,
        url, source, dup_reason, dup_score).

        The digest's selection, done in SQL over that window only (read along
        `papers_unshown_newest` or `papers_canonical_newest`): `hide` leaves out primary
        categories, `min_score` keeps a primary score at least that (a label the user set
        counts 1.0), `announce` keeps arXiv announce types (papers without one are kept),
        `best_first` orders by primary score (then first seen, then newest first), and
        `limit` keeps the first N of that order."""
        where, params = self._digest_window(since, include_shown, category, unread)
        keep: list[str] = []
        if hide:
            keep.append("s._primary NOT IN (SELECT value FROM json_each(:hide))")
            params["hide"] = dumps(list(hide))
        if min_score is not None:
            keep.append("s._score >= :min_score")
            params["min_score"] = float(min_score)
        if announce:
            keep.append(
                "(p.announce_type IS NULL OR p.announce_type = '' OR p.announce_type IN "
                "(SELECT value FROM json_each(:announce)))"
            )
            params["announce"] = dumps(list(announce))
        order = (
            "s._score DESC, s.fs, s.pub DESC, s.rid"
            if best_first
            else "s.fs DESC, s.pub DESC, s.rid"
        )
        sql = (
            f"{_scored_window(where)} SELECT {PAPER_COLUMNS} "
            "FROM scored s CROSS JOIN papers p ON p.rowid = s.rid"
            + (f" WHERE {' AND '.join(keep)}" if keep else "")
            + f" ORDER BY {order}"
        )
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        papers = [decode_paper(r) for r in self._rows(sql, params)]
        self._fold_duplicates(papers)
        return papers

    def count_for_digest(
        self,
        since: str | datetime | date | None = None,
        *,
        include_shown: bool = False,
        category: str | Sequence[str] | None = None,
        unread: bool = False,
    ) -> int:
        """How many papers the digest window holds before the selection filters."""
        where, params = self._digest_window(since, include_shown, category, unread)
        sql = f"SELECT count(*) FROM papers p WHERE {' AND '.join(where)}"
        return int(self.db.conn.execute(sql, params).fetchone()[0])

    def _digest_window(
        self,
        since: str | datetime | date | None,
        include_shown: bool,
        category: str | Sequence[str] | None,
        unread: bool,
    ) -> tuple[list[str], dict[str, Any]]:
        where, params = self._filters(
            category=category, since=since, include_duplicates=False, unread=unread
        )
        if not include_shown:
            where.append("p.shown_in_digest IS NULL")
        return where, params

    def _fold_duplicates(self, papers: list[StoredPaper]) -> None:
        """Give each paper its `duplicates` (one indexed lookup for all of them)."""
        by_id = {p.id: p for p in papers}
        if not by_id:
            return
        for dup in self._rows(
            f"SELECT id, title, url, {paper_source_sql('papers')} AS source, duplicate_of, "
            "dup_reason, dup_score FROM papers "
            "WHERE duplicate_of IN (SELECT value FROM json_each(?)) "
            "ORDER BY first_seen, rowid",
            (dumps(list(by_id)),),
        ):
            by_id[dup["duplicate_of"]].duplicates.append(StoredPaper.from_row(dup))

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
        """Canonical papers (stored since `since`) that an earlier digest showed. Without
        `since`: all canonical papers less the unshown ones, two counts over partial
        indexes, never a lookup per stored paper."""
        if since is None:
            row = self.db.conn.execute(
                "SELECT (SELECT count(*) FROM papers WHERE duplicate_of IS NULL) - "
                "(SELECT count(*) FROM papers WHERE duplicate_of IS NULL "
                "AND shown_in_digest IS NULL)"
            ).fetchone()
            return int(row[0])
        where, params = self._filters(category=None, since=since, include_duplicates=False)
        where.append("p.shown_in_digest IS NOT NULL")
        sql = f"SELECT count(*) FROM papers p WHERE {' AND '.join(where)}"
        return int(self.db.conn.execute(sql, params).fetchone()[0])

    def last_digest_at(self) -> str | None:
        row = self.db.conn.execute("SELECT max(at) FROM digests").fetchone()
        return row[0] if row else None
