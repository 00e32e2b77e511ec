"""The SQLite history: papers, versions seen, sources, labels, digests.

One database file a user can open with `sqlite3` or Datasette. WAL mode and a busy timeout;
every write is a transaction that starts with `BEGIN IMMEDIATE`, so concurrent writers queue
behind one another instead of failing half-way, and an ingest is all-or-nothing per source.

How a big source stays all-or-nothing without holding the write lock for its whole length
(so that `label`, `feeds add` or `categories add` run during a 20,000-paper ingest get the
lock within seconds): the papers arrive classified, as a stream (the model works on each
chunk before its write transaction opens), and are resolved and written a chunk a
transaction, chunks sized by time (`Store.first_chunk` papers, then about
`Store.write_seconds` of writing each, at most `Store.write_chunk`): per chunk one lookup
of the stored rows per table, one `find_many` / `add_many` of the duplicate index, one
`executemany` per table. A waiting writer takes the lock while the next chunk is parsed
and classified; the store itself pauses only when that took less than `yield_seconds`,
once a second of writing. The rows go to TEMP staging
tables (private to the connection, gone if the process dies), which later papers of the
same source read too, and the last transaction folds them into `papers`, `versions` and
`paper_sources` with a few INSERT ... SELECT / UPDATE ... FROM statements, together with the
`sources` row. So a raw `sqlite3` reader sees a source entirely or not at all, killed or not.
The duplicate index's tables are written in each chunk's transaction (its lookups must see
the earlier chunks); the papers whose index entries were committed but not yet folded are
listed in `ingest_pending`, which the fold empties; after a kill, the next ingest undoes
those entries first (`staging.discard_stale`). A source of up to one chunk is one
transaction, as before. Ingests are serialized by the run lock (`runlock`); two big ingests
at once without it are not supported (each would undo the other's pending entries).

One concern a module; `Store` composes them:

- `db`: the connection (WAL, busy timeout, integrity check), the write transaction, and
  SQLite failures mapped to named one-line errors (`errors`). `Store.db` is sqlite-utils'
  Database over that connection, made on first use (`LazyDatabase`: migrations, the
  duplicate index); reading needs only `Store.conn`, so the read commands never import
  sqlite-utils, and a current schema is known from one read of `_migrations`.
- `migrations`: the named migrations (the store's, then dedup's); `migrate` applies them.
- `papers`: writes one source's papers, chunk by chunk (`pacing` sizes the chunks and
  lets other writers in), each chunk through `chunkwriter` (lookup -> `adapt_triage.resolve`
  -> write) into `staging`; `feeds`: sources and subscriptions;
  `queries`: list, show; `search`; `links`: the user's duplicate decisions;
  `scores`: rescoring; `labels`: user labels and categories; `digests`; `runlock`.

Tables (see `migrations` for the exact DDL):

- `papers`: one row per stable id (`arxiv:`, `doi:`, `title:`). JSON columns: `authors`,
  `categories`, `model_labels`, `model_scores` (packed: the id of its category list in
  `score_keys`, then the scores times 10,000; see `adapt_triage.scorepack`, and the
  `browse_scores` view for one row a score). `duplicate_of` links a near-duplicate to the
  first-seen canonical paper (never a chain), with `dup_reason` and `dup_score`.
  `first_seen` is when the paper arrived; `last_seen` is the last time something new about
  it arrived (a newer version, a source that had not carried it, a field that was missing).
  `source` is the source it arrived from: since m014 by its id in `source_keys`
  (`source_id`, `source` '' then; `migrations.paper_source_sql` reads either).
  Re-ingesting the same input changes nothing.
- `versions`: each version seen of a paper (version 0 = the source gave no version number),
  with the title and abstract of that version where they differ from the paper's current
  text (NULL where equal: a paper's text is stored once), its source and time where they
  differ from the paper's (m012). The row of the version a paper holds is not stored while
  it says nothing the paper does not (m015; the fold writes it out before it changes the
  paper). The `version_texts` view gives every version whole, that row included.
- `paper_sources`: every source that carried a paper (the arXiv feed and Hugging Face, say);
  a view over `paper_source_ids`, which names each source by its id in `source_keys`
  (`first_seen` NULL there where it is the paper's, m012; no row for the paper's own
  source when the paper names it by id, m016: the view reads that one from `papers`).
- `paper_labels`: each paper's effective labels with its sort key, kept by triggers for
  `list --category` (m008; its rows name the paper by rowid, `seq`, since m013).
- `sources`: every source ever ingested, with conditional-GET state and the last fetch's
  result; `subscribed` marks the user's feeds.
- `user_labels`: the user's label SET for a paper (one row per label, `position` keeps the
  order, primary first). When a paper has user labels, they replace the model's labels.
- `categories`: user-defined categories; `digests`: each digest shown (`papers.shown_in_digest`
  names the first digest a paper appeared in); `runs`: unused (kept from an old schema).
- `papers_fts`: FTS5 index (porter stemming) over `papers.title`, `abstract` and `authors`.
- `ingest_pending`: papers whose duplicate-index entries a running ingest has committed but
  not folded yet (empty between ingests, unless one was killed).
- `_migrations`: the migrations applied; `PRAGMA user_version` is the count of the store's.
"""

