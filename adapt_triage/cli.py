"""The command line: parses options, calls the library, renders. No work happens here.

Heavy modules (scikit-learn through `classify`, feedparser, httpx, sqlite-utils) are
imported inside the commands that need them, so `adapt-triage --help` starts fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from adapt_triage import __version__

if TYPE_CHECKING:
    from adapt_triage.classify import Example, TriageClassifier
    from adapt_triage.fetch import Fetcher
    from adapt_triage.ingest import SourceReport
    from adapt_triage.localread import DeferredFetcher
    from adapt_triage.store import Store


class GlobalOptionsGroup(typer.core.TyperGroup):
    """The root command: `--db PATH` and `--quiet`/`-q` are accepted after the subcommand
    too (`adapt-triage list --db x.db`), by moving them in front of it before parsing."""

    GLOBAL_FLAGS = ("--quiet", "-q")
    GLOBAL_VALUES = ("--db",)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))


def hoist_global_options(args: list[str]) -> list[str]:
    """`--db X` / `--db=X` / `--quiet` / `-q` anywhere before `--`, moved to the front."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GlobalOptionsGroup.GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GlobalOptionsGroup.GLOBAL_VALUES and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        elif arg.startswith("--db="):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


app = typer.Typer(
    name="adapt-triage",
    cls=GlobalOptionsGroup,
    help="Triage research papers on model adaptation: ingest feeds, classify, fold "
    "duplicates, keep one SQLite history, report.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
feeds_app = typer.Typer(help="Subscribed feeds: `ingest` with no SOURCE fetches them all.")
categories_app = typer.Typer(help="Categories: the taxonomy plus your own.")
sources_app = typer.Typer(help="Every source ever read, subscribed or one-off.")
app.add_typer(feeds_app, name="feeds")
app.add_typer(categories_app, name="categories")
app.add_typer(sources_app, name="sources")


class Settings:
    def __init__(self, db: Path | None, quiet: bool) -> None:
        self.db = db
        self.quiet = quiet


# --------------------------------------------------------------------------- helpers


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit."""
    from adapt_triage.render import sanitize

    typer.echo(f"adapt-triage: {sanitize(message)}", err=True)
    raise typer.Exit(code)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings(None, False)


def open_store(ctx: typer.Context, *, must_exist: bool = False) -> Store:
    from adapt_triage.store import Store, StoreError, default_db_path

    path = settings(ctx).db or default_db_path()
    if must_exist and not Path(path).exists():
        fail(f"no database at {path} yet; run `adapt-triage ingest SOURCE` first")
    try:
        store = Store(path)
    except StoreError as exc:
        fail(str(exc))
    ctx.call_on_close(store.close)
    return store


def existing_store(ctx: typer.Context) -> Store | None:
    """The database when it exists (for user labels and custom categories), else None."""
    from adapt_triage.paths import default_db_path

    path = settings(ctx).db or default_db_path()
    return open_store(ctx) if Path(path).exists() else None


def user_examples(store: Store | None) -> list[Example]:
    """The papers the user labelled, as training examples (their labels, never the model's)."""
    from adapt_triage.classify import Example

    if store is None:
        return []
    return [
        Example(
            e["title"],
            e["abstract"] or "",
            list(e["labels"]),
            e["id"],
            (e.get("categories") or [None])[0],
        )
        for e in store.user_labeled_examples()
    ]


def _training_state(store: Store | None) -> tuple[list[Example], dict[str, str]]:
    """The user's labeled examples and custom categories (slug -> description)."""
    extra = {c["slug"]: c["description"] or "" for c in store.list_categories()} if store else {}
    return user_examples(store), extra


def build_classifier(store: Store | None) -> TriageClassifier:
    """The model: seed set + the user's labels + custom categories (never its own output)."""
    from adapt_triage.classify import build_default

    return build_default(*_training_state(store))


def refresh_scores(ctx: typer.Context, store: Store) -> tuple[int, str]:
    """Rescore the stored papers whose scores came from another model (after a `label`, an
    upgrade or a new category), so that listings agree with `classify` and `review`. The
    model is loaded only when some paper is stale. Returns (papers rescored, model version)."""
    from adapt_triage.classify import build_default, default_model_version
    from adapt_triage.rescore import rescore

    user, extra = _training_state(store)
    version = default_model_version(user, extra)
    total = store.count_stale_scores(version)
    if not total:
        return 0, version
    from adapt_triage.render import SourceProgress

    classifier = build_default(user, extra)
    show_bar = sys.stderr.isatty() and not settings(ctx).quiet
    with SourceProgress(total, enabled=show_bar, label="rescoring") as progress:
        done = rescore(store, classifier, on_batch=progress.advance)
    return done, classifier.model_version


def make_fetcher() -> Fetcher:
    """The HTTP fetcher for this run (tests replace it with one over httpx.MockTransport)."""
    from adapt_triage.fetch import Fetcher

    return Fetcher()


# Time and size limits of the commands that read sources (defaults in fetch.py, README).
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        help="Per-request timeout (connect, and each wait for data). Default 15.",
        show_default=False,
    ),
]
RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        help="Retries of a failed request (timeouts, refused, 429, 5xx). Default 2.",
        show_default=False,
    ),
]
DeadlineOption = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        min=0.1,
        metavar="SECONDS",
        help="Overall limit per source, over every attempt and the whole body. Default 60.",
        show_default=False,
    ),
]
MaxSizeOption = Annotated[
    float | None,
    typer.Option(
        "--max-size",
        min=0.001,
        metavar="MB",
        help="Largest source read (URL body, file or stdin), in MB. Default 20.",
        show_default=False,
    ),
]


