"""Read and starred states of stored papers (`mark`, `open`), kept in `paper_marks`.

A paper is unread and not starred until the user says otherwise; `open` marks it read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from adapt_triage.store import PaperNotFoundError, normalize_timestamp, utc_now

if TYPE_CHECKING:
    from adapt_triage.store import Store


@dataclass
class Marks:
    paper_id: str
    read_at: str | None = None
    starred_at: str | None = None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    @property
    def starred(self) -> bool:
        return self.starred_at is not None


def require_id(store: Store, ref: str) -> str:
    """The stored id `ref` means (see `Store.resolve_id`); PaperNotFoundError when none."""
    pid = store.resolve_id(ref)
    if pid is None:
        raise PaperNotFoundError(f"no stored paper matches {ref!r}")
    return pid


def get_marks(store: Store, ref: str) -> Marks:
    pid = require_id(store, ref)
    row = store.db.conn.execute(
        "SELECT read_at, starred_at FROM paper_marks WHERE paper_id = ?", (pid,)
    ).fetchone()
    return Marks(pid, *row) if row else Marks(pid)


def set_marks(
    store: Store,
    ref: str,
    *,
    read: bool | None = None,
    starred: bool | None = None,
    now: str | datetime | None = None,
) -> Marks:
    """Set (True), clear (False) or keep (None) a paper's read and starred states.
    Setting a state that is already set keeps its first time."""
    pid = require_id(store, ref)
    when = normalize_timestamp(now) if now else utc_now()
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO paper_marks (paper_id) VALUES (?)", (pid,))
        for column, wanted in (("read_at", read), ("starred_at", starred)):
            if wanted is True:
                conn.execute(
                    f"UPDATE paper_marks SET {column} = COALESCE({column}, ?) WHERE paper_id = ?",
                    (when, pid),
                )
            elif wanted is False:
                conn.execute(f"UPDATE paper_marks SET {column} = NULL WHERE paper_id = ?", (pid,))
    return get_marks(store, pid)


def has_display() -> bool:
    """Whether a browser can be shown: always on macOS and Windows; on other systems only
    with an X11 or Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open `url` with `webbrowser` when there is a display; False when it could not be
    opened (the caller prints the URL instead)."""
    if not has_display():
        return False
    import webbrowser

    try:
        return bool(webbrowser.open(url))
    except webbrowser.Error:
        return False
