"""Semantic Scholar Graph API JSON: a paper batch (a list, `null` for ids not found) or a
search envelope {"total", "offset", "next", "data": [...]}.

Semantic Scholar often withholds abstracts (`"abstract": null`), so here a paper needs only a
title; the number of papers without abstract is reported once as a warning.
"""

from __future__ import annotations

from typing import Any

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id
from adapt_triage.text import collapse_whitespace

from .common import ParseResult, arxiv_abs_url, author_names, iso_date, json_object


def parse_semantic_scholar(value: Any, source: str) -> ParseResult:
    items = value.get("data") if isinstance(value, dict) else value
    if not isinstance(items, list):
        items = []
    papers: list[Paper] = []
    errors: list[str] = []
    warnings: list[str] = []
    not_found: list[int] = []
    without_abstract = 0
    for number, item in enumerate(items, 1):
        if item is None:
            not_found.append(number)
            continue
        if not isinstance(item, dict):
            errors.append(f"{source}: item {number}: not a JSON object")
            continue
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            errors.append(f"{source}: item {number}: missing or empty title")
            continue
        abstract = item.get("abstract")
        abstract = collapse_whitespace(abstract) if isinstance(abstract, str) else ""
        if not abstract:
            without_abstract += 1
        paper = Paper(
            title=collapse_whitespace(title),
            abstract=abstract,
            authors=author_names(item.get("authors")),
            published=iso_date(item.get("publicationDate")),
            source=source,
        )
        external = json_object(item.get("externalIds"))
        arxiv = external.get("ArXiv")
        found = parse_arxiv_id(arxiv) if isinstance(arxiv, str) else None
        if found:
            paper.arxiv_id, paper.version = found
        doi = external.get("DOI")
        if isinstance(doi, str):
            paper.doi = normalize_doi(doi)
        if paper.arxiv_id:
            paper.url = arxiv_abs_url(paper.arxiv_id)
        elif isinstance(item.get("url"), str):
            paper.url = item["url"]
        papers.append(paper)
    if not_found:
        numbers = ", ".join(str(n) for n in not_found)
        warnings.append(f"{source}: item(s) {numbers}: null (not found by Semantic Scholar)")
    if without_abstract:
        warnings.append(f"{source}: {without_abstract} paper(s) without an abstract")
    fatal = not papers and bool(errors)
    return ParseResult(
        "semantic-scholar", papers, errors, warnings, item_count=len(items), fatal=fatal
    )
