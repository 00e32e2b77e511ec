"""Runs the real CLI in its own process against the mock arXiv API built from the real
samples (tests/arxiv_api_mock.py), with pages of 6 entries and no 3 s waits, and optionally
kills itself with SIGKILL, to test that a killed backfill resumes (not a test module).

    python backfill_worker.py KILL_AT_REQUEST KILL_AT_PAPER REQUEST_LOG adapt-triage-args...

KILL_AT_REQUEST > 0: killed when the mock receives that request (between pages).
KILL_AT_PAPER > 0: killed after that many papers were written inside the store transaction
of a page (in the middle of storing it). REQUEST_LOG gets the `start` of each request.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from arxiv_api_mock import MockArxivApi, load_pool  # noqa: E402

from adapt_triage import backfill, cli, dedup, fetch  # noqa: E402
from adapt_triage.fetch import Fetcher  # noqa: E402

kill_at_request, kill_at_paper, log = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
header, pool = load_pool(HERE.parents[1] / "shared" / "realworld" / "arxiv-api")


def before(number: int) -> None:
    if number == kill_at_request:
        os.kill(os.getpid(), signal.SIGKILL)


api = MockArxivApi(header, pool, before=before)


def logged(request: httpx.Request) -> httpx.Response:
    with log.open("a") as out:
        out.write(f"{request.url.params.get('start')}\n")
    return api(request)


original_add_many = dedup.DedupIndex.add_many
papers = 0


def add_then_maybe_die(self, items):
    """The store indexes a chunk's papers at once (`add` too goes through here)."""
    global papers
    original_add_many(self, items)
    before, papers = papers, papers + len(items)
    if before < kill_at_paper <= papers:
        os.kill(os.getpid(), signal.SIGKILL)


dedup.DedupIndex.add_many = add_then_maybe_die
backfill.PAGE_SIZE = 6
fetch.make_fetcher = lambda: Fetcher(
    client=httpx.Client(transport=httpx.MockTransport(logged)), sleep=lambda _s: None
)
sys.argv = ["adapt-triage", *sys.argv[4:]]
cli.main()
