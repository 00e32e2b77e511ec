"""The duplicate index's tables, as named migrations the store's runner applies after its
own (recorded as `dedup:<name>`). Kept apart from dedup.py so that opening a database,
which checks the migrations, does not import numpy; m002 and m004 import dedup.py's
hashing only when they have stored papers to convert."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


# The key family m004 converts, and what it is called once converted (the hashes are the
# same; only how a key is stored changes). dedup.PARAMS_VERSION names the second while no
# later change of the keys bumps it (then the index rebuilds its keys from the papers).
LAYOUT3_PARAMS = "dedup-3:5:10x2:8/23:seed=20240811"
LAYOUT4_PARAMS = "dedup-4:5:10x2:8/23:seed=20240811:key32"
_KEY_TABLE = """CREATE TABLE {name} (
    key INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)
) WITHOUT ROWID"""
# dedup.py's `_fold` in SQL, for LAYOUT3's 10 LSH bands: an anchor (band -1) keeps 31 bits
# of its bucket, any other key a 4-bit band code and 27 bits.
_FOLD = """CASE WHEN band = -1 THEN (bucket & 2147483647) - 2147483648
    ELSE ((CASE WHEN band >= 0 THEN band ELSE 8 - band END) << 27) | (bucket & 134217727) END"""


def m004_dedup_compact_layout(db: sqlite_utils.Database) -> None:
    """A smaller index (issue 12: ~1.8 KB a paper before). Each key row becomes one 32-bit
    integer and the doc, `(key, doc)`, its band folded into the key (`dedup._fold`),
    converted in SQL from the (band, bucket) rows without reading any text; each doc keeps
    16 bits of its token hashes (uint16, in order), 32-bit hashes of its author names, no
    arXiv id or DOI that its paper id already spells ('' then) and its stem hashes only
    for a title of 4+ content words (the one rule that reads them needs that many). The
    docs are rewritten in doc order. An index of LAYOUT3_PARAMS keys is then marked
    LAYOUT4_PARAMS, so opening it rebuilds nothing; other keys are rebuilt as before."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_bands)")}
    if "band" not in columns:
        return
    for table in ("dedup_bands", "dedup_recent"):
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_layout3")
        db.execute(_KEY_TABLE.format(name=table))
        db.execute(
            f"INSERT OR IGNORE INTO {table} (key, doc) "
            f"SELECT {_FOLD} AS k, doc FROM {table}_layout3 ORDER BY k, doc"
        )
        db.execute(f"DROP TABLE {table}_layout3")
    db.execute("ALTER TABLE dedup_docs RENAME TO dedup_docs_layout3")
    db.execute(
        """CREATE TABLE dedup_docs (
            doc INTEGER PRIMARY KEY,
            paper_id TEXT NOT NULL UNIQUE,
            arxiv_id TEXT,
            doi TEXT,
            authors BLOB NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            hashes BLOB NOT NULL,
            stems BLOB NOT NULL
        )"""
    )
    cursor = db.conn.execute(
        "SELECT doc, paper_id, arxiv_id, doi, authors, title, hashes, stems "
        "FROM dedup_docs_layout3 ORDER BY doc"
    )
    if rows := cursor.fetchmany(1000):
        import numpy as np

        from adapt_triage.dedup import _INSERT_DOC, _author_hashes, _Doc, _doc_row, _unpack_hashes32

        while rows:
            docs = [
                _Doc(
                    title=tuple(title.split()),
                    h=_unpack_hashes32(hashes),
                    stems=np.frombuffer(stems, dtype=np.uint16),
                    arxiv_id=arxiv_id,
                    doi=doi,
                    authors=_author_hashes(json.loads(authors)),
                )
                for _, _, arxiv_id, doi, authors, title, hashes, stems in rows
            ]
            db.conn.executemany(
                _INSERT_DOC,
                [_doc_row(row[0], row[1], d) for row, d in zip(rows, docs, strict=True)],
            )
            rows = cursor.fetchmany(1000)
    db.execute("DROP TABLE dedup_docs_layout3")
    db.execute(
        "UPDATE dedup_meta SET value = ? WHERE key = 'params' AND value = ?",
        (LAYOUT4_PARAMS, LAYOUT3_PARAMS),
    )


def m005_dedup_coded_stems(db: sqlite_utils.Database) -> None:
    """From here on a doc's stem hashes may be stored Elias-Fano coded (`adapt_triage.
    stempack`, an odd-length blob: 234 -> 166 bytes a paper on arXiv-length abstracts).
    Nothing is rewritten: the raw uint16 blobs of the docs already stored are read as
    they are. The migration's name is what matters: an older adapt-triage, which would
    read a coded blob as raw hashes, refuses a database that records it."""


def m006_dedup_coded_hashes(db: sqlite_utils.Database) -> None:
    """From here on a doc's token hashes may be stored coded against a table of frequent
    values (`adapt_triage.hashpack`, an odd-length blob: 374 -> ~315 bytes a paper on
    arXiv-length abstracts). Nothing is rewritten: the raw uint16 blobs of the docs
    already stored are read as they are. As for m005, the name is what matters: an older
    adapt-triage, which would read a coded blob as raw hashes, refuses a database that
    records it."""


# In order, each idempotent.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    m001_dedup_tables,
    m002_dedup_docs_token_hashes,
    m003_dedup_recent_keys,
    m004_dedup_compact_layout,
    m005_dedup_coded_stems,
    m006_dedup_coded_hashes,
]
