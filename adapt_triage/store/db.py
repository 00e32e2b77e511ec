"""The connection: WAL, busy timeout, the integrity check at open, the write transaction,
and the mapping of SQLite failures to named one-line errors."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from adapt_triage.dates import iso, now_utc, stored_iso
from adapt_triage.paper import collapse_whitespace
from adapt_triage.paths import default_db_path
from adapt_triage.store.errors import CorruptDatabaseError, StorageError, StoreError
from adapt_triage.store.migrate import migrate, owned_migrations
from adapt_triage.stored import loads  # noqa: F401  (re-exported for the store's modules)

if TYPE_CHECKING:
    from sqlite_utils import Database
    from typing_extensions import Self

    from adapt_triage.dedup import DedupIndex

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another writer before giving up
# The connection's page cache (KiB, as SQLite's negative cache_size): enough for the hot
# pages of the indexes an ingest writes at random (ids, the duplicate index's recent keys),
# small enough for the flat-memory bar. WAL with synchronous=NORMAL: a commit is atomic
# and never corrupts the file; only the last commits before a power cut can be lost (an
# interrupted source is re-ingested whole).
CACHE_KIB = 32 * 1024
# The page size of a new database (an existing file keeps its own): a paper's row is about
# 2 KB, so 4 KiB pages held one row and left half of the page empty. 8 KiB pages hold
# three or four (the papers table 3.26 -> 2.55 KB a paper, ingest CPU the same); 16 KiB
# would save 0.2 KB more, but an empty database would be 0.8 MB and its WAL 1.7 MB.
PAGE_SIZE = 8192
_CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_CORRUPT_TEXT = ("malformed", "file is not a database", "database corruption")


def is_corruption(exc: BaseException) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if any(name.startswith(code) for code in _CORRUPT_CODES):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(t in text for t in _CORRUPT_TEXT)


def corrupt_error(path: Any, detail: Any) -> CorruptDatabaseError:
    detail = collapse_whitespace(str(detail))
    return CorruptDatabaseError(
        f"{path}: the database is damaged ({detail}); restore it from a backup, "
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
    return StorageError(f"{path}: {doing}: {cause} ({collapse_whitespace(str(exc))})")


def utc_now() -> str:
    """Second-precision ISO 8601 in UTC, e.g. 2026-11-30T15:38:31+00:00."""
    return iso(now_utc())


def normalize_timestamp(value: str | datetime | date) -> str:
    """A timestamp as stored (see `dates.stored_iso`); StoreError on text that is not ISO 8601."""
    try:
        return stored_iso(value)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def stamp(now: str | datetime | None = None) -> str:
    """The time a write records: `now` as stored, or the current time."""
    return normalize_timestamp(now) if now else utc_now()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class LazyDatabase:
    """The store's `db`: the connection (`.conn`, `.close`) at once, and sqlite-utils'
    `Database` over the same connection only when something asks for more (`execute`,
    which commits a write by itself; a migration; the duplicate index's `atomic()`; a table
    object). The commands that only read use the connection alone, so they never import
    sqlite-utils (which imports numpy, click and pluggy: about 70 ms of a cold start)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._full: Database | None = None

    @property
    def full(self) -> Database:
        """sqlite-utils' Database over this connection (made once, on first use)."""
        if self._full is None:
            from sqlite_utils import Database

            self._full = Database(self.conn, execute_plugins=False)
        return self._full

    def close(self) -> None:
        self.conn.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full, name)

    def __getitem__(self, name: str) -> Any:
        return self.full[name]


def current_schema(conn: sqlite3.Connection) -> bool:
    """True when every migration this version knows is applied and none it does not know:
    one read of `_migrations`, no sqlite-utils. Anything else (a new file, a pending
    migration, a newer database) goes through `migrate`, which applies or refuses."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone() is None:
        return False
    applied = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    return applied == {name for name, _ in owned_migrations()}


def pending_upgrade(conn: sqlite3.Connection) -> list[str]:
    """The migrations an existing database still needs (none for a new file, whose
    creation is not an upgrade, nor for a newer database, which `migrate` refuses)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone() is None:
        return []
    applied = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    known = [name for name, _ in owned_migrations()]
    if not applied or applied - set(known):
        return []
    return [name for name in known if name not in applied]


class StoreBase:
    """The adapt-triage database. `Store(path)` or `Store.open(path)`; path None means
    `default_db_path()`; ":memory:" works for throwaway use."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        on_upgrade: Callable[[str], None] | None = None,
    ) -> None:
        """`on_upgrade(message)` is called before an existing database is migrated to
        this version (a one-time step that takes minutes on a large history)."""
        self.path = Path(path) if path is not None else default_db_path()
        self.memory = str(path) == ":memory:"
        self.busy_timeout = busy_timeout
        where = str(self.path)
        self._on_upgrade = on_upgrade
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
            # As sqlite-utils' Database sets it, so that a store reads and writes alike
            # whether or not sqlite-utils was loaded.
            conn.execute("PRAGMA recursive_triggers = ON")
            self.conn = conn
            self.db: Database = cast("Database", LazyDatabase(conn))
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE:d}")  # a new file only; before WAL
            self._set_wal()
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
            if not self.memory:
                conn.execute("PRAGMA synchronous = NORMAL")
            self._quick_check_if_changed()
            if not current_schema(conn):
                if on_upgrade is not None and (pending := pending_upgrade(conn)):
                    on_upgrade(
                        f"{where}: upgrading the database for this version of adapt-triage "
                        f"({len(pending)} step{'s' if len(pending) > 1 else ''}, once; "
                        "a large history takes a few minutes)"
                    )
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
    def open(cls, path: str | Path | None = None, **kwargs: Any) -> Self:
        return cls(path, **kwargs)

    def dedup_index(self) -> DedupIndex:
        """The duplicate index of this database; a rebuild of its keys for a new version
        is announced through `on_upgrade`, as a migration is."""
        from adapt_triage.dedup import DedupIndex

        note = self._on_upgrade
        where = str(self.path)
        return DedupIndex(
            self.db,
            on_upgrade=None if note is None else lambda message: note(f"{where}: {message}"),
        )

    def __enter__(self) -> Self:
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
            if suffix and not info.st_size:
                parts.append("-")  # an empty WAL (opening made one) holds nothing: as none
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
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

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