from __future__ import annotations

from adapt_triage.paper import CONTRACT_FIELDS
from adapt_triage.paths import DB_ENV, default_db_path
from adapt_triage.records import KEEP, FetchRecord, IngestSummary
from adapt_triage.store.db import (
    DEFAULT_BUSY_TIMEOUT,
    corrupt_error,
    is_corruption,
    normalize_timestamp,
    storage_error,
    utc_now,
)
from adapt_triage.store.digests import DigestsMixin
from adapt_triage.store.errors import (
    AmbiguousIdError,
    CorruptDatabaseError,
    FeedNameError,
    LockFileError,
    PaperNotFoundError,
    RunLockedError,
    SchemaTooNewError,
    SearchQueryError,
    StorageError,
    StoreError,
    UnknownLabelError,
)
from adapt_triage.store.feeds import FETCH_STATUSES, SourceState
from adapt_triage.store.labels import LabelsMixin
from adapt_triage.store.links import LinksMixin
from adapt_triage.store.migrate import applied_migrations, migrate
from adapt_triage.store.migrations import MIGRATIONS, Migration, migration
from adapt_triage.store.papers import PapersMixin
from adapt_triage.store.queries import row_to_paper
from adapt_triage.store.runlock import RunLockMixin
from adapt_triage.store.scores import ScoresMixin
from adapt_triage.store.search import SearchMixin
from adapt_triage.stored import StoredPaper

__all__ = [
    "CONTRACT_FIELDS",
    "DB_ENV",
    "DEFAULT_BUSY_TIMEOUT",
    "FETCH_STATUSES",
    "MIGRATIONS",
    "AmbiguousIdError",
    "CorruptDatabaseError",
    "FeedNameError",
    "FetchRecord",
    "KEEP",
    "IngestSummary",
    "LockFileError",
    "Migration",
    "PaperNotFoundError",
    "RunLockedError",
    "SchemaTooNewError",
    "SearchQueryError",
    "SourceState",
    "StorageError",
    "Store",
    "StoreError",
    "StoredPaper",
    "UnknownLabelError",
    "applied_migrations",
    "corrupt_error",
    "default_db_path",
    "is_corruption",
    "migrate",
    "migration",
    "normalize_timestamp",
    "row_to_paper",
    "storage_error",
    "utc_now",
]


class Store(
    PapersMixin, LinksMixin, LabelsMixin, DigestsMixin, SearchMixin, ScoresMixin, RunLockMixin
):
    """The adapt-triage database. `Store(path)` or `Store.open(path)`; path None means
    `default_db_path()`; ":memory:" works for throwaway use."""
