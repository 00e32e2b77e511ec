"""The command line: the app, its global options, the one error boundary, and the
registry of commands (each in `adapt_triage.commands.*`, where it parses its options,
calls the library and renders).

Heavy modules (scikit-learn through `classify`, feedparser, httpx, sqlite-utils) are
imported inside the commands that need them, so `adapt-triage --help` starts fast.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.core

from adapt_triage import __version__, cliparams
from adapt_triage.commands import dedup, feeds, papers, read, reports
from adapt_triage.commands.common import Settings, settings, stdin_hint
from adapt_triage.exitstatus import ExitStatus, known_error

__all__ = ["app", "hoist_global_options", "main", "stdin_hint"]


class GlobalOptionsGroup(typer.core.TyperGroup):
    """The root command: `--db PATH` and `--quiet`/`-q` are accepted after the subcommand
    too (`adapt-triage list --db x.db`), by moving them in front of it before parsing.
    It is also the error boundary of every command (`invoke`)."""

    GLOBAL_FLAGS = ("--quiet", "-q")
    GLOBAL_VALUES = ("--db",)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Plain values (most of them) are coerced without importing pydantic (cliparams).
        cliparams.install(self, ctx)
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a known failure becomes its one line on stderr and its exit
        status (`exitstatus.known_error`), an unknown one goes on up to `main`."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own: an exit status, or a usage error that shows itself
        except Exception as exc:
            known = known_error(exc, db_path_of(ctx))
            if known is None:
                raise
            say(known.message)
            raise typer.Exit(known.status) from None


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

# The commands, in the order `--help` lists them.
app.command()(read.classify)
app.command("eval")(reports.eval_command)
app.command()(read.ingest)
app.command("list")(papers.list_command)
app.command()(papers.search)
app.command()(papers.show)
app.command()(papers.label)
app.command()(papers.reclassify)
app.command()(reports.digest)
app.command()(papers.review)
app.command()(papers.export)
app.command()(papers.mark)
app.command("open")(papers.open_command)
app.command()(reports.trends)
app.command("path")(reports.path_command)
app.add_typer(feeds.feeds_app, name="feeds")
app.add_typer(feeds.categories_app, name="categories")
app.add_typer(feeds.sources_app, name="sources")
app.add_typer(dedup.dedup_app, name="dedup")


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


# --------------------------------------------------------------------------- entry point


def say(message: str) -> None:
    """One line on stderr: "adapt-triage: " and the sanitised message."""
    from adapt_triage.render import sanitize

    with contextlib.suppress(OSError, ValueError, AttributeError):
        typer.echo(f"adapt-triage: {sanitize(message)}", err=True)


def db_path_of(ctx: Any) -> str:
    """The database the command was using, for its error line."""
    from adapt_triage.paths import default_db_path

    return str(settings(ctx).db or default_db_path())


class ClosedStream:
    """Stands for a standard stream the process was started without (`>&-`): asking for
    its state works, writing fails with EBADF, which the error boundary names."""

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")

    def flush(self) -> None:
        return None


def main() -> None:
    """Console-script entry point: no traceback reaches the user for bad input or faults.

    Ctrl-C prints one "interrupted" line and exits 130; a reader that went away (`| head`)
    ends the run quietly with 0 after what fitted was written; a full or closed stdout is
    one named line and exit status 1.
    """
    if sys.stdout is None:
        sys.stdout = ClosedStream()
    try:
        try:
            code = app(standalone_mode=False)
            sys.stdout.flush()
        except KeyboardInterrupt:
            code = ExitStatus.INTERRUPTED
    except BrokenPipeError:
        _reader_gone()
    except SystemExit:
        # typer answers a broken pipe with exit status 1, after wrapping stdout this way.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            _reader_gone()
        raise
    except Exception as exc:  # the last line of defence: one line, never a traceback
        _last_resort(exc)
    # typer turns Ctrl-C into exit status 130 without a word; nothing else exits 130.
    if code == ExitStatus.INTERRUPTED:
        say("interrupted")
    sys.exit(code if isinstance(code, int) else ExitStatus.OK)


def _last_resort(exc: Exception) -> NoReturn:
    """What escaped the commands' boundary: typer's own usage errors, a failure at the
    final flush of stdout, or a bug (one line; ADAPT_TRIAGE_DEBUG=1 for the traceback)."""
    # typer's own (vendored) click: a usage error shows itself, exit status 2.
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "ClickException" in kinds:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    if "Abort" in kinds:
        say("aborted")
        sys.exit(ExitStatus.FAILED)
    if os.environ.get("ADAPT_TRIAGE_DEBUG"):
        raise exc
    known = known_error(exc, _argv_db_path())
    if known is not None:
        say(known.message)
        _quiet_stdout()
        sys.exit(known.status)
    from adapt_triage.render import sanitize

    say(
        f"unexpected error: {sanitize(type(exc).__name__)}: {sanitize(exc)}"
        " (set ADAPT_TRIAGE_DEBUG=1 for details)"
    )
    sys.exit(ExitStatus.FAILED)


def _quiet_stdout() -> None:
    """Nothing more to flush at exit (stdout failed, or its reader went away)."""
    stdout = sys.__stdout__
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if stdout is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _reader_gone() -> NoReturn:
    """The reader went away (`| head`): what fitted was written; not an error worth a
    message, and nothing more to flush at exit."""
    _quiet_stdout()
    sys.exit(ExitStatus.OK)


def _argv_db_path() -> str:
    """The database a failed command was using, for its error line."""
    from adapt_triage.paths import default_db_path

    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[5:]
    return os.environ.get("ADAPT_TRIAGE_DB") or str(default_db_path())