def limited_fetcher(
    timeout: float | None,
    retries: int | None,
    deadline: float | None,
    max_size: float | None,
) -> DeferredFetcher:
    """make_fetcher() with the limits the user gave (the others keep their defaults), made
    only when a URL is fetched: a run over local files never loads the HTTP stack."""
    from adapt_triage.localread import DEFAULT_MAX_BYTES, DeferredFetcher

    max_bytes = int(max_size * 1024 * 1024) if max_size is not None else None

    def make() -> Fetcher:
        fetcher = make_fetcher()
        fetcher.configure(timeout=timeout, retries=retries, deadline=deadline, max_bytes=max_bytes)
        return fetcher

    return DeferredFetcher(make, max_bytes=max_bytes or DEFAULT_MAX_BYTES)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stdin_hint(sources: list[str] | None, quiet: bool) -> None:
    """`-` with a terminal on stdin would wait in silence: say what it waits for."""
    stdin = sys.stdin
    if sources and "-" in sources and not quiet and stdin is not None and stdin.isatty():
        typer.echo(
            "adapt-triage: reading papers from stdin: paste them, then Ctrl-D "
            "(Ctrl-Z Enter on Windows)",
            err=True,
        )


class ClassifyFormat(str, Enum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    table = "table"


class ListFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    markdown = "markdown"


# Options shared by the commands that select stored papers.
CategoryOption = Annotated[
    list[str] | None,
    typer.Option(
        "--category", "-c", metavar="CATS", help="Only these categories (a,b or repeat the option)."
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(metavar="WHEN", help="Only papers stored since 1d, 2w, 12h or a DATE."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Include the papers linked as duplicates.")]
LimitOption = Annotated[int | None, typer.Option(min=0, metavar="N", help="At most N papers.")]
ListFormatOption = Annotated[
    ListFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="table (terminal default), jsonl (piped default), json, csv or markdown.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")]
StarredOption = Annotated[bool, typer.Option("--starred", help="Only papers you starred.")]


class SummaryFormat(str, Enum):
    text = "text"
    json = "json"


class EvalView(str, Enum):
    seed = "seed"
    real_days = "real-days"
    all = "all"


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


# --------------------------------------------------------------------------- global options


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adapt-triage {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            envvar="ADAPT_TRIAGE_DB",
            help="SQLite database: --db wins over $ADAPT_TRIAGE_DB, which wins over the user "
            "data directory (`adapt-triage path`). Accepted after the subcommand too.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print nothing but errors (for cron); also after the subcommand."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = Settings(db, quiet)


# --------------------------------------------------------------------------- classify


@app.command()
def classify(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Files, URLs, or - for stdin.")],
    format: Annotated[
        ClassifyFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (terminal default), jsonl (piped default), json or csv.",
            show_default=False,
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add the terms that drove each label.")
    ] = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    deadline: DeadlineOption = None,
    max_size: MaxSizeOption = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")] = False,
) -> None:
    """Classify papers without storing them.

    Example: adapt-triage classify --format jsonl papers.jsonl | jq -c '{title, labels}'
    """
    from adapt_triage.ingest import classified, read_and_parse
    from adapt_triage.render import paper_record, render_classify_table, sanitize, write_jsonl

    fmt = format or (ClassifyFormat.table if stdout_is_terminal() else ClassifyFormat.jsonl)
    if json_lines:
        fmt = ClassifyFormat.jsonl
    stdin_hint(sources, settings(ctx).quiet)
    classifier = build_classifier(existing_store(ctx))
    failed = False
    collected: list[dict[str, Any]] = []  # json and csv: one document for every source
    with limited_fetcher(timeout, retries, deadline, max_size) as fetcher:
        for source in sources:
            outcome = read_and_parse(source, fetcher=fetcher)
            errors = [outcome.error] if outcome.error else []
            papers = []
            if outcome.parsed is not None:
                errors += outcome.parsed.errors
                papers = outcome.parsed.papers
                if not settings(ctx).quiet:
                    for warning in outcome.parsed.warnings:
                        typer.echo(f"adapt-triage: warning: {sanitize(warning)}", err=True)
            for error in errors:
                typer.echo(f"adapt-triage: {sanitize(error)}", err=True)
            failed = failed or bool(errors)
            records = []
            for paper in classified(papers, classifier):
                record = paper_record(paper)
                if explain:
                    record["explain"] = {
                        label: classifier.explain(paper, label) for label in paper.labels
                    }
                if fmt is ClassifyFormat.jsonl:
                    write_jsonl([record], sys.stdout)  # streamed: one line per paper
                else:
                    records.append(record)
            if fmt is ClassifyFormat.table:
                render_classify_table(records, explain=explain)
            else:
                collected.extend(records)
            sys.stdout.flush()
    if fmt is ClassifyFormat.json:
        from adapt_triage.render import write_json

        write_json(collected, sys.stdout)
    elif fmt is ClassifyFormat.csv:
        from adapt_triage.render import write_csv

        columns = ("id", "title", "labels", "scores", "url", "published", "source", "authors")
        write_csv(collected, sys.stdout, columns + (("explain",) if explain else ()))
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- eval


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table (a text report), json or jsonl (one line)."),
    ] = ReportFormat.table,
    folds: Annotated[int, typer.Option(min=2, help="Seed cross-validation folds.")] = 5,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats with reshuffled folds.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed for the seed folds.")] = 0,
    day_folds: Annotated[
        int, typer.Option("--day-folds", min=2, help="Folds of development days.")
    ] = 5,
    view: Annotated[
        EvalView, typer.Option("--view", help="seed, real-days or all.")
    ] = EvalView.all,
) -> None:
    """How good the classifier is: (a) cross-validation on the seed set plus your labels;
    (b) real arXiv days it has not trained on, grouped by day, and the held-out days;
    (c) keyword rules, TF-IDF + naive Bayes and TF-IDF + linear SVM on the same folds."""
    from adapt_triage.realday_eval import evaluate_all
    from adapt_triage.render import dumps

    try:
        report = evaluate_all(
            user_examples(existing_store(ctx)),
            seed_view=view is not EvalView.real_days,
            real_view=view is not EvalView.seed,
            folds=folds,
            repeats=repeats,
            seed=seed,
            day_folds=day_folds,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    if format is ReportFormat.table:
        typer.echo(report.render())
    else:
        typer.echo(dumps(report.to_dict()))


# --------------------------------------------------------------------------- ingest


def _report_line(report: SourceReport) -> str:
    from adapt_triage.render import sanitize

    parts = [
        f"{report.status}",
        f"items {report.items}",
        f"new {report.new}",
        f"updated {report.updated}",
        f"duplicates {report.duplicates}",
        f"errors {len(report.errors)}",
    ]
    if report.merged:
        parts.insert(5, f"merged {report.merged}")
    if report.feed_date:
        parts.append(f"feed date {report.feed_date}")
    if report.status == "empty" and report.skip_days:
        parts.append(f"no items on {', '.join(report.skip_days)} is normal")
    return sanitize(f"{report.source}: " + ", ".join(parts))


@app.command()
def ingest(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Files, URLs, or - for stdin (default: every subscribed feed)."),
    ] = None,
    format: Annotated[
        SummaryFormat,
        typer.Option("--format", "-f", help="text (stderr) or json (summary on stdout)."),
    ] = SummaryFormat.text,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for cron).")
    ] = False,
    report_after: Annotated[
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
    ] = 3,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0.0, help="Seconds to wait for another run to finish before giving up."
        ),
    ] = 600.0,
    since: Annotated[
        str | None,
        typer.Option(help="Backfill: the first day (DATE) for arxiv:CATEGORY and hf: sources."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Backfill: the last day (DATE; default today).")
    ] = None,
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
    from adapt_triage.backfill import BackfillError, expand_sources, run_arxiv_backfill
    from adapt_triage.ingest import ingest_sources, judge_failure
    from adapt_triage.render import PageProgress, SourceProgress, dumps, sanitize
    from adapt_triage.store import StoreError

    quiet = quiet or settings(ctx).quiet
    stdin_hint(sources, quiet)
    store = open_store(ctx)
    if not sources:
        sources = [feed.url for feed in store.list_feeds()]
        if not sources:
            fail("nothing to ingest: give a SOURCE or subscribe with `feeds add URL`", 2)
    try:
        sources, backfills = expand_sources(sources, since=since, until=until)
    except BackfillError as exc:
        fail(str(exc), 2)

    def on_done(report: SourceReport) -> None:
        if not (quiet and report.muted):
            for error in report.errors:
                suffix = f" (failed {report.failures} runs in a row)" if report.failures > 1 else ""
                progress.echo(f"adapt-triage: {sanitize(error)}{suffix}")
        if not quiet:
            for warning in report.warnings:
                progress.echo(f"adapt-triage: warning: {sanitize(warning)}")
            if format is SummaryFormat.text:
                progress.echo(_report_line(report))
        progress.advance()

    show_bar = not quiet and sys.stderr.isatty() and len(sources) + len(backfills) > 1
    try:
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
                on_done=on_done,
                on_start=progress.start,
                report_after=report_after,
            )
            for spec in backfills:
                progress.start(spec.label)
                with PageProgress(
                    spec.label, enabled=not quiet and sys.stderr.isatty(), within=progress
                ) as pages:
                    reports.append(
                        run_arxiv_backfill(
                            store,
                            spec,
                            fetcher=fetcher,
                            classifier_factory=lambda: build_classifier(store),
                            on_page=pages.update,
                        )
                    )
                judge_failure(store, reports[-1], report_after, state_key=spec.source)
                on_done(reports[-1])
    except StoreError as exc:  # the run lock, or a database found damaged mid-run
        fail(str(exc))
    if format is SummaryFormat.json:
        typer.echo(dumps({"sources": [r.to_dict() for r in reports]}))
    if any(r.failed for r in reports):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- list / search


