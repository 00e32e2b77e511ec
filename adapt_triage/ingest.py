"""The pipeline, one source at a time, top to bottom:

    fetch -> parse -> classify (in chunks) -> resolve -> write

`read_and_parse` fetches and parses (a `ReadOutcome`: the parsed papers, or why there are
none; large JSON inputs are decoded a paper at a time); the papers flow as a stream: the
classifier labels them `CHUNK` at a time as `Store.ingest_source` takes each chunk, BEFORE
that chunk's write transaction opens, so the model never works while the write lock is
held; the store resolves each paper against what is stored (adapt_triage.resolve) and
writes the decisions a chunk a transaction (all or nothing per source, see the store).
What happened to the source is one `SourceReport`; what the `sources` row records about the
fetch is one `FetchRecord`.

Each source is isolated: a source that cannot be read, parsed or stored is reported with one
line naming it, and the others go on. Nothing here prints; the CLI renders the reports,
muting what `judge_failure` says `--quiet --report-after N` leaves out.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from adapt_triage.paper import Paper
from adapt_triage.records import FetchRecord, IngestSummary

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.localread import FetcherLike
    from adapt_triage.sources import ParseResult
    from adapt_triage.store import Store

# The keys of a report in the JSON summary (`ingest --format json`), in this order.
_REPORT_KEYS = (
    "source",
    "status",
    "format",
    "items",
    "new",
    "updated",
    "duplicates",
    "unchanged",
    "merged",
    "errors",
    "warnings",
    "feed_date",
    "skip_days",
    "error_kind",
)


@dataclass
class SourceReport(IngestSummary):
    """What happened to one source in one run: the store's counts (an IngestSummary) and
    how the source was read."""

    status: str = "ok"  # ok | not-modified | empty | error
    format: str | None = None
    feed_date: str | None = None
    skip_days: list[str] = field(default_factory=list)
    # When status is "error": "transient" (a timeout, a refused connection, 5xx, 429: worth
    # waiting out) or "permanent" (a typo'd path, 404/410/401/403, not a feed at all).
    error_kind: str | None = None
    # Set by `judge_failure`: failed runs in a row (this one included), and whether the
    # failure is a passing outage that `--quiet` keeps to itself for now.
    failures: int = 0
    muted: bool = False

    @property
    def failed(self) -> bool:
        """The source could not be read at all, or some of its records were bad."""
        return self.status == "error" or bool(self.errors)

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in _REPORT_KEYS}
        data["errors"], data["warnings"] = list(self.errors), list(self.warnings)
        data["skip_days"] = list(self.skip_days)
        data["failed"] = self.failed
        return data

    def absorb(self, summary: IngestSummary) -> None:
        """Add what the store did with this source's papers."""
        self.new += summary.new
        self.updated += summary.updated
        self.duplicates += summary.duplicates
        self.unchanged += summary.unchanged
        self.merged += summary.merged
        self.errors.extend(summary.errors)
        self.warnings.extend(summary.warnings)

    def fail(self, message: str, kind: str) -> None:
        self.status = "error"
        self.error_kind = kind
        self.errors.append(message)


@dataclass
class ReadOutcome:
    """A source fetched and parsed: the parsed result, or why there is none. `etag` and
    `last_modified` are the validators the fetch returned."""

    source: str
    parsed: ParseResult | None
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None


# --------------------------------------------------------------------------- fetch, parse


def read_and_parse(
    source: str,
    *,
    fetcher: FetcherLike | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    stdin: BinaryIO | None = None,
) -> ReadOutcome:
    """Bytes from a URL, a path or `-`, parsed by the reader the content calls for."""
    from adapt_triage.localread import FetchError, FetchState, read_source
    from adapt_triage.sources import parse_bytes

    state = FetchState(etag=etag, last_modified=last_modified)
    try:
        fetched = read_source(source, fetcher=fetcher, state=state, stdin=stdin)
    except FetchError as exc:
        return ReadOutcome(source, None, error=str(exc), error_kind=fetch_error_kind(source, exc))
    if fetched.not_modified:
        return ReadOutcome(
            source,
            None,
            not_modified=True,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
        )
    parsed = parse_bytes(fetched.content, source=source, headers=fetched.headers)
    return ReadOutcome(source, parsed, etag=fetched.etag, last_modified=fetched.last_modified)


