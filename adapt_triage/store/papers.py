"""Writing papers: one source's papers stored all or nothing. Per paper: look up what is
stored or staged, `resolve` it (adapt_triage.resolve, no SQL), write the decision into
staging; the source's last transaction folds the staging into the stored tables (see the
package docstring for why and how)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from adapt_triage.paper import Paper, collapse_whitespace
from adapt_triage.resolve import (
    Decision,
    Duplicate,
    Match,
    New,
    Stored,
    Unchanged,
    Update,
    resolve,
    variant_id,
)
from adapt_triage.store.db import dumps, stamp
from adapt_triage.store.errors import StoreError
from adapt_triage.store.feeds import FeedsMixin, FetchRecord
from adapt_triage.store.staging import Staging, discard_stale


@dataclass
class IngestSummary:
    """What one `ingest_source` call did. `errors` are items skipped (the rest was stored)."""

    source: str
    items: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    # Inputs folded into a stored paper of the same `title:` id although their text
    # differs (a title-only listing and the full entry, say): counted and named in
    # `warnings`, so that N distinct inputs are always N papers or N - merged.
    merged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def count(self, decision: Decision) -> None:
        """Count one resolved paper."""
        if decision.warning:
            self.merged += 1
            self.warnings.append(decision.warning)
        if isinstance(decision, Duplicate):
            self.duplicates += 1
            self.duplicate_ids.append(decision.paper_id)
        elif isinstance(decision, New):
            self.new += 1
            self.new_ids.append(decision.paper_id)
        elif isinstance(decision, Update):
            self.updated += 1
            self.updated_ids.append(decision.paper_id)
        else:
            self.unchanged += 1


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
        pacer = _Pacer(self.yield_seconds, self.yield_every)
        sizer = _Sizer(self.first_chunk, self.write_chunk, self.write_seconds)
        try:
            for chunk, last in _chunks(enumerate(papers, 1), sizer.size):
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
        from adapt_triage.dedup import DedupIndex

        return DedupIndex(self.db)

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
        writer = _ChunkWriter(staging, when, model_version, dedup, summary)
        staging.load(p.id for _, p in chunk if (p.title or "").strip())
        for index, paper in chunk:
            writer.take(index, paper)
        writer.finish()
        staging.flush()
        staging.forget()


class _ChunkWriter:
    """One chunk's decisions, in input order. An unknown paper waits (its row staged as
    new, so later papers see it) until the chunk's unknown papers are checked against the
    duplicate index together; a per-paper index is asked at once."""

    def __init__(
        self,
        staging: Staging,
        when: str,
        model_version: str | None,
        dedup: Any,
        summary: IngestSummary,
    ) -> None:
        self.staging, self.source, self.when = staging, staging.source, when
        self.model_version, self.dedup, self.summary = model_version, dedup, summary
        self.batched = dedup is not None and hasattr(dedup, "find_many")
        self.decisions: list[Decision | None] = []
        self.waiting: list[tuple[int, int, str, Paper]] = []  # (slot, item, id, paper)
        self.reindex: list[tuple[str, Paper]] = []

    def take(self, index: int, paper: Paper) -> None:
        summary = self.summary
        summary.items += 1
        if not (paper.title or "").strip():
            summary.errors.append(f"{self.source}: item {index}: no title; skipped")
            return
        with _named_failure(self.source, index, paper):
            pid, stored = self._lookup(paper)
            if stored is None and self.batched:
                self.waiting.append((len(self.decisions), index, pid, paper))
                self._write(New(pid, paper, self.model_version))  # its row, until decided
                self.decisions.append(None)
                return
            match = self._match_one(paper, pid) if stored is None else None
            decision = self._resolve(paper, pid, stored, match, index)
            self._write(decision)
            if self.dedup is not None and (isinstance(decision, New) or decision.reindex):
                self.staging.pending(pid, existed=stored is not None, now=not self.batched)
                if self.batched:
                    self.reindex.append((pid, paper))
                else:
                    _guarded(
                        lambda: self.dedup.add(pid, paper, canonical_id=decision.canonical_id),
                        f"{self.source}: {pid}: duplicate index update failed",
                    )
        self.decisions.append(decision)

    def _resolve(
        self, paper: Paper, pid: str, stored: Stored | None, match: Match | None, index: int
    ) -> Decision:
        return resolve(
            paper,
            pid,
            stored,
            match,
            source=self.source,
            item=index,
            model_version=self.model_version,
        )

    def finish(self) -> None:
        """Check the waiting papers against the index (re-indexed texts first), then
        count every decision in input order."""
        if self.reindex:
            items = self.reindex
            _guarded(
                lambda: self.dedup.add_many(items),
                f"{self.source}: {len(items)} papers: duplicate index update failed",
            )
        waiting = self.waiting
        while waiting:
            done = self._settle(waiting)
            items = [(pid, paper) for _, _, pid, paper in waiting[:done]]
            _guarded(
                partial(self.dedup.add_many, items),
                f"{self.source}: {items[0][0]}: duplicate index update failed",
            )
            waiting = waiting[done:]
        for decision in self.decisions:
            assert decision is not None
            self.summary.count(decision)

    def _settle(self, waiting: list[tuple[int, int, str, Paper]]) -> int:
        """Decide the waiting papers from one `find_many`; returns how many were decided
        (fewer than all when a match is refused: find_many assumed it linked, so the rest
        are asked again)."""
        found = _guarded(
            lambda: self.dedup.find_many([(pid, paper) for _, _, pid, paper in waiting]),
            f"{self.source}: {waiting[0][2]}: duplicate check failed",
        )
        self.staging.load(hit.canonical_id for hit in found if hit is not None)
        for n, ((slot, index, pid, paper), hit) in enumerate(zip(waiting, found, strict=True)):
            with _named_failure(self.source, index, paper):
                match = self._rooted(hit, pid)
                decision = self._resolve(paper, pid, None, match, index)
                if isinstance(decision, Duplicate):
                    entry = self.staging.entries[pid]
                    assert entry is not None
                    entry.row.update(
                        duplicate_of=decision.of,
                        dup_reason=decision.reason,
                        dup_score=decision.score,
                    )
                self.staging.pending(pid, existed=False)
                self.decisions[slot] = decision
            if hit is not None and match is None:
                return n + 1
        return len(waiting)

    # -- lookup

    def _lookup(self, paper: Paper) -> tuple[str, Stored | None]:
        """The id the paper is stored under and what is stored (or staged) for it."""
        pid = paper.id
        entry = self.staging.get(pid)
        other = variant_id(paper, entry.row if entry else None)
        if other is not None:  # same title, different work: keep both
            pid, entry = other, self.staging.get(other)
        if entry is None:
            return pid, None
        return pid, Stored(entry.row, entry.carried, frozenset(entry.versions))

    def _match_one(self, paper: Paper, pid: str) -> Match | None:
        """A per-paper index's match for an unknown paper, rooted."""
        if self.dedup is None:
            return None
        found = _guarded(
            lambda: self.dedup.find(paper, pid),
            f"{self.source}: {pid}: duplicate check failed",
        )
        return self._rooted(found, pid)

    def _rooted(self, found: Any, pid: str) -> Match | None:
        """The index's match followed to its cluster root (None when the index names a
        paper that is not stored, or this one)."""
        root = _root(self.staging, found.canonical_id, pid) if found else None
        if root is None:
            return None
        score = float(found.score) if found.score is not None else None
        return Match(root, found.reason, score)

    # -- write

    def _write(self, decision: Decision) -> None:
        staging, source, when = self.staging, self.source, self.when
        pid, paper = decision.paper_id, decision.paper
        if isinstance(decision, New):
            staging.insert_paper(_paper_values(decision, source, when))
        if isinstance(decision, New) or decision.new_source:
            staging.add_source(pid, source, when)
        if isinstance(decision, New) or decision.new_version:
            staging.add_version(
                {
                    "paper_id": pid,
                    "version": paper.version or 0,
                    "source": source,
                    "seen_at": when,
                    "title": paper.title,
                    "abstract": paper.abstract or "",
                    "updated": paper.updated,
                    "announce_type": paper.announce_type,
                }
            )
        if isinstance(decision, Unchanged) and decision.touched:
            staging.update_paper(pid, {**decision.changes, "last_seen": when})


