"""Reports over the stored history and the model: digest, trends, eval, path."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from adapt_triage.commands.common import (
    CategoryOption,
    DigestFormatOption,
    JsonOption,
    category_values,
    db_path,
    existing_store,
    fail,
    open_store,
    refresh_scores,
    settings,
    since_value,
)
from adapt_triage.exitstatus import ExitStatus
from adapt_triage.output import ReportFormat, SummaryFormat


class EvalView(str, Enum):
    seed = "seed"
    real_days = "real-days"
    all = "all"


class TrendsFormat(str, Enum):
    text = "text"
    csv = "csv"
    jsonl = "jsonl"
    json = "json"


DigestSinceOption = Annotated[
    str | None,
    typer.Option(
        help="Only papers stored since 1d, 2w, 12h or a DATE (default: every paper not "
        "shown before)."
    ),
]
HideOption = Annotated[
    list[str] | None,
    typer.Option(
        "--hide", metavar="CATS", help="Leave out categories (e.g. off-topic; a,b or repeat)."
    ),
]
MinScoreOption = Annotated[
    float | None,
    typer.Option("--min-score", min=0.0, max=1.0, help="Primary score at least."),
]
BestOption = Annotated[int | None, typer.Option(min=0, help="At most N papers, the best-scoring.")]
AnnounceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--announce",
        metavar="TYPES",
        help="Only arXiv papers announced as new, cross, replace or replace-cross "
        "(a,b or repeat; papers from other sources are kept).",
    ),
]
ShownOption = Annotated[
    bool, typer.Option("--all", help="Include the papers shown in an earlier digest too.")
]
NoMarkOption = Annotated[
    bool, typer.Option("--no-mark", help="Do not record this digest (a preview).")
]
HideReadOption = Annotated[
    bool, typer.Option("--hide-read", help="Leave out the papers you marked read.")
]


def digest(
    ctx: typer.Context,
    since: DigestSinceOption = None,
    format: DigestFormatOption = None,
    category: CategoryOption = None,
    hide: HideOption = None,
    min_score: MinScoreOption = None,
    limit: BestOption = None,
    announce: AnnounceOption = None,
    include_shown: ShownOption = False,
    no_mark: NoMarkOption = False,
    hide_read: HideReadOption = False,
    json_lines: JsonOption = False,
) -> None:
    """The papers not shown in an earlier digest, grouped by primary category, duplicates
    folded in. Only the papers that reach the output are marked shown: what --limit, a
    filter or a closed pipe (`| head`) leaves out comes back next time; --all shows the
    shown ones too. With --quiet and nothing new it prints nothing."""
    from adapt_triage.config import ConfigError, load_config
    from adapt_triage.delivery import deliver_digest
    from adapt_triage.digest import build_digest
    from adapt_triage.output import choose
    from adapt_triage.validation import InvalidValueError, check_announce

    quiet = settings(ctx).quiet
    fmt = choose(format, json_alias=json_lines, piped="markdown")
    try:
        defaults = load_config().digest  # the command line wins over the config file
    except ConfigError as exc:
        fail(str(exc), ExitStatus.USAGE)
    store = open_store(ctx, must_exist=True)
    category = category_values(store, category)
    hidden = category_values(store, hide or defaults.hide or None, "--hide") or []
    try:
        announce = check_announce(announce or defaults.announce or None)
    except InvalidValueError as exc:
        fail(str(exc), ExitStatus.USAGE)
    refresh_scores(ctx, store)
    result = build_digest(
        store,
        since=since_value(since),
        include_shown=include_shown,
        categories=category,
        hide=hidden,
        min_score=(defaults.min_score if min_score is None else min_score) or 0.0,
        limit=defaults.limit if limit is None else limit,
        announce=announce,
        hide_read=hide_read,
    )
    if quiet and not result.count:
        return  # cron: no mail on a day with nothing new
    deliver_digest(store, result, fmt, sys.stdout, notes=not quiet, mark=not no_mark)


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
    from adapt_triage.render import sanitize, write_json
    from adapt_triage.trends import (
        PlotUnavailableError,
        render_text,
        weekly_trends,
        write_csv,
        write_jsonl,
    )
    from adapt_triage.trends import plot as draw

    store = open_store(ctx, must_exist=True)
    result = weekly_trends(store, weeks=weeks, categories=category_values(store, category))
    if format is TrendsFormat.csv:
        write_csv(result, sys.stdout)
    elif format is TrendsFormat.jsonl:
        write_jsonl(result, sys.stdout)
    elif format is TrendsFormat.json:
        write_json(list(result.rows()), sys.stdout)
    else:
        typer.echo(sanitize(render_text(result, share=share), single_line=False))
    if plot is not None:
        try:
            draw(result, plot, share=share)
        except ValueError as exc:
            fail(str(exc), ExitStatus.USAGE)
        except (PlotUnavailableError, OSError) as exc:
            fail(str(exc))
        if not settings(ctx).quiet:
            typer.echo(f"adapt-triage: wrote {plot}", err=True)


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
    from adapt_triage.model import user_examples
    from adapt_triage.output import emit_one
    from adapt_triage.realday_eval import evaluate_all

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
        fail(str(exc), ExitStatus.USAGE)
    emit_one(report.to_dict(), format.value, table=lambda: typer.echo(report.render()))


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

    paths = {
        "database": str(db_path(ctx)),
        "cache": str(cache_dir()),
        "config": str(config_path()),
    }
    if format is SummaryFormat.json:
        typer.echo(dumps(paths))
        return
    for name, value in paths.items():
        typer.echo(f"{name:<9} {value}")