# Reasons a URL cannot be read that waiting will not change.
_PERMANENT_REASONS = (
    "invalid URL",
    "invalid request",
    "unsupported URL scheme",
    "redirected to a non-HTTP URL",
    "more than ",
    "response larger than",
    "could not decode",
)
_TRANSIENT_STATUSES = {408, 425, 429}


def fetch_error_kind(source: str, exc: Exception) -> str:
    """ "transient" for failures worth waiting out (timeouts, connection errors, HTTP 5xx,
    408/425/429), "permanent" for the rest: a local file that cannot be read, another 4xx
    (404, 410, 401, 403), a malformed URL."""
    from adapt_triage.localread import is_url

    if source == "-" or not is_url(source):
        return "permanent"
    status = getattr(exc, "status", None)
    if status is not None:
        return "transient" if status in _TRANSIENT_STATUSES or status >= 500 else "permanent"
    reason = str(getattr(exc, "reason", exc))
    return "permanent" if reason.startswith(_PERMANENT_REASONS) else "transient"


def _report_read(read: ReadOutcome, report: SourceReport) -> tuple[FetchRecord, Sequence[Paper]]:
    """Fill the report from a read; return what the `sources` row will record, and the
    papers to store."""
    parsed = read.parsed
    if read.error:
        report.fail(read.error, read.error_kind or "permanent")
        return FetchRecord(status="error", error=read.error), []
    if read.not_modified or parsed is None:
        report.status = "not-modified"
        return FetchRecord("not-modified", etag=read.etag, last_modified=read.last_modified), []
    report.format = parsed.format
    report.items = parsed.item_count
    report.errors.extend(parsed.errors)
    report.warnings.extend(parsed.warnings)
    report.feed_date = parsed.feed_date
    report.skip_days = list(parsed.skip_days)
    if parsed.fatal:  # read, but not a feed we can parse
        report.status, report.error_kind = "error", "permanent"
        error = report.errors[0] if report.errors else "unreadable"
        return FetchRecord(status="error", error=error), []
    report.status = "ok" if parsed.papers else "empty"
    fetch = FetchRecord(
        status=report.status,
        item_count=parsed.item_count,
        feed_date=parsed.feed_date,
        skip_days=list(parsed.skip_days),
        etag=read.etag,
        last_modified=read.last_modified,
    )
    return fetch, parsed.papers if report.status == "ok" else []  # lazy for large inputs


# --------------------------------------------------------------------------- classify


def classify_papers(papers: Sequence[Paper], classifier: TriageClassifier) -> None:
    """Fill `labels` and `scores` of each paper in place."""
    if not papers:
        return
    for paper, (labels, scores) in zip(papers, classifier.predict(papers), strict=True):
        paper.labels = labels
        paper.scores = scores


CHUNK = 512  # papers classified at once: bounds the feature matrix, whatever the source size


def classified(
    papers: Iterable[Paper], classifier: TriageClassifier, chunk: int = CHUNK
) -> Iterator[Paper]:
    """The papers with labels and scores filled in, classified `chunk` at a time."""
    batch: list[Paper] = []
    for paper in papers:
        batch.append(paper)
        if len(batch) >= chunk:
            classify_papers(batch, classifier)
            yield from batch
            batch = []
    classify_papers(batch, classifier)
    yield from batch


# --------------------------------------------------------------------------- one source