def _emit_papers(rows: Iterable[dict[str, Any]], fmt: ListFormat, title: str) -> None:
    """Stored papers in `fmt`; jsonl, json and csv stream from `rows` (a large history is
    never held whole), the table and Markdown views take them all."""
    from adapt_triage.output import emit
    from adapt_triage.render import (
        EXPORT_COLUMNS,
        export_markdown,
        render_paper_table,
        stored_record,
    )

    if fmt is ListFormat.table:
        rows = list(rows)
    emit(
        (stored_record(r) for r in rows),
        fmt.value,
        sys.stdout,
        columns=EXPORT_COLUMNS,
        table=lambda _records: render_paper_table(list(rows), title=title),
        markdown=export_markdown,
    )


def _list_format(format: ListFormat | None, json_lines: bool) -> ListFormat:
    if json_lines:
        return ListFormat.jsonl
    return format or (ListFormat.table if stdout_is_terminal() else ListFormat.jsonl)


def _since(text: str | None) -> str | None:
    from adapt_triage.dates import iso, parse_since

    if text is None:
        return None
    try:
        return iso(parse_since(text))
    except ValueError as exc:
        fail(str(exc), 2)


def _categories(
    store: Store | None, values: list[str] | None, option: str = "--category"
) -> list[str] | None:
    """Comma lists and repeats of category slugs, checked (exit 2 with the valid ones)."""
    from adapt_triage.taxonomy import DEFAULT_SLUGS, category_order
    from adapt_triage.validation import InvalidValueError, check_categories

    if not values:
        return None
    known = store.known_labels() if store is not None else category_order(list(DEFAULT_SLUGS))
    try:
        return check_categories(values, known, option) or None
    except InvalidValueError as exc:
        fail(str(exc), 2)


@app.command("list")
def list_command(
    ctx: typer.Context,
    category: CategoryOption = None,
    since: SinceOption = None,
    include_all: AllOption = False,
    limit: LimitOption = None,
    format: ListFormatOption = None,
    starred: StarredOption = False,
    unread: Annotated[bool, typer.Option("--unread", help="Only papers not marked read.")] = False,
    json_lines: JsonOption = False,
) -> None:
    """Stored papers, newest first."""
    fmt = _list_format(format, json_lines)
    store = open_store(ctx, must_exist=True)
    category = _categories(store, category)
    refresh_scores(ctx, store)
    rows = store.iter_papers(  # streamed: a large history is never held whole for jsonl/csv
        category=category,
        since=_since(since),
        include_duplicates=include_all,
        limit=limit,
        starred=starred,
        unread=unread,
    )
    from adapt_triage.dates import plural

    if fmt is ListFormat.table:
        rows = list(rows)
        _emit_papers(rows, fmt, title=plural(len(rows), "paper"))
    else:
        _emit_papers(rows, fmt, title="")


