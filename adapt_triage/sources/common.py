"""What every reader shares: the `ParseResult` record and small text, author and date helpers.

Texts are kept as received apart from what a format forces on us: feed HTML is turned into
plain text (tags dropped, entities decoded), whitespace is collapsed, LaTeX stays as it is.
"""

from __future__ import annotations

import codecs
import html
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from adapt_triage.paper import Paper, parse_arxiv_id
from adapt_triage.text import collapse_whitespace


@dataclass
class ParseResult:
    """What one source gave: its papers, and enough about the input to tell "nothing today"
    from "broken" (item_count, feed_date, skip_days, fatal)."""

    format: str  # "arxiv-rss", "arxiv-rdf", "arxiv-api", "rss", "atom", "huggingface", ...
    papers: Sequence[Paper]  # a list, or a lazy sequence decoding large JSON inputs on demand
    errors: list[str]  # one line each: "<source>: line N: ..." or "<source>: item N: ..."
    warnings: list[str]
    item_count: int  # items the input itself contained, good or bad
    feed_title: str | None = None
    feed_date: str | None = None  # the feed's own date, ISO 8601
    skip_days: list[str] = field(default_factory=list)
    fatal: bool = False  # nothing at all could be read


MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 100_000
REPEAT_LIMIT = 20  # identical per-line problems reported one by one before a summary


def oversize_problem(paper: Paper) -> str | None:
    """Why a record is too large to store (refused, not truncated), or None."""
    if len(paper.title or "") > MAX_TITLE_CHARS:
        return f"title of {len(paper.title):,} characters, more than {MAX_TITLE_CHARS:,}; refused"
    if len(paper.abstract or "") > MAX_ABSTRACT_CHARS:
        return (
            f"abstract of {len(paper.abstract):,} characters, more than "
            f"{MAX_ABSTRACT_CHARS:,}; refused"
        )
    return None


class ProblemLog:
    """Per-record messages with repeats summarised: the first REPEAT_LIMIT records with the
    same problem get a line each, the rest one closing line ("... and 999,980 more lines:
    missing or empty title"), so a million bad lines never make a million lines of output."""

    def __init__(self, source: str, lines: list[str], unit: str = "lines") -> None:
        self.source = source
        self.lines = lines
        self.unit = unit
        self.counts: dict[str, int] = {}

    def add(self, where: str, problem: str) -> None:
        seen = self.counts.get(problem, 0) + 1
        self.counts[problem] = seen
        if seen <= REPEAT_LIMIT:
            self.lines.append(f"{self.source}: {where}: {problem}")

    def close(self) -> list[str]:
        for problem, seen in self.counts.items():
            if seen > REPEAT_LIMIT:
                self.lines.append(
                    f"{self.source}: ... and {seen - REPEAT_LIMIT:,} more {self.unit}: {problem}"
                )
        self.counts = {}
        return self.lines


# The byte-order marks of UTF-32 and UTF-16, the UTF-32 ones first: UTF-32-LE's starts
# with UTF-16-LE's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)


