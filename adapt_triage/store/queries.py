"""Reading papers: list, search, show (by id, arXiv id, DOI or prefix), duplicates,
versions and sources of a paper. Also how a stored row becomes a paper dict."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id
from adapt_triage.store.db import StoreBase, dumps, loads, normalize_timestamp
from adapt_triage.store.errors import (
    AmbiguousIdError,
    PaperNotFoundError,
    SearchQueryError,
    StoreError,
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def row_to_paper(row: Mapping[str, Any]) -> Paper:
    """A stored paper as a `Paper` (labels are the effective ones)."""
    return Paper(
        title=row["title"],
        abstract=row.get("abstract") or "",
        authors=list(row.get("authors") or []),
        url=row.get("url"),
        published=row.get("published"),
        updated=row.get("updated"),
        source=row.get("source") or "",
        arxiv_id=row.get("arxiv_id"),
        version=row.get("version"),
        doi=row.get("doi"),
        announce_type=row.get("announce_type"),
        categories=list(row.get("categories") or []),
        labels=list(row.get("labels") or []),
        scores=dict(row.get("scores") or {}),
        duplicate_of=row.get("duplicate_of"),
    )


def decode_paper(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `papers` row with JSON decoded, plus `labels` (effective: the user's set when there
    is one, else the model's), `scores` (the model's), `user_labels` (list or None)."""
    data = {k: v for k, v in row.items() if not k.startswith("_")}
    for key, default in (
        ("authors", []),
        ("categories", []),
        ("model_labels", []),
        ("model_scores", {}),
    ):
        data[key] = loads(data.get(key), default)
    user = loads(row.get("_user_labels"), [])
    data["user_labels"] = user or None
    data["labels"] = list(user) if user else list(data["model_labels"])
    data["scores"] = dict(data["model_scores"])
    return data


PAPER_COLUMNS = """
    p.*,
    (SELECT json_group_array(label) FROM
        (SELECT label FROM user_labels u WHERE u.paper_id = p.id ORDER BY u.position)
    ) AS _user_labels
"""
NEWEST_FIRST = "p.first_seen DESC, p.published DESC, p.rowid ASC"
# What SQLite says about a MATCH expression it cannot parse (as opposed to real failures).
# Search query pieces: a quoted string or a run of non-space characters; a compound word
# (low-rank, C++, gpt-4.5); FTS5's operators; a word character.
_TOKEN_RE = re.compile(r'"[^"]*"|[^\s"]+')
_COMPOUND_RE = re.compile(r"^\w+(?:[-.+'/]+\w*)+$")
_OPERATOR_RE = re.compile(r"\b(?:AND|OR|NOT|NEAR)\b")
_WORD_RE = re.compile(r"\w")
_FTS_QUERY_ERRORS = (
    "fts5",
    "syntax error",
    "no such column",
    "unterminated string",
    "unknown special query",
    "malformed MATCH",
)


# --------------------------------------------------------------------------- the store


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
        if category:
            cats = [category] if isinstance(category, str) else list(category)
            params["cats"] = dumps(cats)
            where.append(
                """CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id
                             AND u.label IN (SELECT value FROM json_each(:cats)))
                ELSE EXISTS (SELECT 1 FROM json_each(p.model_labels) m
                             WHERE m.value IN (SELECT value FROM json_each(:cats)))
                END"""
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
    ) -> Iterator[dict[str, Any]]:
        """Stored papers, newest first (first_seen, then published, then feed order), streamed.
        `category` matches any effective label; `since` is a lower bound on first_seen;
        duplicates are left out unless `include_duplicates`; `starred` / `unread` keep the
        papers marked so (`mark`)."""
        where, params = self._filters(
            category=category,
            since=since,
            include_duplicates=include_duplicates,
            starred=starred,
            unread=unread,
        )
        sql = f"SELECT {PAPER_COLUMNS} FROM papers p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {NEWEST_FIRST}"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        for row in self._iter_rows(sql, params):
            yield decode_paper(row)

    def list_papers(
        self,
        *,
        category: str | Sequence[str] | None = None,
        since: str | datetime | date | None = None,
        include_duplicates: bool = False,
        limit: int | None = None,
        starred: bool = False,
        unread: bool = False,
    ) -> list[dict[str, Any]]:
        return list(
            self.iter_papers(
                category=category,
                since=since,
                include_duplicates=include_duplicates,
                limit=limit,
                starred=starred,
                unread=unread,
            )
        )

    def search(
        self,
        query: str,
        *,
        category: str | Sequence[str] | None = None,
        since: str | datetime | date | None = None,
        include_duplicates: bool = False,
        limit: int | None = None,
        order: str = "newest",
    ) -> list[dict[str, Any]]:
        """Full-text search over title, abstract and authors (FTS5, porter stemming).

        The query is FTS5 syntax (`lora OR adapter`, `"low rank"`, `title:x`, `NOT`), with
        one convenience: a word joined by hyphens, dots or plus signs (`low-rank`, `C++`)
        is searched as the phrase it spells. A query SQLite rejects, or one with only
        operators and punctuation, raises SearchQueryError quoting the problem (it is never
        rewritten into another search). order: "newest" or "rank" (best match first).
        """
        if order not in ("newest", "rank"):
            raise ValueError("order must be 'newest' or 'rank'")
        text = _CONTROL_RE.sub(" ", query or "").strip()
        if not text:
            raise SearchQueryError("empty search query")
        if not _WORD_RE.search(_OPERATOR_RE.sub(" ", text)):
            raise SearchQueryError(
                f"search query {query!r} has only operators or punctuation; "
                "give a word to search for"
            )
        where, params = self._filters(
            category=category, since=since, include_duplicates=include_duplicates
        )
        where.insert(0, "papers_fts MATCH :match")
        sql = (
            f"SELECT {PAPER_COLUMNS} FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
            f" WHERE {' AND '.join(where)} ORDER BY "
            + ("papers_fts.rank, p.rowid" if order == "rank" else NEWEST_FIRST)
        )
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        match = _TOKEN_RE.sub(
            lambda m: f'"{m.group()}"' if _COMPOUND_RE.match(m.group()) else m.group(), text
        )
        try:
            rows = self._rows(sql, {**params, "match": match})
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if not any(marker in message for marker in _FTS_QUERY_ERRORS):
                raise StoreError(f"search failed: {message}") from None
            hint = (
                "NOT joins two terms, as in 'adapters NOT vision'"
                if re.match(r"NOT\b", text)
                else 'quote words with punctuation, e.g. "low-rank"; operators are AND, OR, '
                "NOT, NEAR"
            )
            raise SearchQueryError(
                f"cannot search for {query!r}: {message.removeprefix('fts5: ')} ({hint})"
            ) from None
        return [decode_paper(r) for r in rows]

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

    def get_paper(self, ref: str) -> dict[str, Any] | None:
        """One stored paper by id, bare arXiv id, DOI or unique id prefix (see `resolve_id`)."""
        pid = self.resolve_id(ref)
        if pid is None:
            return None
        rows = self._rows(f"SELECT {PAPER_COLUMNS} FROM papers p WHERE p.id = ?", (pid,))
        return decode_paper(rows[0]) if rows else None

    def duplicates_of(self, ref: str) -> list[dict[str, Any]]:
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
        groups: dict[str, list[dict[str, Any]]] = {}
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
