"""Applying the named migrations (`store/migrations.py` defines them): each in its own
`BEGIN IMMEDIATE` transaction, recorded in `_migrations`, so two processes opening a new
file do not race; a database with a name this version does not know is refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from adapt_triage.dates import iso, now_utc
from adapt_triage.store import migrations as schema
from adapt_triage.store.errors import SchemaTooNewError, StoreError
from adapt_triage.store.migrations import Migration

if TYPE_CHECKING:
    from sqlite_utils import Database


def owned_migrations() -> list[tuple[str, Migration]]:
    """Every owner's migrations as (recorded name, function), the store's first."""
    from adapt_triage import dedup_migrations

    named = [(fn.__name__, fn) for fn in schema.MIGRATIONS]
    named += [(f"dedup:{fn.__name__}", fn) for fn in dedup_migrations.MIGRATIONS]
    return named


def applied_migrations(db: Database) -> list[str]:
    if not db["_migrations"].exists():
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def _check_not_newer(applied: Iterable[str], path: str) -> None:
    known = {name for name, _ in owned_migrations()}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaTooNewError(
            f"{path}: the database was written by a newer adapt-triage (schema has "
            f"{', '.join(unknown)}); upgrade adapt-triage to use it"
        )


def migrate(db: Database, *, upto: int | None = None, path: str = "database") -> list[str]:
    """Apply the migrations not yet applied (only the first `upto` of the store's, if
    given), each in its own `BEGIN IMMEDIATE` transaction, so two processes opening a new
    file do not race. Returns the names applied now. Raises SchemaTooNewError for a newer
    database."""
    todo = owned_migrations() if upto is None else owned_migrations()[:upto]
    applied = applied_migrations(db)
    _check_not_newer(applied, path)
    done_now: list[str] = []
    for name, fn in todo:
        if name not in applied and _apply(db, name, fn, path):
            done_now.append(name)
    return done_now


def _apply(db: Database, name: str, fn: Migration, path: str) -> bool:
    """Apply one migration unless another process did it first; True when applied now."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        applied = applied_migrations(db)  # again, under the write lock
        _check_not_newer(applied, path)
        if name in applied:
            conn.execute("COMMIT")
            return False
        try:
            fn(db)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{path}: migration {name} failed, the database is left as it was: {exc}"
            ) from exc
        conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, _now()))
        own = sum(1 for done in [*applied, name] if ":" not in done)
        conn.execute(f"PRAGMA user_version = {own:d}")
        conn.execute("COMMIT")
        return True
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _now() -> str:
    return iso(now_utc())