def ingest_source(
    store: Store,
    source: str,
    report: SourceReport,
    *,
    dedup: Any,
    classifier: Callable[[], TriageClassifier],
    fetcher: FetcherLike | None = None,
    stdin: BinaryIO | None = None,
) -> None:
    """Fetch, parse, classify, then resolve and write one source, filling `report`.
    Storage errors other than the failure of the source's own write propagate."""
    from adapt_triage.store import CorruptDatabaseError, StoreError

    state = store.get_fetch_state(source) if source != "-" else None
    read = read_and_parse(
        source,
        fetcher=fetcher,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        stdin=stdin,
    )
    fetch, papers = _report_read(read, report)
    if not papers:
        if source != "-":
            store.record_fetch(source, fetch)
        return
    model = classifier()
    try:
        # A stream: the store takes each chunk (parsed and classified here) before its
        # write transaction opens, so the model never works under the write lock and no
        # more than two chunks of papers are held at once.
        summary = store.ingest_source(
            source,
            classified(papers, model),
            dedup=dedup,
            model_version=model.model_version,
            fetch=fetch if source != "-" else None,
        )
    except CorruptDatabaseError:
        raise
    except StoreError as exc:
        _storage_failed(store, report, exc)
        return
    report.absorb(summary)


def _storage_failed(store: Store, report: SourceReport, error: Exception) -> None:
    """The source's papers could not be stored: report it, and count it as a failed fetch."""
    from adapt_triage.store import StoreError

    message = _named(report.source, error)
    report.fail(message, "transient")
    if report.source != "-":
        with contextlib.suppress(StoreError, sqlite3.Error):
            store.record_fetch(report.source, FetchRecord(status="error", error=message))


def _named(source: str, exc: BaseException) -> str:
    message = str(exc)
    return message if message.startswith(f"{source}:") else f"{source}: not stored: {message}"


def judge_failure(
    store: Store, report: SourceReport, report_after: int = 1, state_key: str | None = None
) -> None:
    """Set `report.failures` (failed runs in a row) and `report.muted`: a passing outage
    (transient) of a source that has worked, failing fewer than `report_after` runs in a
    row, which `--quiet` does not report yet. A typo, a 404 or an unreadable file is never
    muted. `state_key`: the `sources` row that counts the failures, if not the source."""
    if report.status != "error" or report.source == "-":
        return
    try:
        state = store.get_fetch_state(state_key or report.source)
    except Exception:  # a storage failure is already this source's error line
        state = None
    report.failures = state.consecutive_failures if state else 1
    passing = report.error_kind == "transient" and state is not None and state.ever_succeeded
    report.muted = passing and report.failures < report_after


# --------------------------------------------------------------------------- every source


def ingest_sources(
    store: Store,
    sources: Iterable[str],
    *,
    classifier_factory: Callable[[], TriageClassifier],
    fetcher: FetcherLike | None = None,
    stdin: BinaryIO | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    report_after: int = 1,
) -> list[SourceReport]:
    """Ingest every source (see `ingest_source`), each stored all or nothing.

    The classifier is built once, on the first source that has papers. A source that cannot
    be read, or whose papers cannot be stored, is reported and recorded as failed (its
    consecutive-failure count goes up); the other sources go on. Each report is judged
    (`judge_failure`, with `report_after`) before `on_done` sees it.
    """
    from adapt_triage.store import CorruptDatabaseError, StoreError

    dedup = store.dedup_index()
    built: list[TriageClassifier] = []

    def classifier() -> TriageClassifier:
        if not built:
            built.append(classifier_factory())
        return built[0]

    reports: list[SourceReport] = []
    for source in sources:
        if on_start is not None:
            on_start(source)
        report = SourceReport(source)
        try:
            ingest_source(
                store,
                source,
                report,
                dedup=dedup,
                classifier=classifier,
                fetcher=fetcher,
                stdin=stdin,
            )
        except (StoreError, sqlite3.Error) as exc:
            # A storage failure (full disk, read-only file, ...) stays inside its source.
            error = exc if isinstance(exc, StoreError) else store.error_for(exc)
            if isinstance(error, CorruptDatabaseError):
                raise error from None  # the whole file is in doubt: stop the run
            _storage_failed(store, report, error)
        judge_failure(store, report, report_after)
        reports.append(report)
        if on_done is not None:
            on_done(report)
    return reports
