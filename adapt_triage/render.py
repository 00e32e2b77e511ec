"""Rendering papers for people (tables, Markdown) and for pipelines (JSON Lines, JSON, CSV).

Everything that reaches the terminal from a feed passes through `sanitize` (tables,
Markdown, CSV) or `dumps` (JSON), so control characters and escape sequences from
untrusted titles and abstracts are never written intact.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from adapt_triage.dates import local_text, plural
from adapt_triage.paper import CONTRACT_FIELDS
from adapt_triage.stored import STORED_EXTRAS, StoredPaper

# CSI / OSC / other escape sequences, then any remaining control or bidi-override character.
_ESCAPE_SEQ_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]"
)
_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_SPACE_RE = re.compile(r"\s+")


def sanitize(text: Any, *, single_line: bool = True) -> str:
    """Untrusted text made safe for a terminal: escape sequences and control characters
    removed; with `single_line`, all whitespace (newlines, tabs) folded to single spaces."""
    if text is None:
        return ""
    text = str(text)
    text = _ESCAPE_SEQ_RE.sub("", text)
    if single_line:
        text = _CONTROL_RE.sub(" ", text)
        return _SPACE_RE.sub(" ", text).strip()
    text = text.replace("\r\n", "\n")
    lines = [_CONTROL_RE.sub(" ", line) for line in text.split("\n")]
    return "\n".join(line.rstrip() for line in lines).strip()


def shorten(text: str, width: int) -> str:
    """Cut to `width` characters with an ellipsis."""
    if width <= 1 or len(text) <= width:
        return text[: max(width, 0)] if width <= 1 else text
    return text[: width - 1].rstrip() + "…"


def dumps(obj: Any) -> str:
    """One-line JSON, UTF-8 text kept readable, but every character a terminal could act on
    (C0 and C1 controls, bidi overrides, line separators) escaped as \\uXXXX."""
    text = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_jsonl(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(dumps(record) + "\n")
        count += 1
    return count


def write_json(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    items = list(records)
    out.write("[\n")
    out.write(",\n".join("  " + dumps(r) for r in items))
    out.write("\n]\n" if items else "]\n")
    return len(items)


# Spreadsheets read a cell that starts with one of these as a formula (OWASP's list, plus
# the full-width forms some spreadsheets fold to ASCII).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading `'` when it starts like a formula,
    unless the whole cell is a plain number (`-0.5`, `1e-3`)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=False)
    return csv_safe(sanitize(value))


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO, columns: Sequence[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row.get(col)) for col in columns])
        count += 1
    return count


# `!` and `(` need no escape: with every `[` escaped no image or link can start.
_MD_ACTIVE_RE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START_RE = re.compile(r"^(\d+)([.)])|^([-+=#>])")


def md_escape(text: Any) -> str:
    """Sanitised text with every Markdown-active character backslash-escaped, for one-line
    use anywhere on a line: no link, image, raw HTML, entity, code span or emphasis can
    come out of it, and it cannot start a list, quote, heading or rule either."""
    text = _MD_ACTIVE_RE.sub(r"\\\1", sanitize(text))
    return _MD_LINE_START_RE.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


# Characters left as they are in a Markdown link destination; the rest is percent-encoded
# (so `<`, `>`, `(`, `)`, spaces, quotes and backslashes never end or break out of it).
_URL_SAFE = "/:?#@!$&'*+,;=-._~%[]"


def md_url(url: Any) -> str | None:
    """An http(s) URL percent-encoded for a Markdown link destination, or None for any
    other scheme (`javascript:`, `data:`): those are shown as text, never linked."""
    from urllib.parse import quote

    text = sanitize(url).replace(" ", "")
    if not re.match(r"(?i)https?://[^/\s]", text):
        return None
    encoded = quote(text, safe=_URL_SAFE.replace("'", ""))
    return encoded.replace("[", "%5B").replace("]", "%5D")


def md_link(label: str, url: Any) -> str:
    """`[label](url)` for an http(s) URL, else the label alone; `label` is already escaped."""
    target = md_url(url)
    return f"[{label}]({target})" if target else label


def top_scores(scores: Mapping[str, float], n: int = 3) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def format_scores(scores: Mapping[str, float], n: int = 3) -> str:
    return ", ".join(f"{cat} {score:.2f}" for cat, score in top_scores(scores, n))


# --------------------------------------------------------------------------- records

# Stable column order for CSV exports and `list --format csv`.
EXPORT_COLUMNS = (
    "id",
    "title",
    "authors",
    "published",
    "url",
    "source",
    "labels",
    "primary",
    "primary_score",
    "scores",
    "user_labels",
    "duplicate_of",
    *(key for key in STORED_EXTRAS if key != "user_labels"),
    "abstract",
)


# The columns of `classify --format csv` (and markdown), "explain" after them when asked.
CLASSIFY_COLUMNS = ("id", "title", "labels", "scores", "url", "published", "source", "authors")
# The columns of `feeds list` and `sources list` in csv and markdown.
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
# The columns of `dedup` in csv and markdown: one row per paper linked to a canonical one.
DEDUP_COLUMNS = ("canonical", "id", "title", "reason", "score", "url", "source")


def paper_record(paper: Any) -> dict[str, Any]:
    """The JSON record of a freshly read `Paper`: the contract fields first, then extras.
    `id` echoes the input's own id when it had one."""
    record: dict[str, Any] = {key: getattr(paper, key) for key in CONTRACT_FIELDS}
    record.update(
        id=paper.input_id if paper.input_id is not None else paper.id,
        authors=list(paper.authors),
        labels=list(paper.labels),
        scores={k: round(float(v), 4) for k, v in paper.scores.items()},
    )
    if paper.input_id is not None and paper.input_id != paper.id:
        record["paper_id"] = paper.id
    for key in ("arxiv_id", "version", "doi", "announce_type"):
        value = getattr(paper, key)
        if value is not None:
            record[key] = value
    return record


