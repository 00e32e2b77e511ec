"""Full-text search: one ranked page of papers (FTS5 bm25, porter stemming), never every
match; a query SQLite rejects is a named one-line error."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from adapt_triage.store.errors import SearchQueryError, StoreError
from adapt_triage.store.queries import (
    _CONTROL_RE,
    NEWEST_FIRST,
    PAPER_COLUMNS,
    QueriesMixin,
    decode_paper,
)
from adapt_triage.stored import StoredPaper

# Search query pieces: a quoted string or a run of non-space characters; a compound word
# (low-rank, C++, gpt-4.5); FTS5's operators; a word character.
_TOKEN_RE = re.compile(r'"[^"]*"|[^\s"]+')
_COMPOUND_RE = re.compile(r"^\w+(?:[-.+'/]+\w*)+$")
_OPERATOR_RE = re.compile(r"\b(?:AND|OR|NOT|NEAR)\b")
_WORD_RE = re.compile(r"\w")
# What SQLite says about a MATCH expression it cannot parse (as opposed to real failures).
_FTS_QUERY_ERRORS = (
    "fts5",
    "syntax error",
    "no such column",
    "unterminated string",
    "unknown special query",
    "malformed MATCH",
)


DEFAULT_SEARCH_LIMIT = 100  # search results when no limit is given (a page, not every match)
# Ranked search (best match first) ranks the most recently stored RANK_WINDOW matches, so
# that its cost does not grow with the history: bm25 costs about 3.5 us a match, and a
# common query matches 13% of a million papers (0.48 s). `rank_all` ranks every match.
RANK_WINDOW = 10_000


class SearchResults(list[StoredPaper]):
    """One page of search results; `more` is True when further matches were left out;
    `unranked` is True when a ranked search left older matches unranked (`window`: how
    many of the newest matches it ranked)."""

    more: bool = False
    limit: int = 0
    unranked: bool = False
    window: int = 0


def _search_text(query: str) -> str:
    """The query without control characters; SearchQueryError when nothing is left to find."""
    text = _CONTROL_RE.sub(" ", query or "").strip()
    if not text:
        raise SearchQueryError("empty search query")
    if not _WORD_RE.search(_OPERATOR_RE.sub(" ", text)):
        raise SearchQueryError(
            f"search query {query!r} has only operators or punctuation; give a word to search for"
        )
    return text


def _search_error(query: str, text: str, message: str) -> StoreError:
    """SearchQueryError for a MATCH SQLite cannot parse, StoreError for a real failure."""
    if not any(marker in message for marker in _FTS_QUERY_ERRORS):
        return StoreError(f"search failed: {message}")
    hint = (
        "NOT joins two terms, as in 'adapters NOT vision'"
        if re.match(r"NOT\b", text)
        else 'quote words with punctuation, e.g. "low-rank"; operators are AND, OR, NOT, NEAR'
    )
    return SearchQueryError(
        f"cannot search for {query!r}: {message.removeprefix('fts5: ')} ({hint})"
    )


# --------------------------------------------------------------------------- the store


class SearchMixin(QueriesMixin):
    """`search`, over the queries' filters."""

    def search(
        self,
        query: str,
        *,
        category: str | Sequence[str] | None = None,
        since: str | datetime | date | None = None,
        include_duplicates: bool = False,
        limit: int | None = None,
        order: str = "newest",
        rank_all: bool = False,
        window: int | None = None,
    ) -> SearchResults:
        """Full-text search over title, abstract and authors (FTS5, porter stemming).

        The query is FTS5 syntax (`lora OR adapter`, `"low rank"`, `title:x`, `NOT`), with
        one convenience: a word joined by hyphens, dots or plus signs (`low-rank`, `C++`)
        is searched as the phrase it spells. A query SQLite rejects, or one with only
        operators and punctuation, raises SearchQueryError quoting the problem (it is never
        rewritten into another search). order: "newest" or "rank" (best match first, FTS5's
        bm25). One page: at most `limit` papers (None: DEFAULT_SEARCH_LIMIT); the result's
        `more` says whether matches were left out. Only the page's rows are read whole.

        "Best match" ranks the `window` (default RANK_WINDOW) most recently stored matches
        of the query (counted before the other filters; never fewer than a page), unless
        `rank_all`: a query that matches more is ranked among its newest `window` matches
        only, and the result's `unranked` says so. So a ranked search costs the same at a
        thousand papers and at a million.
        """
        if order not in ("newest", "rank"):
            raise ValueError("order must be 'newest' or 'rank'")
        text = _search_text(query)
        page = DEFAULT_SEARCH_LIMIT if limit is None else max(int(limit), 0)
        match = _TOKEN_RE.sub(
            lambda m: f'"{m.group()}"' if _COMPOUND_RE.match(m.group()) else m.group(), text
        )
        try:
            # The window (RANK_WINDOW unless given) is never smaller than the page.
            window = max(RANK_WINDOW if window is None else int(window), page, 1)
            cut = None if order != "rank" or rank_all else self._window_start(match, window)
            # Newest first: up to `window` matches are sorted whole; more walk the index.
            many = order == "newest" and self._window_start(match, window) is not None
            sql, params = self._search_sql(
                category, since, include_duplicates, order, cut, walk_index=many
            )
            rows = self._rows(sql, {**params, "match": match, "page": page + 1})
        except sqlite3.OperationalError as exc:
            raise _search_error(query, text, str(exc)) from None
        result = SearchResults(decode_paper(r) for r in rows[:page])
        result.more, result.limit = len(rows) > page, page
        result.unranked, result.window = cut is not None, window
        return result

    def _window_start(self, match: str, window: int) -> int | None:
        """The rowid of the newest match older than the `window` newest, or None when the
        query has at most `window` matches: FTS5 walks the matches newest first (rowid
        descending) and stops after `window` + 1, without ranking any."""
        row = self.db.conn.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (match, window),
        ).fetchone()
        return None if row is None else int(row[0])

    def _search_sql(
        self,
        category: str | Sequence[str] | None,
        since: str | datetime | date | None,
        include_duplicates: bool,
        order: str,
        cut: int | None = None,
        *,
        walk_index: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """The search statement: the page of matches is chosen in a CTE, then only its rows
        are read whole. Ranked by the match alone (the default), it never reads a `papers`
        row per match: the duplicates are left out by rowid, from `papers_duplicate_of`.
        With `cut`, only the matches stored after rowid `cut` are ranked (a range FTS5
        answers from its index)."""
        newer = ["f.rowid > :cut"] if cut is not None else []
        if order == "rank" and since is None and not category:
            where = ["papers_fts MATCH :match", *newer]
            if not include_duplicates:
                where.append(
                    "f.rowid NOT IN (SELECT rowid FROM papers WHERE duplicate_of IS NOT NULL)"
                )
            hits = (
                "SELECT f.rowid AS _rid, f.rank AS _rank FROM papers_fts f "
                f"WHERE {' AND '.join(where)} ORDER BY f.rank, f.rowid LIMIT :page"
            )
            params: dict[str, Any] = {}
        else:
            where, params = self._filters(
                category=category, since=since, include_duplicates=include_duplicates
            )
            if order == "rank":
                where[:0] = ["papers_fts MATCH :match", *newer]
                hits = (
                    "SELECT p.rowid AS _rid, f.rank AS _rank "
                    "FROM papers_fts f JOIN papers p ON p.rowid = f.rowid "
                    f"WHERE {' AND '.join(where)} ORDER BY f.rank, p.rowid LIMIT :page"
                )
            elif walk_index:
                # Newest first, many matches: walk the papers along the index `list` pages
                # on (newest first) and keep those among the matches' rowids (no bm25, no
                # row read per match) until the page is full. Joining every match to sort
                # them read a `papers` row per match: 1.2 s for 133k matches at a million
                # papers, not 0.08 s.
                where.insert(
                    0, "p.rowid IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match)"
                )
                hits = (
                    "SELECT p.rowid AS _rid, NULL AS _rank FROM papers p "
                    f"WHERE {' AND '.join(where)} ORDER BY {NEWEST_FIRST} LIMIT :page"
                )
            else:
                # Newest first, few matches (at most the window): each is read and sorted,
                # rather than walking an index past every paper newer than them.
                where.insert(0, "papers_fts MATCH :match")
                hits = (
                    "SELECT p.rowid AS _rid, NULL AS _rank "
                    "FROM papers_fts f CROSS JOIN papers p ON p.rowid = f.rowid "
                    f"WHERE {' AND '.join(where)} ORDER BY {NEWEST_FIRST} LIMIT :page"
                )
        outer = "h._rank, h._rid" if order == "rank" else NEWEST_FIRST
        sql = (
            f"WITH hits AS MATERIALIZED ({hits}) "
            f"SELECT {PAPER_COLUMNS} FROM hits h CROSS JOIN papers p ON p.rowid = h._rid "
            f"ORDER BY {outer}"
        )
        if cut is not None:
            params["cut"] = cut
        return sql, params
