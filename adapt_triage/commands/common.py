"""What every command shares: the global settings, the store, `fail`, and the option
types (so an option reads the same in every command)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from adapt_triage.exitstatus import CommandError, ExitStatus
from adapt_triage.output import FORMATS, DigestFormat, ExportFormat, Format, format_help

if TYPE_CHECKING:
    from adapt_triage.store import Store


class Settings:
    def __init__(self, db: Path | None, quiet: bool) -> None:
        self.db = db
        self.quiet = quiet


def fail(message: str, status: ExitStatus = ExitStatus.FAILED) -> NoReturn:
    """Stop the command: the error boundary prints `message` as one line on stderr and
    exits with `status`."""
    raise CommandError(message, status)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings(None, False)


def db_path(ctx: typer.Context) -> Path:
    from adapt_triage.paths import default_db_path

    return Path(settings(ctx).db or default_db_path())


def open_store(ctx: typer.Context, *, must_exist: bool = False) -> Store:
    from adapt_triage.store import Store

    path = db_path(ctx)
    if must_exist and not path.exists():
        fail(f"no database at {path} yet; run `adapt-triage ingest SOURCE` first")
    store = Store(path, on_upgrade=lambda message: echo(ctx, message, err=True))
    ctx.call_on_close(store.close)
    return store


def existing_store(ctx: typer.Context) -> Store | None:
    """The database when it exists (for user labels and custom categories), else None."""
    return open_store(ctx) if db_path(ctx).exists() else None


def refresh_scores(ctx: typer.Context, store: Store) -> tuple[int, str]:
    """`model.refresh_scores` with a progress bar on a terminal."""
    from adapt_triage.model import refresh_scores as refresh
    from adapt_triage.render import SourceProgress

    show_bar = sys.stderr.isatty() and not settings(ctx).quiet
    return refresh(store, lambda total: SourceProgress(total, enabled=show_bar, label="rescoring"))


def echo(ctx: typer.Context, line: str, *, err: bool = False) -> None:
    """A confirmation line, sanitised; nothing with --quiet."""
    from adapt_triage.render import sanitize

    if not settings(ctx).quiet:
        typer.echo(sanitize(line), err=err)


def stdin_hint(sources: list[str] | None, quiet: bool) -> None:
    """`-` with a terminal on stdin would wait in silence: say what it waits for."""
    stdin = sys.stdin
    if sources and "-" in sources and not quiet and stdin is not None and stdin.isatty():
        typer.echo(
            "adapt-triage: reading papers from stdin: paste them, then Ctrl-D "
            "(Ctrl-Z Enter on Windows)",
            err=True,
        )


def require_stdin(why: str) -> Any:
    """sys.stdin, or a named error when it is closed (`0<&-`)."""
    if sys.stdin is None:
        fail(f"cannot read stdin: it is closed ({why})")
    return sys.stdin


def since_value(text: str | None) -> str | None:
    """--since 1d, 2w, 12h or a DATE, as ISO 8601 (exit status 2 otherwise)."""
    from adapt_triage.dates import iso, parse_since

    if text is None:
        return None
    try:
        return iso(parse_since(text))
    except ValueError as exc:
        fail(str(exc), ExitStatus.USAGE)


def category_values(
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
        fail(str(exc), ExitStatus.USAGE)


# --------------------------------------------------------------------------- output options

FormatOption = Annotated[
    Format | None,
    typer.Option("--format", "-f", help=format_help(FORMATS), show_default=False),
]
DigestFormatOption = Annotated[
    DigestFormat | None,
    typer.Option(
        "--format", "-f", help=format_help((*FORMATS, "html"), "markdown"), show_default=False
    ),
]
ExportFormatOption = Annotated[
    ExportFormat,
    typer.Option(
        "--format",
        "-f",
        help="jsonl (the default, also on a terminal), json, csv, table, markdown, bibtex or ris.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")]

# --------------------------------------------------------------------------- paper selection

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
StarredOption = Annotated[bool, typer.Option("--starred", help="Only papers you starred.")]
PaperArg = Annotated[str, typer.Argument(metavar="ID", help="Id, arXiv id, DOI or prefix.")]

# --------------------------------------------------------------------------- source limits
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