def short_authors(authors: Sequence[str], n: int = 3) -> str:
    authors = [sanitize(a) for a in authors if a]
    if len(authors) <= n:
        return ", ".join(authors)
    return ", ".join(authors[:n]) + f" +{len(authors) - n}"


# --------------------------------------------------------------------------- terminal views


def console(stderr: bool = False):
    """A rich console: colour and width only on a terminal, plain text elsewhere."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def render_classify_table(records: Sequence[Mapping[str, Any]], *, explain: bool = False) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("title", overflow="fold", ratio=3)
    table.add_column("labels", overflow="fold", ratio=1)
    table.add_column("top scores", overflow="fold", ratio=1)
    for i, rec in enumerate(records, 1):
        labels = ", ".join(rec["labels"])
        if explain and rec.get("explain"):
            labels += "\n" + "\n".join(
                f"{lab}: {', '.join(sanitize(t) for t in terms)}"
                for lab, terms in rec["explain"].items()
            )
        table.add_row(
            Text(str(i)),
            Text(shorten(sanitize(rec["title"]), 120)),
            Text(sanitize(labels, single_line=False)),
            Text(sanitize(format_scores(rec["scores"]))),
        )
    console().print(table)


def render_paper_table(rows: Sequence[StoredPaper], *, title: str = "") -> None:
    """Stored papers for people: the title with its id beneath, labels (`*` = yours), the
    primary score and the day it was stored."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(sanitize(title)) if title else None, expand=False, show_lines=False)
    table.add_column("paper", overflow="fold", ratio=4)
    table.add_column("labels", overflow="fold", ratio=2)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("stored", no_wrap=True)
    for row in rows:
        primary = row.primary_score
        score = "" if primary is None else f"{primary:.2f}"
        cell = Text(shorten(sanitize(row.title), 140))
        cell.append("\n" + sanitize(row.id), style="dim")
        if row.duplicate_of:
            cell.append(f" = {sanitize(row.duplicate_of)}", style="dim")
        mine = " *" if row.user_labels else ""
        table.add_row(
            cell,
            Text(", ".join(sanitize(x) for x in row.labels) + mine),
            Text(score),
            Text(sanitize(local_text(row.first_seen) or "")),
        )
    console().print(table)