class SearchOrder(str, Enum):
    rank = "rank"
    newest = "newest"


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="SQLite full-text query over title and abstract.")],
    category: CategoryOption = None,
    since: SinceOption = None,
    include_all: AllOption = False,
    limit: LimitOption = None,
    format: ListFormatOption = None,
    json_lines: JsonOption = False,
    order: Annotated[
        SearchOrder,
        typer.Option("--order", help="rank (best match first) or newest (stored last first)."),
    ] = SearchOrder.rank,
) -> None:
    """Full-text search of title, abstract and authors (SQLite FTS5 syntax: AND, OR, NOT,
    "a phrase", title:word, prefix*), best match first.

    Example: adapt-triage search '"low rank" OR lora' --format jsonl
    """
    from adapt_triage.dates import plural
    from adapt_triage.store import StoreError

    fmt = _list_format(format, json_lines)
    store = open_store(ctx, must_exist=True)
    category = _categories(store, category)
    try:
        rows = store.search(
            query,
            category=category,
            since=_since(since),
            include_duplicates=include_all,
            limit=limit,
            order=order.value,
        )
    except StoreError as exc:
        fail(str(exc), 2)
    _emit_papers(rows, fmt, title=f"{plural(len(rows), 'paper')} matching {query!r}")


# --------------------------------------------------------------------------- show / dedup / label


def _report_format(format: ReportFormat | None, json_lines: bool) -> ReportFormat:
    """--json, else --format, else a table on a terminal and JSON Lines in a pipe."""
    if json_lines:
        return ReportFormat.jsonl
    return format or (ReportFormat.table if stdout_is_terminal() else ReportFormat.jsonl)


@app.command()
def show(
    ctx: typer.Context,
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")],
    format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format", "-f", help="table (terminal default), jsonl (piped default) or json."
        ),
    ] = None,
    json_lines: JsonOption = False,
) -> None:
    """One paper: its fields, scores with the terms behind each label, versions, duplicates."""
    from adapt_triage.render import dumps, render_show, stored_record
    from adapt_triage.store import StoreError, row_to_paper

    store = open_store(ctx, must_exist=True)
    try:
        paper = store.get_paper(paper_id)
        if paper is None:
            fail(f"no stored paper matches {paper_id!r}")
        versions = store.versions(paper["id"])
        duplicates = store.duplicates_of(paper["id"])
        sources = store.paper_sources(paper["id"])
    except StoreError as exc:
        fail(str(exc))
    canonical = store.get_paper(paper["duplicate_of"]) if paper.get("duplicate_of") else None
    classifier = build_classifier(store)
    as_paper = row_to_paper(paper)
    explain = {label: classifier.explain(as_paper, label) for label in paper["labels"]}
    fmt = _report_format(format, json_lines)
    if fmt is not ReportFormat.table:
        record = stored_record(paper)
        record.update(
            explain=explain,
            versions=versions,
            duplicates=[stored_record(d) for d in duplicates],
            sources=sources,
        )
        typer.echo(dumps(record))  # one object: the same line for json and jsonl
        return
    render_show(paper, explain, versions, duplicates, sources, canonical)


dedup_app = typer.Typer(
    help="The duplicate clusters; `dedup link A B` / `dedup unlink A B` decide for the rules."
)
app.add_typer(dedup_app, name="dedup")
PaperArg = Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")]


@dedup_app.callback(invoke_without_command=True)
def dedup(
    ctx: typer.Context,
    format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (terminal default), jsonl (one cluster a line; piped default) or json.",
        ),
    ] = None,
    json_lines: JsonOption = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="The index's keys and buckets (full ones too).")
    ] = False,
) -> None:
    """The duplicate clusters: each canonical paper with the papers linked to it, the
    reason and the similarity score."""
    if ctx.invoked_subcommand is not None:
        return
    from adapt_triage.render import (
        render_clusters,
        render_dedup_stats,
        stored_record,
        write_json,
        write_jsonl,
    )

    store = open_store(ctx, must_exist=True)
    fmt = _report_format(format, json_lines)
    if stats:
        rows = store.dedup_stats()
        if fmt is ReportFormat.table:
            render_dedup_stats(rows)
        else:
            (write_jsonl if fmt is ReportFormat.jsonl else write_json)(rows, sys.stdout)
        return
    clusters = store.duplicate_clusters()
    if fmt is ReportFormat.table:
        render_clusters(clusters)
        return
    records = [
        {
            "canonical": stored_record(cluster["canonical"]),
            "duplicates": [
                {
                    **stored_record(d),
                    "reason": d.get("dup_reason"),
                    "score": None if d.get("dup_score") is None else float(d["dup_score"]),
                }
                for d in cluster["duplicates"]
            ],
        }
        for cluster in clusters
    ]
    (write_jsonl if fmt is ReportFormat.jsonl else write_json)(records, sys.stdout)


def _dedup_decision(ctx: typer.Context, first: str, second: str, *, same: bool) -> None:
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError

    store = open_store(ctx, must_exist=True)
    try:
        done = (store.link_papers if same else store.unlink_papers)(first, second)
    except StoreError as exc:
        fail(str(exc))
    typer.echo(sanitize(done))


@dedup_app.command("link")
def dedup_link(ctx: typer.Context, first: PaperArg, second: PaperArg) -> None:
    """Record that two papers are one work: linked whatever the rules say, for good."""
    _dedup_decision(ctx, first, second, same=True)


@dedup_app.command("unlink")
def dedup_unlink(ctx: typer.Context, first: PaperArg, second: PaperArg) -> None:
    """Record that two papers are different works: never linked again by the rules."""
    _dedup_decision(ctx, first, second, same=False)


