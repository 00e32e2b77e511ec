"""The SQLite history (through sqlite-utils): papers, versions seen, sources, labels, digests.

One database file a user can open with `sqlite3` or Datasette. WAL mode and a busy timeout;
every write is a transaction that starts with `BEGIN IMMEDIATE`, so concurrent writers queue
behind one another instead of failing half-way, and an ingest is all-or-nothing per source.

Tables (see `MIGRATIONS` for the exact DDL):

- `papers`: one row per stable id (`arxiv:`, `doi:`, `title:`). JSON columns: `authors`,
  `categories`, `model_labels`, `model_scores`. `duplicate_of` links a near-duplicate to the
  first-seen canonical paper (never a chain), with `dup_reason` and `dup_score`.
  `first_seen` is when the paper arrived; `last_seen` is the last time something new about
  it arrived (a newer version, a source that had not carried it, a field that was missing).
  Re-ingesting the same input changes nothing.
- `versions`: each version seen of a paper (version 0 = the source gave no version number),
  with the title and abstract of that version.
- `paper_sources`: every source that carried a paper (the arXiv feed and Hugging Face, say).
- `sources`: every source ever ingested, with conditional-GET state and the last fetch's
  result; `subscribed` marks the user's feeds.
- `user_labels`: the user's label SET for a paper (one row per label, `position` keeps the
  order, primary first). When a paper has user labels, they replace the model's labels.
- `categories`: user-defined categories; `digests`: each digest shown (`papers.shown_in_digest`
  names the first digest a paper appeared in); `runs`: one row per command run.
- `papers_fts`: FTS5 index (porter stemming) over `papers.title` and `papers.abstract`.
- `_migrations`: the migrations applied; `PRAGMA user_version` is their count.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from adapt_triage.localread import is_url
from adapt_triage.paper import (
    CONTRACT_FIELDS,
    Paper,
    collapse_whitespace,
    normalize_doi,
    parse_arxiv_id,
    text_variant_id,
)
from adapt_triage.paths import DB_ENV, default_db_path  # noqa: F401 - re-exported
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC, category_order

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another writer before giving up
FETCH_STATUSES = ("ok", "not-modified", "error", "empty")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_KEEP: Any = object()  # "leave this column as it is"


class StoreError(Exception):
    """A store operation failed; `str(e)` is one line fit for the user."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer adapt-triage."""


class SearchQueryError(StoreError):
    """A full-text query that SQLite cannot run even after quoting its terms."""


class AmbiguousIdError(StoreError):
    """A paper reference (id prefix) matches more than one paper."""


class PaperNotFoundError(StoreError):
    """No stored paper matches a reference."""


class UnknownLabelError(StoreError):
    """A label that is neither a taxonomy category nor a user-defined one."""


class FeedNameError(StoreError):
    """A feed name already taken by another subscribed feed."""


class RunLockedError(StoreError):
    """Another run holds the whole-run lock."""


class LockFileError(StoreError):
    """The run-lock file is not one this user may use: a symbolic link, a hard link, not a
    regular file, or owned by another user."""


class CorruptDatabaseError(StoreError):
    """SQLite reports the database file as damaged (SQLITE_CORRUPT / SQLITE_NOTADB, or a
    failed `PRAGMA quick_check`)."""


class StorageError(StoreError):
    """Writing failed: a full disk, a read-only database, an I/O error. Nothing of the
    transaction was kept."""


_CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_CORRUPT_TEXT = ("malformed", "file is not a database", "database corruption")


def is_corruption(exc: BaseException) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if any(name.startswith(code) for code in _CORRUPT_CODES):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(t in text for t in _CORRUPT_TEXT)


def corrupt_error(path: Any, detail: Any) -> CorruptDatabaseError:
    return CorruptDatabaseError(
        f"{path}: the database is damaged ({_one_line(detail)}); restore it from a backup, "
        f"or rescue what is left with `sqlite3 {path} .recover | sqlite3 recovered.db`"
    )


def storage_error(exc: sqlite3.Error, path: Any, doing: str = "cannot write") -> StoreError:
    """A one-line StoreError for a SQLite failure, named by its cause."""
    if is_corruption(exc):
        return corrupt_error(path, exc)
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        cause = "the disk is full"
    elif name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        cause = "the database is read-only"
    elif name.startswith("SQLITE_IOERR") or "i/o error" in text:
        cause = "a disk I/O error"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        cause = "the database stayed locked by another process"
    elif name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        cause = "the database file cannot be opened"
    else:
        cause = "SQLite error"
    return StorageError(f"{path}: {doing}: {cause} ({_one_line(exc)})")


