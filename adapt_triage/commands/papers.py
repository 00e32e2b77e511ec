"""The commands over stored papers: list, search, show, export, label, mark, open,
reclassify, review."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from adapt_triage.commands.common import (
    AllOption,
    CategoryOption,
    ExportFormatOption,
    FormatOption,
    JsonOption,
    LimitOption,
    PaperArg,
    SinceOption,
    StarredOption,
    category_values,
    echo,
    fail,
    open_store,
    refresh_scores,
    require_stdin,
    settings,
    since_value,
)
from adapt_triage.exitstatus import ExitStatus, os_error_cause, usage_errors
from adapt_triage.output import ExportFormat

if TYPE_CHECKING:
    from adapt_triage.stored import StoredPaper


class SearchOrder(str, Enum):
    rank = "rank"
    newest = "newest"


def emit_papers(rows: Iterable[StoredPaper], fmt: str, out: Any = None, title: str = "") -> None:
    """Stored papers in `fmt`; jsonl, json and csv stream from `rows` (a large history is
    never held whole), the table and Markdown views take them all."""
    from adapt_triage.output import emit
    from adapt_triage.render import EXPORT_COLUMNS, export_markdown, render_paper_table

    if fmt == "table":
        rows = list(rows)
    emit(
        (r.to_contract() for r in rows),
        fmt,
        out,
        columns=EXPORT_COLUMNS,
        table=lambda _records: render_paper_table(list(rows), title=title),
        markdown=export_markdown,
    )


def list_command(
    ctx: typer.Context,
    category: CategoryOption = None,
    since: SinceOption = None,
    include_all: AllOption = False,
    limit: LimitOption = None,
    format: FormatOption = None,
    starred: StarredOption = False,
    unread: Annotated[bool, typer.Option("--unread", help="Only papers not marked read.")] = False,
    json_lines: JsonOption = False,
) -> None:
    """Stored papers, newest first."""
    from adapt_triage.dates import plural
    from adapt_triage.output import choose

    fmt = choose(format, json_alias=json_lines)
    store = open_store(ctx, must_exist=True)
    category = category_values(store, category)
    refresh_scores(ctx, store)
    rows: Iterable[StoredPaper] = store.iter_papers(  # streamed for jsonl, json and csv
        category=category,
        since=since_value(since),
        include_duplicates=include_all,
        limit=limit,
        starred=starred,
        unread=unread,
    )
    if fmt == "table":
        rows = list(rows)
        emit_papers(rows, fmt, title=plural(len(rows), "paper"))
    else:
        emit_papers(rows, fmt)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="SQLite full-text query over title and abstract.")],
    category: CategoryOption = None,
    since: SinceOption = None,
    include_all: AllOption = False,
    limit: Annotated[
        int | None,
        typer.Option(min=0, metavar="N", help="At most N papers (default: the first 100)."),
    ] = None,
    format: FormatOption = None,
    json_lines: JsonOption = False,
    order: Annotated[
        SearchOrder,
        typer.Option("--order", help="rank (best match first) or newest (stored last first)."),
    ] = SearchOrder.rank,
    rank_all: Annotated[
        bool,
        typer.Option(
            "--rank-all",
            help="Rank every match, not only the 10,000 stored last (slower on a big history).",
        ),
    ] = False,
) -> None:
    """Full-text search of title, abstract and authors (SQLite FTS5 syntax: AND, OR, NOT,
    "a phrase", title:word, prefix*), best match first.

    Best match (FTS5's bm25) among the 10,000 matches stored last, so that a common word
    answers as fast in a million papers as in a thousand; a note on stderr says when older
    matches were not ranked, and --rank-all ranks them all.

    Example: adapt-triage search '"low rank" OR lora' --format jsonl
    """
    from adapt_triage.dates import plural
    from adapt_triage.output import choose

    fmt = choose(format, json_alias=json_lines)
    store = open_store(ctx, must_exist=True)
    category = category_values(store, category)
    with usage_errors("StoreError"):  # a query SQLite cannot run
        rows = store.search(
            query,
            category=category,
            since=since_value(since),
            include_duplicates=include_all,
            limit=limit,
            order=order.value,
            rank_all=rank_all,
        )
    emit_papers(rows, fmt, title=f"{plural(len(rows), 'paper')} matching {query!r}")
    if settings(ctx).quiet:
        return
    if rows.more:
        typer.echo(
            f"adapt-triage: showing the first {rows.limit} matches; --limit N shows more",
            err=True,
        )
    if rows.unranked:
        typer.echo(
            f"adapt-triage: ranked the {rows.window:,} matches stored last; older matches "
            "were not ranked (--rank-all ranks every match)",
            err=True,
        )


def show(
    ctx: typer.Context,
    paper_id: PaperArg,
    format: FormatOption = None,
    json_lines: JsonOption = False,
) -> None:
    """One paper: its fields, scores with the terms behind each label, versions, duplicates."""
    from adapt_triage.model import build_classifier
    from adapt_triage.output import choose, emit_one
    from adapt_triage.render import EXPORT_COLUMNS, export_markdown, render_show

    store = open_store(ctx, must_exist=True)
    paper = store.get_paper(paper_id)
    if paper is None:
        fail(f"no stored paper matches {paper_id!r}")
    versions = store.versions(paper.id)
    duplicates = store.duplicates_of(paper.id)
    sources = store.paper_sources(paper.id)
    canonical = store.get_paper(paper.duplicate_of) if paper.duplicate_of else None
    classifier = build_classifier(store)
    as_paper = paper.to_paper()
    explain = {label: classifier.explain(as_paper, label) for label in paper.labels}
    record = paper.to_contract()
    fmt = choose(format, json_alias=json_lines)
    if fmt in ("json", "jsonl"):
        record.update(
            explain=explain,
            versions=versions,
            duplicates=[d.to_contract() for d in duplicates],
            sources=sources,
        )
    emit_one(
        record,
        fmt,
        columns=EXPORT_COLUMNS,
        markdown=export_markdown,
        table=lambda: render_show(paper, explain, versions, duplicates, sources, canonical),
    )


def export(
    ctx: typer.Context,
    format: ExportFormatOption = ExportFormat.jsonl,
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
    from adapt_triage.output import choose

    fmt = choose(format, json_alias=json_lines)
    if fmt == "table" and output:
        fail(
            "--format table is for the terminal; choose another format for a file",
            ExitStatus.USAGE,
        )
    store = open_store(ctx, must_exist=True)
    rows = store.iter_papers(
        category=category_values(store, category),
        since=since_value(since),
        include_duplicates=include_all,
        starred=starred,
    )
    if output is None:
        _write_export(rows, fmt, sys.stdout)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            _write_export(rows, fmt, out)
    except OSError as exc:
        fail(f"{output}: {os_error_cause(exc)}")


def _write_export(rows: Iterable[StoredPaper], fmt: str, out: Any) -> None:
    if fmt in ("bibtex", "ris"):
        from adapt_triage.export_formats import to_bibtex, to_ris

        out.write((to_bibtex if fmt == "bibtex" else to_ris)(rows))
    else:
        emit_papers(rows, fmt, out)


def mark(
    ctx: typer.Context,
    paper_id: PaperArg,
    read: Annotated[
        bool | None, typer.Option("--read/--unread", help="Mark read or unread.")
    ] = None,
    star: Annotated[bool | None, typer.Option("--star/--unstar", help="Star or unstar.")] = None,
) -> None:
    """Mark a paper read or unread, starred or not (`list --starred`, `list --unread`,
    `digest --hide-read`, `export --starred`)."""
    from adapt_triage.marks import set_marks

    if read is None and star is None:
        fail("say what to mark: --read, --unread, --star or --unstar", ExitStatus.USAGE)
    marks = set_marks(open_store(ctx, must_exist=True), paper_id, read=read, starred=star)
    states = ("read" if marks.read else "unread", "starred" if marks.starred else "not starred")
    echo(ctx, f"{marks.paper_id}: {', '.join(states)}")


def open_command(
    ctx: typer.Context,
    paper_id: PaperArg,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the URL instead of opening a browser.")
    ] = False,
) -> None:
    """Open a paper's page in the browser and mark it read; with no display (or --print)
    print its URL instead."""
    from adapt_triage.export_formats import paper_url
    from adapt_triage.marks import open_in_browser, set_marks

    store = open_store(ctx, must_exist=True)
    paper = store.get_paper(paper_id)
    if paper is None:
        fail(f"no stored paper matches {paper_id!r}")
    url = paper_url(paper)
    if url is None:
        fail(f"{paper.id}: no http(s) URL, arXiv id or DOI to open")
    if print_only or not open_in_browser(url):
        typer.echo(url)
    set_marks(store, paper.id, read=True)


def label(
    ctx: typer.Context,
    paper_id: PaperArg,
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
    from adapt_triage.taxonomy import OFF_TOPIC

    add = list(add or []) + ([OFF_TOPIC] if off_topic else [])
    if not (add or remove or clear):
        fail(
            "say what to change: --add CAT, --remove CAT, --off-topic or --clear",
            ExitStatus.USAGE,
        )
    store = open_store(ctx, must_exist=True)
    if clear:
        store.clear_user_labels(paper_id)
        paper = store.get_paper(paper_id)
        labels = paper.labels if paper else []
    else:
        labels = store.label_paper(paper_id, add=add, remove=list(remove or []))
    echo(ctx, f"{paper_id}: {', '.join(labels)}")


def reclassify(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Rescore every paper, not only the stale ones.")
    ] = False,
) -> None:
    """Rescore the stored papers whose scores came from another model (after `label`, an
    upgrade or a new category). `digest` and `list` do this by themselves."""
    from adapt_triage.dates import plural

    store = open_store(ctx, must_exist=True)
    if everything:
        store.forget_model_version()
    done, version = refresh_scores(ctx, store)
    echo(ctx, f"rescored {plural(done, 'paper')} (model {version})", err=True)


def review(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(min=1, help="Ask about at most N papers.")] = None,
) -> None:
    """Label the papers the model is least sure about, one at a time, with single keys
    (y, o, s, q answer at once on a terminal; category keys, then Enter). Each answer is
    saved at once; Ctrl-C or end of input stops cleanly."""
    import shutil

    from adapt_triage.model import build_classifier
    from adapt_triage.review import read_keys, run_review

    stdin = require_stdin("review reads your answers there")
    store = open_store(ctx, must_exist=True)

    def read(prompt: str) -> str:
        if stdin.isatty():  # a key at a time, no Enter for the command keys
            return read_keys(prompt, stdin.fileno(), lambda t: typer.echo(t, nl=False))
        typer.echo(prompt, nl=False)
        line = stdin.readline()
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
