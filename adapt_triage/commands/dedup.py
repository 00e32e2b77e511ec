"""`dedup`: the duplicate clusters, and the user's link and unlink decisions."""

from __future__ import annotations

from typing import Annotated

import typer

from adapt_triage.commands.common import FormatOption, JsonOption, PaperArg, open_store

dedup_app = typer.Typer(
    help="The duplicate clusters; `dedup link A B` / `dedup unlink A B` decide for the rules."
)


@dedup_app.callback(invoke_without_command=True)
def dedup(
    ctx: typer.Context,
    format: FormatOption = None,
    json_lines: JsonOption = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="The index's keys and buckets (full ones too).")
    ] = False,
) -> None:
    """The duplicate clusters: each canonical paper with the papers linked to it, the
    reason and the similarity score (jsonl: one cluster a line; csv and markdown: one
    linked paper a row)."""
    if ctx.invoked_subcommand is not None:
        return
    from adapt_triage.output import choose, emit
    from adapt_triage.render import (
        DEDUP_COLUMNS,
        cluster_record,
        cluster_rows,
        render_clusters,
        render_dedup_stats,
    )

    store = open_store(ctx, must_exist=True)
    fmt = choose(format, json_alias=json_lines)
    if stats:
        rows = store.dedup_stats()
        columns = tuple(rows[0]) if rows else ("key",)
        emit(rows, fmt, columns=columns, table=lambda _rows: render_dedup_stats(rows))
        return
    clusters = store.duplicate_clusters()
    records = [cluster_record(cluster) for cluster in clusters]
    if fmt in ("csv", "markdown"):
        emit(cluster_rows(records), fmt, columns=DEDUP_COLUMNS)
        return
    emit(records, fmt, columns=(), table=lambda _records: render_clusters(clusters))


def _decide(ctx: typer.Context, first: str, second: str, *, same: bool) -> None:
    from adapt_triage.render import sanitize

    store = open_store(ctx, must_exist=True)
    done = (store.link_papers if same else store.unlink_papers)(first, second)
    typer.echo(sanitize(done))


@dedup_app.command("link")
def dedup_link(ctx: typer.Context, first: PaperArg, second: PaperArg) -> None:
    """Record that two papers are one work: linked whatever the rules say, for good."""
    _decide(ctx, first, second, same=True)


@dedup_app.command("unlink")
def dedup_unlink(ctx: typer.Context, first: PaperArg, second: PaperArg) -> None:
    """Record that two papers are different works: never linked again by the rules."""
    _decide(ctx, first, second, same=False)
