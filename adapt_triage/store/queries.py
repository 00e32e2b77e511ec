"""Reading papers: list, search, show (by id, arXiv id, DOI or prefix), duplicates,
versions and sources of a paper. Also how a stored row becomes a `StoredPaper`."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id
from adapt_triage.scorepack import SCORE_KEYS_SQL
from adapt_triage.store.db import StoreBase, dumps, normalize_timestamp
from adapt_triage.store.errors import (
    AmbiguousIdError,
    PaperNotFoundError,
)
from adapt_triage.store.migrations import paper_source_sql
from adapt_triage.stored import StoredPaper

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def row_to_paper(row: StoredPaper) -> Paper:
    """A stored paper as a `Paper` (labels are the effective ones)."""
    return row.to_paper()


def decode_paper(row: Mapping[str, Any]) -> StoredPaper:
    """A `papers` row as a `StoredPaper` (see `StoredPaper.from_row`)."""
    return StoredPaper.from_row(row)


PAPER_COLUMNS = f"""
    p.*,
    (SELECT json_group_array(label) FROM
        (SELECT label FROM user_labels u WHERE u.paper_id = p.id ORDER BY u.position)
    ) AS _user_labels,
    {SCORE_KEYS_SQL} AS _score_keys,
    {paper_source_sql("p")} AS _source
"""
NEWEST_FIRST = "p.first_seen DESC, p.published DESC, p.rowid ASC"


def _category_list(category: str | Sequence[str] | None) -> list[str]:
    if not category:
        return []
    return list(dict.fromkeys([category] if isinstance(category, str) else category))


def _newest_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """NEWEST_FIRST as a key for `reverse=True`: first_seen and published descending (no
    published date last), rowid ascending."""
    published = row["_k2"]
    return (row["_k1"], published is not None, published or "", -row["_k3"])


def _merge_newest(streams: Sequence[Iterator[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Several label streams (each newest first) as one, each paper once."""
    seen: set[str] = set()
    for row in heapq.merge(*streams, key=_newest_key, reverse=True):
        if row["id"] not in seen:
            seen.add(row["id"])
            yield row


