"""One way to ask for output: every command that prints records takes `--format` from the
same set, with the same meaning everywhere, and writes through `emit` (many records) or
`emit_one` (one record).

- `table`: for people (the default on a terminal);
- `jsonl`: one JSON object a line (the default when stdout is not a terminal);
- `json`: one JSON document (an array of the records; one object for a single record);
- `csv`: a header and one row per record (cells made safe for spreadsheets);
- `markdown`: a Markdown table.

`--json` is an alias of `--format jsonl`. Commands add their own formats on top of the
set (`digest`: html; `export`: bibtex, ris) and may choose another default for a pipe
(`digest`: markdown; `export` and `eval` keep one default everywhere).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, TextIO

FORMATS = ("table", "jsonl", "json", "csv", "markdown")


def format_enum(name: str, *extra: str, only: Sequence[str] = FORMATS) -> Any:
    """A str Enum of `only` plus `extra` (typer shows and checks its values)."""
    return Enum(name, [(value, value) for value in (*only, *extra)], type=str)


# The record formats, and the commands' own additions to them.
Format = format_enum("Format")
DigestFormat = format_enum("DigestFormat", "html")
ExportFormat = format_enum("ExportFormat", "bibtex", "ris")
ReportFormat = format_enum("ReportFormat", only=("table", "jsonl", "json"))
SummaryFormat = format_enum("SummaryFormat", only=("text", "json"))


def stdout_is_terminal() -> bool:
    stdout = sys.stdout
    return stdout is not None and stdout.isatty()


def choose(
    fmt: Enum | str | None,
    *,
    json_alias: bool = False,
    piped: str = "jsonl",
    terminal: bool | None = None,
) -> str:
    """The format asked for: --json wins, then --format, else table on a terminal and
    `piped` in a pipe (the one TTY-aware default of every command)."""
    if json_alias:
        return "jsonl"
    if fmt:
        return str(fmt.value if isinstance(fmt, Enum) else fmt)
    return "table" if (stdout_is_terminal() if terminal is None else terminal) else piped


def format_help(values: Iterable[str], piped: str | None = "jsonl") -> str:
    """The --format help: its values, and the defaults when `piped` is given."""
    listed = ", ".join(values)
    if piped is None:
        return f"{listed}."
    return f"{listed} (default: table on a terminal, {piped} in a pipe)."


def markdown_table(records: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    from adapt_triage.render import md_escape

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in records:
        cells = []
        for col in columns:
            value = record.get(col)
            if isinstance(value, float):
                text = f"{value:.2f}"
            elif isinstance(value, (list, tuple)):
                text = ", ".join(str(v) for v in value)
            elif isinstance(value, Mapping):
                text = ", ".join(f"{k} {v}" for k, v in value.items())
            else:
                text = "" if value is None else str(value)
            cells.append(md_escape(text))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def emit(
    records: Iterable[Mapping[str, Any]],
    fmt: str,
    out: TextIO | None = None,
    *,
    columns: Sequence[str],
    table: Callable[[list[Mapping[str, Any]]], None] | None = None,
    markdown: Callable[[list[Mapping[str, Any]]], str] | None = None,
) -> int:
    """Write `records` in `fmt` (to stdout by default); jsonl, json and csv stream from
    `records`, `table` and `markdown` (which override the generic views) take them all."""
    from adapt_triage.render import write_csv, write_json, write_jsonl

    out = sys.stdout if out is None else out
    if fmt == "jsonl":
        return write_jsonl(records, out)
    if fmt == "json":
        return write_json(records, out)
    if fmt == "csv":
        return write_csv(records, out, columns)
    items = list(records)
    if fmt == "markdown":
        out.write(markdown(items) if markdown else markdown_table(items, columns))
    elif fmt == "table" and table is not None:
        table(items)
    elif fmt == "table":
        out.write(markdown_table(items, columns))
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return len(items)


def emit_one(
    record: Mapping[str, Any],
    fmt: str,
    out: TextIO | None = None,
    *,
    columns: Sequence[str] = (),
    table: Callable[[], None] | None = None,
    markdown: Callable[[list[Mapping[str, Any]]], str] | None = None,
) -> None:
    """One record (a paper, a report) in `fmt`: json and jsonl are the same one line, one
    object; csv and markdown one row of `columns`; `table` draws the terminal view."""
    from adapt_triage.render import dumps

    out = sys.stdout if out is None else out
    if fmt in ("json", "jsonl"):
        out.write(dumps(record) + "\n")
    elif fmt == "table" and table is not None:
        table()
    else:
        emit([record], fmt, out, columns=columns or tuple(record), markdown=markdown)
