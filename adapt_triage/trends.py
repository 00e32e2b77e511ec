"""Papers per category per week over the stored history: counted, drawn in the terminal as
sparklines, written as CSV / JSON Lines rows, or plotted with matplotlib (the `plot` extra).

A paper's day is the day it was published (the feed's announce day for arXiv RSS, the
submission day for the arXiv API and Hugging Face), else the day it was stored. Weeks start
on Monday. A paper counts once for each of its labels (the user's when set, else the
model's), like `list --category`; papers linked as duplicates are not counted again.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from adapt_triage.taxonomy import OFF_TOPIC, category_order

if TYPE_CHECKING:
    from adapt_triage.store import Store

SPARKS = "▁▂▃▄▅▆▇█"
PLOT_SUFFIXES = (".svg", ".png", ".pdf")


class PlotUnavailableError(RuntimeError):
    """matplotlib is not installed (`pip install 'adapt-triage[plot]'`)."""


@dataclass
class Trends:
    weeks: list[date]  # the Monday of each week, oldest first, no gaps
    counts: dict[str, list[int]] = field(default_factory=dict)  # category -> per week
    totals: list[int] = field(default_factory=list)  # canonical papers per week

    @property
    def categories(self) -> list[str]:
        return list(self.counts)

    def shares(self, category: str) -> list[float]:
        """The category's papers as a percentage of each week's papers."""
        return [
            100.0 * n / total if total else 0.0
            for n, total in zip(self.counts[category], self.totals, strict=True)
        ]

    def rows(self) -> list[dict[str, Any]]:
        """Long form: one row per week and category (for CSV and JSON Lines)."""
        return [
            {
                "week": week.isoformat(),
                "category": category,
                "papers": counts[i],
                "week_total": self.totals[i],
            }
            for i, week in enumerate(self.weeks)
            for category, counts in self.counts.items()
        ]


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text or "")[:10])
    except ValueError:
        return None


def weekly_trends(
    store: Store, *, weeks: int | None = None, categories: Sequence[str] | None = None
) -> Trends:
    """Count the stored canonical papers per label per week. `weeks` keeps the last N weeks
    of the history (ending with the newest week that has a paper). `categories` picks and
    orders the categories; by default every label that occurs except off-topic."""
    per_week: dict[date, dict[str, int]] = {}
    totals: dict[date, int] = {}
    cursor = store.db.conn.execute(
        "SELECT COALESCE(published, first_seen), first_seen, labels FROM browse_papers "
        "WHERE duplicate_of IS NULL"
    )
    for published, first_seen, labels_json in cursor:
        day = _day(published) or _day(first_seen)
        if day is None:
            continue
        week = week_of(day)
        totals[week] = totals.get(week, 0) + 1
        bucket = per_week.setdefault(week, {})
        try:
            labels = json.loads(labels_json or "[]")
        except ValueError:
            labels = []
        for label in dict.fromkeys(labels):
            bucket[label] = bucket.get(label, 0) + 1
    if not totals:
        return Trends(weeks=[], counts={c: [] for c in categories or []})
    first, last = min(totals), max(totals)
    span = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    if weeks is not None:
        span = span[-max(int(weeks), 1) :]
    if categories:
        chosen = list(dict.fromkeys(categories))
    else:
        seen = {label for week in span for label in per_week.get(week, {})}
        chosen = [c for c in category_order(sorted(seen)) if c != OFF_TOPIC]
    counts = {c: [per_week.get(week, {}).get(c, 0) for week in span] for c in chosen}
    return Trends(weeks=span, counts=counts, totals=[totals.get(week, 0) for week in span])


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled to the largest value (a space for zero)."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    return "".join(
        " " if v <= 0 else SPARKS[min(len(SPARKS), math.ceil(v * len(SPARKS) / top)) - 1]
        for v in values
    )


def render_text(trends: Trends, *, max_columns: int = 8, share: bool = False) -> str:
    """A plain-text chart: per category the counts of the last `max_columns` weeks, a
    sparkline over every week, and the total. With `share`, each category's cells are its
    percentage of the week's papers (the volume of a week no longer hides a rise)."""
    if not trends.weeks:
        return "no stored papers yet: run `adapt-triage ingest SOURCE` first\n"
    shown = trends.weeks[-max_columns:]
    offset = len(trends.weeks) - len(shown)
    names = [*trends.categories, "all papers"]
    width = max(len(n) for n in names)
    head = " ".join(f"{w.strftime('%m-%d'):>5}" for w in shown)
    spark_width = max(len(trends.weeks), 5)
    what = "% of each week's papers" if share else "Papers per week"
    lines = [
        f"{what} by label, {trends.weeks[0]} to {trends.weeks[-1] + timedelta(days=6)}"
        f" ({len(trends.weeks)} weeks from Monday; a paper counts for each of its labels)",
        "",
        f"{'':<{width}}  {head}  {'trend':<{spark_width}}  {'total':>6}",
    ]
    every = sum(trends.totals)
    for name in trends.categories:
        counts = trends.counts[name]
        if share:
            values: list[float] = trends.shares(name)
            cells = " ".join(f"{v:>5.1f}" for v in values[offset:])
            total = f"{100.0 * sum(counts) / every if every else 0.0:>6.1f}"
        else:
            values = list(counts)
            cells = " ".join(f"{v:>5}" for v in counts[offset:])
            total = f"{sum(counts):>6}"
        lines.append(f"{name:<{width}}  {cells}  {sparkline(values):<{spark_width}}  {total}")
    cells = " ".join(f"{v:>5}" for v in trends.totals[offset:])
    lines.append(
        f"{'all papers':<{width}}  {cells}  {sparkline(trends.totals):<{spark_width}}  {every:>6}"
    )
    return "\n".join(lines) + "\n"


def write_csv(trends: Trends, out: TextIO) -> None:
    writer = csv.DictWriter(
        out, fieldnames=["week", "category", "papers", "week_total"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(trends.rows())


def write_jsonl(trends: Trends, out: TextIO) -> None:
    for row in trends.rows():
        out.write(json.dumps(row) + "\n")


def plot(trends: Trends, path: Path, *, share: bool = False) -> None:
    """A line chart, one series per category (SVG, PNG or PDF by the file's suffix). Each
    series is drawn with the id `series-<category>` so an SVG can be checked."""
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"{path}: --plot writes {', '.join(PLOT_SUFFIXES)} files")
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        from matplotlib import pyplot as plt
    except ImportError as exc:
        raise PlotUnavailableError(
            f"--plot needs matplotlib ({exc}): pip install 'adapt-triage[plot]'"
        ) from None
    matplotlib.rcParams["svg.hashsalt"] = "adapt-triage"
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, smaller)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=100)
    try:
        xs = list(range(len(trends.weeks)))
        for category in trends.categories:
            values = trends.shares(category) if share else trends.counts[category]
            (line,) = ax.plot(xs, values, marker="o", label=category)
            line.set_gid(f"series-{category}")
        ax.set_xticks(xs)
        ax.set_xticklabels([w.isoformat() for w in trends.weeks], rotation=30, ha="right")
        ax.set_ylabel("% of the week's papers" if share else "papers per week")
        ax.set_title(
            "Share of each week's papers by label" if share else "Papers per week by label"
        )
        ax.grid(True, alpha=0.3)
        if trends.categories:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        fig.tight_layout()
        metadata = {"Date": None} if suffix == ".svg" else None
        fig.savefig(path, format=suffix[1:], metadata=metadata)
    finally:
        plt.close(fig)