@app.command()
def label(
    ctx: typer.Context,
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")],
    add: Annotated[list[str] | None, typer.Option("--add", "-a", help="Add a category.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", "-r", help="Remove a category.")
    ] = None,
    off_topic: Annotated[
        bool, typer.Option("--off-topic", help="Mark the paper off-topic (alone).")
    ] = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget your labels; the model's apply again.")
    ] = False,
) -> None:
    """Correct a paper's labels. Your labels win over the model's and train the next model."""
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError
    from adapt_triage.taxonomy import OFF_TOPIC

    add = list(add or [])
    if off_topic:
        add.append(OFF_TOPIC)
    if not (add or remove or clear):
        fail("say what to change: --add CAT, --remove CAT, --off-topic or --clear", 2)
    store = open_store(ctx, must_exist=True)
    try:
        if clear:
            store.clear_user_labels(paper_id)
            paper = store.get_paper(paper_id)
            labels = paper["labels"] if paper else []
        else:
            labels = store.label_paper(paper_id, add=add, remove=list(remove or []))
    except StoreError as exc:
        fail(str(exc))
    if not settings(ctx).quiet:
        typer.echo(f"{sanitize(paper_id)}: {', '.join(labels)}")


@app.command()
def reclassify(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Rescore every paper, not only the stale ones.")
    ] = False,
) -> None:
    """Rescore the stored papers whose scores came from another model (after `label`, an
    upgrade or a new category). `digest` and `list` do this by themselves."""
    store = open_store(ctx, must_exist=True)
    if everything:
        store.forget_model_version()
    done, version = refresh_scores(ctx, store)
    if not settings(ctx).quiet:
        noun = "paper" if done == 1 else "papers"
        typer.echo(f"rescored {done} {noun} (model {version})", err=True)


# --------------------------------------------------------------------------- digest


class DigestFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


@app.command()
def digest(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only papers stored since 1d, 2w, 12h or a DATE (default: every paper not "
            "shown before)."
        ),
    ] = None,
    format: Annotated[
        DigestFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (terminal default), markdown (piped default), json, jsonl, csv, html.",
        ),
    ] = None,
    category: CategoryOption = None,
    hide: Annotated[
        list[str] | None,
        typer.Option(
            "--hide", metavar="CATS", help="Leave out categories (e.g. off-topic; a,b or repeat)."
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", min=0.0, max=1.0, help="Primary score at least."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=0, help="At most N papers, the best-scoring.")
    ] = None,
    announce: Annotated[
        list[str] | None,
        typer.Option(
            "--announce",
            metavar="TYPES",
            help="Only arXiv papers announced as new, cross, replace or replace-cross "
            "(a,b or repeat; papers from other sources are kept).",
        ),
    ] = None,
    include_shown: Annotated[
        bool,
        typer.Option("--all", help="Include the papers shown in an earlier digest too."),
    ] = False,
    no_mark: Annotated[
        bool, typer.Option("--no-mark", help="Do not record this digest (a preview).")
    ] = False,
    hide_read: Annotated[
        bool, typer.Option("--hide-read", help="Leave out the papers you marked read.")
    ] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")] = False,
) -> None:
    """The papers not shown in an earlier digest, grouped by primary category, duplicates
    folded in. Only the papers that reach the output are marked shown: what --limit, a
    filter or a closed pipe (`| head`) leaves out comes back next time; --all shows the
    shown ones too. With --quiet and nothing new it prints nothing."""
    from adapt_triage.config import ConfigError, load_config
    from adapt_triage.delivery import OutputSink
    from adapt_triage.digest import build_digest
    from adapt_triage.render import digest_chunks, digest_table_notes
    from adapt_triage.validation import InvalidValueError, check_announce

    quiet = settings(ctx).quiet
    fmt = format or (DigestFormat.table if stdout_is_terminal() else DigestFormat.markdown)
    if json_lines:
        fmt = DigestFormat.jsonl
    try:
        defaults = load_config().digest  # the command line wins over the config file
    except ConfigError as exc:
        fail(str(exc), 2)
    hide = hide or defaults.hide or None
    announce = announce or defaults.announce or None
    min_score = defaults.min_score if min_score is None else min_score
    limit = defaults.limit if limit is None else limit
    store = open_store(ctx, must_exist=True)
    category = _categories(store, category)
    hidden = _categories(store, hide, "--hide") or []
    try:
        announce = check_announce(announce)
    except InvalidValueError as exc:
        fail(str(exc), 2)
    refresh_scores(ctx, store)
    result = build_digest(
        store,
        since=_since(since),
        include_shown=include_shown,
        categories=category,
        hide=hidden,
        min_score=min_score or 0.0,
        limit=limit,
        announce=announce,
        hide_read=hide_read,
    )
    if quiet and not result.count:
        return  # cron: no mail on a day with nothing new
    sink = OutputSink(sys.stdout)
    shown: list[str] = []
    for ids, chunk in digest_chunks(result, fmt.value):
        if not sink.write(chunk):
            break
        shown.extend(ids)
    if not sink.closed:
        if fmt is DigestFormat.table:
            digest_table_notes(result, stderr_notes=not quiet)
        elif fmt is DigestFormat.jsonl and result.empty_reason and not quiet:
            typer.echo(f"adapt-triage: {result.empty_reason}", err=True)
    if not no_mark and shown:
        store.mark_shown(shown, since=result.since)


# --------------------------------------------------------------------------- feeds


@feeds_app.command("add")
def feeds_add(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            metavar="FEED",
            help="An http(s) URL (arXiv RSS/API, RSS, Atom, HF JSON), an existing file, or "
            "an arXiv category: cs.LG, or arxiv:cs.LG+cs.CL for several.",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="A short, unique name for the feed.")] = None,
) -> None:
    """Subscribe to a feed; `ingest` with no SOURCE fetches every subscribed feed. Files
    are stored with their absolute path (cron runs elsewhere)."""
    from adapt_triage.feeds import FeedSpecError, resolve_feed
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError

    try:
        resolved = resolve_feed(url)
    except FeedSpecError as exc:
        fail(str(exc), 2)
    store = open_store(ctx)
    try:
        state = store.add_feed(resolved, name)
    except StoreError as exc:
        fail(str(exc), 2)
    if not settings(ctx).quiet:
        typer.echo(f"subscribed: {sanitize(state.name or state.url)} ({sanitize(state.url)})")