def utc_now() -> str:
    """Second-precision ISO 8601 in UTC, e.g. 2026-11-30T15:38:31+00:00."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def normalize_timestamp(value: str | datetime | date) -> str:
    """A timestamp as stored: ISO 8601 in UTC at second precision (a bare date stays a date,
    which compares as the start of that day). Raises StoreError on text that is not ISO 8601."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        return value.isoformat()
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return text
        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise StoreError(f"not an ISO 8601 date or time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loads(text: str | None, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _source_kind(source: str) -> str:
    if source == "-":
        return "stdin"
    return "url" if is_url(source) else "file"


def _one_line(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


# --------------------------------------------------------------------------- migrations

Migration = Callable[[Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register a migration; they run in definition order, each in its own transaction."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_papers_versions_sources(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            authors TEXT NOT NULL DEFAULT '[]',
            url TEXT,
            published TEXT,
            updated TEXT,
            arxiv_id TEXT,
            version INTEGER,
            doi TEXT,
            announce_type TEXT,
            categories TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            duplicate_of TEXT REFERENCES papers(id),
            dup_reason TEXT,
            dup_score REAL,
            model_labels TEXT NOT NULL DEFAULT '[]',
            model_scores TEXT NOT NULL DEFAULT '{}',
            model_version TEXT,
            CHECK (duplicate_of IS NULL OR duplicate_of <> id)
        );
        CREATE INDEX papers_first_seen ON papers(first_seen);
        CREATE INDEX papers_duplicate_of ON papers(duplicate_of);
        CREATE INDEX papers_doi ON papers(doi);
        CREATE TABLE versions (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            updated TEXT,
            announce_type TEXT,
            PRIMARY KEY (paper_id, version)
        );
        CREATE TABLE paper_sources (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            source TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (paper_id, source)
        );
        CREATE TABLE sources (
            url TEXT PRIMARY KEY,
            name TEXT,
            kind TEXT NOT NULL DEFAULT 'file',
            subscribed INTEGER NOT NULL DEFAULT 0 CHECK (subscribed IN (0, 1)),
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_fetch_at TEXT,
            last_status TEXT CHECK (last_status IS NULL
                OR last_status IN ('ok', 'not-modified', 'error', 'empty')),
            last_error TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_item_count INTEGER,
            last_new INTEGER,
            feed_date TEXT,
            skip_days TEXT NOT NULL DEFAULT '[]'
        );
        """
    )
    # Content table FTS5 in sqlite-utils' layout (Datasette and `sqlite-utils search` find it);
    # the update trigger fires only when the indexed text changes, not on score updates.
    db["papers"].enable_fts(["title", "abstract"], tokenize="porter", create_triggers=False)
    db.executescript(
        """
        CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
          INSERT INTO papers_fts (rowid, title, abstract)
            VALUES (new.rowid, new.title, new.abstract);
        END;
        CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract)
            VALUES ('delete', old.rowid, old.title, old.abstract);
        END;
        CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract)
            VALUES ('delete', old.rowid, old.title, old.abstract);
          INSERT INTO papers_fts (rowid, title, abstract)
            VALUES (new.rowid, new.title, new.abstract);
        END;
        """
    )


@migration
def m002_user_labels_categories_digests_runs(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE user_labels (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            label TEXT NOT NULL,
            position INTEGER NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (paper_id, label)
        );
        CREATE TABLE categories (
            slug TEXT PRIMARY KEY,
            description TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            since TEXT,
            count INTEGER NOT NULL DEFAULT 0
        );
        ALTER TABLE papers ADD COLUMN shown_in_digest INTEGER REFERENCES digests(id);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT,
            summary TEXT
        );
        """
    )


@migration
def m003_paper_marks(db: Database) -> None:
    """Read and starred states (`mark`, `list --starred`, `digest --hide-read`)."""
    db.executescript(
        """
        CREATE TABLE paper_marks (
            paper_id TEXT PRIMARY KEY REFERENCES papers(id),
            read_at TEXT,
            starred_at TEXT
        );
        """
    )


@migration
def m004_browse_views(db: Database) -> None:
    """Views for sqlite3 and Datasette users: each paper with its final labels (the user's
    winning over the model's), one row per label, the duplicates, and the sources."""
    db.executescript(
        """
        CREATE VIEW browse_papers AS
        SELECT p.id, p.title,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN (SELECT json_group_array(label) FROM (SELECT label FROM user_labels u
                      WHERE u.paper_id = p.id ORDER BY u.position))
                ELSE p.model_labels END AS labels,
            CASE WHEN EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
                THEN 'user' ELSE 'model' END AS labels_from,
            COALESCE((SELECT label FROM user_labels u WHERE u.paper_id = p.id
                      ORDER BY u.position LIMIT 1), json_extract(p.model_labels, '$[0]'))
                AS primary_label,
            p.authors, p.url, p.published, p.first_seen, p.arxiv_id, p.version, p.doi,
            p.announce_type, p.source, p.duplicate_of,
            (SELECT count(*) FROM papers d WHERE d.duplicate_of = p.id) AS duplicates,
            (SELECT count(*) FROM paper_sources s WHERE s.paper_id = p.id) AS sources,
            m.starred_at IS NOT NULL AS starred,
            m.read_at IS NOT NULL AS read
        FROM papers p LEFT JOIN paper_marks m ON m.paper_id = p.id;

        CREATE VIEW browse_labels AS
        SELECT u.paper_id, p.title, u.label, u.position, 'user' AS labels_from,
            json_extract(p.model_scores, '$."' || u.label || '"') AS model_score
        FROM user_labels u JOIN papers p ON p.id = u.paper_id
        UNION ALL
        SELECT p.id, p.title, m.value, CAST(m.key AS INTEGER), 'model',
            json_extract(p.model_scores, '$."' || m.value || '"')
        FROM papers p, json_each(p.model_labels) m
        WHERE NOT EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id);

        CREATE VIEW browse_duplicates AS
        SELECT c.id AS canonical_id, c.title AS canonical_title,
            d.id AS duplicate_id, d.title AS duplicate_title, d.source AS duplicate_source,
            d.dup_reason AS reason, d.dup_score AS score, d.first_seen AS duplicate_first_seen
        FROM papers d JOIN papers c ON c.id = d.duplicate_of;

        CREATE VIEW browse_sources AS
        SELECT ps.paper_id, p.title, ps.source, s.name AS source_name, s.kind AS source_kind,
            ps.first_seen
        FROM paper_sources ps JOIN papers p ON p.id = ps.paper_id
        LEFT JOIN sources s ON s.url = ps.source;
        """
    )