class _Pacer:
    """Lets a waiting writer in between two write transactions: the time spent outside
    the lock since the last commit counts; the store sleeps only for what is missing of
    `pause` seconds, and only once `every` seconds of writing have passed."""

    def __init__(self, pause: float, every: float) -> None:
        self.pause, self.every = pause, every
        self.writing = 0.0  # write time since the last pause
        self.committed: float | None = None
        self.started = self.last = 0.0

    def before_write(self) -> None:
        now = time.monotonic()
        if self.committed is not None:
            outside = now - self.committed
            if outside >= self.pause:
                self.writing = 0.0
            elif self.writing >= self.every:
                time.sleep(self.pause - outside)  # another writer may take the lock now
                self.writing = 0.0
        self.started = time.monotonic()

    def after_commit(self) -> None:
        self.committed = time.monotonic()
        self.last = self.committed - self.started  # the transaction's length
        self.writing += self.last


class _Sizer:
    """The size of the next chunk: as many papers as take about `seconds` to write (so a
    waiting writer never waits long, and a fast store writes few, large transactions)."""

    def __init__(self, first: int, most: int, seconds: float) -> None:
        self.least, self.most, self.seconds = min(500, most), most, seconds
        self.next = min(first, most)

    def size(self) -> int:
        return self.next

    def took(self, papers: int, seconds: float) -> None:
        if papers < self.next or seconds <= 0:
            return
        ideal = papers * self.seconds / seconds
        self.next = max(self.least, min(self.most, int((self.next + ideal) / 2)))


