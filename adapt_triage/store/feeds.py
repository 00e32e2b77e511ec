"""Sources and subscriptions: every source ever ingested, its conditional-GET state and
the last fetch's result; `subscribed` marks the user's feeds."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from adapt_triage.localread import is_url
from adapt_triage.paper import collapse_whitespace
from adapt_triage.records import KEEP, FetchRecord
from adapt_triage.store.db import StoreBase, dumps, loads, stamp
from adapt_triage.store.errors import AmbiguousIdError, FeedNameError, StoreError

FETCH_STATUSES = ("ok", "not-modified", "error", "empty")


@dataclass
class SourceState:
    """A row of `sources`: conditional-GET state (`etag`, `last_modified`) and the last result."""

    url: str
    name: str | None = None
    kind: str = "file"
    subscribed: bool = False
    added_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: str | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    last_item_count: int | None = None
    last_new: int | None = None
    feed_date: str | None = None
    skip_days: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SourceState:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in names}  # columns a later schema adds
        data["subscribed"] = bool(data.get("subscribed"))
        data["skip_days"] = loads(data.get("skip_days"), [])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ever_succeeded(self) -> bool:
        """Some fetch of this source was read (ok, empty or not modified): a failure now
        is an outage of a source that works, not a typo."""
        return bool(
            self.last_item_count is not None
            or self.last_new is not None
            or self.etag
            or self.last_modified
        )


def _not_modified_sets(fetch: FetchRecord) -> dict[str, Any]:
    """A 304 may omit the validators; keep the stored ones unless new ones came."""
    sets: dict[str, Any] = {}
    if fetch.etag is not KEEP and fetch.etag:
        sets["etag"] = fetch.etag
    if fetch.last_modified is not KEEP and fetch.last_modified:
        sets["last_modified"] = fetch.last_modified
    sets["last_new"] = 0
    return sets


def _read_sets(fetch: FetchRecord) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    if fetch.etag is not KEEP:
        sets["etag"] = fetch.etag
    if fetch.last_modified is not KEEP:
        sets["last_modified"] = fetch.last_modified
    if fetch.item_count is not None:
        sets["last_item_count"] = fetch.item_count
    if fetch.new is not None:
        sets["last_new"] = fetch.new
    if fetch.feed_date is not None:
        sets["feed_date"] = fetch.feed_date
    if fetch.skip_days is not None:
        sets["skip_days"] = dumps(list(fetch.skip_days))
    return sets


def _source_kind(source: str) -> str:
    if source == "-":
        return "stdin"
    return "url" if is_url(source) else "file"


class FeedsMixin(StoreBase):
    """Sources, feeds and the record of each fetch."""

    def _ensure_source(
        self,
        conn: sqlite3.Connection,
        source: str,
        when: str,
        name: str | None = None,
        kind: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO sources (url, name, kind, added_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (url) DO NOTHING",
            (source, name, kind or _source_kind(source), when),
        )

    def _apply_fetch(
        self, conn: sqlite3.Connection, source: str, when: str, fetch: FetchRecord
    ) -> None:
        status = fetch.status or "ok"
        if status not in FETCH_STATUSES:
            raise ValueError(f"fetch status must be one of {', '.join(FETCH_STATUSES)}")
        self._ensure_source(conn, source, when, fetch.name, fetch.kind)
        error = collapse_whitespace(str(fetch.error)) if fetch.error else None
        if status == "error":
            # Keep the conditional-GET state and the last good counts; count the failure.
            conn.execute(
                "UPDATE sources SET last_fetch_at = ?, last_status = ?, last_error = ?, "
                "consecutive_failures = consecutive_failures + 1 WHERE url = ?",
                (when, status, error or "error", source),
            )
            return
        sets: dict[str, Any] = {
            "last_fetch_at": when,
            "last_status": status,
            "last_error": error,
            "consecutive_failures": 0,
            **(_not_modified_sets(fetch) if status == "not-modified" else _read_sets(fetch)),
        }
        if fetch.name:
            sets["name"] = fetch.name
        assignments = ", ".join(f"{col} = ?" for col in sets)
        conn.execute(f"UPDATE sources SET {assignments} WHERE url = ?", (*sets.values(), source))

    def record_fetch(
        self,
        source: str,
        fetch: FetchRecord | None = None,
        *,
        now: str | datetime | None = None,
        **fields: Any,
    ) -> SourceState:
        """Record one fetch of a source in its own small transaction (so a source whose papers
        could not be stored still records its failure): `fetch`, or a FetchRecord built from
        the keyword `fields`. On `error` the failure counter goes up and the conditional-GET
        state and last counts are kept; any other status resets the counter. Returns the new
        state."""
        record = fetch if fetch is not None else FetchRecord(**fields)
        if record.status is None:
            raise ValueError(f"fetch status must be one of {', '.join(FETCH_STATUSES)}")
        when = stamp(now)
        with self.write() as conn:
            self._apply_fetch(conn, source, when, record)
        state = self.get_fetch_state(source)
        assert state is not None
        return state

    def get_fetch_state(self, source: str) -> SourceState | None:
        rows = self._rows("SELECT * FROM sources WHERE url = ?", (source,))
        return SourceState.from_row(rows[0]) if rows else None

    def add_feed(
        self, url: str, name: str | None = None, *, now: str | datetime | None = None
    ) -> SourceState:
        """Subscribe to a feed (again); an existing source keeps its history. Names are
        unique among subscribed feeds; re-adding a feed with another name is an error (use
        `rename_feed`), never a silent rename."""
        url = url.strip()
        name = (name or "").strip() or None
        if not url:
            raise StoreError("a feed needs a URL or path")
        when = stamp(now)
        with self.write() as conn:
            row = conn.execute(
                "SELECT name, subscribed FROM sources WHERE url = ?", (url,)
            ).fetchone()
            if row and row[1] and name and row[0] and row[0] != name:
                raise FeedNameError(
                    f"{url} is already subscribed as {row[0]!r}; "
                    f"rename it with `feeds rename {row[0]} {name}`"
                )
            self._check_feed_name(conn, name or (row[0] if row else None), url)
            self._ensure_source(conn, url, when, name)
            conn.execute(
                "UPDATE sources SET subscribed = 1, name = COALESCE(?, name) WHERE url = ?",
                (name, url),
            )
        state = self.get_fetch_state(url)
        assert state is not None
        return state

    @staticmethod
    def _check_feed_name(conn: sqlite3.Connection, name: str | None, url: str) -> None:
        if not name:
            return
        clash = conn.execute(
            "SELECT url FROM sources WHERE subscribed = 1 AND url != ? AND (name = ? OR url = ?)",
            (url, name, name),
        ).fetchone()
        if clash:
            raise FeedNameError(f"feed name {name!r} is taken by {clash[0]}; choose another name")

    @staticmethod
    def _subscribed_url(conn: sqlite3.Connection, url_or_name: str) -> str | None:
        urls = [
            r[0]
            for r in conn.execute(
                "SELECT url FROM sources WHERE subscribed = 1 AND url = ?", (url_or_name,)
            )
        ] or [
            r[0]
            for r in conn.execute(
                "SELECT url FROM sources WHERE subscribed = 1 AND name = ?", (url_or_name,)
            )
        ]
        if len(urls) > 1:
            raise AmbiguousIdError(
                f"feed name {url_or_name!r} matches {len(urls)} feeds: {', '.join(urls)}; "
                "remove one by its URL"
            )
        return urls[0] if urls else None

    def remove_feed(self, url_or_name: str) -> bool:
        """Unsubscribe (by URL, or by name when it names one feed); history is kept.
        Returns False when no subscribed feed matches."""
        with self.write() as conn:
            url = self._subscribed_url(conn, url_or_name)
            if url is None:
                return False
            conn.execute("UPDATE sources SET subscribed = 0 WHERE url = ?", (url,))
        return True

    def rename_feed(self, url_or_name: str, new_name: str) -> SourceState:
        """Give a subscribed feed a new (unique) name."""
        new_name = (new_name or "").strip()
        if not new_name:
            raise StoreError("a feed name cannot be empty")
        with self.write() as conn:
            url = self._subscribed_url(conn, url_or_name)
            if url is None:
                raise StoreError(f"no subscribed feed {url_or_name!r}")
            self._check_feed_name(conn, new_name, url)
            conn.execute("UPDATE sources SET name = ? WHERE url = ?", (new_name, url))
        state = self.get_fetch_state(url)
        assert state is not None
        return state

    def list_feeds(self) -> list[SourceState]:
        rows = self._rows("SELECT * FROM sources WHERE subscribed = 1 ORDER BY added_at, rowid")
        return [SourceState.from_row(r) for r in rows]

    def list_sources(self) -> list[SourceState]:
        rows = self._rows("SELECT * FROM sources ORDER BY added_at, rowid")
        return [SourceState.from_row(r) for r in rows]

    def forget_source(self, url_or_name: str) -> SourceState:
        """Forget a one-off source's fetch history (its papers stay stored); a relative path
        also matches its absolute form. A subscribed feed must be unsubscribed first
        (`feeds remove`). StoreError when nothing matches."""
        ref = (url_or_name or "").strip()
        state = self.get_fetch_state(ref)
        if state is None and ref and ref != "-" and not is_url(ref):
            state = self.get_fetch_state(str(Path(ref).expanduser().resolve()))
        if state is None:
            raise StoreError(f"no source {ref!r} (`adapt-triage sources list` shows them)")
        if state.subscribed:
            raise StoreError(f"{ref} is a subscribed feed; unsubscribe with `feeds remove` first")
        with self.write() as conn:
            conn.execute("DELETE FROM sources WHERE url = ? AND subscribed = 0", (state.url,))
        return state