def render_show(
    paper: StoredPaper,
    explain: Mapping[str, Sequence[str]],
    versions: Sequence[Mapping[str, Any]],
    duplicates: Sequence[StoredPaper],
    sources: Sequence[Mapping[str, Any]],
    canonical: StoredPaper | None = None,
) -> None:
    """`show` for people: the fields, the abstract, the scores with the terms behind each
    label, then the versions, sources and duplicates seen."""
    from rich.text import Text

    out = console()
    for key, value in _show_fields(paper, canonical):
        if value:
            out.print(Text(f"{key:>14}: {sanitize(value)}"))
    out.print(Text("\nabstract:"))
    out.print(Text(sanitize(paper.abstract, single_line=False)))
    scores = paper.scores
    if scores:
        out.print(Text("\nscores (terms that pushed each label up):"))
        for cat, score in top_scores(scores, len(scores)):
            terms = explain.get(cat)
            suffix = f"  <- {', '.join(sanitize(t) for t in terms)}" if terms else ""
            out.print(Text(f"  {cat:<22} {score:.3f}{suffix}"))
    for heading, rows in _show_history(versions, sources, duplicates):
        if rows:
            out.print(Text(f"\n{heading}:"))
            for row in rows:
                out.print(Text(row))


def _show_fields(paper: StoredPaper, canonical: StoredPaper | None) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = [
        ("id", paper.id),
        ("title", paper.title or ""),
        ("authors", ", ".join(paper.authors)),
        ("published", paper.published or ""),
        ("url", paper.url or ""),
        ("doi", paper.doi or ""),
        ("announce type", paper.announce_type or ""),
        ("first seen", local_text(paper.first_seen)),
        ("labels", ", ".join(paper.labels)),
    ]
    if paper.user_labels:
        lines.append(("your labels", ", ".join(paper.user_labels)))
        lines.append(("model labels", ", ".join(paper.model_labels)))
    if paper.duplicate_of:
        where = canonical.title if canonical else ""
        lines.append(
            (
                "duplicate of",
                f"{paper.duplicate_of} {where} ({paper.dup_reason or ''}, "
                f"score {paper.dup_score or 0:.2f})",
            )
        )
    return lines


def _show_history(
    versions: Sequence[Mapping[str, Any]],
    sources: Sequence[Mapping[str, Any]],
    duplicates: Sequence[StoredPaper],
) -> list[tuple[str, list[str]]]:
    """The sections after the scores, each a heading and its (sanitised) lines."""
    return [
        (
            "versions seen",
            [
                f"  v{v.get('version') or '?'}  {sanitize(local_text(v.get('seen_at')))}  "
                f"{sanitize(v.get('source'))}"
                for v in versions
            ],
        ),
        (
            "sources",
            [
                f"  {sanitize(s.get('source'))}  ({sanitize(local_text(s.get('first_seen')))})"
                for s in sources
            ],
        ),
        (
            "also as",
            [
                f"  {sanitize(d.id)}  {shorten(sanitize(d.title), 80)}  "
                f"({sanitize(d.dup_reason)}, score {d.dup_score or 0:.2f})"
                for d in duplicates
            ],
        ),
    ]


def render_clusters(clusters: Sequence[Mapping[str, Any]]) -> None:
    from rich.text import Text

    out = console()
    if not clusters:
        out.print(Text("no duplicates stored"))
        return
    for cluster in clusters:
        canon = cluster["canonical"]
        out.print(Text(f"{sanitize(canon.id)}  {shorten(sanitize(canon.title), 100)}"))
        for dup in cluster["duplicates"]:
            out.print(
                Text(
                    f"  = {sanitize(dup.id)}  {shorten(sanitize(dup.title), 90)}\n"
                    f"    {sanitize(dup.dup_reason)}, score {dup.dup_score or 0:.3f}"
                )
            )
    n = len(clusters)
    out.print(Text(f"{n} cluster" + ("" if n == 1 else "s")))


