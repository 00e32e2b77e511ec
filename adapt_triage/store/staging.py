"""Where one source's resolved papers wait until the whole source is stored.

An ingest writes its decisions into TEMP tables (`stage_papers`, `stage_versions`,
`stage_sources`: private to the connection, gone with the process) and folds them into
`papers`, `versions` and `paper_sources` with a few INSERT ... SELECT / UPDATE ... FROM
statements in the source's last transaction.

Per chunk of papers, `Staging.load` reads what is staged or stored for the chunk's ids in one
`IN (...)` lookup per table; the decisions update those `Entry` objects in memory (so a
later paper of the chunk, or of a later chunk, sees what an earlier one decided), and
`Staging.flush` writes the chunk with one `executemany` per table.

The duplicate index's own tables are written in each chunk's transaction; the papers whose
index entries were written but not yet folded are listed in `ingest_pending` (a real table,
committed with each chunk, emptied by the fold). A run killed between two chunks leaves
those rows behind; the next ingest undoes their index entries first (`discard_stale`).

`versions` keeps what changed: a version's title or abstract is NULL while it equals the
paper's current text (the `version_texts` view shows it whole); the fold writes the old text
into those rows before it changes a paper's title or abstract.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapt_triage.scorepack import SCORE_KEYS_SQL, ScoreKeys
from adapt_triage.store.migrations import paper_source_sql
from adapt_triage.store.queries import decode_paper, row_to_paper

_TABLES = (
    # (temp table, stored table, its unique key)
    ("stage_papers", "papers", "id"),
    ("stage_versions", "versions", "paper_id, version"),
    ("stage_sources", "paper_sources", "paper_id, source"),
)
_IDS = "(SELECT value FROM json_each(?))"


@dataclass
class Entry:
    """One paper id as this ingest sees it: its row (staged, else stored), whether the
    source carried it, its version numbers; `op` is how the row is staged ('insert' for a
    new paper, 'update' for a stored one with `changes`, None when not staged)."""

    row: dict[str, Any]
    carried: bool = False
    versions: set[int] = field(default_factory=set)
    op: str | None = None
    changes: set[str] = field(default_factory=set)
    dirty: bool = False


class Staging:
    """The staged decisions of the source being ingested, on one connection."""

    def __init__(self, conn: sqlite3.Connection, source: str) -> None:
        self.conn = conn
        self.source = source
        self.changed: set[str] = set()  # papers columns some staged update sets
        self.entries: dict[str, Entry | None] = {}  # None: known to be neither staged nor stored
        self._versions: list[tuple] = []
        self._version_columns: tuple[str, ...] = ()
        self._sources: list[tuple] = []
        self._pending: list[tuple[str, int]] = []
        for temp, table, key in _TABLES:
            extra = ", NULL AS _op, NULL AS _changes" if temp == "stage_papers" else ""
            listed = "paper_id, source, first_seen" if temp == "stage_sources" else "*"
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {temp} AS "
                f"SELECT {listed}{extra} FROM main.{table} WHERE 0"
            )
            conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS temp.{temp}_key ON {temp} ({key})")
        self.columns = [r[1] for r in conn.execute("PRAGMA main.table_info(papers)")]
        self.score_keys = ScoreKeys(conn)  # the source's score lists (see scorepack)
        self.clear()

    def scores_text(self, scores: Mapping[str, Any] | None) -> str:
        """A paper's scores as `papers.model_scores` stores them."""
        return self.score_keys.text(scores)

    def clear(self) -> None:
        for temp, _, _ in _TABLES:
            self.conn.execute(f"DELETE FROM temp.{temp}")
        self.changed.clear()
        self.entries.clear()

    # -- lookups: a staged row first, then the stored one

    def load(self, pids: Iterable[str]) -> None:
        """Read the entries of these ids (those not read yet), one lookup per table."""
        todo = sorted({p for p in pids if p not in self.entries})
        if not todo:
            return
        ids = json.dumps(todo)
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        found: dict[str, Entry] = {}
        for row in cursor.execute(f"SELECT * FROM temp.stage_papers WHERE id IN {_IDS}", (ids,)):
            data = dict(row)
            op, changes = data.pop("_op"), data.pop("_changes")
            found[data["id"]] = Entry(data, op=op, changes=set(json.loads(changes or "{}")))
        stored_versions: dict[str, int] = {}
        for row in cursor.execute(f"SELECT * FROM main.papers WHERE id IN {_IDS}", (ids,)):
            found.setdefault(row["id"], Entry(dict(row)))
            # the version a paper holds is known, stored in `versions` or not (m015)
            stored_versions[row["id"]] = row["version"] or 0
        for pid, version in stored_versions.items():
            found[pid].versions.add(version)
        for (pid,) in self.conn.execute(
            "SELECT paper_id FROM temp.stage_sources WHERE source = ?1 "
            "AND paper_id IN (SELECT value FROM json_each(?2)) "
            "UNION SELECT paper_id FROM main.paper_source_ids WHERE source_id = "
            "(SELECT id FROM main.source_keys WHERE source = ?1) "
            "AND paper_id IN (SELECT value FROM json_each(?2)) "
            # a paper's own source, which has no row there (m016)
            "UNION SELECT id FROM main.papers WHERE source_id = "
            "(SELECT id FROM main.source_keys WHERE source = ?1) "
            "AND id IN (SELECT value FROM json_each(?2))",
            (self.source, ids),
        ):
            if pid in found:
                found[pid].carried = True
        for pid, version in self.conn.execute(
            f"SELECT paper_id, version FROM temp.stage_versions WHERE paper_id IN {_IDS} "
            f"UNION SELECT paper_id, version FROM main.versions WHERE paper_id IN {_IDS}",
            (ids, ids),
        ):
            if pid in found:
                found[pid].versions.add(version)
        for pid in todo:
            self.entries[pid] = found.get(pid)

    def get(self, pid: str) -> Entry | None:
        if pid not in self.entries:
            self.load([pid])
        return self.entries[pid]

    # -- decisions, in memory until `flush`

    def insert_paper(self, values: Mapping[str, Any]) -> Entry:
        entry = Entry(dict(values), op="insert", dirty=True)
        self.entries.pop(entry.row["id"], None)  # staged in input order
        self.entries[entry.row["id"]] = entry
        return entry

    def update_paper(self, pid: str, changes: Mapping[str, Any]) -> None:
        """Stage new values for a known paper's columns (`model_scores` as a JSON object,
        stored packed)."""
        if "model_scores" in changes:
            scores = json.loads(changes["model_scores"] or "{}")
            changes = {**changes, "model_scores": self.scores_text(scores)}
        entry = self.entries[pid]
        assert entry is not None
        if entry.op is None:
            entry.op = "update"
        if entry.op == "update":
            entry.changes.update(changes)
            self.changed.update(changes)
        entry.row.update(changes)
        entry.dirty = True

    def add_version(self, values: Mapping[str, Any]) -> None:
        entry = self.entries[values["paper_id"]]
        assert entry is not None
        if values["version"] not in entry.versions:
            entry.versions.add(values["version"])
            self._versions.append(tuple(values.values()))
            self._version_columns = tuple(values)

    def add_source(self, pid: str, source: str, when: str) -> None:
        entry = self.entries[pid]
        assert entry is not None
        if not entry.carried:
            entry.carried = True
            self._sources.append((pid, source, when))

    def pending(self, pid: str, existed: bool, *, now: bool = False) -> None:
        """Note a paper whose duplicate-index entry this ingest writes before its fold
        (with the chunk's flush, or `now`: before a per-paper index writes it)."""
        if now:
            self.conn.execute(
                "INSERT OR IGNORE INTO ingest_pending (paper_id, existed) VALUES (?, ?)",
                (pid, int(existed)),
            )
        else:
            self._pending.append((pid, int(existed)))

    def flush(self) -> None:
        """Write the chunk's decisions into the staging tables (one statement a table)."""
        conn = self.conn
        dirty = [e for e in self.entries.values() if e is not None and e.dirty]
        if dirty:
            cols = self.columns
            listed = ", ".join([*cols, "_op", "_changes"])
            sets = ", ".join(f"{c} = excluded.{c}" for c in [*cols[1:], "_op", "_changes"])
            conn.executemany(
                f"INSERT INTO temp.stage_papers ({listed}) VALUES "
                f"({', '.join('?' * (len(cols) + 2))}) ON CONFLICT (id) DO UPDATE SET {sets}",
                [
                    (
                        *(e.row.get(c) for c in cols),
                        e.op,
                        json.dumps(dict.fromkeys(sorted(e.changes), True))
                        if e.op == "update"
                        else None,
                    )
                    for e in dirty
                ],
            )
            for e in dirty:
                e.dirty = False
        if self._versions:
            names = ", ".join(self._version_columns)
            conn.executemany(
                f"INSERT OR IGNORE INTO temp.stage_versions ({names}) "
                f"VALUES ({', '.join('?' * len(self._version_columns))})",
                self._versions,
            )
        if self._sources:
            conn.executemany(
                "INSERT OR IGNORE INTO temp.stage_sources (paper_id, source, first_seen) "
                "VALUES (?, ?, ?)",
                self._sources,
            )
        if self._pending:
            conn.executemany(
                "INSERT OR IGNORE INTO ingest_pending (paper_id, existed) VALUES (?, ?)",
                self._pending,
            )
        self._versions, self._sources, self._pending = [], [], []

    def forget(self) -> None:
        """Drop the in-memory entries (after a flush): the tables hold them."""
        self.entries.clear()

    # -- the fold

    def fold(self) -> None:
        """Move every staged decision into the stored tables (in the caller's transaction)."""
        self.flush()
        conn = self.conn
        # a new paper names its source by id (m014): '' in `source`
        conn.execute(
            "INSERT OR IGNORE INTO main.source_keys (source) "
            "SELECT DISTINCT source FROM temp.stage_papers WHERE _op = 'insert'"
        )
        values = {
            "source": "''",
            "source_id": "(SELECT k.id FROM main.source_keys k WHERE k.source = s.source)",
        }
        conn.execute(
            f"INSERT INTO main.papers ({', '.join(self.columns)}) "
            f"SELECT {', '.join(values.get(c, f's.{c}') for c in self.columns)} "
            "FROM temp.stage_papers s WHERE s._op = 'insert' ORDER BY s.rowid"
        )
        if self.changed:
            if self.changed & _VERSION_FIELDS:
                _keep_arrival_versions(conn)
            if self.changed & {"title", "abstract"}:
                _keep_old_text(conn)
            sets = ", ".join(
                f"{col} = CASE WHEN json_type(s._changes, '$.{col}') IS NULL "
                f"THEN papers.{col} ELSE s.{col} END"
                for col in sorted(self.changed)
            )
            conn.execute(
                f"UPDATE main.papers SET {sets} FROM temp.stage_papers AS s "
                "WHERE s.id = papers.id AND s._op = 'update'"
            )
        # a version's text is kept only where it differs from the paper's current text,
        # its source and time where they differ from the paper's (see m012)
        conn.execute(
            "INSERT OR IGNORE INTO main.versions "
            "(paper_id, version, source, seen_at, title, abstract, updated, announce_type) "
            f"SELECT v.paper_id, v.version, NULLIF(v.source, {paper_source_sql('p')}), "
            "NULLIF(v.seen_at, p.first_seen), "
            "NULLIF(v.title, p.title), NULLIF(v.abstract, p.abstract), v.updated, "
            "v.announce_type FROM temp.stage_versions v JOIN main.papers p ON p.id = v.paper_id "
            # nor a row of the version the paper holds that says nothing more (m015)
            "WHERE NOT (v.version = coalesce(p.version, 0) AND v.source IS "
            f"{paper_source_sql('p')} AND v.seen_at IS p.first_seen AND v.title IS p.title "
            "AND v.abstract IS p.abstract AND v.updated IS p.updated "
            "AND v.announce_type IS p.announce_type) "
            "ORDER BY v.rowid"
        )
        # paper_sources is a view: its rows name the source by id (see m011)
        conn.execute(
            "INSERT OR IGNORE INTO main.source_keys (source) "
            "SELECT DISTINCT source FROM temp.stage_sources"
        )
        conn.execute(
            "INSERT OR IGNORE INTO main.paper_source_ids (paper_id, source_id, first_seen) "
            "SELECT s.paper_id, k.id, NULLIF(s.first_seen, p.first_seen) "
            "FROM temp.stage_sources s JOIN main.source_keys k ON k.source = s.source "
            "LEFT JOIN main.papers p ON p.id = s.paper_id "
            "WHERE p.source_id IS NOT k.id "  # a paper's own source: no row (m016)
            "ORDER BY s.rowid"
        )
        conn.execute("DELETE FROM ingest_pending")
        self.clear()


