"""Readers: bytes in, `Paper` records out, the format detected from the content.

    result = parse_bytes(data, source="https://rss.arxiv.org/rss/cs.LG", headers=resp.headers)
    result.papers, result.errors, result.item_count, result.fatal ...

Formats (`ParseResult.format`): "arxiv-rss" (rss.arxiv.org, RSS or Atom), "arxiv-rdf" (the
old RSS 1.0 arXiv feed), "arxiv-api", "rss", "atom", "huggingface", "semantic-scholar",
"jsonl", "json" (an array of paper objects), "jsonfeed" (jsonfeed.org), "pasted", and
"unknown" when the bytes are none of these. `READERS` maps every format detection can name
to its reader; it is the one place a new format is added. `parse_bytes` never raises for
bad input: it returns `fatal=True` with a one-line error naming the source.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from adapt_triage.text import one_line

from .arxiv_api import parse_arxiv_api
from .common import ParseResult, ProblemLog, fatal_result, oversize_problem
from .detect import Sniffed, detect_format, sniff
from .feeds import finish, parse_feed
from .huggingface import parse_huggingface
from .jsonfeed import parse_json_feed
from .jsonl import load_json, parse_json_array, parse_json_objects, parse_jsonl
from .pasted import parse_pasted
from .semantic_scholar import parse_semantic_scholar

__all__ = ["READERS", "ParseResult", "Reader", "detect_format", "parse_bytes"]

# A reader: (the bytes, what detection found, the source, the HTTP headers) -> the result.
Reader = Callable[[bytes, Sniffed, str, Mapping[str, str] | None], ParseResult]


def _feed(
    data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
) -> ParseResult:
    return parse_feed(data, source, headers, guess=sniffed.format)


def _arxiv_api(
    data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
) -> ParseResult:
    return parse_arxiv_api(data, source, headers)


def _pasted(
    data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
) -> ParseResult:
    return parse_pasted(data, source)


def _json_stream(
    data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
) -> ParseResult:
    """A JSON array too large to decode whole: read item by item."""
    return finish(parse_json_array(data, source), source)


def _json(parse: Callable[[Any, str], ParseResult], fmt: str) -> Reader:
    """The reader of one JSON document with `parse`: the value detection decoded, or the
    bytes decoded now (a fatal result in `fmt` saying where they are broken)."""

    def read(
        data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
    ) -> ParseResult:
        value = sniffed.json_value
        if not sniffed.json_ok:
            value, failure = load_json(data, source, fmt)
            if failure:
                return failure
        return finish(parse(value, source), source)

    return read


_jsonl_document = _json(partial(parse_json_objects, fmt="jsonl"), "jsonl")


def _jsonl(
    data: bytes, sniffed: Sniffed, source: str, headers: Mapping[str, str] | None
) -> ParseResult:
    """One object a line; a single JSON document that decoded whole is read as one."""
    if not sniffed.json_ok:
        return parse_jsonl(data, source)
    return _jsonl_document(data, sniffed, source, headers)


# Every format detection can name, and its reader. "json-stream" is detection's name for
# a JSON array too large to decode whole; its result's format is "json".
READERS: dict[str, Reader] = {
    "arxiv-rss": _feed,
    "arxiv-rdf": _feed,
    "rss": _feed,
    "atom": _feed,
    "arxiv-api": _arxiv_api,
    "huggingface": _json(parse_huggingface, "huggingface"),
    "semantic-scholar": _json(parse_semantic_scholar, "semantic-scholar"),
    "jsonfeed": _json(parse_json_feed, "jsonfeed"),
    "json": _json(parse_json_objects, "json"),
    "json-stream": _json_stream,
    "jsonl": _jsonl,
    "pasted": _pasted,
}


def _parse(data: bytes, source: str, headers: Mapping[str, str] | None) -> ParseResult:
    sniffed = sniff(data)
    if sniffed.format is None:
        return fatal_result("unknown", source, sniffed.reason or "not a known format")
    if isinstance(data, mmap.mmap) and (sniffed.format != "jsonl" or sniffed.json_ok):
        data = bytes(data)  # only the JSON Lines reader walks a mapped file
    return READERS[sniffed.format](data, sniffed, source, headers)


def parse_bytes(
    data: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParseResult:
    """Detect the format of `data` and read every paper in it.

    `source` (URL, path or "-") is recorded on every Paper and named in every message;
    `headers` are the HTTP response headers (they carry the feed's encoding).
    """
    try:
        if not isinstance(data, (bytes, mmap.mmap)):  # a mapped file stays mapped
            data = bytes(data)
        return _refuse_oversized(_parse(data, source, headers), source)
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