def render_dedup_stats(rows: Sequence[Mapping[str, Any]]) -> None:
    """The dedup index's keys: buckets, entries, the largest bucket and the buckets over
    the cap (a lookup reads the newest BUCKET_CAP papers of those)."""
    from rich.text import Text

    from adapt_triage.dedup import BUCKET_CAP

    out = console()
    out.print(Text(f"{'keys':<18} {'buckets':>9} {'entries':>9} {'largest':>8} {'over cap':>9}"))
    for row in rows:
        out.print(
            Text(
                f"{row['keys']:<18} {row['buckets']:>9} {row['entries']:>9} "
                f"{row['largest']:>8} {row['over_cap']:>9}"
            )
        )
    out.print(Text(f"cap: a lookup reads the newest {BUCKET_CAP} papers of a bucket"))


# --------------------------------------------------------------------------- digest


def digest_record(paper: StoredPaper, category: str) -> dict[str, Any]:
    """A digest entry: the stored record plus its group and the duplicates folded into it."""
    record = paper.to_contract()
    record["category"] = category
    record["also_as"] = [
        {
            "id": d.id,
            "title": d.title,
            "url": d.url,
            "source": d.source,
            "reason": d.dup_reason,
            "score": d.dup_score,
        }
        for d in paper.duplicates
    ]
    return record


def digest_dict(digest: Any) -> dict[str, Any]:
    return {
        "since": digest.since,
        "generated_at": digest.generated_at,
        "count": digest.count,
        "empty_reason": digest.empty_reason,
        "notes": list(digest.source_notes),
        "groups": [
            {"category": g.category, "papers": [digest_record(p, g.category) for p in g.papers]}
            for g in digest.groups
        ],
    }


def digest_jsonl_records(digest: Any) -> list[dict[str, Any]]:
    return [digest_record(p, g.category) for g in digest.groups for p in g.papers]


def digest_markdown(digest: Any) -> str:
    text = "".join(chunk for _, chunk in digest_markdown_chunks(digest))
    return text.rstrip() + "\n"


def digest_markdown_chunks(digest: Any) -> Iterator[tuple[list[str], str]]:
    """The Markdown digest in pieces, each with the ids of the papers it shows: the
    heading, then each group's heading and each paper's lines, then the source notes."""
    head = [f"# {md_escape(digest.title)}", ""]
    if not digest.count:
        head += [f"_{md_escape(digest.empty_reason or 'nothing new')}_", ""]
    yield [], "\n".join(head) + "\n"
    for group in digest.groups:
        yield [], f"## {md_escape(group.category)} ({len(group.papers)})\n\n"
        for n, paper in enumerate(group.papers, 1):
            lines = []
            head_text = md_link(md_escape(paper.title), paper.url)
            extra = []
            if paper.announce_type:
                extra.append(md_escape(paper.announce_type))
            extra.append(f"{paper.score_for(group.category):.2f}")
            lines.append(f"- **{head_text}** ({', '.join(extra)})")
            if paper.authors:
                lines.append(f"  {md_escape(short_authors(paper.authors, 4))}")
            others = [lab for lab in paper.labels if lab != group.category]
            if others:
                lines.append(f"  also labelled: {md_escape(', '.join(others))}")
            for dup in paper.duplicates:
                lines.append(f"  also as: {md_escape(dup.title)} ({md_escape(dup.id)})")
            if n == len(group.papers):
                lines.append("")
            yield [paper.id], "\n".join(lines) + "\n"
    notes = [f"> {md_escape(note)}" for note in digest.source_notes]
    if notes:
        yield [], "\n".join(notes) + "\n"


def render_digest(digest: Any, *, stderr_notes: bool = True) -> None:
    """The terminal view: one section per category, each paper on a few lines."""
    import sys

    for _, chunk in digest_table_chunks(digest):
        sys.stdout.write(chunk)
    digest_table_notes(digest, stderr_notes=stderr_notes)


