"""Where one source's resolved papers wait until the whole source is stored.

An ingest writes its decisions into TEMP tables (`stage_papers`, `stage_versions`,
`stage_sources`: private to the connection, gone with the process) and folds them into
`papers`, `versions` and `paper_sources` with a few INSERT ... SELECT / UPDATE ... FROM
statements in the source's last transaction. Lookups read a staged row before the stored
one, so a later paper of the same source sees what an earlier one decided.

The duplicate index's own tables are written in each chunk's transaction; the papers whose
index entries were written but not yet folded are listed in `ingest_pending` (a real table,
committed with each chunk, emptied by the fold). A run killed between two chunks leaves
those rows behind; the next ingest undoes their index entries first (`discard_stale`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from adapt_triage.store.queries import decode_paper, row_to_paper

_TABLES = (
    # (temp table, stored table, its unique key)
    ("stage_papers", "papers", "id"),
    ("stage_versions", "versions", "paper_id, version"),
    ("stage_sources", "paper_sources", "paper_id, source"),
)


class Staging:
    """The staged decisions of the source being ingested, on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.changed: set[str] = set()  # papers columns some staged update sets
        for temp, table, key in _TABLES:
            extra = ", NULL AS _op, NULL AS _changes" if temp == "stage_papers" else ""
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {temp} AS "
                f"SELECT *{extra} FROM main.{table} WHERE 0"
            )
            conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS temp.{temp}_key ON {temp} ({key})")
        self.clear()

    def clear(self) -> None:
        for temp, _, _ in _TABLES:
            self.conn.execute(f"DELETE FROM temp.{temp}")
        self.changed.clear()

    # -- lookups: a staged row first, then the stored one

    def paper_row(self, pid: str) -> dict[str, Any] | None:
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        staged = cursor.execute("SELECT * FROM temp.stage_papers WHERE id = ?", (pid,)).fetchone()
        if staged is None:
            staged = cursor.execute("SELECT * FROM main.papers WHERE id = ?", (pid,)).fetchone()
        return None if staged is None else dict(staged)

    def carried(self, pid: str, source: str) -> bool:
        sql = "SELECT 1 FROM {} WHERE paper_id = ? AND source = ?"
        return any(
            self.conn.execute(sql.format(t), (pid, source)).fetchone()
            for t in ("temp.stage_sources", "main.paper_sources")
        )

    def versions(self, pid: str) -> frozenset[int]:
        rows = self.conn.execute(
            "SELECT version FROM temp.stage_versions WHERE paper_id = ? "
            "UNION SELECT version FROM main.versions WHERE paper_id = ?",
            (pid, pid),
        )
        return frozenset(v for (v,) in rows)

    # -- writes

    def insert_paper(self, values: Mapping[str, Any]) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.conn.execute(
            f"INSERT INTO temp.stage_papers ({cols}, _op) VALUES ({marks}, 'insert')",
            tuple(values.values()),
        )

    def update_paper(self, pid: str, changes: Mapping[str, Any]) -> None:
        """Stage new values for a known paper's columns (a staged row is changed in place)."""
        row = self.conn.execute(
            "SELECT _op, _changes FROM temp.stage_papers WHERE id = ?", (pid,)
        ).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO temp.stage_papers SELECT *, 'update', '{}' FROM main.papers "
                "WHERE id = ?",
                (pid,),
            )
            row = ("update", "{}")
        if row[0] == "update":
            keys = {**json.loads(row[1]), **dict.fromkeys(changes, True)}
            self.conn.execute(
                "UPDATE temp.stage_papers SET _changes = ? WHERE id = ?", (json.dumps(keys), pid)
            )
            self.changed.update(changes)
        assignments = ", ".join(f"{col} = ?" for col in changes)
        self.conn.execute(
            f"UPDATE temp.stage_papers SET {assignments} WHERE id = ?", (*changes.values(), pid)
        )

    def add_version(self, values: Mapping[str, Any]) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.conn.execute(
            f"INSERT OR IGNORE INTO temp.stage_versions ({cols}) VALUES ({marks})",
            tuple(values.values()),
        )

    def add_source(self, pid: str, source: str, when: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO temp.stage_sources (paper_id, source, first_seen) "
            "VALUES (?, ?, ?)",
            (pid, source, when),
        )

    @staticmethod
    def pending(conn: sqlite3.Connection, pid: str, existed: bool) -> None:
        """Note a paper whose duplicate-index entry this ingest wrote before its fold."""
        conn.execute(
            "INSERT OR IGNORE INTO ingest_pending (paper_id, existed) VALUES (?, ?)",
            (pid, int(existed)),
        )

    # -- the fold

    def fold(self) -> None:
        """Move every staged decision into the stored tables (in the caller's transaction)."""
        conn = self.conn
        cols = [r[1] for r in conn.execute("PRAGMA main.table_info(papers)")]
        listed = ", ".join(cols)
        conn.execute(
            f"INSERT INTO main.papers ({listed}) SELECT {listed} FROM temp.stage_papers "
            "WHERE _op = 'insert' ORDER BY rowid"
        )
        if self.changed:
            sets = ", ".join(
                f"{col} = CASE WHEN json_type(s._changes, '$.{col}') IS NULL "
                f"THEN papers.{col} ELSE s.{col} END"
                for col in sorted(self.changed)
            )
            conn.execute(
                f"UPDATE main.papers SET {sets} FROM temp.stage_papers AS s "
                "WHERE s.id = papers.id AND s._op = 'update'"
            )
        for temp, table, _ in _TABLES[1:]:
            conn.execute(
                f"INSERT OR IGNORE INTO main.{table} SELECT * FROM temp.{temp} ORDER BY rowid"
            )
        conn.execute("DELETE FROM ingest_pending")
        self.clear()


def discard_stale(conn: sqlite3.Connection, index: Callable[[], Any]) -> int:
    """Undo the duplicate-index entries of papers an interrupted ingest never stored (and
    restore the stored text of those it had re-indexed), through the index `index()`
    returns. Returns how many were undone."""
    pending = conn.execute("SELECT paper_id FROM ingest_pending ORDER BY rowid").fetchall()
    if not pending:
        return 0
    dedup = index()
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    for (pid,) in pending:
        row = cursor.execute("SELECT * FROM main.papers WHERE id = ?", (pid,)).fetchone()
        if row is not None:
            paper = row_to_paper(decode_paper(dict(row)))
            dedup.add(pid, paper, canonical_id=row["duplicate_of"])
        else:
            dedup.remove(pid)
    conn.execute("DELETE FROM ingest_pending")
    return len(pending)
