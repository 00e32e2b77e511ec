"""Rendering papers for people (tables, Markdown) and for pipelines (JSON Lines, JSON, CSV).

Everything that reaches the terminal from a feed passes through `sanitize` (tables,
Markdown, CSV) or `dumps` (JSON), so control characters and escape sequences from
untrusted titles and abstracts are never written intact.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

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

# The contract: every paper printed as JSON has at least these fields.
JSON_FIELDS = (
    "id",
    "title",
    "abstract",
    "authors",
    "url",
    "published",
    "source",
    "labels",
    "scores",
    "duplicate_of",
)


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


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=False)
    text = sanitize(value)
    # Spreadsheets execute cells that start with these characters as formulas.
    if text[:1] in ("=", "+", "@", "-") and not text[1:2].isdigit():
        text = "'" + text
    return text


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO, columns: Sequence[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row.get(col)) for col in columns])
        count += 1
    return count


def md_escape(text: Any) -> str:
    """Sanitised text with Markdown's active characters escaped, for one-line use."""
    text = sanitize(text)
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~])", r"\\\1", text)


def top_scores(scores: Mapping[str, float], n: int = 3) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def format_scores(scores: Mapping[str, float], n: int = 3) -> str:
    return ", ".join(f"{cat} {score:.2f}" for cat, score in top_scores(scores, n))


def to_text_buffer() -> io.StringIO:
    return io.StringIO()