@feeds_app.command("remove")
def feeds_remove(
    ctx: typer.Context,
    url_or_name: Annotated[str, typer.Argument(metavar="FEED", help="The feed's URL or name.")],
) -> None:
    """Unsubscribe (the papers it brought stay stored)."""
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError

    store = open_store(ctx, must_exist=True)
    try:
        removed = store.remove_feed(url_or_name)
    except StoreError as exc:
        fail(str(exc))
    if not removed:
        fail(f"no subscribed feed {url_or_name!r} (`adapt-triage feeds list` shows them)")
    if not settings(ctx).quiet:
        typer.echo(f"unsubscribed: {sanitize(url_or_name)}")


@feeds_app.command("rename")
def feeds_rename(
    ctx: typer.Context,
    url_or_name: Annotated[str, typer.Argument(metavar="FEED", help="The feed's URL or name.")],
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="Its new, unique name.")],
) -> None:
    """Give a subscribed feed a new name."""
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError

    store = open_store(ctx, must_exist=True)
    try:
        state = store.rename_feed(url_or_name, new_name)
    except StoreError as exc:
        fail(str(exc))
    if not settings(ctx).quiet:
        typer.echo(f"renamed: {sanitize(state.url)} is now {sanitize(state.name)}")


def _emit_sources(
    items: Sequence[Any], format: RecordFormat | None, json_lines: bool, **table: str
) -> None:
    """Feeds or sources (their stored state) in one of the record formats; `table` passes
    `empty` to the table view."""
    from adapt_triage.output import emit
    from adapt_triage.render import render_feeds

    fmt = RecordFormat.jsonl if json_lines else format
    fmt = fmt or (RecordFormat.table if stdout_is_terminal() else RecordFormat.jsonl)
    emit(
        (item.to_dict() for item in items),
        fmt.value,
        sys.stdout,
        columns=SOURCE_COLUMNS,
        table=lambda _records: render_feeds(items, **table),
    )


@feeds_app.command("list")
def feeds_list(
    ctx: typer.Context,
    format: Annotated[
        RecordFormat | None,
        typer.Option("--format", "-f", help="table (terminal default), jsonl (piped), json, csv."),
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")] = False,
) -> None:
    """Subscribed feeds with the last fetch: time, status, item counts, failures."""
    _emit_sources(open_store(ctx, must_exist=True).list_feeds(), format, json_lines)


@feeds_app.command("export")
def feeds_export(ctx: typer.Context) -> None:
    """The subscribed feeds as OPML 2.0 on stdout (for newsboat, rss2email, feed readers)."""
    from adapt_triage.feeds import OpmlFeed, to_opml

    feeds = open_store(ctx, must_exist=True).list_feeds()
    sys.stdout.write(to_opml([OpmlFeed(f.url, f.name) for f in feeds]))


@feeds_app.command("import")
def feeds_import(
    ctx: typer.Context,
    opml: Annotated[Path, typer.Argument(metavar="FILE", help="An OPML file, or - for stdin.")],
) -> None:
    """Subscribe to every feed of an OPML file (folders too); feeds already subscribed are
    kept as they are, a name already taken is dropped (the feed is still added)."""
    from adapt_triage.dates import plural
    from adapt_triage.feeds import FeedSpecError, parse_opml, resolve_feed
    from adapt_triage.render import sanitize
    from adapt_triage.store import FeedNameError, StoreError

    label = str(opml)
    try:
        content = sys.stdin.buffer.read() if label == "-" else opml.read_bytes()
        feeds = parse_opml(content, source=label)
    except OSError as exc:
        fail(f"{label}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(str(exc), 2)
    store = open_store(ctx)
    known = {f.url for f in store.list_feeds()}
    added = failed = 0
    for feed in feeds:
        try:
            url = resolve_feed(feed.url)
            if url in known:
                continue
            try:
                store.add_feed(url, feed.name)
            except FeedNameError:
                store.add_feed(url)
        except (FeedSpecError, StoreError) as exc:
            failed += 1
            typer.echo(f"adapt-triage: {label}: {sanitize(exc)}", err=True)
            continue
        known.add(url)
        added += 1
    if not settings(ctx).quiet:
        kept = len(feeds) - added - failed
        typer.echo(
            f"imported {plural(added, 'feed')} from {sanitize(label)}"
            + (f" ({kept} already subscribed)" if kept else ""),
            err=True,
        )
    if failed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- sources


class RecordFormat(str, Enum):
    table = "table"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


SOURCE_COLUMNS = (
    "url",
    "name",
    "kind",
    "subscribed",
    "last_fetch_at",
    "last_status",
    "consecutive_failures",
    "last_item_count",
    "last_new",
    "last_error",
)


@sources_app.command("list")
def sources_list(
    ctx: typer.Context,
    format: Annotated[
        RecordFormat | None,
        typer.Option("--format", "-f", help="table (terminal default), jsonl (piped), json, csv."),
    ] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")] = False,
) -> None:
    """Every source ever read, subscribed feeds and one-off files or URLs alike, with the
    last fetch. `sources forget SOURCE` drops a one-off source's history."""
    _emit_sources(
        open_store(ctx, must_exist=True).list_sources(),
        format,
        json_lines,
        empty="no sources yet; read one with `adapt-triage ingest SOURCE`",
    )


@sources_app.command("forget")
def sources_forget(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The source's URL or path.")],
) -> None:
    """Forget a one-off source's fetch history, so its failures stop being reported (its
    papers stay stored)."""
    from adapt_triage.render import sanitize
    from adapt_triage.store import StoreError

    store = open_store(ctx, must_exist=True)
    try:
        state = store.forget_source(source)
    except StoreError as exc:
        fail(str(exc))
    if not settings(ctx).quiet:
        typer.echo(f"forgot source {sanitize(state.url)} (its papers stay stored)")


# --------------------------------------------------------------------------- categories


@categories_app.command("list")
def categories_list(
    ctx: typer.Context,
    format: Annotated[
        ListFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (terminal default), jsonl (piped default), json, csv or markdown.",
        ),
    ] = None,
    json_lines: JsonOption = False,
) -> None:
    """The taxonomy's categories and your own, with how many labeled examples teach each."""
    from collections import Counter

    from adapt_triage.classify import load_seed, merge_examples
    from adapt_triage.output import emit
    from adapt_triage.render import sanitize
    from adapt_triage.taxonomy import DEFAULT_CATEGORIES

    fmt = _list_format(format, json_lines)
    store = existing_store(ctx)
    custom = store.list_categories() if store else []
    training = merge_examples(load_seed(), user_examples(store))
    counts = Counter(label for example in training for label in example.labels)
    rows = [(c.slug, c.covers, False) for c in DEFAULT_CATEGORIES]
    rows[-1:-1] = [(c["slug"], c["description"] or "", True) for c in custom]
    records = [
        {"slug": slug, "examples": counts.get(slug, 0), "covers": covers, "custom": custom}
        for slug, covers, custom in rows
    ]

    def table(items: list[Any]) -> None:
        width = max(len(r["slug"]) for r in items)
        for r in items:
            covers = r["covers"] + (" (yours)" if r["custom"] else "")
            typer.echo(f"{r['slug']:<{width}}  {r['examples']:>3}  {sanitize(covers)}")

    emit(
        records,
        fmt.value,
        sys.stdout,
        columns=("slug", "examples", "covers", "custom"),
        table=table,
    )


@categories_app.command("add")
def categories_add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="lower-case-with-hyphens name.")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="What the category covers.")
    ] = "",
) -> None:
    """Add your own category; teach it with `label ID --add SLUG`."""
    from adapt_triage.store import StoreError

    store = open_store(ctx)
    try:
        store.add_category(slug, description)
    except StoreError as exc:
        fail(str(exc), 2)
    if not settings(ctx).quiet:
        typer.echo(f"added category {slug}; label a few papers with it to teach the model")


