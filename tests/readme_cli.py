"""The real CLI with the network replaced, for the README's examples (not a test module).

The URLs the README uses are answered from fixture files through httpx.MockTransport;
any other URL gets a 404. Everything else is the installed command as a user runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapt_triage import cli, fetch  # noqa: E402
from adapt_triage.fetch import Fetcher  # noqa: E402

ROUTES = {
    "https://rss.arxiv.org/rss/cs.LG": REPO / "fixtures/cli/arxiv_cs_lg_day1.xml",
    "https://huggingface.co/api/daily_papers": REPO / "fixtures/cli/hf_daily_day1.json",
    "https://huggingface.co/api/daily_papers?date=2026-11-30": REPO
    / "fixtures/cli/hf_daily_day1.json",
    # the `feeds add cs.CL` and `feeds add arxiv:cs.CV+eess.IV` shortcuts
    "https://rss.arxiv.org/rss/cs.CL": REPO / "fixtures/cli/arxiv_cs_lg_day1.xml",
    "https://rss.arxiv.org/rss/cs.CV+eess.IV": REPO / "fixtures/cli/arxiv_cs_lg_day2.xml",
}
# The arXiv API of the backfill example: pages built from the real API samples beside the
# repository (tests/arxiv_api_mock.py).
API_SAMPLES = REPO.parent / "shared" / "realworld" / "arxiv-api"


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "export.arxiv.org" and API_SAMPLES.is_dir():
        sys.path.insert(0, str(REPO / "tests"))
        from arxiv_api_mock import MockArxivApi, load_pool

        return MockArxivApi(*load_pool(API_SAMPLES))(request)
    path = ROUTES.get(str(request.url))
    if path is None:
        return httpx.Response(404)
    return httpx.Response(200, content=path.read_bytes())


fetch.make_fetcher = lambda: Fetcher(
    client=httpx.Client(transport=httpx.MockTransport(handler)), sleep=lambda _s: None
)
sys.argv = ["adapt-triage", *sys.argv[1:]]
cli.main()
