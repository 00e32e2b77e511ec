"""A mock arXiv API (for httpx.MockTransport) serving pages built from the real API samples
in ../shared/realworld/arxiv-api (not a test module).

The pool is the real entries of two 2026 responses (20 cs.LG/cs.AI entries and 100 entries
of a search for "testing"), with each entry's <published> day moved onto a ten-day span
from 2026-11-18 (time of day kept) so that a date window selects some of them. The mock
answers `search_query=cat:A OR cat:B AND submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`
with `start`, `max_results`, `sortBy=submittedDate&sortOrder=ascending`, like the API: the
real feed header of the first sample with its opensearch counts set, then the page's entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

SAMPLES = (
    "arxiv_api_2026-04-30_search-cat-cs.LG-OR-cs.AI_max20.xml",
    "arxiv_api_2026-04-12_search-all-testing_max100.xml",
)
FIRST_DAY = date(2026, 11, 18)
_ENTRY_RE = re.compile(r"<entry>.*?</entry>", re.DOTALL)
_PUBLISHED_RE = re.compile(r"<published>(\d{4}-\d{2}-\d{2})(T[^<]*)</published>")


@dataclass
class Entry:
    arxiv_id: str
    version: int
    published: str  # ISO datetime, after the move
    categories: list[str]
    xml: str


def load_pool(api_dir: Path) -> tuple[str, list[Entry]]:
    """(feed header, entries) from the real samples, published days moved as described."""
    texts = [(api_dir / name).read_bytes().decode("utf-8") for name in SAMPLES]
    header = texts[0][: texts[0].index("<entry>")]
    pool: list[Entry] = []
    for text in texts:
        for xml in _ENTRY_RE.findall(text):
            day = FIRST_DAY + timedelta(days=len(pool) % 10)
            match = _PUBLISHED_RE.search(xml)
            assert match, xml[:200]
            xml = _PUBLISHED_RE.sub(f"<published>{day.isoformat()}\\2</published>", xml)
            ident = re.search(r"<id>https?://arxiv\.org/abs/([^<]+?)v(\d+)</id>", xml)
            assert ident, xml[:200]
            pool.append(
                Entry(
                    arxiv_id=ident.group(1),
                    version=int(ident.group(2)),
                    published=f"{day.isoformat()}{match.group(2)}",
                    categories=re.findall(r'<category term="([^"]+)"', xml),
                    xml=xml,
                )
            )
    return header, pool


def matching(pool: list[Entry], categories: set[str], first: date, last: date) -> list[Entry]:
    """The entries the API would return for these categories and days, oldest first."""
    chosen = [
        e
        for e in pool
        if categories & set(e.categories)
        and first.isoformat() <= e.published[:10] <= last.isoformat()
    ]
    return sorted(chosen, key=lambda e: e.published)


@dataclass
class MockArxivApi:
    header: str
    pool: list[Entry]
    requests: list[httpx.Request] = field(default_factory=list)
    # Called with the number of the request (1-based) before it is answered (to kill a run).
    before: Callable[[int], None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            self.before(len(self.requests))
        if request.url.host != "export.arxiv.org" or request.url.path != "/api/query":
            return httpx.Response(404)
        params = request.url.params
        query = params.get("search_query", "")
        window = re.search(r"submittedDate:\[(\d{8})\d{4} TO (\d{8})\d{4}\]", query)
        cats = set(re.findall(r"cat:([\w.\-]+)", query))
        if not window or not cats or params.get("sortBy") != "submittedDate":
            return httpx.Response(400, text="bad query")
        first = date(int(window[1][:4]), int(window[1][4:6]), int(window[1][6:]))
        last = date(int(window[2][:4]), int(window[2][4:6]), int(window[2][6:]))
        selected = matching(self.pool, cats, first, last)
        if params.get("sortOrder") == "descending":
            selected.reverse()
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        page = selected[start : start + size]
        head = re.sub(
            r"<opensearch:totalResults>\d+<",
            f"<opensearch:totalResults>{len(selected)}<",
            self.header,
        )
        head = re.sub(r"<opensearch:startIndex>\d+<", f"<opensearch:startIndex>{start}<", head)
        head = re.sub(
            r"<opensearch:itemsPerPage>\d+<", f"<opensearch:itemsPerPage>{len(page)}<", head
        )
        body = head + "".join(f"{e.xml}\n  " for e in page) + "</feed>\n"
        return httpx.Response(
            200, content=body.encode("utf-8"), headers={"content-type": "application/atom+xml"}
        )