# --------------------------------------------------------------------------- review


@app.command()
def review(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Ask about at most N papers.")] = None,
) -> None:
    """Label the papers the model is least sure about, one at a time, with single keys
    (y, o, s, q answer at once on a terminal; category keys, then Enter). Each answer is
    saved at once; Ctrl-C or end of input stops cleanly."""
    import shutil

    from adapt_triage.review import read_keys, run_review

    store = open_store(ctx, must_exist=True)

    def read(prompt: str) -> str:
        if sys.stdin.isatty():  # a key at a time, no Enter for the command keys
            return read_keys(prompt, sys.stdin.fileno(), lambda t: typer.echo(t, nl=False))
        typer.echo(prompt, nl=False)
        line = sys.stdin.readline() if sys.stdin is not None else ""  # closed stdin: the end
        if not line:
            raise EOFError
        return line

    width = shutil.get_terminal_size((100, 24)).columns - 1
    result = run_review(
        store,
        lambda: build_classifier(store),
        read=read,
        write=typer.echo,
        limit=limit,
        width=width,
    )
    typer.echo(
        f"\nreviewed: {len(result.labelled)} labelled, {result.skipped} skipped "
        f"({result.stopped}); your labels train the next model"
    )


# --------------------------------------------------------------------------- export


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    table = "table"
    markdown = "markdown"
    bibtex = "bibtex"
    ris = "ris"


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[
        ExportFormat,
        typer.Option(
            "--format", "-f", help="jsonl (default), json, csv, table, markdown, bibtex or ris."
        ),
    ] = ExportFormat.jsonl,
    category: CategoryOption = None,
    since: SinceOption = None,
    include_all: AllOption = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
    starred: StarredOption = False,
    json_lines: JsonOption = False,
) -> None:
    """Every stored paper with labels, scores and duplicate links, for spreadsheets and
    notes (columns in a stable order), or for reference managers (bibtex, ris)."""
    from adapt_triage.render import (
        EXPORT_COLUMNS,
        export_markdown,
        render_paper_table,
        stored_record,
        write_csv,
        write_json,
    )
    from adapt_triage.render import write_jsonl as write_lines

    if json_lines:
        format = ExportFormat.jsonl
    store = open_store(ctx, must_exist=True)
    category = _categories(store, category)
    rows = store.iter_papers(
        category=category,
        since=_since(since),
        include_duplicates=include_all,
        starred=starred,
    )
    records = (stored_record(r) for r in rows)
    try:
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        fail(f"{output}: {exc.strerror or exc}")
    try:
        if format is ExportFormat.jsonl:
            write_lines(records, out)
        elif format is ExportFormat.json:
            write_json(records, out)
        elif format is ExportFormat.table:
            if output:
                fail("--format table is for the terminal; choose another format for a file", 2)
            render_paper_table(list(rows))
        elif format is ExportFormat.csv:
            write_csv(records, out, EXPORT_COLUMNS)
        elif format in (ExportFormat.bibtex, ExportFormat.ris):
            from adapt_triage.export_formats import to_bibtex, to_ris

            out.write((to_bibtex if format is ExportFormat.bibtex else to_ris)(rows))
        else:
            out.write(export_markdown(records))
    finally:
        if output:
            out.close()


# --------------------------------------------------------------------------- mark / open


@app.command()
def mark(
    ctx: typer.Context,
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")],
    read: Annotated[
        bool | None, typer.Option("--read/--unread", help="Mark read or unread.")
    ] = None,
    star: Annotated[bool | None, typer.Option("--star/--unstar", help="Star or unstar.")] = None,
) -> None:
    """Mark a paper read or unread, starred or not (`list --starred`, `list --unread`,
    `digest --hide-read`, `export --starred`)."""
    from adapt_triage.marks import set_marks
    from adapt_triage.store import StoreError

    if read is None and star is None:
        fail("say what to mark: --read, --unread, --star or --unstar", 2)
    store = open_store(ctx, must_exist=True)
    try:
        marks = set_marks(store, paper_id, read=read, starred=star)
    except StoreError as exc:
        fail(str(exc))
    if not settings(ctx).quiet:
        states = ("read" if marks.read else "unread", "starred" if marks.starred else "not starred")
        typer.echo(f"{marks.paper_id}: {', '.join(states)}")


