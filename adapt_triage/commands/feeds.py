"""`feeds`, `sources` and `categories`: subscriptions, every source ever read, and the
categories (the taxonomy plus the user's own)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from adapt_triage.commands.common import (
    FormatOption,
    JsonOption,
    echo,
    existing_store,
    fail,
    open_store,
    require_stdin,
)
from adapt_triage.exitstatus import ExitStatus, usage_errors

feeds_app = typer.Typer(help="Subscribed feeds: `ingest` with no SOURCE fetches them all.")
categories_app = typer.Typer(help="Categories: the taxonomy plus your own.")
sources_app = typer.Typer(help="Every source ever read, subscribed or one-off.")

FeedArg = Annotated[str, typer.Argument(metavar="FEED", help="The feed's URL or name.")]


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

    try:
        resolved = resolve_feed(url)
    except FeedSpecError as exc:
        fail(str(exc), ExitStatus.USAGE)
    store = open_store(ctx)
    with usage_errors("StoreError"):  # a name taken, a feed subscribed under another name
        state = store.add_feed(resolved, name)
    echo(ctx, f"subscribed: {state.name or state.url} ({state.url})")


@feeds_app.command("remove")
def feeds_remove(ctx: typer.Context, url_or_name: FeedArg) -> None:
    """Unsubscribe (the papers it brought stay stored)."""
    if not open_store(ctx, must_exist=True).remove_feed(url_or_name):
        fail(f"no subscribed feed {url_or_name!r} (`adapt-triage feeds list` shows them)")
    echo(ctx, f"unsubscribed: {url_or_name}")


@feeds_app.command("rename")
def feeds_rename(
    ctx: typer.Context,
    url_or_name: FeedArg,
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="Its new, unique name.")],
) -> None:
    """Give a subscribed feed a new name."""
    state = open_store(ctx, must_exist=True).rename_feed(url_or_name, new_name)
    echo(ctx, f"renamed: {state.url} is now {state.name}")


def emit_sources(items: Sequence[Any], fmt: str, **table: str) -> None:
    """Feeds or sources (their stored state) in `fmt`; `table` passes `empty` to the table
    view."""
    from adapt_triage.output import emit
    from adapt_triage.render import SOURCE_COLUMNS, render_feeds

    emit(
        (item.to_dict() for item in items),
        fmt,
        columns=SOURCE_COLUMNS,
        table=lambda _records: render_feeds(items, **table),
    )


@feeds_app.command("list")
def feeds_list(
    ctx: typer.Context, format: FormatOption = None, json_lines: JsonOption = False
) -> None:
    """Subscribed feeds with the last fetch: time, status, item counts, failures."""
    from adapt_triage.output import choose

    fmt = choose(format, json_alias=json_lines)
    emit_sources(open_store(ctx, must_exist=True).list_feeds(), fmt)


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
    from adapt_triage.feeds import import_feeds, parse_opml
    from adapt_triage.render import sanitize

    label = str(opml)
    try:
        content = require_stdin("- reads the OPML there").buffer.read() if label == "-" else None
        feeds = parse_opml(content if content is not None else opml.read_bytes(), source=label)
    except OSError as exc:
        fail(f"{label}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(str(exc), ExitStatus.USAGE)
    result = import_feeds(open_store(ctx), feeds)
    for error in result.errors:
        typer.echo(f"adapt-triage: {sanitize(label)}: {sanitize(error)}", err=True)
    kept = f" ({result.kept} already subscribed)" if result.kept else ""
    echo(ctx, f"imported {plural(result.added, 'feed')} from {label}{kept}", err=True)
    if result.errors:
        raise typer.Exit(ExitStatus.FAILED)


@sources_app.command("list")
def sources_list(
    ctx: typer.Context, format: FormatOption = None, json_lines: JsonOption = False
) -> None:
    """Every source ever read, subscribed feeds and one-off files or URLs alike, with the
    last fetch. `sources forget SOURCE` drops a one-off source's history."""
    from adapt_triage.output import choose

    emit_sources(
        open_store(ctx, must_exist=True).list_sources(),
        choose(format, json_alias=json_lines),
        empty="no sources yet; read one with `adapt-triage ingest SOURCE`",
    )


@sources_app.command("forget")
def sources_forget(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="The source's URL or path.")],
) -> None:
    """Forget a one-off source's fetch history, so its failures stop being reported (its
    papers stay stored)."""
    state = open_store(ctx, must_exist=True).forget_source(source)
    echo(ctx, f"forgot source {state.url} (its papers stay stored)")


@categories_app.command("list")
def categories_list(
    ctx: typer.Context, format: FormatOption = None, json_lines: JsonOption = False
) -> None:
    """The taxonomy's categories and your own, with how many labeled examples teach each."""
    from adapt_triage.model import category_records
    from adapt_triage.output import choose, emit
    from adapt_triage.render import render_categories

    emit(
        category_records(existing_store(ctx)),
        choose(format, json_alias=json_lines),
        columns=("slug", "examples", "covers", "custom"),
        table=render_categories,
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
    store = open_store(ctx)
    with usage_errors("StoreError"):  # not a slug, or a taxonomy category
        store.add_category(slug, description)
    echo(ctx, f"added category {slug}; label a few papers with it to teach the model")
