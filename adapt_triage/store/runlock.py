"""The whole-run lock: an OS file lock on `<db>.lock`, released by the OS even when the
process is killed. Ingests (and other long writers) are serialized by it."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapt_triage.paper import collapse_whitespace
from adapt_triage.store.db import StoreBase, utc_now
from adapt_triage.store.errors import LockFileError, RunLockedError, StoreError


class RunLockMixin(StoreBase):
    """`with store.run_lock(): ...`"""

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
                    holder = collapse_whitespace(handle.read(200)) or "unknown"
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
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _unlock(handle: Any) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
