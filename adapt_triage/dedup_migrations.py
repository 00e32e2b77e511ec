"""The duplicate index's tables, as named migrations the store's runner applies after its
own (recorded as `dedup:<name>`). Kept apart from dedup.py so that opening a database,
which checks the migrations, does not import numpy; m002 imports dedup.py's hashing only
when it has an index of the first layout to convert."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable

import sqlite_utils


def m001_dedup_tables(db: sqlite_utils.Database) -> None:
    """The index's tables (IF NOT EXISTS: an index of an older layout is converted by
    m002). `dedup_docs.hashes` holds the abstract's uint64 token hashes (`_pack_hashes`), `stems`
    the sorted uint16 hashes of its content stems: verification reads them as they are."""
    for statement in (
        """CREATE TABLE IF NOT EXISTS dedup_docs (
            doc INTEGER PRIMARY KEY,
            paper_id TEXT NOT NULL UNIQUE,
            arxiv_id TEXT,
            doi TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            title TEXT NOT NULL DEFAULT '',
            hashes BLOB NOT NULL,
            stems BLOB NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS dedup_bands (
            band INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            doc INTEGER NOT NULL,
            PRIMARY KEY (band, bucket, doc)
        ) WITHOUT ROWID""",
        "CREATE TABLE IF NOT EXISTS dedup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # The user's decisions (`dedup link` / `dedup unlink`), one row per pair of paper
        # ids (a < b): they win over the rules and are never recomputed.
        """CREATE TABLE IF NOT EXISTS dedup_decisions (
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('link', 'unlink')),
            decided_at TEXT NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID""",
    ):
        db.execute(statement)


def m002_dedup_docs_token_hashes(db: sqlite_utils.Database) -> None:
    """Convert an index of the first layout (zlib-compressed abstract words and its own
    copy of the cluster root, `canonical_id`) to token hashes, its keys recomputed from
    the stored words; the root now lives in `papers.duplicate_of` only."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_docs)")}
    if "words" not in columns:
        return
    from adapt_triage.dedup import (
        _INSERT_DOC,
        _INSERT_KEYS,
        PARAMS_VERSION,
        _Doc,
        _doc_values,
        _key_rows,
        _keys_many,
        _stem_hashes,
        _token_hashes,
    )

    db.execute("DROP INDEX IF EXISTS dedup_docs_canonical")
    db.execute("ALTER TABLE dedup_docs RENAME TO dedup_docs_old")
    m001_dedup_tables(db)
    db.execute("DELETE FROM dedup_bands")
    cursor = db.conn.execute(
        "SELECT doc, paper_id, arxiv_id, doi, authors, title, words FROM dedup_docs_old"
    )
    while rows := cursor.fetchmany(1000):
        docs = []
        for _, _, arxiv_id, doi, authors, title, words in rows:
            text = zlib.decompress(words).decode("utf-8").split()
            docs.append(
                _Doc(
                    title=tuple(title.split()),
                    h=_token_hashes(text),
                    stems=_stem_hashes(text),
                    arxiv_id=arxiv_id,
                    doi=doi,
                    authors=frozenset(json.loads(authors)),
                )
            )
        db.conn.executemany(
            _INSERT_DOC,
            [(*row[:6], *_doc_values(d)[4:]) for row, d in zip(rows, docs, strict=True)],
        )
        db.conn.executemany(_INSERT_KEYS, _key_rows(_keys_many(docs), [row[0] for row in rows]))
    db.execute("DROP TABLE dedup_docs_old")
    db.execute(
        "INSERT OR REPLACE INTO dedup_meta (key, value) VALUES ('params', ?)", (PARAMS_VERSION,)
    )


def m003_dedup_recent_keys(db: sqlite_utils.Database) -> None:
    """The keys of the papers added since the last merge (`DedupIndex._merge`): a small
    table, so that adding a paper writes a few cached pages, not one page of the large
    `dedup_bands` per key."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS dedup_recent (
            band INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            doc INTEGER NOT NULL,
            PRIMARY KEY (band, bucket, doc)
        ) WITHOUT ROWID"""
    )


# In order, each idempotent.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    m001_dedup_tables,
    m002_dedup_docs_token_hashes,
    m003_dedup_recent_keys,
]
