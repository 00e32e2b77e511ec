"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser, with the arXiv announcement feeds
(rss.arxiv.org since 2024, and the older RDF feed) read item by item.

feedparser only ever sees bytes (wrapped in BytesIO) plus the HTTP headers for the encoding.
Its HTML sanitiser is off: it eats LaTeX such as `$a<b$` in arXiv abstracts. Instead, values
typed as HTML go through `html_to_text`, which removes only real HTML tags (and drops
script/style), so the stored abstract is plain text.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import feedparser

from adapt_triage.paper import Paper, normalize_doi
from adapt_triage.text import collapse_whitespace, one_line

from .common import (
    ParseResult,
    arxiv_from_url,
    fatal_result,
    html_to_text,
    iso_date,
    split_authors,
)

# "arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: ..."
_ARXIV_PREFIX_RE = re.compile(
    r"^\s*arXiv:\s*(?P<id>\S+?)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
# old RDF feed: "Title. (arXiv:1805.09166v1 [hep-ex] CROSS LISTED)"
_OLD_TITLE_RE = re.compile(
    r"^(?P<title>.*?)\.?\s*\(arXiv:(?P<id>\S+?)\s*\[(?P<cat>[^\]]+)\]"
    r"\s*(?P<flag>[A-Z ]*?)\s*\)\s*$",
    re.DOTALL,
)
# Old-feed flags mapped to the announce types of the 2024 feeds: no flag is a new paper,
# CROSS LISTED a cross-list, UPDATED a new version (the old feed does not say whether an
# updated paper was a cross-list, so UPDATED is always "replace").
_OLD_FLAGS = {"": "new", "CROSS LISTED": "cross", "UPDATED": "replace"}
_LABELLED_RE = re.compile(
    r"<p>\s*<(?:b|strong)>\s*(?P<label>[A-Za-z ]{2,30}?)\s*:\s*</(?:b|strong)>"
    # the value stops at the next paragraph tag, so no scan runs past it
    r"(?P<value>[^<]*(?:<(?!/?p\b)[^<]*)*)</p>",
    re.IGNORECASE,
)
_INITIALS_RE = re.compile(r"^(?:[A-Z][a-z]?\.?[\s-]*){1,4}$")
_SKIPDAYS_RE = re.compile(rb"<skipDays\b[^<>]*>(.{0,1000}?)</skipDays\s*>", re.DOTALL | re.I)
_DAY_RE = re.compile(rb"<day\b[^>]*>\s*([A-Za-z]+)\s*</day\s*>", re.IGNORECASE)


def run_feedparser(data: bytes, headers: Mapping[str, str] | None) -> Any:
    response_headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    return feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def detail_text(value: Any, detail: Any) -> str:
    """Plain text of a feedparser value: HTML types are converted, plain text kept."""
    if not isinstance(value, str):
        return ""
    kind = (detail or {}).get("type") or "text/plain"
    if "html" in kind:
        return html_to_text(value)
    return collapse_whitespace(value)


def _summary_html(entry: Any) -> tuple[str, str]:
    """(raw value, type) of the entry's summary, else its first content."""
    summary = entry.get("summary")
    if isinstance(summary, str) and summary.strip():
        return summary, (entry.get("summary_detail") or {}).get("type") or "text/html"
    for content in entry.get("content") or []:
        value = content.get("value")
        if isinstance(value, str) and value.strip():
            return value, content.get("type") or "text/html"
    return "", "text/plain"


def _generic_authors(entry: Any) -> list[str]:
    names: list[str] = []
    for author in entry.get("authors") or []:
        name = author.get("name") if isinstance(author, dict) else None
        if not isinstance(name, str):
            continue
        text = html_to_text(name)
        pieces = [p.strip() for p in text.split(",")]
        if (
            len(pieces) >= 4
            and len(pieces) % 2 == 0
            and all(_INITIALS_RE.match(p) for p in pieces[1::2])
        ):
            # "LAPALU, N., SIMON, A., ..." (bioRxiv): surname, initials pairs
            pairs = zip(pieces[::2], pieces[1::2], strict=True)
            names.extend(f"{last}, {first}" for last, first in pairs)
        elif len(pieces) >= 3:
            names.extend(split_authors(text))
        elif text:
            names.append(text)
    return names


def _date(item: Any, key: str) -> str | None:
    # dict.get: FeedParserDict.get("updated") would fall back to "published" (with a warning)
    return iso_date(dict.get(item, key), dict.get(item, f"{key}_parsed"))


def _dates(paper: Paper, entry: Any) -> None:
    published = _date(entry, "published")
    updated = _date(entry, "updated")
    paper.published = published or updated
    paper.updated = updated if updated and updated != paper.published else None


def _identifiers(paper: Paper, entry: Any) -> None:
    if not paper.arxiv_id:
        candidates = [entry.get("id"), entry.get("link")]
        candidates += [link.get("href") for link in entry.get("links") or []]
        for candidate in candidates:
            found = arxiv_from_url(candidate if isinstance(candidate, str) else None)
            if found:
                paper.arxiv_id, paper.version = found
                break
    if not paper.doi:
        for key in ("arxiv_doi", "prism_doi", "dc_identifier", "id"):
            value = entry.get(key)
            if isinstance(value, str) and (key != "id" or "doi" in value.lower()):
                doi = normalize_doi(value)
                if doi:
                    paper.doi = doi
                    break
    if not paper.doi:
        for link in entry.get("links") or []:
            href = link.get("href") or ""
            if "doi.org/" in href or link.get("title") == "doi":
                paper.doi = normalize_doi(href)
                if paper.doi:
                    break


def _categories(entry: Any) -> list[str]:
    terms = []
    for tag in entry.get("tags") or []:
        term = tag.get("term") if isinstance(tag, dict) else None
        if isinstance(term, str) and term.strip() and term.strip() not in terms:
            terms.append(term.strip())
    return terms


def _labelled_summary(paper: Paper, raw_summary: str) -> None:
    """The abstract and authors of a summary in labelled paragraphs,
    "<p><b>Summary:</b> ...</p><p><b>Authors:</b> ...</p>" (HF papers RSS and others)."""
    labelled = {
        m.group("label").strip().lower(): m.group("value")
        for m in _LABELLED_RE.finditer(raw_summary)
    }
    for label in ("abstract", "summary"):
        if label in labelled and html_to_text(labelled[label]):
            paper.abstract = html_to_text(labelled[label])
            break
    if not paper.authors and "authors" in labelled:
        paper.authors = split_authors(labelled["authors"])


def entry_to_paper(entry: Any, source: str) -> Paper | str:
    """A Paper from one feed entry, or the reason it is not one."""
    title = detail_text(entry.get("title"), entry.get("title_detail"))
    raw_summary, summary_type = _summary_html(entry)
    abstract = detail_text(raw_summary, {"type": summary_type})
    old = _OLD_TITLE_RE.match(title) if title else None
    prefix = _ARXIV_PREFIX_RE.match(abstract)
    announce = entry.get("arxiv_announce_type")
    is_arxiv_announcement = bool(old or prefix or announce)

    if old:
        title = old.group("title").strip()
    if not title:
        return "entry without a title"
    paper = Paper(title=title, abstract=abstract, source=source)
    paper.url = entry.get("link") if isinstance(entry.get("link"), str) else None

    if prefix:
        paper.abstract = abstract[prefix.end() :].strip()
        found = arxiv_from_url("arXiv:" + prefix.group("id"))
        if found:
            paper.arxiv_id, paper.version = found
        paper.announce_type = prefix.group("type").lower()
    if isinstance(announce, str) and announce.strip():
        paper.announce_type = announce.strip().lower()
    if old:
        found = arxiv_from_url("arXiv:" + old.group("id"))
        if found:
            paper.arxiv_id, paper.version = found
        flag = collapse_whitespace(old.group("flag")).upper()
        paper.announce_type = _OLD_FLAGS.get(flag, flag.lower() or "new")
        paper.categories = [old.group("cat").strip()]

    if is_arxiv_announcement:
        # dc:creator holds every author in one comma-separated string
        paper.authors = [
            name
            for author in entry.get("authors") or []
            for name in split_authors(author.get("name") if isinstance(author, dict) else None)
        ]
    else:
        paper.authors = _generic_authors(entry)
        if "html" in summary_type:
            _labelled_summary(paper, raw_summary)

    for term in _categories(entry):
        if term not in paper.categories:
            paper.categories.append(term)
    _dates(paper, entry)
    _identifiers(paper, entry)
    return paper


def _skip_days(data: bytes) -> list[str]:
    match = _SKIPDAYS_RE.search(data)
    if not match:
        return []
    return [day.decode("ascii", "replace").capitalize() for day in _DAY_RE.findall(match.group(1))]


def _format_name(guess: str | None, version: str) -> str:
    if guess and guess.startswith("arxiv"):
        return guess
    if version.startswith("atom"):
        return "atom"
    if version:
        return "rss"
    return guess or "rss"


def feed_meta(parsed: Any) -> tuple[str | None, str | None]:
    """(feed title, feed date in ISO 8601): pubDate, else lastBuildDate / updated / dc:date."""
    feed = parsed.get("feed") or {}
    title = detail_text(feed.get("title"), feed.get("title_detail")) or None
    date = _date(feed, "published") or _date(feed, "updated")
    return title, date


def bozo_message(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return one_line(exc) if exc is not None else "not well-formed"


def read_feed(
    data: bytes, source: str, headers: Mapping[str, str] | None, guess: str | None
) -> tuple[Any, ParseResult | None]:
    """feedparser's result, or a fatal result when nothing at all could be read."""
    try:
        parsed = run_feedparser(data, headers)
    except Exception as exc:  # feedparser on untrusted bytes: report, never raise
        return None, fatal_result(guess or "rss", source, f"feed could not be parsed: {exc!r}")
    entries = parsed.get("entries") or []
    if parsed.get("bozo") and not entries:
        # Broken and empty: only a feed whose channel could be read (title, link or date)
        # counts as an empty feed; anything else is unreadable.
        feed = parsed.get("feed") or {}
        if not any(dict.get(feed, key) for key in ("title", "link", "updated", "published")):
            name = _format_name(guess, "")
            return None, fatal_result(name, source, f"not a readable feed: {bozo_message(parsed)}")
    return parsed, None


_CHARSET_RE = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)\"?", re.IGNORECASE)
_UNICODE_CODECS = ("utf-8", "ascii", "utf-16", "utf-32")


