"""The pipeline: read a source, parse it, classify, deduplicate and store, one source at a time.

Each source is isolated: a source that cannot be read or parsed is reported with one line
naming it, and the others go on. Nothing here prints; the CLI renders the reports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from adapt_triage.paper import Paper

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.fetch import Fetcher
    from adapt_triage.sources import ParseResult
    from adapt_triage.store import Store


@dataclass
class SourceReport:
    """What happened to one source in one run."""

    source: str
    status: str = "ok"  # ok | not-modified | empty | error
    format: str | None = None
    items: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    merged: int = 0  # inputs folded into a stored paper of the same title id (in warnings)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    feed_date: str | None = None
    skip_days: list[str] = field(default_factory=list)
    # When status is "error": "transient" (a timeout, a refused connection, 5xx, 429: worth
    # waiting out) or "permanent" (a typo'd path, 404/410/401/403, not a feed at all).
    error_kind: str | None = None

    @property
    def failed(self) -> bool:
        """The source could not be read at all, or some of its records were bad."""
        return self.status == "error" or bool(self.errors)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = self.failed
        return data


@dataclass
class ReadOutcome:
    source: str
    parsed: ParseResult | None
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def read_and_parse(
    source: str,
    *,
    fetcher: Fetcher | None = None,
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


def _ingest_one_source(
    store: Store,
    source: str,
    report: SourceReport,
    dedup: Any,
    classifier: Callable[[], TriageClassifier],
    fetcher: Fetcher | None,
    stdin: BinaryIO | None,
) -> None:
    """Read, classify and store one source, filling `report`. Storage errors propagate."""
    from adapt_triage.store import CorruptDatabaseError, StoreError

    state = store.get_fetch_state(source) if source != "-" else None
    outcome = read_and_parse(
        source,
        fetcher=fetcher,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        stdin=stdin,
    )
    meta: dict[str, Any] = {}
    if outcome.error:
        report.status = "error"
        report.error_kind = outcome.error_kind
        report.errors.append(outcome.error)
    elif outcome.not_modified:
        report.status = "not-modified"
        meta.update(etag=outcome.etag, last_modified=outcome.last_modified)
    else:
        parsed = outcome.parsed
        assert parsed is not None
        report.format = parsed.format
        report.items = parsed.item_count
        report.errors.extend(parsed.errors)
        report.warnings.extend(parsed.warnings)
        report.feed_date = parsed.feed_date
        report.skip_days = list(parsed.skip_days)
        if parsed.fatal:
            report.status = "error"
            report.error_kind = "permanent"  # read, but not a feed we can parse
        else:
            report.status = "ok" if parsed.papers else "empty"
            meta.update(
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                item_count=parsed.item_count,
                feed_date=parsed.feed_date,
                skip_days=list(parsed.skip_days),
            )
    meta["status"] = report.status
    if report.status == "error":
        meta["error"] = report.errors[0] if report.errors else "unreadable"
    papers = outcome.parsed.papers if report.status == "ok" and outcome.parsed else []
    stored = False
    if papers:
        model = classifier()
        try:
            summary = store.ingest_source(
                source,
                classified(papers, model),
                dedup=dedup,
                model_version=model.model_version,
                fetch_meta=meta if source != "-" else None,
            )
        except CorruptDatabaseError:
            raise
        except StoreError as exc:
            message = _named(source, exc)
            report.status = "error"
            report.error_kind = "transient"
            report.errors.append(message)
            meta.update(status="error", error=message)
            if source != "-":
                with contextlib.suppress(StoreError):
                    store.record_fetch(source, **_error_meta(meta))
            return
        else:
            stored = True
            report.new = summary.new
            report.updated = summary.updated
            report.duplicates = summary.duplicates
            report.unchanged = summary.unchanged
            report.merged = summary.merged
            report.errors.extend(summary.errors)
            report.warnings.extend(summary.warnings)
    if source != "-" and not stored:
        store.record_fetch(source, **(_error_meta(meta) if meta["status"] == "error" else meta))


def _error_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Keep the previous conditional-GET state: nothing new was stored."""
    return {k: v for k, v in meta.items() if k not in ("etag", "last_modified")}


def _named(source: str, exc: BaseException) -> str:
    message = str(exc)
    return message if message.startswith(f"{source}:") else f"{source}: not stored: {message}"


def ingest_sources(
    store: Store,
    sources: Iterable[str],
    *,
    classifier_factory: Callable[[], TriageClassifier],
    fetcher: Fetcher | None = None,
    stdin: BinaryIO | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[SourceReport]:
    """Read, classify, deduplicate and store every source, one transaction per source.

    The classifier is built once, on the first source that has papers. A source that cannot
    be read, or whose papers cannot be stored, is reported and recorded as failed (its
    consecutive-failure count goes up); the other sources go on.
    """
    import sqlite3

    from adapt_triage.dedup import DedupIndex
    from adapt_triage.store import CorruptDatabaseError, StoreError

    dedup = DedupIndex(store.db)
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
            _ingest_one_source(store, source, report, dedup, classifier, fetcher, stdin)
        except (StoreError, sqlite3.Error) as exc:
            # A storage failure (full disk, read-only file, ...) stays inside its source.
            error = exc if isinstance(exc, StoreError) else store.error_for(exc)
            if isinstance(error, CorruptDatabaseError):
                raise error from None  # the whole file is in doubt: stop the run
            message = _named(source, error)
            report.status = "error"
            report.error_kind = "transient"
            report.errors.append(message)
            if source != "-":
                with contextlib.suppress(StoreError, sqlite3.Error):
                    store.record_fetch(source, status="error", error=message)
        reports.append(report)
        if on_done is not None:
            on_done(report)
    return reports