@migration
def m005_backfill_progress(db: Database) -> None:
    """Where each backfill (one arXiv API query over a date window) got to, so that a run
    that was killed continues with the next page (also when it is run again with a later
    `until`, as `--until` defaults to today: the results are oldest first)."""
    db.executescript(
        """
        CREATE TABLE backfill_progress (
            query TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            since TEXT NOT NULL,
            until TEXT NOT NULL,
            next_start INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        );
        """
    )


@migration
def m006_search_authors(db: Database) -> None:
    """Authors join title and abstract in the full-text index (`search 'Lovelace'`)."""
    db.executescript(
        """
        DROP TRIGGER IF EXISTS papers_ai;
        DROP TRIGGER IF EXISTS papers_ad;
        DROP TRIGGER IF EXISTS papers_au;
        DROP TABLE IF EXISTS papers_fts;
        CREATE VIRTUAL TABLE [papers_fts] USING FTS5 (
            [title], [abstract], [authors], tokenize='porter', content=[papers]
        );
        INSERT INTO papers_fts (papers_fts) VALUES ('rebuild');
        CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
          INSERT INTO papers_fts (rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
        END;
        CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract, authors ON papers BEGIN
          INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
          INSERT INTO papers_fts (rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        """
    )


def applied_migrations(db: Database) -> list[str]:
    if not db["_migrations"].exists():
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def _check_not_newer(applied: Iterable[str], path: str) -> None:
    known = {fn.__name__ for fn in MIGRATIONS}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaTooNewError(
            f"{path}: the database was written by a newer adapt-triage (schema has "
            f"{', '.join(unknown)}); upgrade adapt-triage to use it"
        )


def migrate(db: Database, *, upto: int | None = None, path: str = "database") -> list[str]:
    """Apply the migrations not yet applied (the first `upto` of them, if given), each in its
    own `BEGIN IMMEDIATE` transaction, so two processes opening a new file do not race.
    Returns the names applied now. Raises SchemaTooNewError for a newer database."""
    conn = db.conn
    todo = MIGRATIONS if upto is None else MIGRATIONS[:upto]
    done_now: list[str] = []
    applied = applied_migrations(db)
    _check_not_newer(applied, path)
    if all(fn.__name__ in applied for fn in todo):
        return done_now
    for fn in todo:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            applied = applied_migrations(db)  # again, under the write lock
            _check_not_newer(applied, path)
            if fn.__name__ not in applied:
                try:
                    fn(db)
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"{path}: migration {fn.__name__} failed, the database is left as it "
                        f"was: {exc}"
                    ) from exc
                conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    (fn.__name__, utc_now()),
                )
                conn.execute(f"PRAGMA user_version = {len(applied) + 1:d}")
                done_now.append(fn.__name__)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return done_now


# --------------------------------------------------------------------------- records


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
        data["skip_days"] = _loads(data.get("skip_days"), [])
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


def contract_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON contract fields of a stored paper, in contract order."""
    return {key: row.get(key) for key in CONTRACT_FIELDS}


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


def _decode_paper(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `papers` row with JSON decoded, plus `labels` (effective: the user's set when there
    is one, else the model's), `scores` (the model's), `user_labels` (list or None)."""
    data = {k: v for k, v in row.items() if not k.startswith("_")}
    for key, default in (
        ("authors", []),
        ("categories", []),
        ("model_labels", []),
        ("model_scores", {}),
    ):
        data[key] = _loads(data.get(key), default)
    user = _loads(row.get("_user_labels"), [])
    data["user_labels"] = user or None
    data["labels"] = list(user) if user else list(data["model_labels"])
    data["scores"] = dict(data["model_scores"])
    return data


_PAPER_COLUMNS = """
    p.*,
    (SELECT json_group_array(label) FROM
        (SELECT label FROM user_labels u WHERE u.paper_id = p.id ORDER BY u.position)
    ) AS _user_labels
"""
_NEWEST_FIRST = "p.first_seen DESC, p.published DESC, p.rowid ASC"
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


