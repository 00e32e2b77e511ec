"""A papers page pasted as text: a title line, a blank line, an abstract paragraph, repeated.

Blocks are runs of non-blank lines. Page chrome ("Subscribe", "Daily Papers", dates,
upvote counts, "Submitted by ...") is skipped. A paper is a short title-like block
followed (possibly after chrome or an author line) by a long paragraph; wrapped lines are
joined with single spaces. Undecodable lines are reported by line number and the paper
they belong to is skipped, never guessed at.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

from adapt_triage.paper import ARXIV_ID_RE, Paper
from adapt_triage.text import collapse_whitespace

from .common import ParseResult, arxiv_abs_url, fatal_result, split_authors, wide_bom

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_CHROME_PATTERNS = [
    r"new",
    r"subscribe",
    r"daily papers",
    r"(?:daily|weekly|monthly|trending|papers|upvoted?|upvotes?|comments?|share|follow)",
    r"get trending papers in your email inbox!?",
    r"by ?ak and the research community",
    r"(?:sign up|sign in|log ?in|log ?out|search|models|datasets|spaces|posts|docs|pricing)",
    r"(?:enterprise|hugging face|collections?|add to collection|view (?:arxiv page|pdf|paper))",
    r"(?:previous|next)(?: day| week| month| page)?",
    r"(?:published|submitted|added|posted|announced)(?: on| by)? .{1,60}",
    r"submitted by\s*.{0,60}",
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?",
    rf"\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?",
    r"\d{4}-\d{2}-\d{2}",
    r"[·•|\-–—]?\s*[\d.,]+\s*k?\s*(?:upvotes?|comments?|authors?)?",
    r"[·•|\-–—*]+",
    r"(?:arxiv:\s*|https?://(?:www\.)?arxiv\.org/(?:abs|pdf)/)\S+",
    r"https?://\S+",
]
_CHROME_RE = re.compile(
    r"^(?:" + "|".join(f"(?:{p})" for p in _CHROME_PATTERNS) + r")$", re.IGNORECASE
)
_AUTHORS_PREFIX_RE = re.compile(r"^authors?\s*:\s*", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Z\u00c0-\u024f][\w.'\-]*(?:\s+[\w.'\-]+){0,4}$")

TITLE_MAX_CHARS = 300
TITLE_MAX_LINES = 3
ABSTRACT_MIN_CHARS = 120
ABSTRACT_MIN_WORDS = 15


@dataclass
class _Block:
    lines: list[tuple[int, str]]  # (line number, text) of non-blank lines
    bad_lines: list[int] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.lines[0][0]

    @cached_property
    def text(self) -> str:
        return collapse_whitespace(" ".join(text for _, text in self.lines))


def _is_chrome(line: str) -> bool:
    return bool(_CHROME_RE.match(line.strip()))


def _is_title(block: _Block) -> bool:
    text = block.text
    return (
        len(block.lines) <= TITLE_MAX_LINES
        and 2 <= len(text) <= TITLE_MAX_CHARS
        and any(ch.isalpha() for ch in text)
    )


def _is_abstract(block: _Block, title: _Block | None = None) -> bool:
    text = block.text
    long_enough = len(text) >= ABSTRACT_MIN_CHARS and len(text.split()) >= ABSTRACT_MIN_WORDS
    return long_enough and (title is None or len(text) > len(title.text))


def _author_line(block: _Block) -> list[str] | None:
    """Names when the block is an author list ("Authors: A, B and C" or "A, B, C")."""
    if len(block.lines) > 3:
        return None
    text = block.text
    prefixed = _AUTHORS_PREFIX_RE.match(text)
    if prefixed:
        return split_authors(text[prefixed.end() :]) or None
    if text.endswith(".") or ":" in text:
        return None
    names = split_authors(text)
    if len(names) >= 2 and all(_NAME_RE.match(name) for name in names):
        return names
    return None


def _decode_lines(
    data: bytes,
) -> tuple[list[tuple[int, str]], dict[int, str]] | str:
    """(line number, text) for every line, and a description of each undecodable line.

    Returns a message instead when the whole input cannot be decoded.
    """
    marked = wide_bom(data)
    if marked:
        bom, codec = marked
        try:
            text = data[len(bom) :].decode(codec)
        except UnicodeDecodeError as exc:
            return f"invalid {codec.upper()} at byte {exc.start + len(bom)}"
        return [(n, line) for n, line in enumerate(text.splitlines(), 1)], {}
    data = data.removeprefix(codecs.BOM_UTF8)
    lines: list[tuple[int, str]] = []
    bad: dict[int, str] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        try:
            lines.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
            bad[number] = f"invalid UTF-8 (byte 0x{byte:02x} at column {column})"
            # decoded only to see whether the line is blank; its text is never used
            lines.append((number, raw.decode("utf-8", errors="replace")))
    return lines, bad


def _blocks(lines: list[tuple[int, str]], bad: dict[int, str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, text in lines:
        if not text.strip():
            current = None
            continue
        if current is None:
            current = _Block([])
            blocks.append(current)
        current.lines.append((number, text.strip()))
        if number in bad:
            current.bad_lines.append(number)
    # Chrome lines at the edges of a block ("Published on Aug 11" under a title) go.
    result: list[_Block] = []
    for block in blocks:
        kept = list(block.lines)
        while kept and _is_chrome(kept[0][1]) and kept[0][0] not in bad:
            kept.pop(0)
        while kept and _is_chrome(kept[-1][1]) and kept[-1][0] not in bad:
            kept.pop()
        if kept:
            numbers = {n for n, _ in kept}
            result.append(_Block(kept, [n for n in block.bad_lines if n in numbers]))
    return result


def _split_title_abstract(block: _Block) -> tuple[_Block, _Block] | None:
    """A title line directly followed by its abstract, without a blank line between."""
    if len(block.lines) < 2:
        return None
    title = _Block(block.lines[:1])
    rest = _Block(block.lines[1:])
    first_len = len(block.lines[0][1])
    if not (_is_title(title) and _is_abstract(rest, title)):
        return None
    if len(rest.lines) == 1 or len(block.lines[1][1]) > 1.5 * first_len:
        bad = set(block.bad_lines)
        title.bad_lines = [n for n, _ in title.lines if n in bad]
        rest.bad_lines = [n for n, _ in rest.lines if n in bad]
        return title, rest
    return None


def _arxiv_id(*texts: str) -> tuple[str, int | None] | None:
    found: dict[str, int | None] = {}
    for text in texts:
        # the leading space keeps the regex from taking a bare number at the start as an id
        for match in ARXIV_ID_RE.finditer(" " + text):
            arxiv_id = match.group("new") or match.group("old")
            version = match.group("version")
            if arxiv_id not in found or version:
                found[arxiv_id] = int(version) if version else None
        if len(found) == 1:
            return next(iter(found.items()))
        if found:
            return None  # several different ids: none of them is clearly this paper's
    return None


class _Reader:
    """The walk over a pasted text's blocks: a title, maybe an author line, then an
    abstract make a paper; what does not fit is counted and reported."""

    def __init__(self, source: str, lines: list[tuple[int, str]]) -> None:
        self.source = source
        self.line_text = dict(lines)
        self.errors: list[tuple[int, str]] = []
        self.warnings: list[str] = []
        self.papers: list[Paper] = []
        self.skipped_for_bad: dict[int, int] = {}  # bad line -> first line of the skipped paper
        self.item_count = 0  # papers, skipped papers, titles without abstract, stray paragraphs
        self.title: _Block | None = None
        self.authors: list[str] = []

    def stray(self, block: _Block, message: str, warning: str) -> None:
        """An item that is not a paper: an error once a paper was found, else a warning."""
        if self.papers:
            self.item_count += 1
            self.errors.append((block.start, message))
        else:
            self.warnings.append(f"{self.source}: line {block.start}: {warning}")

    def orphan(self, block: _Block) -> None:
        if block.bad_lines:
            return  # already reported as an undecodable line
        message = f"title with no abstract after it: {block.text[:80]!r}"
        self.stray(block, message, f"skipped {block.text[:80]!r}")

    def emit(self, title_block: _Block, abstract_block: _Block) -> None:
        self.item_count += 1
        bad_here = title_block.bad_lines + abstract_block.bad_lines
        if bad_here:
            for number in bad_here:
                self.skipped_for_bad[number] = title_block.start
            return
        paper = Paper(
            title=title_block.text,
            abstract=abstract_block.text,
            authors=list(self.authors),
            source=self.source,
        )
        # ids may sit on chrome lines between title and abstract ("arXiv:2401.01234")
        last = abstract_block.lines[-1][0]
        around = " ".join(self.line_text[n] for n in range(title_block.start, last + 1))
        found = _arxiv_id(title_block.text, around)
        if found:
            paper.arxiv_id, paper.version = found
            paper.url = arxiv_abs_url(found[0])
        self.papers.append(paper)

    def start(self, block: _Block) -> None:
        """A block with no title pending: a paper on its own, a stray paragraph, a title."""
        split = _split_title_abstract(block)
        if split:
            self.authors = []
            self.emit(*split)
        elif _is_abstract(block):
            message = "paragraph without a title line before it (skipped)"
            self.stray(block, message, message)
        elif _is_title(block):
            self.title, self.authors = block, []

    def step(self, block: _Block) -> bool:
        """One block; False when it must be read again with no title pending."""
        title = self.title
        if title is None:
            self.start(block)
            return True
        if _is_abstract(block, title):
            self.emit(title, block)
            self.title = None
            return True
        names = None if self.authors else _author_line(block)
        if names:
            self.authors = names
            return True
        self.orphan(title)
        self.title, self.authors = None, ([] if _is_title(block) else self.authors)
        return False

    def run(self, blocks: list[_Block]) -> None:
        pending = deque(blocks)
        while pending:
            block = pending.popleft()
            if not self.step(block):
                pending.appendleft(block)
        if self.title is not None:
            self.orphan(self.title)

    def messages(self, bad: dict[int, str]) -> list[str]:
        """Every error, the undecodable lines included, in line order."""
        errors = list(self.errors)
        for number, description in bad.items():
            if number in self.skipped_for_bad:
                paper_line = self.skipped_for_bad[number]
                errors.append(
                    (number, f"{description}; the paper at line {paper_line} was skipped")
                )
            else:
                errors.append((number, f"{description}; line skipped"))
        errors.sort(key=lambda item: item[0])
        return [f"{self.source}: line {number}: {message}" for number, message in errors]


def parse_pasted(data: bytes, source: str) -> ParseResult:
    decoded = _decode_lines(data)
    if isinstance(decoded, str):
        return fatal_result("pasted", source, decoded)
    lines, bad = decoded
    reader = _Reader(source, lines)
    reader.run(_blocks(lines, bad))
    messages = reader.messages(bad)
    if not reader.papers:
        reason = "no papers found (expected a title line, a blank line, then an abstract)"
        result = fatal_result("pasted", source, reason, item_count=reader.item_count)
        result.errors.extend(messages)
        result.warnings = reader.warnings
        return result
    return ParseResult(
        format="pasted",
        papers=reader.papers,
        errors=messages,
        warnings=reader.warnings,
        item_count=reader.item_count,
    )
