"""arXiv API Atom responses (`export.arxiv.org/api/query`), legacy and 2026 serialisations.

Entry ids are `http://arxiv.org/abs/IDvN`; `arxiv:primary_category` comes first among the
categories. An error comes back as a feed whose single entry is titled "Error" with an id
under `arxiv.org/api/errors`: that is a fatal result carrying arXiv's message, never a paper.
Zero results is an ordinary, empty result.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapt_triage.paper import Paper
from adapt_triage.text import collapse_whitespace

from .common import ParseResult, fatal_result
from .feeds import entry_papers, feed_result, finish, read_feed


def parse_arxiv_api(
    data: bytes, source: str, headers: Mapping[str, str] | None = None
) -> ParseResult:
    parsed, failure = read_feed(data, source, headers, "arxiv-api")
    if failure:
        return failure
    entries = parsed.get("entries") or []
    for entry in entries:
        entry_id = entry.get("id") or ""
        if "arxiv.org/api/errors" in entry_id:
            message = collapse_whitespace(entry.get("summary") or "") or entry_id
            return fatal_result(
                "arxiv-api", source, f"arXiv API error: {message}", item_count=len(entries)
            )
    papers: list[Paper] = []
    errors: list[str] = []
    for entry, paper in entry_papers(parsed, source, errors):
        primary = entry.get("arxiv_primary_category")
        term = primary.get("term") if isinstance(primary, dict) else None
        if isinstance(term, str) and term.strip():
            term = term.strip()
            paper.categories = [term] + [c for c in paper.categories if c != term]
        papers.append(paper)
    result = feed_result(parsed, source, "arxiv-api", papers, errors, what="response")
    return finish(result, source)
