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
import mmap
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id
from adapt_triage.text import collapse_whitespace

from .common import (
    MAX_ABSTRACT_CHARS,
    MAX_TITLE_CHARS,
    ParseResult,
    ProblemLog,
    arxiv_abs_url,
    author_names,
    fatal_result,
    iso_date,
    oversize_problem,
)

NO_ABSTRACT = "no abstract (or summary); classified on the title alone"


def _refusal(obj: Any) -> tuple[str | None, str, str | None]:
    """(why the object is not a paper, or None; its title; its abstract or summary): the
    checks made before a paper is built."""
    reason = None
    title = obj.get("title") if isinstance(obj, dict) else None
    abstract = None
    if not isinstance(obj, dict):
        reason = f"not a JSON object ({type(obj).__name__})"
    elif title is None or (isinstance(title, str) and not title.strip()):
        reason = "missing or empty title"
    elif not isinstance(title, str):
        reason = "title is not a string"
    elif len(title) > 4 * MAX_TITLE_CHARS:  # not worth collapsing: refused either way
        reason = f"title of {len(title):,} characters, more than {MAX_TITLE_CHARS:,}; refused"
    else:
        abstract = obj.get("abstract")
        if abstract is None or abstract == "":
            abstract = obj.get("summary")
        if abstract is not None and not isinstance(abstract, str):
            reason = "abstract is not a string"
        elif abstract is not None and len(abstract) > 4 * MAX_ABSTRACT_CHARS:
            reason = (
                f"abstract of {len(abstract):,} characters, more than "
                f"{MAX_ABSTRACT_CHARS:,}; refused"
            )
    if reason is not None:
        return reason, "", None
    assert isinstance(title, str)
    return None, title, abstract


def check_object(obj: Any) -> tuple[bool, str | None]:
    """What `paper_from_object` would decide about `obj`, without making the paper: (is a
    paper, the reason it is not or its warning). The first pass over a large input needs no
    more; the paper is made when it is stored."""
    refused, title, abstract = _refusal(obj)
    if refused:
        return False, refused
    # Collapsing whitespace only shortens a text: one within the limit stays within it.
    if len(title) > MAX_TITLE_CHARS or len(abstract or "") > MAX_ABSTRACT_CHARS:
        too_big = oversize_problem(
            Paper(title=collapse_whitespace(title), abstract=collapse_whitespace(abstract or ""))
        )
        if too_big:
            return False, too_big
    return True, None if abstract and abstract.strip() else NO_ABSTRACT


def paper_from_object(obj: Any, source: str) -> tuple[Paper | None, str | None]:
    """A Paper from one JSON object, or the reason it is not one. A paper without an
    abstract comes back with the reason NO_ABSTRACT (a warning, not an error)."""
    refused, title, abstract = _refusal(obj)
    if refused:
        return None, refused
    warning = None if abstract and abstract.strip() else NO_ABSTRACT

    paper = Paper(
        title=collapse_whitespace(title),
        abstract=collapse_whitespace(abstract or ""),
        authors=author_names(obj.get("authors")),
        source=source,
    )
    _identify(paper, obj)
    paper.published = iso_date(obj.get("published"))
    paper.updated = iso_date(obj.get("updated"))
    categories = obj.get("categories")
    if isinstance(categories, list):
        paper.categories = [c for c in categories if isinstance(c, str)]
    too_big = oversize_problem(paper)
    if too_big:
        return None, too_big
    return paper, warning


def _identify(paper: Paper, obj: dict[str, Any]) -> None:
    """The paper's input id, arXiv id and version, DOI and URL, from `id`, `arxiv_id`,
    `doi` and `url` (a URL made from the arXiv id or DOI when there is none)."""
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


def _take(
    obj: Any,
    where: str,
    papers: list[Paper],
    errors: ProblemLog,
    warnings: ProblemLog,
    source: str,
) -> None:
    """Read one object into `papers`, or say at `where` why not (an error), or what is
    missing though it is still a paper (a warning)."""
    paper, problem = paper_from_object(obj, source)
    if paper is None:
        errors.add(where, problem or "not a paper")
        return
    if problem:
        warnings.add(where, problem)
    papers.append(paper)


def _check(obj: Any, where: str, errors: ProblemLog, warnings: ProblemLog) -> bool:
    """`_take` for a first pass: whether `obj` is a paper, its error or warning logged at
    `where` exactly as `_take` logs them, but no paper made."""
    ok, problem = check_object(obj)
    if not ok:
        errors.add(where, problem or "not a paper")
    elif problem:
        warnings.add(where, problem)
    return ok


def _decode_error(exc: json.JSONDecodeError) -> str:
    return f"invalid JSON: {exc.msg} (column {exc.colno})"


# A mapped input's pages are given back every this many bytes read (see `_release`).
_RELEASE_BYTES = 16 * 1024 * 1024


def _release(data: bytes, upto: int) -> None:
    """Give back the pages of a mapped input before `upto` (read already): they stay in
    the page cache, and no longer count in this process's memory."""
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        upto -= upto % mmap.PAGESIZE
        if upto > 0:
            data.madvise(mmap.MADV_DONTNEED, 0, upto)