@app.command("open")
def open_command(
    ctx: typer.Context,
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")],
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the URL instead of opening a browser.")
    ] = False,
) -> None:
    """Open a paper's page in the browser and mark it read; with no display (or --print)
    print its URL instead."""
    from adapt_triage.export_formats import paper_url
    from adapt_triage.marks import open_in_browser, set_marks
    from adapt_triage.store import StoreError

    store = open_store(ctx, must_exist=True)
    try:
        paper = store.get_paper(paper_id)
    except StoreError as exc:
        fail(str(exc))
    if paper is None:
        fail(f"no stored paper matches {paper_id!r}")
    url = paper_url(paper)
    if url is None:
        fail(f"{paper['id']}: no http(s) URL, arXiv id or DOI to open")
    if print_only or not open_in_browser(url):
        typer.echo(url)
    set_marks(store, paper["id"], read=True)


# --------------------------------------------------------------------------- trends


class TrendsFormat(str, Enum):
    text = "text"
    csv = "csv"
    jsonl = "jsonl"
    json = "json"


@app.command()
def trends(
    ctx: typer.Context,
    weeks: Annotated[
        int | None, typer.Option(min=1, help="Only the last N weeks of the history.")
    ] = None,
    category: CategoryOption = None,
    format: Annotated[
        TrendsFormat,
        typer.Option("--format", "-f", help="text (a chart), csv, jsonl or json."),
    ] = TrendsFormat.text,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw FILE.svg, .png or .pdf (needs adapt-triage[plot])."),
    ] = None,
    share: Annotated[
        bool, typer.Option("--share", help="Chart each category as a % of the week's papers.")
    ] = False,
) -> None:
    """Papers per category per week over the stored history (by the day each paper was
    published, else stored), as a chart in the terminal, CSV or JSON Lines."""
    from adapt_triage.trends import (
        PlotUnavailableError,
        render_text,
        weekly_trends,
        write_csv,
        write_jsonl,
    )
    from adapt_triage.trends import plot as draw

    store = open_store(ctx, must_exist=True)
    category = _categories(store, category)
    result = weekly_trends(store, weeks=weeks, categories=category)
    if format is TrendsFormat.csv:
        write_csv(result, sys.stdout)
    elif format is TrendsFormat.jsonl:
        write_jsonl(result, sys.stdout)
    elif format is TrendsFormat.json:
        from adapt_triage.render import write_json as write_document

        write_document(list(result.rows()), sys.stdout)
    else:
        from adapt_triage.render import sanitize

        typer.echo(sanitize(render_text(result, share=share), single_line=False))
    if plot is not None:
        try:
            draw(result, plot, share=share)
        except ValueError as exc:
            fail(str(exc), 2)
        except (PlotUnavailableError, OSError) as exc:
            fail(str(exc))
        if not settings(ctx).quiet:
            typer.echo(f"adapt-triage: wrote {plot}", err=True)


# --------------------------------------------------------------------------- path


@app.command("path")
def path_command(
    ctx: typer.Context,
    format: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="text or json.")
    ] = SummaryFormat.text,
) -> None:
    """Where adapt-triage keeps its files: the database (after --db and $ADAPT_TRIAGE_DB),
    the model cache and the config file (after $ADAPT_TRIAGE_CONFIG)."""
    from adapt_triage.config import config_path
    from adapt_triage.modelcache import cache_dir
    from adapt_triage.render import dumps
    from adapt_triage.store import default_db_path

    paths = {
        "database": str(settings(ctx).db or default_db_path()),
        "cache": str(cache_dir()),
        "config": str(config_path()),
    }
    if format is SummaryFormat.json:
        typer.echo(dumps(paths))
        return
    for name, value in paths.items():
        typer.echo(f"{name:<9} {value}")


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console-script entry point: no traceback reaches the user for bad input or faults.

    Ctrl-C prints one "interrupted" line and exits 130; a reader that went away (`| head`)
    ends the run quietly with 0 after what fitted was written.
    """
    try:
        try:
            code = app(standalone_mode=False)
            sys.stdout.flush()
        except KeyboardInterrupt:
            code = 130
    except BrokenPipeError:
        _reader_gone()
    except SystemExit:
        # typer answers a broken pipe with exit status 1, after wrapping stdout this way.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            _reader_gone()
        raise
    except Exception as exc:  # the last line of defence: one line, never a traceback
        # typer's own (vendored) click: a usage error shows itself, exit status 2.
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "ClickException" in kinds:
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if "Abort" in kinds:
            typer.echo("adapt-triage: aborted", err=True)
            sys.exit(1)
        if os.environ.get("ADAPT_TRIAGE_DEBUG"):
            raise
        import sqlite3

        from adapt_triage.render import sanitize
        from adapt_triage.store import CorruptDatabaseError, StoreError, storage_error

        if isinstance(exc, sqlite3.Error):
            exc = storage_error(exc, settings_db_path(), "database error")
        if isinstance(exc, CorruptDatabaseError):
            # Found damaged after the open: the next run checks the whole file again.
            with contextlib.suppress(OSError):
                os.unlink(settings_db_path() + ".checked")
        if isinstance(exc, StoreError):
            typer.echo(f"adapt-triage: {sanitize(exc)}", err=True)
            sys.exit(1)
        typer.echo(
            f"adapt-triage: unexpected error: {sanitize(type(exc).__name__)}: {sanitize(exc)}"
            " (set ADAPT_TRIAGE_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(1)
    # typer turns Ctrl-C into exit status 130 without a word; nothing else exits 130.
    if code == 130:
        with contextlib.suppress(OSError, ValueError):
            typer.echo("adapt-triage: interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)


def _reader_gone() -> NoReturn:
    """The reader went away (`| head`): what fitted was written; not an error worth a
    message, and nothing more to flush at exit."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
    sys.exit(0)


def settings_db_path() -> str:
    """The database a failed command was using, for its error line."""
    from adapt_triage.store import default_db_path

    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[5:]
    return str(default_db_path())
