"""The store's errors: each `str(e)` is one line fit for the user."""

from __future__ import annotations


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
