"""Where things live: the default database (no SQLite or sqlite-utils import needed to
know it, so commands that may not touch a database start fast)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DB_ENV", "default_db_path"]

DB_ENV = "ADAPT_TRIAGE_DB"


def default_db_path() -> Path:
    """`$ADAPT_TRIAGE_DB`, else `adapt-triage.db` in the user data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("adapt-triage") / "adapt-triage.db"