def trust_utf8(
    data: bytes, source: str, headers: Mapping[str, str] | None
) -> tuple[Mapping[str, str] | None, str | None]:
    """A server that labels UTF-8 bytes with a legacy charset (`charset=koi8-r`) would make
    every non-ASCII letter mojibake: such bytes are read as UTF-8, with a warning."""
    if not headers:
        return headers, None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    match = _CHARSET_RE.search(content_type)
    if not match:
        return headers, None
    try:
        declared = codecs.lookup(match.group(1)).name
    except LookupError:
        return headers, None
    if declared.startswith(_UNICODE_CODECS) or data.isascii():
        return headers, None
    try:
        data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        return headers, None
    lowered["content-type"] = _CHARSET_RE.sub("", content_type)
    return lowered, (
        f"{source}: the server says charset {match.group(1)}, but the bytes are UTF-8; "
        "read as UTF-8"
    )


def entry_papers(parsed: Any, source: str, errors: list[str]) -> Iterator[tuple[Any, Paper]]:
    """Every entry of a parsed feed that reads as a paper, with that paper; a line in
    `errors` for each entry that does not."""
    for number, entry in enumerate(parsed.get("entries") or [], 1):
        paper = entry_to_paper(entry, source)
        if isinstance(paper, str):
            errors.append(f"{source}: item {number}: {paper}")
            continue
        yield entry, paper


