"""One way to ask for output: every command that prints records takes `--format` from the
same set, with the same meaning everywhere.

- `table`: for people (the default on a terminal);
- `jsonl`: one JSON object a line (the default when stdout is not a terminal);
- `json`: one JSON document (an array of the records);
- `csv`: a header and one row per record (cells made safe for spreadsheets);
- `markdown`: a Markdown table.

`--json` is an alias of `--format jsonl`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "jsonl", "json", "csv", "markdown")


def choose(fmt: str | None, *, json_alias: bool, terminal: bool, default_piped: str = "jsonl"):
    """The format asked for: --json wins, then --format, else table on a terminal and
    `default_piped` in a pipe."""
    if json_alias:
        return "jsonl"
    if fmt:
        return fmt
    return "table" if terminal else default_piped


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
            else:
                text = "" if value is None else str(value)
            cells.append(md_escape(text))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def emit(
    records: Iterable[Mapping[str, Any]],
    fmt: str,
    out: TextIO,
    *,
    columns: Sequence[str],
    table: Callable[[list[Mapping[str, Any]]], None] | None = None,
    markdown: Callable[[list[Mapping[str, Any]]], str] | None = None,
) -> int:
    """Write `records` in `fmt`; `table` and `markdown` override the generic views."""
    from adapt_triage.render import write_csv, write_json, write_jsonl

    if fmt == "jsonl":
        return write_jsonl(records, out)
    if fmt == "json":
        return write_json(records, out)
    if fmt == "csv":
        return write_csv(records, out, columns)
    items = list(records)
    if fmt == "markdown":
        out.write(markdown(items) if markdown else markdown_table(items, columns))
    elif table is not None:
        table(items)
    else:
        out.write(markdown_table(items, columns))
    return len(items)