def _lines(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(line number, start, end) of every line of `data`, without copying it."""
    start = 0
    number = 0
    size = len(data)
    released = 0
    while start < size:
        if start - released > _RELEASE_BYTES:
            _release(data, start)
            released = start
        end = data.find(b"\n", start)
        if end < 0:
            end = size
        number += 1
        yield number, start, end
        start = end + 1


def _line_object(raw: bytes) -> tuple[Any, str | None]:
    """The JSON value of one line, or why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
        return None, f"invalid UTF-8 ({where})"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, _decode_error(exc)
    except RecursionError:
        return None, "invalid JSON: nested too deeply"


class _LazyPapers(Sequence[Paper]):
    """A read-only sequence of papers made one at a time from checked input: subclasses
    give `__len__` and `_paper(index)`."""

    def __len__(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def _paper(self, index: int) -> Paper:  # pragma: no cover - overridden
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Paper: ...
    @overload
    def __getitem__(self, index: slice) -> list[Paper]: ...
    def __getitem__(self, index: int | slice) -> Paper | list[Paper]:
        if isinstance(index, slice):
            return [self._paper(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._paper(index)

    def __iter__(self) -> Iterator[Paper]:
        for index in range(len(self)):
            yield self._paper(index)
            if index % 10_000 == 9_999:
                self._done(index)

    def _done(self, index: int) -> None:
        """Iteration has passed `index` (a mapped input gives its pages back)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, type(self))):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class ItemPapers(_LazyPapers):
    """The good items of a large JSON array, made into papers one at a time when iterated
    (the array was checked item by item once; only the offsets of good items are kept)."""

    def __init__(self, text: str, source: str, spans: array) -> None:
        self._text = text
        self._source = source
        self._spans = spans
        self._decoder = json.JSONDecoder()

    def __len__(self) -> int:
        return len(self._spans)

    def _paper(self, index: int) -> Paper:
        obj, _ = self._decoder.raw_decode(self._text, self._spans[index])
        paper, _ = paper_from_object(obj, self._source)
        assert paper is not None  # the item was checked when the input was read
        return paper


def parse_json_array(data: bytes, source: str) -> ParseResult:
    """A large JSON array of paper objects, decoded item by item (never built whole)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return fatal_result("json", source, f"line {line}: invalid UTF-8 in JSON")
    decoder = json.JSONDecoder()
    errors: list[str] = []
    warnings: list[str] = []
    error_log = ProblemLog(source, errors, "items")
    warning_log = ProblemLog(source, warnings, "items")
    spans = array("q")
    index = text.index("[") + 1
    count = 0
    size = len(text)

    def skip(at: int) -> int:
        while at < size and text[at] in " \t\r\n":
            at += 1
        return at

    def broken(at: int, what: str) -> ParseResult:
        line = text.count("\n", 0, at) + 1
        return fatal_result("json", source, f"line {line}: invalid JSON: {what}")

    index = skip(index)
    if index < size and text[index] == "]":
        index += 1
    else:
        while True:
            start = index
            try:
                obj, index = decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                return broken(exc.pos, f"{exc.msg} (item {count + 1})")
            except RecursionError:
                return broken(start, "nested too deeply")
            count += 1
            if _check(obj, f"item {count}", error_log, warning_log):
                spans.append(start)
            index = skip(index)
            if index < size and text[index] == ",":
                index = skip(index + 1)
                continue
            if index < size and text[index] == "]":
                index += 1
                break
            return broken(index, f"expected ',' or ']' after item {count}")
    if skip(index) != size:
        return broken(index, "extra data after the array")
    error_log.close()
    warning_log.close()
    papers = ItemPapers(text, source, spans)
    fatal = not papers and bool(errors)
    return ParseResult("json", papers, errors, warnings, item_count=count, fatal=fatal)


class LinePapers(_LazyPapers):
    """The good lines of a JSON Lines input, made into papers one at a time when iterated
    (the input was checked line by line once; only the offsets of good lines are kept),
    so a large input is never held as a list of papers."""

    def __init__(self, data: bytes, source: str, spans: array) -> None:
        self._data = data
        self._source = source
        self._spans = spans  # start, end, start, end, ...

    def __len__(self) -> int:
        return len(self._spans) // 2

    def _paper(self, index: int) -> Paper:
        raw = self._data[self._spans[2 * index] : self._spans[2 * index + 1]]
        obj, _ = _line_object(raw)
        paper, _ = paper_from_object(obj, self._source)
        assert paper is not None  # the line was checked when the input was read
        return paper

    def _done(self, index: int) -> None:
        _release(self._data, self._spans[2 * index])

    def __repr__(self) -> str:
        return f"<{len(self)} papers from JSON Lines {self._source!r}>"


def parse_jsonl(data: bytes, source: str) -> ParseResult:
    """JSON Lines, read line by line; repeated identical problems are summarised."""
    offset = len(codecs.BOM_UTF8) if data[:3] == codecs.BOM_UTF8 else 0
    errors: list[str] = []
    warnings: list[str] = []
    error_log = ProblemLog(source, errors)
    warning_log = ProblemLog(source, warnings)
    spans = array("q")
    count = 0
    for number, start, end in _lines(data):
        start = max(start, offset)
        raw = data[start:end]
        if not raw.strip():
            continue
        count += 1
        obj, problem = _line_object(raw)
        if problem:
            error_log.add(f"line {number}", problem)
            continue
        if _check(obj, f"line {number}", error_log, warning_log):
            spans.extend((start, end))
    error_log.close()
    warning_log.close()
    papers = LinePapers(data, source, spans)
    fatal = not papers and bool(errors)
    if fatal:
        errors.insert(0, f"{source}: no readable paper in {count:,} JSON lines")
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
    error_log = ProblemLog(source, errors, "items")
    warning_log = ProblemLog(source, warnings, "items")
    for number, obj in enumerate(items, 1):
        _take(obj, f"item {number}", papers, error_log, warning_log, source)
    error_log.close()
    warning_log.close()
    fatal = not papers and bool(errors)
    return ParseResult(fmt, papers, errors, warnings, item_count=len(items), fatal=fatal)