class Store:
    """The adapt-triage database. `Store(path)` or `Store.open(path)`; path None means
    `default_db_path()`; ":memory:" works for throwaway use."""

    def __init__(
        self, path: str | Path | None = None, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.memory = str(path) == ":memory:"
        self.busy_timeout = busy_timeout
        where = str(self.path)
        if not self.memory:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{where}: cannot create its directory: {exc}") from None
        try:
            conn = sqlite3.connect(
                ":memory:" if self.memory else str(self.path), timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{where}: cannot open the database: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
            self.db = Database(conn, execute_plugins=False)
            self._set_wal()
            conn.execute("PRAGMA foreign_keys = ON")
            self._quick_check_if_changed()
            migrate(self.db, path=where)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if is_corruption(exc):
                if not self.memory:
                    with contextlib.suppress(OSError):
                        self.check_path.unlink()
                raise corrupt_error(where, exc) from None
            raise StoreError(f"{where}: not a usable adapt-triage database: {exc}") from None
        except BaseException:
            conn.close()
            raise

    @classmethod
    def open(cls, path: str | Path | None = None, **kwargs: Any) -> Store:
        return cls(path, **kwargs)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()
        if not self.memory and self._damaged:
            with contextlib.suppress(OSError):
                self.check_path.unlink()  # the next open checks the whole file again
        elif not self.memory:
            # Remember the file as it is now: the next open skips the check if it is unchanged.
            with contextlib.suppress(OSError):
                stamp = self._file_stamp()
                try:
                    known = self.check_path.read_text()
                except OSError:
                    known = None
                if stamp is not None and known != stamp:
                    self.check_path.write_text(stamp)

    # -- integrity

    _damaged = False

    @property
    def check_path(self) -> Path:
        """Where the state of the file at the last good close is kept."""
        return self.path.with_name(self.path.name + ".checked")

    def _file_stamp(self) -> str | None:
        parts = []
        for suffix in ("", "-wal"):
            try:
                info = os.stat(str(self.path) + suffix)
            except FileNotFoundError:
                parts.append("-")
                continue
            parts.append(f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}")
        return " ".join(parts)

    def _quick_check_if_changed(self) -> None:
        """`PRAGMA quick_check` when the file changed since the last good close (another
        tool, a crash, a copy): a damaged file is refused at open, never half-used."""
        if self.memory:
            return
        try:
            unchanged = self.check_path.read_text() == self._file_stamp()
        except OSError:
            unchanged = False
        if unchanged:
            return
        self.quick_check()

    def quick_check(self) -> None:
        """Raise CorruptDatabaseError unless `PRAGMA quick_check` says ok."""
        try:
            rows = [r[0] for r in self.db.conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                self._damaged = True
                raise corrupt_error(self.path, exc) from None
            raise
        if rows != ["ok"]:
            self._damaged = True
            raise corrupt_error(self.path, "; ".join(str(r) for r in rows[:2]))

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _set_wal(self) -> None:
        if self.memory:
            return
        # Switching a new file to WAL needs an exclusive lock; another process opening the
        # same new file at the same moment can make it fail once, so retry within the timeout.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self.db.conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (`BEGIN IMMEDIATE`: waits up to the busy timeout for another
        writer, then fails with a clear StoreError). Rolled back on any exception."""
        conn = self.db.conn
        if conn.in_transaction:
            raise StoreError("a write transaction is already open on this store")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"{self.path}: the database stayed busy for {self.busy_timeout:g} s "
                    f"(another adapt-triage run is writing): {exc}"
                ) from None
            raise self._failed(exc) from None
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        try:
            yield conn
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, sqlite3.Error):
                raise self._failed(exc) from exc
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                # A full disk or a read-only file can fail the COMMIT itself: nothing is kept.
                self._rollback(conn)
                raise self._failed(exc, "could not commit, nothing was saved") from exc

    def error_for(self, exc: sqlite3.Error, doing: str = "cannot write") -> StoreError:
        """The named StoreError for a SQLite failure on this store; a damaged file is
        remembered, so that closing does not record it as checked."""
        return self._failed(exc, doing)

    def _failed(self, exc: sqlite3.Error, doing: str = "cannot write") -> StoreError:
        error = storage_error(exc, self.path, doing)
        if isinstance(error, CorruptDatabaseError):
            self._damaged = True
        return error

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict]:
        cursor = self.db.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    def _iter_rows(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Iterator[dict]:
        cursor = self.db.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(keys, row, strict=True))

    # -- ingest

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
        when = normalize_timestamp(now) if now else utc_now()
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
                        f"from this source was saved: {_one_line(exc)}"
                    ) from exc
            meta = dict(fetch_meta or {})
            meta.setdefault("status", "ok" if summary.items else "empty")
            meta.setdefault("item_count", summary.items)
            meta.setdefault("new", summary.new)
            if summary.errors:
                meta.setdefault("error", summary.errors[0])
            self._apply_fetch(conn, source, when, **meta)
        return summary

    def _ensure_source(
        self,
        conn: sqlite3.Connection,
        source: str,
        when: str,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        meta = meta or {}
        conn.execute(
            "INSERT INTO sources (url, name, kind, added_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (url) DO NOTHING",
            (source, meta.get("name"), meta.get("kind") or _source_kind(source), when),
        )

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
                f"{source}: item {summary.items}: {_one_line(paper.title)[:80]!r} merged into "
                f"{pid} ({_one_line(row['title'])[:80]!r}): same normalised title, "
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
                        f"was saved: {_one_line(exc)}"
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
                    _dumps(list(paper.authors or [])),
                    paper.url,
                    paper.published,
                    paper.updated,
                    paper.arxiv_id,
                    paper.version,
                    paper.doi,
                    paper.announce_type,
                    _dumps(list(paper.categories or [])),
                    source,
                    when,
                    when,
                    canonical,
                    match.reason if canonical else None,
                    float(match.score) if canonical and match.score is not None else None,
                    _dumps(labels),
                    _dumps(scores),
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
                        f"source was saved: {_one_line(exc)}"
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
            if paper.authors and _dumps(list(paper.authors)) != row["authors"]:
                changes["authors"] = _dumps(list(paper.authors))
            if paper.categories and _dumps(list(paper.categories)) != row["categories"]:
                changes["categories"] = _dumps(list(paper.categories))
        # Fill what the stored row lacks (another source may know more about the same paper).
        if not row["abstract"] and paper.abstract:
            changes["abstract"] = paper.abstract
        if row["authors"] == "[]" and paper.authors:
            changes["authors"] = _dumps(list(paper.authors))
        if row["categories"] == "[]" and paper.categories:
            changes["categories"] = _dumps(list(paper.categories))
        for col in ("url", "published", "updated", "doi", "announce_type"):
            value = getattr(paper, col)
            if row[col] is None and value:
                changes[col] = value
        text_changed = "abstract" in changes or "title" in changes
        if labels and (text_changed or row["model_labels"] == "[]"):
            changes["model_labels"] = _dumps(labels)
            changes["model_scores"] = _dumps(scores)
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
                    f"source was saved: {_one_line(exc)}"
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

    # -- sources and feeds

    def _apply_fetch(
        self,
        conn: sqlite3.Connection,
        source: str,
        when: str,
        *,
        status: str,
        error: str | None = None,
        item_count: int | None = None,
        new: int | None = None,
        feed_date: str | None = None,
        skip_days: Sequence[str] | None = None,
        etag: Any = _KEEP,
        last_modified: Any = _KEEP,
        name: str | None = None,
        kind: str | None = None,
    ) -> None:
        if status not in FETCH_STATUSES:
            raise ValueError(f"fetch status must be one of {', '.join(FETCH_STATUSES)}")
        self._ensure_source(conn, source, when, {"name": name, "kind": kind})
        sets: dict[str, Any] = {
            "last_fetch_at": when,
            "last_status": status,
            "last_error": _one_line(error) if error else None,
        }
        if status == "error":
            # Keep the conditional-GET state and the last good counts; count the failure.
            conn.execute(
                "UPDATE sources SET last_fetch_at = ?, last_status = ?, last_error = ?, "
                "consecutive_failures = consecutive_failures + 1 WHERE url = ?",
                (when, status, sets["last_error"] or "error", source),
            )
            return
        sets["consecutive_failures"] = 0
        if status == "not-modified":
            # A 304 may omit the validators; keep the stored ones unless new ones came.
            if etag is not _KEEP and etag:
                sets["etag"] = etag
            if last_modified is not _KEEP and last_modified:
                sets["last_modified"] = last_modified
            sets["last_new"] = 0
        else:
            if etag is not _KEEP:
                sets["etag"] = etag
            if last_modified is not _KEEP:
                sets["last_modified"] = last_modified
            if item_count is not None:
                sets["last_item_count"] = item_count
            if new is not None:
                sets["last_new"] = new
            if feed_date is not None:
                sets["feed_date"] = feed_date
            if skip_days is not None:
                sets["skip_days"] = _dumps(list(skip_days))
        if name:
            sets["name"] = name
        assignments = ", ".join(f"{col} = ?" for col in sets)
        conn.execute(f"UPDATE sources SET {assignments} WHERE url = ?", (*sets.values(), source))

    def record_fetch(
        self,
        source: str,
        *,
        status: str,
        error: str | None = None,
        item_count: int | None = None,
        new: int | None = None,
        feed_date: str | None = None,
        skip_days: Sequence[str] | None = None,
        etag: Any = _KEEP,
        last_modified: Any = _KEEP,
        name: str | None = None,
        now: str | datetime | None = None,
    ) -> SourceState:
        """Record one fetch of a source in its own small transaction (so a source whose papers
        could not be stored still records its failure). status: ok | not-modified | error |
        empty. On `error` the failure counter goes up and the conditional-GET state and last
        counts are kept; any other status resets the counter. Returns the new state."""
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            self._apply_fetch(
                conn,
                source,
                when,
                status=status,
                error=error,
                item_count=item_count,
                new=new,
                feed_date=feed_date,
                skip_days=skip_days,
                etag=etag,
                last_modified=last_modified,
                name=name,
            )
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
        when = normalize_timestamp(now) if now else utc_now()
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
            self._ensure_source(conn, url, when, {"name": name})
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

    # -- papers

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
            params["cats"] = _dumps(cats)
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
        sql = f"SELECT {_PAPER_COLUMNS} FROM papers p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {_NEWEST_FIRST}"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        for row in self._iter_rows(sql, params):
            yield _decode_paper(row)

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
            f"SELECT {_PAPER_COLUMNS} FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid"
            f" WHERE {' AND '.join(where)} ORDER BY "
            + ("papers_fts.rank, p.rowid" if order == "rank" else _NEWEST_FIRST)
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
        return [_decode_paper(r) for r in rows]

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
        rows = self._rows(f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE p.id = ?", (pid,))
        return _decode_paper(rows[0]) if rows else None

    def duplicates_of(self, ref: str) -> list[dict[str, Any]]:
        """The papers linked to this (canonical) paper, first seen first."""
        pid = self._require_id(ref)
        rows = self._rows(
            f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE p.duplicate_of = ? "
            "ORDER BY p.first_seen, p.rowid",
            (pid,),
        )
        return [_decode_paper(r) for r in rows]

    def duplicate_clusters(self) -> list[dict[str, Any]]:
        """[{"canonical": paper, "duplicates": [paper, ...]}], oldest canonical first; each
        duplicate carries `dup_reason` and `dup_score`."""
        rows = self._rows(
            f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE p.duplicate_of IS NOT NULL "
            "ORDER BY p.first_seen, p.rowid"
        )
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(row["duplicate_of"], []).append(_decode_paper(row))
        if not groups:
            return []
        canon = self._rows(
            f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE p.id IN "
            "(SELECT value FROM json_each(?)) ORDER BY p.first_seen, p.rowid",
            (_dumps(list(groups)),),
        )
        return [{"canonical": _decode_paper(c), "duplicates": groups[c["id"]]} for c in canon]

    # -- the user's duplicate decisions

    def link_papers(self, a_ref: str, b_ref: str, *, now: str | datetime | None = None) -> str:
        """The user says A and B are one work: their clusters become one, rooted at the
        paper seen first, whatever the rules said. Recorded (`dedup_decisions`), so that it
        wins over the rules on every later ingest. Returns what was done, as a sentence."""
        from adapt_triage.dedup import DedupIndex

        a, b = self._two_papers(a_ref, b_ref)
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            index = DedupIndex(self.db)
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
            index.set_root(child, canonical)
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
        from adapt_triage.dedup import DedupIndex

        a, b = self._two_papers(a_ref, b_ref)
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            index = DedupIndex(self.db)
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
            index.set_root(detach, None)
        return f"unlinked {detach} from {ra}"

    def dedup_decisions(self) -> list[dict[str, str]]:
        """The user's `link` / `unlink` decisions, oldest first."""
        from adapt_triage.dedup import DedupIndex

        return DedupIndex(self.db).decisions()

    def dedup_stats(self) -> list[dict[str, Any]]:
        from adapt_triage.dedup import DedupIndex

        return DedupIndex(self.db).bucket_stats()

    @staticmethod
    def _root_of(conn: sqlite3.Connection, pid: str) -> str:
        row = conn.execute("SELECT duplicate_of FROM papers WHERE id = ?", (pid,)).fetchone()
        return row[0] if row and row[0] else pid

    @staticmethod
    def _seen_order(conn: sqlite3.Connection, pid: str) -> tuple[str, int]:
        row = conn.execute("SELECT first_seen, rowid FROM papers WHERE id = ?", (pid,)).fetchone()
        return (row[0], row[1]) if row else ("", 0)

    def versions(self, ref: str) -> list[dict[str, Any]]:
        """Versions seen of a paper, oldest first (`version` None when the source gave none)."""
        pid = self._require_id(ref)
        rows = self._rows("SELECT * FROM versions WHERE paper_id = ? ORDER BY version", (pid,))
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

    # -- model scores

    def update_scores(
        self,
        paper_id: str,
        labels: Sequence[str],
        scores: Mapping[str, float],
        model_version: str | None,
    ) -> None:
        """Replace the model's labels and scores of one paper (reclassification)."""
        if self.update_scores_many([(paper_id, labels, scores)], model_version) == 0:
            raise PaperNotFoundError(f"no stored paper with id {paper_id!r}")

    def update_scores_many(
        self,
        items: Iterable[tuple[str, Sequence[str], Mapping[str, float]]],
        model_version: str | None,
    ) -> int:
        """Replace the model's labels and scores of many papers in one transaction.
        Returns how many papers were found."""
        count = 0
        with self.write() as conn:
            for paper_id, labels, scores in items:
                count += conn.execute(
                    "UPDATE papers SET model_labels = ?, model_scores = ?, model_version = ? "
                    "WHERE id = ?",
                    (_dumps(list(labels)), _dumps(dict(scores)), model_version, paper_id),
                ).rowcount
        return count

    def count_stale_scores(self, model_version: str | None) -> int:
        """How many papers were scored by another model than `model_version` (or never)."""
        row = self.db.conn.execute(
            "SELECT count(*) FROM papers WHERE model_version IS NOT ?", (model_version,)
        ).fetchone()
        return int(row[0])

    def forget_model_version(self) -> None:
        """Mark every paper's scores as stale, so that the next rescore redoes them all."""
        with self.write() as conn:
            conn.execute("UPDATE papers SET model_version = NULL")

    def papers_needing_scores(
        self, model_version: str | None, *, batch: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Papers whose scores did not come from `model_version`, in batches by rowid (safe to
        call `update_scores_many` between batches)."""
        last = 0
        while True:
            rows = self._rows(
                f"SELECT {_PAPER_COLUMNS}, p.rowid AS _rowid FROM papers p "
                "WHERE p.rowid > ? AND p.model_version IS NOT ? ORDER BY p.rowid LIMIT ?",
                (last, model_version, batch),
            )
            if not rows:
                return
            last = rows[-1]["_rowid"]
            for row in rows:
                yield _decode_paper(row)

    # -- user labels and categories

    def known_labels(self) -> list[str]:
        """Taxonomy categories and user-defined ones, in taxonomy order (off-topic last)."""
        custom = [r[0] for r in self.db.conn.execute("SELECT slug FROM categories")]
        return category_order(list(DEFAULT_SLUGS) + custom)

    def _check_labels(self, labels: Iterable[str]) -> None:
        known = set(self.known_labels())
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise UnknownLabelError(
                f"unknown category {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(self.known_labels())} (add one with `categories add`)"
            )

    def get_user_labels(self, ref: str) -> list[str] | None:
        """The user's label set for a paper, primary first; None when the user never set one."""
        pid = self._require_id(ref)
        rows = self.db.conn.execute(
            "SELECT label FROM user_labels WHERE paper_id = ? ORDER BY position", (pid,)
        ).fetchall()
        return [r[0] for r in rows] or None

    def set_user_labels(
        self, ref: str, labels: Sequence[str], *, now: str | datetime | None = None
    ) -> list[str]:
        """Replace the user's label set for a paper. `off-topic` stands alone; the set may not
        be empty (use `clear_user_labels` to fall back to the model)."""
        wanted = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
        self._check_labels(wanted)
        return self._change_user_labels(ref, lambda current: wanted, now)

    def label_paper(
        self,
        ref: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        now: str | datetime | None = None,
    ) -> list[str]:
        """The user's correction: start from the paper's effective labels (the user's set, else
        the model's), remove `remove`, put `add` first (the user's explicit labels are the most
        confident). Adding `off-topic` replaces every other label; adding any other label drops
        `off-topic`. Returns the new label set."""
        added = list(dict.fromkeys(a.strip() for a in add if a.strip()))
        removed = {r.strip() for r in remove if r.strip()}
        self._check_labels(added)

        def compute(current: list[str]) -> list[str]:
            if OFF_TOPIC in added:
                return added
            base = [label for label in current if label not in removed]
            if added:
                base = [label for label in base if label != OFF_TOPIC]
            result = list(dict.fromkeys([*added, *base]))
            if not result:
                raise StoreError(
                    f"{ref}: removing {', '.join(sorted(removed))} would leave no label; "
                    f"add one or mark it {OFF_TOPIC}"
                )
            return result

        return self._change_user_labels(ref, compute, now)

    def _change_user_labels(
        self,
        ref: str,
        compute: Callable[[list[str]], list[str]],
        now: str | datetime | None,
    ) -> list[str]:
        """Read the effective labels and write the user's new set in one transaction."""
        pid = self._require_id(ref)
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            kept = dict(
                conn.execute(
                    "SELECT label, at FROM user_labels WHERE paper_id = ? ORDER BY position",
                    (pid,),
                )
            )
            if kept:
                current = list(kept)
            else:
                row = conn.execute("SELECT model_labels FROM papers WHERE id = ?", (pid,))
                current = _loads(row.fetchone()[0], [])
            labels = compute(current)
            if not labels:
                raise StoreError(f"{pid}: a paper needs at least one label")
            if OFF_TOPIC in labels and len(labels) > 1:
                raise StoreError(f"{pid}: {OFF_TOPIC} stands alone; it cannot join other labels")
            conn.execute("DELETE FROM user_labels WHERE paper_id = ?", (pid,))
            conn.executemany(
                "INSERT INTO user_labels (paper_id, label, position, at) VALUES (?, ?, ?, ?)",
                [(pid, label, i, kept.get(label, when)) for i, label in enumerate(labels)],
            )
        return labels

    def clear_user_labels(self, ref: str) -> bool:
        """Forget the user's labels for a paper (the model's apply again)."""
        pid = self._require_id(ref)
        with self.write() as conn:
            return conn.execute("DELETE FROM user_labels WHERE paper_id = ?", (pid,)).rowcount > 0

    @staticmethod
    def effective_labels(paper: Mapping[str, Any]) -> list[str]:
        """The user's labels when they set any, else the model's (from a stored paper dict)."""
        if paper.get("user_labels"):
            return list(paper["user_labels"])
        return list(paper.get("model_labels") or [])

    def user_labeled_examples(self) -> list[dict[str, Any]]:
        """Training examples from the user: [{id, title, abstract, labels}], in the order the
        user labelled them. Only the user's labels, never the model's predictions."""
        rows = self._rows(
            f"""SELECT {_PAPER_COLUMNS}, (SELECT max(at) FROM user_labels u
                 WHERE u.paper_id = p.id) AS _labelled_at
            FROM papers p WHERE EXISTS (SELECT 1 FROM user_labels u WHERE u.paper_id = p.id)
            ORDER BY _labelled_at, p.rowid"""
        )
        return [
            {
                "id": r["id"],
                "title": r["title"],
                "abstract": r["abstract"],
                "labels": r["labels"],
                "categories": r["categories"],
            }
            for r in map(_decode_paper, rows)
        ]

    def add_category(
        self, slug: str, description: str = "", *, now: str | datetime | None = None
    ) -> dict[str, Any]:
        """Add a user-defined category, or re-describe one (an empty `description` keeps the
        one it has)."""
        slug = (slug or "").strip()
        if not _SLUG_RE.match(slug) or len(slug) > 63:
            raise StoreError(
                f"category {slug!r}: use lower-case letters, digits and single hyphens, "
                "starting with a letter (e.g. federated-tuning), at most 63 characters"
            )
        if slug in DEFAULT_SLUGS:
            raise StoreError(f"category {slug!r} is already in the taxonomy")
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            conn.execute(
                "INSERT INTO categories (slug, description, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET description = CASE "
                "WHEN excluded.description = '' THEN categories.description "
                "ELSE excluded.description END",
                (slug, description or "", when),
            )
        return self._rows("SELECT * FROM categories WHERE slug = ?", (slug,))[0]

    def list_categories(self) -> list[dict[str, Any]]:
        """User-defined categories, oldest first."""
        return self._rows("SELECT * FROM categories ORDER BY created_at, slug")

    # -- digests

    def papers_for_digest(
        self,
        since: str | datetime | date | None = None,
        *,
        include_shown: bool = False,
        category: str | Sequence[str] | None = None,
        limit: int | None = None,
        unread: bool = False,
    ) -> list[dict[str, Any]]:
        """Canonical papers first seen at or after `since` (None: no bound), newest first,
        leaving out papers already shown in a digest unless `include_shown` (and the papers
        marked read when `unread`). Each carries `duplicates`: its linked papers (id, title,
        url, source, dup_reason, dup_score)."""
        where, params = self._filters(
            category=category, since=since, include_duplicates=False, unread=unread
        )
        if not include_shown:
            where.append("p.shown_in_digest IS NULL")
        sql = f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE {' AND '.join(where)}"
        sql += f" ORDER BY {_NEWEST_FIRST}"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        papers = [_decode_paper(r) for r in self._rows(sql, params)]
        by_id = {p["id"]: p for p in papers}
        for paper in papers:
            paper["duplicates"] = []
        if by_id:
            for dup in self._rows(
                "SELECT id, title, url, source, duplicate_of, dup_reason, dup_score FROM papers "
                "WHERE duplicate_of IN (SELECT value FROM json_each(?)) "
                "ORDER BY first_seen, rowid",
                (_dumps(list(by_id)),),
            ):
                by_id[dup["duplicate_of"]]["duplicates"].append(dup)
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
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            digest_id = conn.execute(
                "INSERT INTO digests (at, since, count) VALUES (?, ?, ?)",
                (when, normalize_timestamp(since) if since is not None else None, len(ids)),
            ).lastrowid
            conn.execute(
                """UPDATE papers SET shown_in_digest = ?
                WHERE shown_in_digest IS NULL AND (id IN (SELECT value FROM json_each(?))
                    OR duplicate_of IN (SELECT value FROM json_each(?)))""",
                (digest_id, _dumps(ids), _dumps(ids)),
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

    # -- runs

    def start_run(self, command: str = "", *, now: str | datetime | None = None) -> int:
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            run_id = conn.execute(
                "INSERT INTO runs (command, pid, started_at) VALUES (?, ?, ?)",
                (command, os.getpid(), when),
            ).lastrowid
        assert run_id is not None
        return int(run_id)

    def finish_run(
        self,
        run_id: int,
        status: str,
        summary: Mapping[str, Any] | None = None,
        *,
        now: str | datetime | None = None,
    ) -> None:
        when = normalize_timestamp(now) if now else utc_now()
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (when, status, _dumps(dict(summary)) if summary is not None else None, run_id),
            )

    def last_run(self, command: str | None = None) -> dict[str, Any] | None:
        sql = "SELECT * FROM runs"
        params: tuple[Any, ...] = ()
        if command is not None:
            sql += " WHERE command = ?"
            params = (command,)
        rows = self._rows(sql + " ORDER BY id DESC LIMIT 1", params)
        if not rows:
            return None
        rows[0]["summary"] = _loads(rows[0]["summary"], None)
        return rows[0]

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def run_lock(self, *, timeout: float | None = 0.0, command: str = "") -> Iterator[None]:
        """A whole-run lock (an OS file lock on `<db>.lock`, released by the OS even when the
        process is killed). timeout 0: fail at once; None: wait as long as it takes.
        Raises RunLockedError naming the holder when it cannot be had in time."""
        if self.memory:
            yield
            return
        handle = self._open_lock()
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not _try_lock(handle, blocking=deadline is None):
                if deadline is not None and time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = _one_line(handle.read(200)) or "unknown"
                    raise RunLockedError(
                        f"another adapt-triage run holds {self.lock_path} ({holder}); "
                        "try again when it has finished"
                    )
                time.sleep(0.1)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {utc_now()} {command}".strip())
            handle.flush()
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    handle.seek(0)
                    handle.truncate()
                    handle.flush()
                _unlock(handle)
        finally:
            handle.close()

    def _open_lock(self) -> Any:
        """The lock file, opened without following a symbolic link (O_NOFOLLOW), created
        0600 if missing, and refused unless it is a regular file with one link owned by
        this user: a planted link can never make a run truncate someone else's file."""
        path = self.lock_path
        flags = os.O_RDWR | os.O_CREAT
        for name in ("O_NOFOLLOW", "O_CLOEXEC", "O_NONBLOCK"):
            flags |= getattr(os, name, 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            if path.is_symlink():
                raise LockFileError(
                    f"{path} is a symbolic link; adapt-triage will not follow it (remove it "
                    "if you did not make it)"
                ) from None
            raise StoreError(f"{path}: cannot open the run lock: {exc.strerror or exc}") from None
        try:
            info = os.fstat(fd)
            problem = None
            if not stat.S_ISREG(info.st_mode):
                problem = "is not a regular file"
            elif hasattr(os, "geteuid") and info.st_uid != os.geteuid():
                problem = f"is owned by another user (uid {info.st_uid})"
            elif info.st_nlink > 1:
                problem = f"has {info.st_nlink} hard links"
            if problem:
                raise LockFileError(
                    f"{path} {problem}; adapt-triage will not use it as its run lock "
                    "(remove it if you did not make it)"
                )
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            return os.fdopen(fd, "r+", encoding="utf-8")
        except BaseException:
            os.close(fd)
            raise


def _try_lock(handle: Any, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _unlock(handle: Any) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
