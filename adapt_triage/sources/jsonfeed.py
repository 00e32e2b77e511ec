"""JSON Feed (https://jsonfeed.org, version 1 and 1.1): a feed, not a paper.

    {"version": "https://jsonfeed.org/version/1.1", "title": "<the channel>", "items": [
        {"id", "url", "external_url", "title", "content_text", "content_html", "summary",
         "date_published", "date_modified", "authors": [{"name"}] (1.1) / "author" (1)}]}

Every item is a paper; the feed's own `title` is the channel (`ParseResult.feed_title`),
never a paper. The abstract is `content_text`, else `content_html` as plain text, else
`summary`. An arXiv or DOI link in `url`, `external_url` or `id` sets the paper's id.
"""

from __future__ import annotations

from typing import Any

from adapt_triage.paper import Paper, normalize_doi
from adapt_triage.text import collapse_whitespace

from .common import (
    ParseResult,
    arxiv_abs_url,
    arxiv_from_url,
    author_names,
    html_to_text,
    iso_date,
    numbered_objects,
)
from .jsonl import NO_ABSTRACT

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def is_json_feed(value: Any) -> bool:
    """A JSON object whose `version` names the JSON Feed spec."""
    version = value.get("version") if isinstance(value, dict) else None
    return isinstance(version, str) and version.strip().lower().startswith(VERSION_PREFIXES)


def _text(value: Any) -> str:
    return collapse_whitespace(value) if isinstance(value, str) else ""


def _item(item: dict, source: str) -> tuple[Paper | None, str | None]:
    title = _text(item.get("title"))
    if not title:
        return None, "missing or empty title"
    abstract = _text(item.get("content_text"))
    if not abstract and isinstance(item.get("content_html"), str):
        abstract = html_to_text(item["content_html"])
    if not abstract:
        abstract = _text(item.get("summary"))
    authors = item.get("authors")
    if authors is None and isinstance(item.get("author"), dict):
        authors = [item["author"]]  # version 1
    paper = Paper(
        title=html_to_text(title) if "<" in title or "&" in title else title,
        abstract=abstract,
        authors=author_names(authors),
        published=iso_date(item.get("date_published")),
        updated=iso_date(item.get("date_modified")),
        source=source,
    )
    raw_id = item.get("id")
    if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        paper.input_id = raw_id
    links = [_text(item.get(key)) for key in ("url", "external_url")]
    links.append(str(raw_id) if raw_id is not None else "")
    for link in links:
        found = arxiv_from_url(link)
        if found:
            paper.arxiv_id, paper.version = found
            break
    if not paper.arxiv_id:
        for link in links:
            if "doi" in link.lower() or link.startswith("10."):
                paper.doi = normalize_doi(link)
                if paper.doi:
                    break
    url = next((link for link in links[:2] if link), None)
    paper.url = url or (arxiv_abs_url(paper.arxiv_id) if paper.arxiv_id else None)
    tags = item.get("tags")
    if isinstance(tags, list):
        paper.categories = [t for t in tags if isinstance(t, str)]
    return paper, None if abstract else NO_ABSTRACT


def parse_json_feed(value: dict, source: str) -> ParseResult:
    """The items of a JSON Feed as papers; the feed's title as the channel."""
    title = _text(value.get("title")) or None
    items = value.get("items")
    if not isinstance(items, list):
        return ParseResult(
            "jsonfeed",
            [],
            [f"{source}: JSON Feed without an items list"],
            [],
            item_count=0,
            feed_title=title,
            fatal=True,
        )
    papers: list[Paper] = []
    errors: list[str] = []
    warnings: list[str] = []
    for number, item in numbered_objects(items, source, errors):
        paper, problem = _item(item, source)
        if paper is None:
            errors.append(f"{source}: item {number}: {problem}")
            continue
        if problem:
            warnings.append(f"{source}: item {number}: {problem}")
        papers.append(paper)
    fatal = not papers and bool(errors)
    return ParseResult(
        "jsonfeed",
        papers,
        errors,
        warnings,
        item_count=len(items),
        feed_title=title,
        fatal=fatal,
    )