# The fields of a paper that its arrival version's row (m015) reads from it.
_VERSION_FIELDS = {"version", "title", "abstract", "updated", "announce_type"}


def _keep_arrival_versions(conn: sqlite3.Connection) -> None:
    """Before papers' version, text, updated or announce type change: the row of the
    version each holds, which `versions` does not store while the paper says it all
    (m015), is written out as it reads now (source, time and text NULL: the paper's)."""
    changed = " OR ".join(
        f"json_type(s._changes, '$.{col}') IS NOT NULL" for col in _VERSION_FIELDS
    )
    conn.execute(
        "INSERT OR IGNORE INTO main.versions (paper_id, version, updated, announce_type) "
        "SELECT p.id, coalesce(p.version, 0), p.updated, p.announce_type "
        # CROSS JOIN: the staged rows drive the join (the planner would otherwise walk every
        # stored paper's id, 0.15 s of a day's batch at a million papers)
        "FROM temp.stage_papers s CROSS JOIN main.papers p ON p.id = s.id "
        f"WHERE s._op = 'update' AND ({changed}) ORDER BY p.id"
    )


def _keep_old_text(conn: sqlite3.Connection) -> None:
    """Before papers' title or abstract change: their versions that share the current text
    (NULL) get it written out."""
    kept = ", ".join(
        f"{col} = CASE WHEN json_type(s._changes, '$.{col}') IS NULL THEN versions.{col} "
        f"ELSE coalesce(versions.{col}, p.{col}) END"
        for col in ("title", "abstract")
    )
    conn.execute(
        f"UPDATE main.versions SET {kept} FROM main.papers p, temp.stage_papers s "
        "WHERE p.id = versions.paper_id AND s.id = p.id AND s._op = 'update' "
        "AND (versions.title IS NULL OR versions.abstract IS NULL)"
    )


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
        row = cursor.execute(
            f"SELECT p.*, {SCORE_KEYS_SQL} AS _score_keys, {paper_source_sql('p')} AS _source "
            "FROM main.papers p WHERE p.id = ?",
            (pid,),
        ).fetchone()
        if row is not None:
            paper = row_to_paper(decode_paper(dict(row)))
            dedup.add(pid, paper, canonical_id=row["duplicate_of"])
        else:
            dedup.remove(pid)
    conn.execute("DELETE FROM ingest_pending")
    return len(pending)