def feed_result(
    parsed: Any,
    source: str,
    fmt: str,
    papers: list[Paper],
    errors: list[str],
    *,
    what: str = "feed",
    notes: Sequence[str] = (),
    skip_days: Sequence[str] = (),
) -> ParseResult:
    """The result of a parsed feed: its title, date and item count, and after `notes` a
    warning when `what` (the feed, the response) was not well-formed."""
    entries = parsed.get("entries") or []
    title, date = feed_meta(parsed)
    warnings = list(notes)
    if parsed.get("bozo"):
        warnings.append(
            f"{source}: {what} is not well-formed ({bozo_message(parsed)}); "
            f"kept the {len(entries)} entries that could be read"
        )
    return ParseResult(
        format=fmt,
        papers=papers,
        errors=errors,
        warnings=warnings,
        item_count=len(entries),
        feed_title=title,
        feed_date=date,
        skip_days=list(skip_days),
    )


def parse_feed(
    data: bytes, source: str, headers: Mapping[str, str] | None = None, guess: str | None = None
) -> ParseResult:
    headers, charset_note = trust_utf8(data, source, headers)
    parsed, failure = read_feed(data, source, headers, guess)
    if failure:
        return failure
    errors: list[str] = []
    papers = [paper for _entry, paper in entry_papers(parsed, source, errors)]
    fmt = _format_name(guess, parsed.get("version") or "")
    notes = [charset_note] if charset_note else []
    result = feed_result(
        parsed, source, fmt, papers, errors, notes=notes, skip_days=_skip_days(data)
    )
    without_abstract = sum(1 for paper in papers if not paper.abstract)
    if without_abstract:
        result.warnings.append(f"{source}: {without_abstract} item(s) without an abstract")
    return finish(result, source)


def finish(result: ParseResult, source: str) -> ParseResult:
    """Mark the result fatal when the input had items but not one of them was readable."""
    if not result.papers and result.errors and not result.fatal:
        result.fatal = True
        result.errors.insert(0, f"{source}: no readable item among {result.item_count}")
    return result