class QueriesMixin(StoreBase):
    """Papers as stored, for listing, searching and showing."""

    def _filters(
        self,
        *,
        category: str | Sequence[str] | None,
        since: str | datetime | date | None,
        include_duplicates: bool,
        starred: bool = False,
        unread: bool = False,
    ) -> tuple[list[str], dict[str, Any]]:
        """WHERE terms over `papers p`, each answered by an index or a primary-key probe
        (the category by `paper_labels`, never by parsing JSON labels)."""
        where: list[str] = []
        params: dict[str, Any] = {}
        if starred:
            where.append(
                "EXISTS (SELECT 1 FROM paper_marks k WHERE k.paper_id = p.id "
                "AND k.starred_at IS NOT NULL)"
            )
        if unread:
            where.append(
                "NOT EXISTS (SELECT 1 FROM paper_marks k WHERE k.paper_id = p.id "
                "AND k.read_at IS NOT NULL)"
            )
        if not include_duplicates:
            where.append("p.duplicate_of IS NULL")
        if since is not None:
            where.append("p.first_seen >= :since")
            params["since"] = normalize_timestamp(since)
        cats = _category_list(category)
        if cats:
            params["cats"] = dumps(cats)
            where.append(
                "EXISTS (SELECT 1 FROM paper_labels l WHERE l.seq = p.rowid "
                "AND l.label IN (SELECT value FROM json_each(:cats)))"
            )
        return where, params

    def iter_papers(
        self,
        *,
        category: str | Sequence[str] | None = None,
        since: str | datetime | date | None = None,
        include_duplicates: bool = False,
        limit: int | None = None,
        starred: bool = False,
        unread: bool = False,
    ) -> Iterator[StoredPaper]:
        """Stored papers, newest first (first_seen, then published, then feed order), streamed.
        `category` matches any effective label; `since` is a lower bound on first_seen;
        duplicates are left out unless `include_duplicates`; `starred` / `unread` keep the
        papers marked so (`mark`).

        Every row comes from an index in this order (`papers_canonical_newest`, or
        `paper_labels_newest` for a category), so a `limit` reads about `limit` entries."""
        cats = _category_list(category)
        where, params = self._filters(
            category=None,
            since=since,
            include_duplicates=include_duplicates,
            starred=starred,
            unread=unread,
        )
        if limit is not None:
            params["limit"] = max(int(limit), 0)
        if not cats:
            sql = f"SELECT {PAPER_COLUMNS} FROM papers p"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY {NEWEST_FIRST}" + (" LIMIT :limit" if limit is not None else "")
            for row in self._iter_rows(sql, params):
                yield decode_paper(row)
            return
        streams = [self._iter_label(cat, where, params) for cat in cats]
        rows = streams[0] if len(streams) == 1 else _merge_newest(streams)
        for count, row in enumerate(rows):
            if limit is not None and count >= params["limit"]:
                return
            yield decode_paper(row)

    def _iter_label(
        self, label: str, where: list[str], params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """The papers with one effective label, newest first, read along
        `paper_labels_newest` (the `since` bound is a range on that index)."""
        terms = ["pl.label = :label", *where]
        if "since" in params:
            terms.append("pl.first_seen >= :since")
        sql = (
            f"SELECT {PAPER_COLUMNS}, pl.first_seen AS _k1, pl.published AS _k2, pl.seq AS _k3 "
            "FROM paper_labels pl CROSS JOIN papers p ON p.rowid = pl.seq "
            f"WHERE {' AND '.join(terms)} "
            "ORDER BY pl.first_seen DESC, pl.published DESC, pl.seq"
            + (" LIMIT :limit" if "limit" in params else "")
        )
        yield from self._iter_rows(sql, {**params, "label": label})

    def list_papers(self, **filters: Any) -> list[StoredPaper]:
        """`iter_papers` (same keywords: category, since, include_duplicates, limit,
        starred, unread) as a list."""
        return list(self.iter_papers(**filters))

    def resolve_id(self, ref: str) -> str | None:
        """The stored id a user's reference means: an exact id, a bare arXiv id or URL
        (any version), a DOI, or a unique prefix of an id (with or without `arxiv:` or
        `title:`). None when nothing matches; AmbiguousIdError when a prefix matches several."""
        ref = (ref or "").strip()
        if not ref:
            return None
        conn = self.db.conn
        candidates = [ref]
        parsed = parse_arxiv_id(ref)
        if parsed:
            candidates.append(f"arxiv:{parsed[0]}")
        doi = normalize_doi(ref)
        if doi:
            candidates.append(f"doi:{doi}")
        for candidate in candidates:
            if conn.execute("SELECT 1 FROM papers WHERE id = ?", (candidate,)).fetchone():
                return candidate
        matches: list[str] = []
        for prefix in dict.fromkeys((ref, f"arxiv:{ref}", f"title:{ref}")):
            rows = conn.execute(
                "SELECT id FROM papers WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
            matches.extend(r[0] for r in rows if r[0] not in matches)
        if len(matches) > 1:
            shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise AmbiguousIdError(f"{ref!r} matches several papers: {shown}")
        return matches[0] if matches else None

    def _require_id(self, ref: str) -> str:
        pid = self.resolve_id(ref)
        if pid is None:
            raise PaperNotFoundError(f"no stored paper matches {ref!r}")
        return pid

    def get_paper(self, ref: str) -> StoredPaper | None:
        """One stored paper by id, bare arXiv id, DOI or unique id prefix (see `resolve_id`)."""
        pid = self.resolve_id(ref)
        if pid is None:
            return None
        rows = self._rows(f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.id = ?", (pid,))
        return decode_paper(rows[0]) if rows else None

    def duplicates_of(self, ref: str) -> list[StoredPaper]:
        """The papers linked to this (canonical) paper, first seen first."""
        pid = self._require_id(ref)
        rows = self._rows(
            f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.duplicate_of = ? "
            "ORDER BY p.first_seen, p.rowid",
            (pid,),
        )
        return [decode_paper(r) for r in rows]

    def duplicate_clusters(self) -> list[dict[str, Any]]:
        """[{"canonical": paper, "duplicates": [paper, ...]}], oldest canonical first; each
        duplicate carries `dup_reason` and `dup_score`."""
        rows = self._rows(
            f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.duplicate_of IS NOT NULL "
            "ORDER BY p.first_seen, p.rowid"
        )
        groups: dict[str, list[StoredPaper]] = {}
        for row in rows:
            groups.setdefault(row["duplicate_of"], []).append(decode_paper(row))
        if not groups:
            return []
        canon = self._rows(
            f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.id IN "
            "(SELECT value FROM json_each(?)) ORDER BY p.first_seen, p.rowid",
            (dumps(list(groups)),),
        )
        return [{"canonical": decode_paper(c), "duplicates": groups[c["id"]]} for c in canon]

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Versions seen of a paper, oldest first (`version` None when the source gave none)."""
        pid = self._require_id(ref)
        rows = self._rows("SELECT * FROM version_texts WHERE paper_id = ? ORDER BY version", (pid,))
        for row in rows:
            row["version"] = row["version"] or None
        return rows

    def paper_sources(self, ref: str) -> list[dict[str, Any]]:
        """Every source that carried the paper, first first."""
        pid = self._require_id(ref)
        return self._rows(
            "SELECT source, first_seen FROM paper_sources WHERE paper_id = ? "
            "ORDER BY first_seen, rowid",
            (pid,),
        )

    def count_papers(self, *, include_duplicates: bool = True) -> int:
        sql = "SELECT count(*) FROM papers"
        if not include_duplicates:
            sql += " WHERE duplicate_of IS NULL"
        return int(self.db.conn.execute(sql).fetchone()[0])

    def has_papers(self) -> bool:
        """Whether anything is stored (one row read, not a count)."""
        return self.db.conn.execute("SELECT EXISTS (SELECT 1 FROM papers)").fetchone()[0] == 1