def digest_table_chunks(digest: Any) -> Iterator[tuple[list[str], str]]:
    """The terminal view in pieces (each paper's lines with its id), rendered by rich
    (colour only on a terminal)."""
    from rich.rule import Rule
    from rich.text import Text

    out = console()

    def capture(*renderables: Any) -> str:
        with out.capture() as captured:
            for renderable in renderables:
                out.print(renderable)
        return captured.get()

    heading = f"adapt-triage digest: {plural(digest.count, 'paper')} {digest.window}"
    parts: list[Any] = [Text(sanitize(heading), style="bold")]
    if not digest.count:
        parts.append(Text(sanitize(digest.empty_reason or "nothing new")))
    yield [], capture(*parts)
    for group in digest.groups:
        yield [], capture(Rule(Text(f"{group.category} ({len(group.papers)})"), align="left"))
        for paper in group.papers:
            score = paper.score_for(group.category)
            line = Text("• ")
            line.append(sanitize(paper.title), style="bold")
            line.append(f"  {score:.2f}", style="cyan")
            if paper.announce_type:
                line.append(f"  [{sanitize(paper.announce_type)}]", style="magenta")
            parts = [line]
            details = []
            if paper.authors:
                details.append(short_authors(paper.authors))
            if paper.url:
                details.append(sanitize(paper.url))
            if details:
                parts.append(Text("  " + " · ".join(details), style="dim"))
            others = [lab for lab in paper.labels if lab != group.category]
            if others:
                parts.append(Text("  also labelled: " + sanitize(", ".join(others)), style="dim"))
            for dup in paper.duplicates:
                parts.append(
                    Text(
                        f"  also as: {shorten(sanitize(dup.title), 90)} ({sanitize(dup.id)})",
                        style="dim",
                    )
                )
            yield [paper.id], capture(*parts)


def digest_table_notes(digest: Any, *, stderr_notes: bool = True) -> None:
    from rich.text import Text

    if digest.source_notes and stderr_notes:
        err = console(stderr=True)
        for note in digest.source_notes:
            err.print(Text(f"note: {sanitize(note)}"))


def digest_chunks(digest: Any, fmt: str) -> Iterator[tuple[list[str], str]]:
    """The digest in `fmt` (table, markdown, jsonl, json, csv, html) as pieces of text,
    each with the ids of the papers it shows, so that the caller marks as shown exactly
    the papers whose whole piece reached the reader. json and html are one document."""
    if fmt == "table":
        yield from digest_table_chunks(digest)
    elif fmt == "markdown":
        yield from digest_markdown_chunks(digest)
    elif fmt == "jsonl":
        for record in digest_jsonl_records(digest):
            yield [record["id"]], dumps(record) + "\n"
    elif fmt == "csv":
        import io

        columns = ("category", *EXPORT_COLUMNS)
        for n, record in enumerate(digest_jsonl_records(digest)):
            buffer = io.StringIO()
            write_csv([record], buffer, columns)
            text = buffer.getvalue()
            yield [record["id"]], text if n == 0 else text.split("\n", 1)[1]
        if not digest.count:
            buffer = io.StringIO()
            write_csv([], buffer, columns)
            yield [], buffer.getvalue()
    elif fmt == "json":
        yield [p.id for p in digest.papers], dumps(digest_dict(digest)) + "\n"
    elif fmt == "html":
        from adapt_triage.html_digest import digest_html

        yield [p.id for p in digest.papers], digest_html(digest)
    else:
        raise ValueError(f"unknown digest format {fmt!r}")


