"""The one error boundary of the command line: exit statuses, and the one-line message of
every known failure.

Commands raise (a `CommandError` from `fail`, a `StoreError` from the store, an `OSError`
from the terminal); they never pick an exit status by hand. `known_error` maps an
exception to its status and its line; the CLI's root group and `main` call it, nothing
else does. An exception it does not know stays "unexpected" (with ADAPT_TRIAGE_DEBUG for
the traceback).

Heavy modules (the store and sqlite-utils) are imported only when an error is mapped, so
`--help` stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """What `adapt-triage` exits with (README: "Exit status")."""

    OK = 0
    SOURCE_FAILED = 1  # a source could not be read or stored; the others were
    FAILED = 1  # a command failed: storage, the run lock, nothing matches (an alias of 1)
    USAGE = 2  # bad options or arguments: nothing was done
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class CommandError(Exception):
    """A command cannot go on: `str(e)` is its one line, `status` its exit status."""

    def __init__(self, message: str, status: ExitStatus = ExitStatus.FAILED) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KnownError:
    status: ExitStatus
    message: str  # one line, without the "adapt-triage: " prefix


@contextlib.contextmanager
def usage_errors(*kinds: str) -> Iterator[None]:
    """Within this block, the errors of `adapt_triage.store` named `kinds` (e.g.
    "FeedNameError", "StoreError" for all) are the user's input at fault: exit status 2,
    e.g. a category slug the store refuses. Storage faults (a full disk, a damaged or
    read-only file, the run lock) stay what they are, whatever `kinds` says. The store is
    imported only when an error is raised."""
    try:
        yield
    except Exception as exc:
        if _is_fault(exc) or not isinstance(exc, _store_errors(kinds)):
            raise
        raise CommandError(str(exc), ExitStatus.USAGE) from exc


def _store_errors(names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    from adapt_triage import store

    return tuple(getattr(store, name) for name in names)


def _is_fault(exc: BaseException) -> bool:
    from adapt_triage.store import (
        CorruptDatabaseError,
        LockFileError,
        RunLockedError,
        SchemaTooNewError,
        StorageError,
    )

    faults = (CorruptDatabaseError, LockFileError, RunLockedError, SchemaTooNewError)
    return isinstance(exc, (*faults, StorageError, OSError, sqlite3.Error))


# errno -> the cause of a failed write or read, in words.
_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file-size limit is reached",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EBADF: "it is closed",
    errno.EIO: "an I/O error",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def os_error_cause(exc: OSError) -> str:
    """Why a read or write failed, in words."""
    return _CAUSES.get(exc.errno or 0) or exc.strerror or str(exc)


def os_error(exc: OSError) -> KnownError:
    """A file (named by the error) or, for an error without a file name, stdout."""
    cause = os_error_cause(exc)
    if exc.filename is not None:
        return KnownError(ExitStatus.FAILED, f"{exc.filename}: {cause}")
    return KnownError(ExitStatus.FAILED, f"cannot write to stdout: {cause}")


def known_error(exc: BaseException, db_path: str | None = None) -> KnownError | None:
    """The status and the one line of a known failure, or None for a bug (and for a
    reader that went away, which is no error: BrokenPipeError)."""
    if isinstance(exc, CommandError):
        return KnownError(exc.status, str(exc))
    if isinstance(exc, BrokenPipeError):
        return None
    if isinstance(exc, OSError):
        return os_error(exc)
    if isinstance(exc, Exception):
        return _store_error(exc, db_path)
    return None


def _store_error(exc: Exception, db_path: str | None) -> KnownError | None:
    import sys

    if "adapt_triage.store" not in sys.modules and not isinstance(exc, sqlite3.Error):
        return None  # no store was opened: not one of its errors
    from adapt_triage.store import CorruptDatabaseError, SearchQueryError, StoreError, storage_error

    if isinstance(exc, sqlite3.Error):
        exc = storage_error(exc, db_path or "the database", "database error")
    if not isinstance(exc, StoreError):
        return None
    if isinstance(exc, CorruptDatabaseError) and db_path:
        # Found damaged after the open: the next run checks the whole file again.
        with contextlib.suppress(OSError):
            os.unlink(db_path + ".checked")
    status = ExitStatus.USAGE if isinstance(exc, SearchQueryError) else ExitStatus.FAILED
    return KnownError(status, read_only_directory(str(exc), db_path))


def read_only_directory(message: str, db_path: str | None) -> str:
    """SQLite says "unable to open database file" when it cannot create the journal (-wal,
    -shm) or the database itself: name a directory this user cannot write."""
    if not db_path or "unable to open database file" not in message:
        return message
    folder = Path(db_path).absolute().parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return (
            f"{db_path}: the directory {folder} is read-only: adapt-triage writes the "
            "database's journal (-wal, -shm) and its lock file beside it"
        )
    return message
