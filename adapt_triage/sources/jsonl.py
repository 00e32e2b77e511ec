"""JSON Lines (one paper object a line, for `jq -c` pipelines) and a JSON array of the same.

Each object needs a `title`, and should have an `abstract` (or `summary`): an object without
one is still read, classified on its title alone, with a warning, so that `classify` prints
exactly one object per input line. Optional: `id` (echoed as is as `input_id`; an arXiv id,
arXiv URL or DOI in it also sets `arxiv_id` / `doi`), `authors`
(list of strings or of {"name"}), `url`, `published`, `updated`, `doi`, `arxiv_id`,
`categories`.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from adapt_triage.paper import Paper, collapse_whitespace, normalize_doi, parse_arxiv_id

from .common import ParseResult, arxiv_abs_url, author_names, fatal_result, iso_date

NO_ABSTRACT = "no abstract (or summary); classified on the title alone"


def paper_from_object(obj: Any, source: str) -> tuple[Paper | None, str | None]:
    """A Paper from one JSON object, or the reason it is not one. A paper without an
    abstract comes back with the reason NO_ABSTRACT (a warning, not an error)."""
    if not isinstance(obj, dict):
        return None, f"not a JSON object ({type(obj).__name__})"
    title = obj.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        return None, "missing or empty title"
    if not isinstance(title, str):
        return None, "title is not a string"
    abstract = obj.get("abstract")
    if abstract is None or abstract == "":
        abstract = obj.get("summary")
    if abstract is not None and not isinstance(abstract, str):
        return None, "abstract is not a string"
    warning = None if abstract and abstract.strip() else NO_ABSTRACT

    paper = Paper(
        title=collapse_whitespace(title),
        abstract=collapse_whitespace(abstract or ""),
        authors=author_names(obj.get("authors")),
        source=source,
    )
    input_id = obj.get("id")
    if isinstance(input_id, (str, int)) and not isinstance(input_id, bool):
        paper.input_id = input_id
        found = parse_arxiv_id(str(input_id))
        if found:
            paper.arxiv_id, paper.version = found
        elif "10." in str(input_id):
            paper.doi = normalize_doi(str(input_id))
    explicit_arxiv = obj.get("arxiv_id")
    if isinstance(explicit_arxiv, str):
        found = parse_arxiv_id(explicit_arxiv)
        if found:
            paper.arxiv_id, paper.version = found
    if isinstance(obj.get("doi"), str):
        paper.doi = normalize_doi(obj["doi"]) or paper.doi
    url = obj.get("url")
    if isinstance(url, str) and url.strip():
        paper.url = url.strip()
        if not paper.arxiv_id and "arxiv" in url.lower():
            found = parse_arxiv_id(url)
            if found:
                paper.arxiv_id, paper.version = found
    elif paper.arxiv_id:
        paper.url = arxiv_abs_url(paper.arxiv_id)
    elif paper.doi:
        paper.url = f"https://doi.org/{paper.doi}"
    paper.published = iso_date(obj.get("published"))
    paper.updated = iso_date(obj.get("updated"))
    categories = obj.get("categories")
    if isinstance(categories, list):
        paper.categories = [c for c in categories if isinstance(c, str)]
    return paper, warning


def _take(
    obj: Any,
    source: str,
    where: str,
    papers: list[Paper],
    errors: list[str],
    warnings: list[str],
) -> None:
    """Read one object into `papers`, or say at `where` why not (an error), or what is
    missing though it is still a paper (a warning)."""
    paper, problem = paper_from_object(obj, source)
    if paper is None:
        errors.append(f"{source}: {where}: {problem}")
        return
    if problem:
        warnings.append(f"{source}: {where}: {problem}")
    papers.append(paper)


def _decode_error(exc: json.JSONDecodeError) -> str:
    return f"invalid JSON: {exc.msg} (column {exc.colno})"


def parse_jsonl(data: bytes, source: str) -> ParseResult:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    papers: list[Paper] = []
    errors: list[str] = []
    warnings: list[str] = []
    count = 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        count += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
            errors.append(f"{source}: line {number}: invalid UTF-8 ({where})")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(f"{source}: line {number}: {_decode_error(exc)}")
            continue
        except RecursionError:
            errors.append(f"{source}: line {number}: invalid JSON: nested too deeply")
            continue
        _take(obj, source, f"line {number}", papers, errors, warnings)
    fatal = not papers and bool(errors)
    if fatal:
        errors.insert(0, f"{source}: no readable paper in {count} JSON lines")
    return ParseResult("jsonl", papers, errors, warnings, item_count=count, fatal=fatal)


def load_json(data: bytes, source: str, fmt: str) -> tuple[Any, ParseResult | None]:
    """The decoded JSON value, or a fatal result saying where it is broken."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, fatal_result(fmt, source, f"line {line}: invalid UTF-8 in JSON")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, fatal_result(
            fmt, source, f"line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"
        )
    except RecursionError:
        return None, fatal_result(fmt, source, "invalid JSON: nested too deeply")


def parse_json_objects(value: Any, source: str, fmt: str = "json") -> ParseResult:
    """A JSON array of paper objects (or one object), reported by item number."""
    items = value if isinstance(value, list) else [value]
    papers: list[Paper] = []
    errors: list[str] = []
    warnings: list[str] = []
    for number, obj in enumerate(items, 1):
        _take(obj, source, f"item {number}", papers, errors, warnings)
    fatal = not papers and bool(errors)
    return ParseResult(fmt, papers, errors, warnings, item_count=len(items), fatal=fatal)