def render_feeds(
    feeds: Sequence[Any],
    *,
    empty: str = "no subscribed feeds; add one with `adapt-triage feeds add URL`",
) -> None:
    from rich.table import Table
    from rich.text import Text

    from adapt_triage.dates import local_text

    if not feeds:
        console().print(Text(sanitize(empty)))
        return
    table = Table()
    for col in ("name", "url", "last fetch", "status", "items", "new", "failures"):
        table.add_column(col, overflow="fold")
    for feed in feeds:
        table.add_row(
            Text(sanitize(feed.name or "")),
            Text(sanitize(feed.url)),
            Text(sanitize(local_text(feed.last_fetch_at) or "never")),
            Text(sanitize(feed.last_status or "")),
            Text("" if feed.last_item_count is None else str(feed.last_item_count)),
            Text("" if feed.last_new is None else str(feed.last_new)),
            Text(str(feed.consecutive_failures or 0)),
        )
    console().print(table)


def export_markdown(records: Iterable[Mapping[str, Any]]) -> str:
    """A Markdown table of stored papers, for notes."""
    lines = [
        "| id | title | labels | score | published | duplicate of |",
        "|---|---|---|---|---|---|",
    ]
    for rec in records:
        title = md_link(md_escape(rec.get("title")), rec.get("url"))
        score = rec.get("primary_score")
        lines.append(
            "| "
            + " | ".join(
                [
                    md_escape(rec["id"]),
                    title,
                    md_escape(", ".join(rec.get("labels") or [])),
                    "" if score is None else f"{score:.2f}",
                    md_escape((rec.get("published") or "")[:10]),
                    md_escape(rec.get("duplicate_of") or ""),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


class SourceProgress:
    """A progress bar over the sources of a run, on stderr, only when `enabled` (a terminal
    and not --quiet). Lines printed through `echo` appear above the bar."""

    def __init__(self, total: int, *, enabled: bool, label: str = "sources") -> None:
        self.total = total
        self.enabled = enabled
        self.label = label
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> SourceProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, source: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=shorten(sanitize(source), 50))

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def echo(self, line: str) -> None:
        if self._progress is not None:
            from rich.text import Text

            self._progress.console.print(Text(line))
        else:
            import sys

            print(line, file=sys.stderr)


class PageProgress:
    """A progress bar over the entries of one paged download (an arXiv API backfill), on
    stderr, only when `enabled`; the total is learnt from the first page. Inside a running
    `SourceProgress` it is one more bar of that display (rich shows one live display)."""

    def __init__(self, label: str, *, enabled: bool, within: SourceProgress | None = None) -> None:
        self.label = label
        self.enabled = enabled
        self._parent = within._progress if within is not None else None
        self._progress: Any = None
        self._task: Any = None
        self._own = False

    def __enter__(self) -> PageProgress:
        if not self.enabled:
            return self
        if self._parent is not None:
            self._progress = self._parent
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._own = True
        self._task = self._progress.add_task(shorten(sanitize(self.label), 50), total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is None:
            return
        if self._own:
            self._progress.__exit__(*exc)
        else:
            self._progress.remove_task(self._task)

    def update(self, done: int, total: int | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)


# --------------------------------------------------------------------------- command reports


def report_line(report: Any) -> str:
    """One source's summary line of an `ingest` run."""
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


def cluster_record(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """A duplicate cluster as JSON: the canonical paper, and each paper linked to it with
    the reason and the similarity score."""
    return {
        "canonical": cluster["canonical"].to_contract(),
        "duplicates": [
            {
                **d.to_contract(),
                "reason": d.dup_reason,
                "score": None if d.dup_score is None else float(d.dup_score),
            }
            for d in cluster["duplicates"]
        ],
    }


def cluster_rows(records: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Cluster records flattened for csv and markdown: one row per linked paper."""
    for record in records:
        for dup in record["duplicates"]:
            row = {key: dup.get(key) for key in DEDUP_COLUMNS}
            row["canonical"] = record["canonical"]["id"]
            yield row


def render_categories(records: Sequence[Mapping[str, Any]]) -> None:
    """`categories list` for people: slug, examples, what it covers."""
    width = max(len(r["slug"]) for r in records)
    for r in records:
        covers = r["covers"] + (" (yours)" if r["custom"] else "")
        print(f"{r['slug']:<{width}}  {r['examples']:>3}  {sanitize(covers)}")
