"""Readers: bytes in, `Paper` records out, the format detected from the content.

    result = parse_bytes(data, source="https://rss.arxiv.org/rss/cs.LG", headers=resp.headers)
    result.papers, result.errors, result.item_count, result.fatal ...

Formats (`ParseResult.format`): "arxiv-rss" (rss.arxiv.org, RSS or Atom), "arxiv-rdf" (the
old RSS 1.0 arXiv feed), "arxiv-api", "rss", "atom", "huggingface", "semantic-scholar",
"jsonl", "json" (an array of paper objects), "jsonfeed" (jsonfeed.org), "pasted", and
"unknown" when the bytes are none of these. `parse_bytes` never raises for bad input: it
returns `fatal=True` with a one-line error naming the source.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapt_triage.text import one_line

from .arxiv_api import parse_arxiv_api
from .common import ParseResult, ProblemLog, fatal_result, oversize_problem
from .detect import detect_format, sniff
from .feeds import finish, parse_feed
from .huggingface import parse_huggingface
from .jsonfeed import parse_json_feed
from .jsonl import load_json, parse_json_array, parse_json_objects, parse_jsonl
from .pasted import parse_pasted
from .semantic_scholar import parse_semantic_scholar

__all__ = ["ParseResult", "detect_format", "parse_bytes"]

_JSON_READERS = {
    "jsonfeed": parse_json_feed,
    "huggingface": parse_huggingface,
    "semantic-scholar": parse_semantic_scholar,
}


def _parse(data: bytes, source: str, headers: Mapping[str, str] | None) -> ParseResult:
    sniffed = sniff(data)
    fmt = sniffed.format
    if fmt is None:
        return fatal_result("unknown", source, sniffed.reason or "not a known format")
    if fmt == "arxiv-api":
        return parse_arxiv_api(data, source, headers)
    if fmt in ("arxiv-rss", "arxiv-rdf", "rss", "atom"):
        return parse_feed(data, source, headers, guess=fmt)
    if fmt == "pasted":
        return parse_pasted(data, source)
    if fmt == "jsonl" and not sniffed.json_ok:
        return parse_jsonl(data, source)
    if fmt == "json-stream":
        return finish(parse_json_array(data, source), source)
    value = sniffed.json_value
    if not sniffed.json_ok:
        value, failure = load_json(data, source, fmt)
        if failure:
            return failure
    reader = _JSON_READERS.get(fmt)
    result = reader(value, source) if reader else parse_json_objects(value, source, fmt)
    return finish(result, source)


def parse_bytes(
    data: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParseResult:
    """Detect the format of `data` and read every paper in it.

    `source` (URL, path or "-") is recorded on every Paper and named in every message;
    `headers` are the HTTP response headers (they carry the feed's encoding).
    """
    try:
        return _refuse_oversized(_parse(bytes(data), source, headers), source)
    except Exception as exc:  # a reader bug must not take the other sources down
        return fatal_result("unknown", source, f"could not be read: {one_line(exc)}")


def _refuse_oversized(result: ParseResult, source: str) -> ParseResult:
    """Records with a title over 2,000 or an abstract over 100,000 characters are refused
    with a line each (JSON Lines checks this while reading)."""
    if not isinstance(result.papers, list):
        return result
    log = ProblemLog(source, result.errors, "items")
    kept = []
    for number, paper in enumerate(result.papers, 1):
        problem = oversize_problem(paper)
        if problem:
            log.add(f"item {number}", problem)
        else:
            kept.append(paper)
    log.close()
    if len(kept) != len(result.papers):
        result.papers = kept
        if not kept and not result.fatal:
            result.fatal = True
            result.errors.insert(0, f"{source}: no readable item among {result.item_count}")
    return result
