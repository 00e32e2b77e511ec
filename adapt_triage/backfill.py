"""Catching up on the days the RSS feeds no longer show.

- `arxiv:cs.LG` (several categories joined with `+`) with `--since DATE [--until DATE]`
  pages through the arXiv API (`search_query=cat:... AND submittedDate:[... TO ...]`,
  oldest first, one request per 3 s through the polite `Fetcher`). Each page is stored in
  one transaction, then the next start offset is recorded in `backfill_progress`, so a run
  that is killed continues with the page it did not finish. The papers get the same ids
  (`arxiv:<id>`) and versions as the RSS entries of those days and fold with them; the
  announce type is `new` when the primary category is one asked for, else `cross`.
- `hf:DATE` (or `hf:` with `--since`/`--until`) is the Hugging Face daily papers of each date,
  `https://huggingface.co/api/daily_papers?date=DATE`, ingested as an ordinary source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from adapt_triage.ingest import SourceReport, classified

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.dedup import DedupIndex
    from adapt_triage.fetch import Fetcher
    from adapt_triage.paper import Paper
    from adapt_triage.sources.common import ParseResult
    from adapt_triage.store import Store

API_URL = "https://export.arxiv.org/api/query"
HF_URL = "https://huggingface.co/api/daily_papers"
PAGE_SIZE = 200  # entries per API request (arXiv allows up to 2000; smaller pages resume sooner)
EMPTY_PAGE_RETRIES = 2  # the API sometimes answers a page with no entries; ask again
MAX_DAYS = 366
_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?$")
_TOTAL_RE = re.compile(rb"<opensearch:totalResults[^>]*>\s*(\d+)\s*<")


class BackfillError(ValueError):
    """A backfill source or window the user must fix (a usage error)."""


@dataclass(frozen=True)
class ArxivBackfill:
    categories: tuple[str, ...]
    since: date
    until: date

    @property
    def source(self) -> str:
        """The name the papers are stored under (one `sources` row per category set)."""
        return "arxiv:" + "+".join(self.categories)

    @property
    def label(self) -> str:
        return f"{self.source} {self.since}..{self.until}"

    @property
    def query(self) -> str:
        cats = " OR ".join(f"cat:{c}" for c in self.categories)
        if len(self.categories) > 1:
            cats = f"({cats})"
        return f"{cats} AND submittedDate:[{self.since:%Y%m%d}0000 TO {self.until:%Y%m%d}2359]"

    def page_url(self, start: int, size: int) -> str:
        params = {
            "search_query": self.query,
            "start": start,
            "max_results": size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        return f"{API_URL}?{urlencode(params)}"


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BackfillError(f"{option} {text!r}: expected a date like 2026-11-20") from None


def _window(since: str | None, until: str | None, today: date, what: str) -> tuple[date, date]:
    if since is None:
        raise BackfillError(f"{what}: give the first day with --since DATE")
    start = _date(since, "--since")
    end = _date(until, "--until") if until else today
    if end < start:
        raise BackfillError(f"{what}: --until {end} is before --since {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise BackfillError(f"{what}: at most {MAX_DAYS} days at a time")
    return start, end


def is_backfill(source: str) -> bool:
    return source.startswith(("arxiv:", "hf:")) and not source.startswith("arxiv://")


def expand_sources(
    sources: Sequence[str],
    *,
    since: str | None = None,
    until: str | None = None,
    today: date | None = None,
) -> tuple[list[str], list[ArxivBackfill]]:
    """Split SOURCE arguments into ordinary sources (an `hf:` date range becomes one URL per
    day) and arXiv API backfills. Raises BackfillError for a bad one."""
    today = today or date.today()
    plain: list[str] = []
    arxiv: list[ArxivBackfill] = []
    used_window = False
    for source in sources:
        if not is_backfill(source):
            plain.append(source)
            continue
        kind, _, rest = source.partition(":")
        if kind == "hf":
            if rest.strip():
                if since or until:
                    raise BackfillError(f"{source}: give a date in the source or --since, not both")
                days = [_date(rest, source)]
            else:
                used_window = True
                start, end = _window(since, until, today, source)
                days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            plain.extend(f"{HF_URL}?date={day.isoformat()}" for day in days)
            continue
        categories = tuple(c.strip() for c in rest.split("+") if c.strip())
        bad = [c for c in categories if not _CATEGORY_RE.match(c)]
        if not categories or bad:
            raise BackfillError(
                f"{source}: expected arXiv categories like arxiv:cs.LG or arxiv:cs.LG+cs.CL"
            )
        used_window = True
        start, end = _window(since, until, today, source)
        arxiv.append(ArxivBackfill(categories, start, end))
    if (since or until) and not used_window:
        raise BackfillError("--since and --until apply to arxiv:CATEGORY and hf: sources")
    return plain, arxiv


def _total(content: bytes) -> int | None:
    match = _TOTAL_RE.search(content)
    return int(match.group(1)) if match else None


def _progress(store: Store, spec: ArxivBackfill) -> tuple[int, int | None] | None:
    """(next start, total) of the unfinished run to continue: this query's, else one of the
    same categories and first day that ended earlier (its first pages are this query's
    first pages, since results come oldest first); None to start from the beginning."""
    row = store.db.conn.execute(
        "SELECT query, next_start, total FROM backfill_progress WHERE source = ? AND since = ? "
        "AND until <= ? AND finished_at IS NULL ORDER BY query = ? DESC, until DESC LIMIT 1",
        (spec.source, spec.since.isoformat(), spec.until.isoformat(), spec.query),
    ).fetchone()
    if row is None:
        return None
    if row[0] != spec.query:
        with store.write() as conn:
            conn.execute("DELETE FROM backfill_progress WHERE query = ?", (spec.query,))
            conn.execute(
                "UPDATE backfill_progress SET query = ?, until = ? WHERE query = ?",
                (spec.query, spec.until.isoformat(), row[0]),
            )
    return int(row[1]), row[2]


def _save_progress(
    store: Store, spec: ArxivBackfill, next_start: int, total: int | None, finished: bool
) -> None:
    from adapt_triage.store import utc_now

    now = utc_now()
    with store.write() as conn:
        conn.execute(
            """INSERT INTO backfill_progress (query, source, since, until, next_start, total,
                started_at, updated_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (query) DO UPDATE SET next_start = excluded.next_start,
                total = excluded.total, updated_at = excluded.updated_at,
                finished_at = excluded.finished_at""",
            (
                spec.query,
                spec.source,
                spec.since.isoformat(),
                spec.until.isoformat(),
                next_start,
                total,
                now,
                now,
                now if finished else None,
            ),
        )


def _failed(store: Store, spec: ArxivBackfill, report: SourceReport, error: str) -> SourceReport:
    """Report the error and count it against the backfill's source (`arxiv:CATS`), like a
    feed that cannot be read, so that `--quiet` waits for consecutive failures."""
    report.status = "error"
    report.errors.insert(0, error)
    store.record_fetch(spec.source, status="error", error=error)
    return report


def _read_page(
    fetcher: Fetcher, spec: ArxivBackfill, url: str, report: SourceReport
) -> tuple[bytes, ParseResult] | str:
    """One API page, fetched and parsed (its warnings and errors added to `report`), or the
    error that ends the run."""
    from adapt_triage.fetch import FetchError
    from adapt_triage.ingest import fetch_error_kind
    from adapt_triage.sources.arxiv_api import parse_arxiv_api

    try:
        fetched = fetcher.fetch(url)
    except FetchError as exc:
        report.error_kind = fetch_error_kind(url, exc)
        return f"{spec.label}: {exc}; run the same command again to resume"
    parsed = parse_arxiv_api(fetched.content, url, fetched.headers)
    report.warnings.extend(parsed.warnings)
    if parsed.fatal:
        report.error_kind = "permanent"
        errors = parsed.errors or [f"{spec.label}: unreadable API response"]
        report.errors.extend(errors[1:])
        return errors[0]
    report.errors.extend(parsed.errors)
    return fetched.content, parsed


def _announce(papers: Sequence[Paper], spec: ArxivBackfill) -> None:
    """Entries whose primary category was asked for are `new`, the others `cross`; the URL
    is the abstract page without a version, as in the RSS feeds."""
    from adapt_triage.sources.common import arxiv_abs_url

    for paper in papers:
        primary = paper.categories[0] if paper.categories else None
        paper.announce_type = "new" if primary in spec.categories else "cross"
        if paper.arxiv_id:
            paper.url = arxiv_abs_url(paper.arxiv_id)


def _store_page(
    store: Store,
    spec: ArxivBackfill,
    papers: Sequence[Paper],
    dedup: DedupIndex,
    classifier: TriageClassifier,
    report: SourceReport,
) -> None:
    """Classify a page (before the write) and store it, adding its counts to `report`."""
    summary = store.ingest_source(
        spec.source,
        list(classified(papers, classifier)),
        dedup=dedup,
        model_version=classifier.model_version,
        fetch_meta={"kind": "arxiv-api"},
    )
    report.new += summary.new
    report.updated += summary.updated
    report.duplicates += summary.duplicates
    report.unchanged += summary.unchanged
    report.errors.extend(summary.errors)


def run_arxiv_backfill(
    store: Store,
    spec: ArxivBackfill,
    *,
    fetcher: Fetcher,
    classifier_factory: Callable[[], TriageClassifier],
    page_size: int | None = None,
    on_page: Callable[[int, int | None], None] | None = None,
) -> SourceReport:
    """Page through the API for `spec` and store every entry, resuming an unfinished run of
    the same query. `on_page(done, total)` is called after each stored page."""
    from adapt_triage.store import StoreError

    size = page_size or PAGE_SIZE
    report = SourceReport(spec.label, format="arxiv-api")
    start, total = _progress(store, spec) or (0, None)
    if start:
        report.warnings.append(f"{spec.label}: resuming at entry {start} of {total}")
    total = None  # learnt again from the first page (the window may have grown)
    dedup = store.dedup_index()
    classifier: TriageClassifier | None = None
    empty_tries = 0
    while total is None or start < total:
        page = _read_page(fetcher, spec, spec.page_url(start, size), report)
        if isinstance(page, str):
            return _failed(store, spec, report, page)
        content, parsed = page
        total = _total(content) if _total(content) is not None else total
        if total is None:
            total = start + parsed.item_count
        if parsed.item_count == 0 and start < total:
            empty_tries += 1
            if empty_tries <= EMPTY_PAGE_RETRIES:
                continue
            return _failed(
                store,
                spec,
                report,
                f"{spec.label}: the arXiv API returned no entries at {start} of {total}; "
                "run the same command again to resume",
            )
        empty_tries = 0
        _announce(parsed.papers, spec)
        if parsed.papers:
            classifier = classifier or classifier_factory()
            try:
                _store_page(store, spec, parsed.papers, dedup, classifier, report)
            except StoreError as exc:
                return _failed(store, spec, report, str(exc))
        report.items += parsed.item_count
        start += parsed.item_count
        _save_progress(store, spec, start, total, finished=start >= total)
        if on_page is not None:
            on_page(start, total)
    if total == 0 or report.items == 0:
        report.status = "empty" if not report.errors else report.status
        _save_progress(store, spec, start, total, finished=True)
    return report
