"""`classify` and `ingest`: the commands that read sources."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from adapt_triage.commands.common import (
    DeadlineOption,
    FormatOption,
    JsonOption,
    MaxSizeOption,
    RetriesOption,
    TimeoutOption,
    existing_store,
    fail,
    open_store,
    settings,
    stdin_hint,
)
from adapt_triage.exitstatus import ExitStatus
from adapt_triage.output import SummaryFormat

if TYPE_CHECKING:
    from adapt_triage.ingest import SourceReport


def classify(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Files, URLs, or - for stdin.")],
    format: FormatOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add the terms that drove each label.")
    ] = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    deadline: DeadlineOption = None,
    max_size: MaxSizeOption = None,
    json_lines: JsonOption = False,
) -> None:
    """Classify papers without storing them.

    Example: adapt-triage classify --format jsonl papers.jsonl | jq -c '{title, labels}'
    """
    from adapt_triage.localread import limited_fetcher
    from adapt_triage.model import build_classifier
    from adapt_triage.output import choose, emit
    from adapt_triage.preview import classify_sources
    from adapt_triage.render import CLASSIFY_COLUMNS, render_classify_table, sanitize

    fmt = choose(format, json_alias=json_lines)
    quiet = settings(ctx).quiet
    stdin_hint(sources, quiet)
    classifier = build_classifier(existing_store(ctx))
    failed = False
    collected: list[dict[str, Any]] = []  # json, csv, markdown: one document for all sources
    with limited_fetcher(timeout, retries, deadline, max_size) as fetcher:
        for result in classify_sources(sources, classifier, fetcher=fetcher, explain=explain):
            for warning in [] if quiet else result.warnings:
                typer.echo(f"adapt-triage: warning: {sanitize(warning)}", err=True)
            for error in result.errors:
                typer.echo(f"adapt-triage: {sanitize(error)}", err=True)
            failed = failed or bool(result.errors)
            if fmt == "jsonl":
                emit(result.records, fmt, columns=CLASSIFY_COLUMNS)  # streamed, a line each
            elif fmt == "table":
                render_classify_table(list(result.records), explain=explain)
            else:
                collected.extend(result.records)
            sys.stdout.flush()
    if fmt not in ("jsonl", "table"):
        emit(collected, fmt, columns=CLASSIFY_COLUMNS + (("explain",) if explain else ()))
    if failed:
        raise typer.Exit(ExitStatus.SOURCE_FAILED)


SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files, URLs, or - for stdin (default: every subscribed feed)."),
]
SummaryOption = Annotated[
    SummaryFormat,
    typer.Option("--format", "-f", help="text (stderr) or json (summary on stdout)."),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for cron).")
]
ReportAfterOption = Annotated[
    int,
    typer.Option(
        "--report-after",
        envvar="ADAPT_TRIAGE_REPORT_AFTER",
        min=1,
        help="With --quiet, report a passing outage (timeout, refused connection, HTTP "
        "5xx or 429) of a source that has worked only once it has failed in N "
        "consecutive runs; other failures are reported at once (the exit status "
        "says 1 every time).",
    ),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait", min=0.0, help="Seconds to wait for another run to finish before giving up."
    ),
]
BackfillSinceOption = Annotated[
    str | None,
    typer.Option(help="Backfill: the first day (DATE) for arxiv:CATEGORY and hf: sources."),
]
BackfillUntilOption = Annotated[
    str | None, typer.Option(help="Backfill: the last day (DATE; default today).")
]


def ingest(
    ctx: typer.Context,
    sources: SourcesArg = None,
    format: SummaryOption = SummaryFormat.text,
    quiet: QuietOption = False,
    report_after: ReportAfterOption = 3,
    wait: WaitOption = 600.0,
    since: BackfillSinceOption = None,
    until: BackfillUntilOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    deadline: DeadlineOption = None,
    max_size: MaxSizeOption = None,
) -> None:
    """Read, classify, deduplicate and store papers; a summary per source on stderr.

    Backfill the days a feed no longer shows: `arxiv:cs.LG --since DATE` (arXiv API, paged,
    resumable; join categories with +) and `hf:DATE` (Hugging Face daily papers).
    Exit status 0 when every source was read, 1 when some failed (the others are stored).
    """
    from adapt_triage.ingest import ingest_sources, judge_failure
    from adapt_triage.localread import limited_fetcher
    from adapt_triage.model import build_classifier
    from adapt_triage.render import SourceProgress, dumps

    quiet = quiet or settings(ctx).quiet
    stdin_hint(sources, quiet)
    store = open_store(ctx)
    sources, backfills = _sources_to_read(store, sources, since=since, until=until)
    on_done = _reporter(quiet=quiet, summary=format)
    show_bar = not quiet and sys.stderr.isatty() and len(sources) + len(backfills) > 1
    with (
        store.run_lock(timeout=wait, command="ingest"),
        limited_fetcher(timeout, retries, deadline, max_size) as fetcher,
        SourceProgress(len(sources), enabled=show_bar) as progress,
    ):
        reports = ingest_sources(
            store,
            sources,
            classifier_factory=lambda: build_classifier(store),
            fetcher=fetcher,
            on_done=lambda report: on_done(report, progress),
            on_start=progress.start,
            report_after=report_after,
        )
        for spec in backfills:
            reports.append(_backfill(store, spec, fetcher, progress, quiet=quiet))
            judge_failure(store, reports[-1], report_after, state_key=spec.source)
            on_done(reports[-1], progress)
    if format is SummaryFormat.json:
        typer.echo(dumps({"sources": [r.to_dict() for r in reports]}))
    if any(r.failed for r in reports):
        raise typer.Exit(ExitStatus.SOURCE_FAILED)


def _sources_to_read(
    store: Any, sources: list[str] | None, *, since: str | None, until: str | None
) -> tuple[list[str], list[Any]]:
    """The sources named (else the subscribed feeds), and the backfill windows among them;
    a usage error when there is nothing to read or a backfill is ill-formed."""
    from adapt_triage.backfill import BackfillError, expand_sources

    if not sources:
        sources = [feed.url for feed in store.list_feeds()]
        if not sources:
            fail(
                "nothing to ingest: give a SOURCE or subscribe with `feeds add URL`",
                ExitStatus.USAGE,
            )
    try:
        return expand_sources(sources, since=since, until=until)
    except BackfillError as exc:
        fail(str(exc), ExitStatus.USAGE)


def _reporter(*, quiet: bool, summary: Any) -> Any:
    """What `ingest` says of each source when it is done: its errors (unless the pipeline
    muted a passing outage for --quiet, see `ingest.judge_failure`), warnings and summary
    line; then the progress bar advances."""
    from adapt_triage.render import report_line, sanitize

    def on_done(report: SourceReport, progress: Any) -> None:
        if not (quiet and report.muted):
            for error in report.errors:
                runs = report.failures
                suffix = f" (failed {runs} runs in a row)" if runs > 1 else ""
                progress.echo(f"adapt-triage: {sanitize(error)}{suffix}")
        if not quiet:
            for warning in report.warnings:
                progress.echo(f"adapt-triage: warning: {sanitize(warning)}")
            if summary is SummaryFormat.text:
                progress.echo(report_line(report))
        progress.advance()

    return on_done


def _backfill(store: Any, spec: Any, fetcher: Any, progress: Any, *, quiet: bool) -> Any:
    """One arXiv API backfill window, with a bar over its pages on a terminal."""
    from adapt_triage.backfill import run_arxiv_backfill
    from adapt_triage.model import build_classifier
    from adapt_triage.render import PageProgress

    progress.start(spec.label)
    enabled = not quiet and sys.stderr.isatty()
    with PageProgress(spec.label, enabled=enabled, within=progress) as pages:
        return run_arxiv_backfill(
            store,
            spec,
            fetcher=fetcher,
            classifier_factory=lambda: build_classifier(store),
            on_page=pages.update,
        )
