"""Hugging Face daily papers JSON (`huggingface.co/api/daily_papers`).

A list of {"paper": {"id", "title"?, "summary", "authors": [{"name"}], "publishedAt"}, "title",
"publishedAt", ...}. `paper.id` is the arXiv id; the title may be top level or in `paper`.
The URL is the arXiv abstract page when the id is an arXiv id (the same URL the arXiv feeds
give, so one paper has one URL whichever service it came from), else the Hugging Face page.
"""

from __future__ import annotations

from typing import Any

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id
from adapt_triage.text import collapse_whitespace

from .common import (
    ParseResult,
    arxiv_abs_url,
    author_names,
    iso_date,
    json_object,
    numbered_objects,
)


def _text(*values: Any) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return collapse_whitespace(value)
    return ""


def parse_huggingface(value: Any, source: str) -> ParseResult:
    items = value if isinstance(value, list) else [value]
    papers: list[Paper] = []
    errors: list[str] = []
    for number, item in numbered_objects(items, source, errors):
        inner = json_object(item.get("paper"))
        title = _text(item.get("title"), inner.get("title"))
        if not title:
            errors.append(f"{source}: item {number}: missing or empty title")
            continue
        abstract = _text(inner.get("summary"), item.get("summary"))
        if not abstract:
            errors.append(f"{source}: item {number}: missing or empty summary ({title[:60]!r})")
            continue
        paper = Paper(
            title=title,
            abstract=abstract,
            authors=author_names(inner.get("authors", item.get("authors"))),
            published=iso_date(inner.get("publishedAt") or item.get("publishedAt")),
            source=source,
        )
        paper_id = inner.get("id")
        if isinstance(paper_id, str) and paper_id.strip():
            found = parse_arxiv_id(paper_id)
            if found:
                paper.arxiv_id, paper.version = found
                paper.url = arxiv_abs_url(paper.arxiv_id)
            else:
                paper.url = f"https://huggingface.co/papers/{paper_id.strip()}"
                paper.doi = normalize_doi(paper_id) if "10." in paper_id else None
        papers.append(paper)
    fatal = not papers and bool(errors)
    return ParseResult("huggingface", papers, errors, [], item_count=len(items), fatal=fatal)