def _chunks(
    items: Iterator[tuple[int, Paper]], size: Callable[[], int]
) -> Iterator[tuple[list[tuple[int, Paper]], bool]]:
    """`size()` items at a time, each with whether it is the last chunk (an empty source
    is one empty chunk). The next chunk is taken before a chunk is handed out."""
    ahead = list(islice(items, size()))
    while True:
        chunk, ahead = ahead, list(islice(items, size()))
        yield chunk, not ahead
        if not ahead:
            return


def _root(staging: Staging, candidate: str | None, own_id: str) -> str | None:
    """Follow `duplicate_of` to the root; None when the candidate is not stored."""
    seen: set[str] = set()
    while candidate and candidate not in seen:
        seen.add(candidate)
        entry = staging.get(candidate)
        if entry is None:
            return None
        if entry.row["duplicate_of"] is None:
            return None if candidate == own_id else candidate
        candidate = entry.row["duplicate_of"]
    return None


@contextlib.contextmanager
def _named_failure(source: str, index: int, paper: Paper) -> Iterator[None]:
    """A failure while resolving one paper fails the source, naming the item."""
    try:
        yield
    except (StoreError, sqlite3.Error):
        raise
    except Exception as exc:
        raise StoreError(
            f"{source}: item {index} ({paper.id}): could not be stored, nothing "
            f"from this source was saved: {collapse_whitespace(str(exc))}"
        ) from exc


def _paper_values(decision: New, source: str, when: str) -> dict[str, Any]:
    paper = decision.paper
    labels = list(paper.labels or [])
    dup = decision if isinstance(decision, Duplicate) else None
    return {
        "id": decision.paper_id,
        "title": paper.title,
        "abstract": paper.abstract or "",
        "authors": dumps(list(paper.authors or [])),
        "url": paper.url,
        "published": paper.published,
        "updated": paper.updated,
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "doi": paper.doi,
        "announce_type": paper.announce_type,
        "categories": dumps(list(paper.categories or [])),
        "source": source,
        "first_seen": when,
        "last_seen": when,
        "duplicate_of": dup.of if dup else None,
        "dup_reason": dup.reason if dup else None,
        "dup_score": dup.score if dup else None,
        "model_labels": dumps(labels),
        "model_scores": dumps(dict(paper.scores or {})),
        "model_version": decision.model_version if labels else None,
    }


def _filled(record: FetchRecord, summary: IngestSummary) -> FetchRecord:
    """The fetch record with what the ingest found filled in where the caller left it open."""
    return replace(
        record,
        status=record.status or ("ok" if summary.items else "empty"),
        item_count=summary.items if record.item_count is None else record.item_count,
        new=summary.new if record.new is None else record.new,
        error=record.error or (summary.errors[0] if summary.errors else None),
    )


T = TypeVar("T")


def _guarded(call: Callable[[], T], what: str) -> T:
    """Run a duplicate-index call; its failure fails the source, naming the paper (a
    failure of the database itself, a read-only file say, is reported as such)."""
    try:
        return call()
    except (StoreError, sqlite3.Error):
        raise
    except Exception as exc:
        raise StoreError(
            f"{what}, nothing from this source was saved: {collapse_whitespace(str(exc))}"
        ) from exc