def wide_bom(data: bytes) -> tuple[bytes, str] | None:
    """(the mark, its codec) when `data` starts with a UTF-16 or UTF-32 byte-order mark."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            return bom, codec
    return None


def fatal_result(fmt: str, source: str, message: str, item_count: int = 0) -> ParseResult:
    return ParseResult(
        format=fmt,
        papers=[],
        errors=[f"{source}: {message}"],
        warnings=[],
        item_count=item_count,
        fatal=True,
    )


# --- HTML to text -------------------------------------------------------------------------

# Only real HTML tag names are removed, so that LaTeX such as `$a<b$ and $c>d$` survives.
_BLOCK_TAGS = (
    "address|article|aside|blockquote|body|br|caption|center|dd|details|div|dl|dt|figcaption|"
    "figure|footer|form|h[1-6]|head|header|hr|html|li|main|nav|ol|p|pre|section|summary|table|"
    "tbody|td|tfoot|th|thead|title|tr|ul"
)
_INLINE_TAGS = (
    "a|abbr|acronym|area|audio|b|base|big|button|canvas|cite|code|col|colgroup|del|dfn|em|embed|"
    "font|i|iframe|img|input|ins|kbd|label|link|map|mark|math|meta|mfrac|mi|mn|mo|mrow|msub|msup|"
    "noscript|object|option|param|picture|q|s|samp|select|small|source|span|strike|strong|sub|"
    "sup|svg|textarea|time|tt|u|var|video|wbr"
)
# Attribute values stop at "<" or ">" so that every scan ends at the next bracket: linear time.
_ATTRS = r"""(?:[^<>"']|"[^"<>]*"|'[^'<>]*')*"""
_BLOCK_TAG_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})(?=[\s/>]){_ATTRS}>", re.IGNORECASE)
_INLINE_TAG_RE = re.compile(rf"</?(?:{_INLINE_TAGS})(?=[\s/>]){_ATTRS}>", re.IGNORECASE)
_HIDDEN_START_RE = re.compile(
    r"<!--|<(script|style)\b|</(?:script|style)\b[^<>]*>|<!DOCTYPE\b|<!\[CDATA\[|\]\]>", re.I
)
_HIDDEN_END_RE = {
    "script": re.compile(r"</script\b[^<>]*>", re.IGNORECASE),
    "style": re.compile(r"</style\b[^<>]*>", re.IGNORECASE),
}
# Entities with their semicolon only: `&not` in LaTeX like `a &nota` must stay as it is.
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape_entities(text: str) -> str:
    return _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def _drop_hidden(text: str) -> str:
    """Remove comments, script and style elements (with their content), stray closing
    script/style tags, DOCTYPEs and CDATA markers, in one pass; an unclosed comment or
    script hides the rest of the text."""
    out: list[str] = []
    pos = 0
    while True:
        match = _HIDDEN_START_RE.search(text, pos)
        if not match:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos : match.start()])
        out.append(" ")
        token = match.group(0)
        if token == "<!--":
            end = text.find("-->", match.end())
            pos = len(text) if end < 0 else end + 3
        elif match.group(1):
            close = _HIDDEN_END_RE[match.group(1).lower()].search(text, match.end())
            pos = close.end() if close else len(text)
        elif token.upper().startswith("<!DOCTYPE"):
            end = text.find(">", match.end())
            pos = len(text) if end < 0 else end + 1
        else:
            pos = match.end()


def html_to_text(text: str | None) -> str:
    """Plain text of an HTML fragment: scripts, styles and comments dropped, tags removed,
    entities decoded, whitespace collapsed."""
    if not text:
        return ""
    text = _drop_hidden(text)
    text = _BLOCK_TAG_RE.sub(" ", text)
    text = _INLINE_TAG_RE.sub("", text)
    return collapse_whitespace(unescape_entities(text))


# --- authors ------------------------------------------------------------------------------

_AND_RE = re.compile(r"\s+and\s+|\s*&\s+", re.IGNORECASE)


def _drop_parentheses(text: str) -> str:
    """Remove parenthesised parts (affiliations such as "(STAR Collaboration)"), nested too."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def split_authors(text: str | None) -> list[str]:
    """Split one "A, B and C" author string (arXiv `dc:creator`) into names.

    Parenthesised affiliations are dropped; commas inside them do not split.
    """
    if not text:
        return []
    text = _drop_parentheses(html_to_text(text))
    names: list[str] = []
    for part in text.split(","):
        for name in _AND_RE.split(part):
            name = collapse_whitespace(name)
            if name and name.lower() != "and":
                names.append(name)
    return names


def numbered_objects(
    items: Sequence[Any], source: str, errors: list[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(item number, item) for every JSON object among `items`; a line in `errors` for each
    item that is not one."""
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            errors.append(f"{source}: item {number}: not a JSON object")
            continue
        yield number, item


def json_object(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def author_names(value: object) -> list[str]:
    """Names from a JSON `authors` value: a list of strings or of {"name": ...}, or one string."""
    if isinstance(value, str):
        return split_authors(value)
    names: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                name = collapse_whitespace(item)
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                name = collapse_whitespace(item["name"])
            else:
                continue
            if name:
                names.append(name)
    return names


# --- dates --------------------------------------------------------------------------------

_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(raw: object, parsed: time.struct_time | None = None) -> str | None:
    """An ISO 8601 string for an RFC 822 or ISO date, keeping its own UTC offset.

    Falls back to feedparser's `*_parsed` (UTC); None when the date cannot be read.
    """
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if _DATE_ONLY_RE.match(text):
            return text
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(text).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
    if parsed:
        try:
            return datetime(*parsed[:6], tzinfo=timezone.utc).isoformat()
        except (TypeError, ValueError):
            return None
    return None


# --- identifiers --------------------------------------------------------------------------


def arxiv_from_url(text: str | None) -> tuple[str, int | None] | None:
    """An arXiv id from a URL or OAI id that names arXiv (never from an arbitrary string)."""
    if not text or "arxiv" not in text.lower():
        return None
    return parse_arxiv_id(text)


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"
