"""Writing papers: one source's papers stored all or nothing. Per paper: look up what is
stored or staged, `resolve` it (adapt_triage.resolve, no SQL), write the decision into
staging; the source's last transaction folds the staging into the stored tables (see the
package docstring for why and how)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapt_triage.paper import Paper
from adapt_triage.records import FetchRecord, IngestSummary
from adapt_triage.store.chunkwriter import ChunkWriter
from adapt_triage.store.db import stamp
from adapt_triage.store.feeds import FeedsMixin
from adapt_triage.store.pacing import Pacer, Sizer, chunked
from adapt_triage.store.staging import Staging, discard_stale


class PapersMixin(FeedsMixin):
    """Ingest: papers, their versions and the sources that carried them."""

    # Papers resolved and written per write transaction (see the module docstring), and how
    # long a waiting writer is given between two transactions: the time the caller spends
    # making the next chunk (parsing, classifying) counts, and the store sleeps only for
    # what is left of `yield_seconds`, once per `yield_every` seconds of writing.
    # Chunks are sized by time: the first has `first_chunk` papers, the next ones as many
    # as take about `write_seconds` to write, between min(500, write_chunk) and write_chunk.
    write_chunk: int = 5000
    first_chunk: int = 1000
    write_seconds: float = 0.5
    yield_seconds: float = 0.15
    yield_every: float = 1.0

    def ingest_source(
        self,
        source: str,
        papers: Iterable[Paper],
        *,
        dedup: Any = None,
        model_version: str | None = None,
        now: str | datetime | None = None,
        fetch: FetchRecord | None = None,
        fetch_meta: Mapping[str, Any] | None = None,
    ) -> IngestSummary:
        """Store the papers read from one source, all or nothing.

        Per chunk: one lookup of what is stored for the chunk's ids, then per paper
        `resolve` (New, Duplicate, Update, Unchanged; see adapt_triage.resolve), then one
        write per table. Unknown ids are checked against the duplicate index: with
        `dedup.find_many(items)` / `dedup.add_many(items)` when it has them (a chunk at a
        time, see `DedupIndex`), else `dedup.find(paper, paper_id)` (returns None or an
        object with `canonical_id`, `reason`, `score`) and `dedup.add(paper_id, paper,
        canonical_id=...)` a paper at a time. A match is followed to the root of its
        cluster. A known paper whose stored text changed is re-added with its new text.
        `papers` may be a lazy iterable: a chunk is taken from it before its write
        transaction opens (so a classifier behind it never works under the write lock).
        `paper.labels` / `paper.scores` are the model's, from `model_version`.
        `fetch` (or the same fields as a mapping, `fetch_meta`) is written with the papers,
        so conditional-GET state never gets ahead of them. A paper without a title is
        skipped and reported in `errors`. Decisions are written `write_chunk` papers a
        transaction into staging and folded into the stored tables in the last one.
        Raises StoreError (nothing of this source stored) when storing fails.
        """
        when = stamp(now)
        record = fetch or FetchRecord(**(fetch_meta or {}))
        summary = IngestSummary(source=source)
        staging: Staging | None = None
        pacer = Pacer(self.yield_seconds, self.yield_every)
        sizer = Sizer(self.first_chunk, self.write_chunk, self.write_seconds)
        try:
            for chunk, last in chunked(enumerate(papers, 1), sizer.size):
                pacer.before_write()
                with self.write() as conn:
                    if staging is None:
                        discard_stale(conn, lambda: dedup if dedup is not None else self._index())
                        staging = Staging(conn, source)
                    self._store_chunk(staging, chunk, when, model_version, dedup, summary)
                    if last:
                        self._ensure_source(conn, source, when, record.name, record.kind)
                        staging.fold()
                        self._apply_fetch(conn, source, when, _filled(record, summary))
                pacer.after_commit()
                sizer.took(len(chunk), pacer.last)
            return summary
        except BaseException:
            self._undo_chunks(staging, dedup)
            raise

    def _index(self) -> Any:
        return self.dedup_index()

    def _undo_chunks(self, staging: Staging | None, dedup: Any) -> None:
        """After a failure: undo the index entries of the chunks already committed (the
        next ingest does it if this cannot)."""
        if staging is None:
            return
        with contextlib.suppress(Exception), self.write() as conn:
            discard_stale(conn, lambda: dedup if dedup is not None else self._index())
            with contextlib.suppress(sqlite3.Error):
                staging.clear()

    def _store_chunk(
        self,
        staging: Staging,
        chunk: list[tuple[int, Paper]],
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        """Look up, resolve and write one chunk: one lookup per table for the chunk's ids,
        the duplicate index asked once for the chunk's unknown papers, one write per table."""
        writer = ChunkWriter(staging, when, model_version, dedup, summary)
        staging.load(p.id for _, p in chunk if (p.title or "").strip())
        for index, paper in chunk:
            writer.take(index, paper)
        writer.finish()
        staging.flush()
        staging.forget()


def _filled(record: FetchRecord, summary: IngestSummary) -> FetchRecord:
    """The fetch record with what the ingest found filled in where the caller left it open."""
    return replace(
        record,
        status=record.status or ("ok" if summary.items else "empty"),
        item_count=summary.items if record.item_count is None else record.item_count,
        new=summary.new if record.new is None else record.new,
        error=record.error or (summary.errors[0] if summary.errors else None),
    )
