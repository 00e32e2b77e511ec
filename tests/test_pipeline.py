"""The ingest pipeline end to end (fetch -> parse -> classify -> resolve -> write), driven
with an injected Fetcher over httpx.MockTransport and a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from adapt_triage.fetch import Fetcher
from adapt_triage.ingest import SourceReport, ingest_sources
from adapt_triage.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"
DAY1 = (FIXTURES / "arxiv_cs_lg_day1.xml").read_bytes()
FEED = "https://feeds.example.org/cs.LG"
MISSING = "https://feeds.example.org/gone"


class Labeller:
    """A classifier double: labels every paper `lora`, and notes, while it works, whether
    the store's connection is in a transaction and whether another process could write."""

    model_version = "labeller-1"

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.calls = 0
        self.in_transaction: list[bool] = []
        self.other_writer_ok: list[bool] = []
        self.store: Store | None = None

    def predict(self, papers):
        self.calls += 1
        assert self.store is not None
        self.in_transaction.append(self.store.db.conn.in_transaction)
        other = sqlite3.connect(self.db_path, timeout=0.2)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.other_writer_ok.append(True)
        except sqlite3.OperationalError:
            self.other_writer_ok.append(False)
        finally:
            other.close()
        return [(["lora"], {"lora": 0.9}) for _ in papers]


class Server:
    """Serves the feed with an ETag (304 when it matches), 404 for MISSING, and whatever
    status `fail_with` says when set."""

    def __init__(self) -> None:
        self.fail_with: int | None = None
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if str(request.url) == MISSING:
            return httpx.Response(404)
        if self.fail_with:
            return httpx.Response(self.fail_with)
        if request.headers.get("if-none-match") == '"day1"':
            return httpx.Response(304, headers={"etag": '"day1"'})
        return httpx.Response(
            200, content=DAY1, headers={"etag": '"day1"', "content-type": "application/rss+xml"}
        )


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def fetcher(server: Server):
    client = httpx.Client(transport=httpx.MockTransport(server))
    with Fetcher(client=client, sleep=lambda s: None, retries=0, polite_delay=0) as f:
        yield f


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "history.db") as s:
        yield s


def run(store: Store, fetcher: Fetcher, labeller: Labeller, *sources: str, **kw):
    labeller.store = store
    done: list[SourceReport] = []
    reports = ingest_sources(
        store,
        sources,
        classifier_factory=lambda: labeller,
        fetcher=fetcher,
        on_done=done.append,
        **kw,
    )
    assert done == reports
    return reports


def test_a_feed_is_fetched_parsed_classified_and_stored_then_not_modified(store, fetcher, server):
    labeller = Labeller(store.path)
    (report,) = run(store, fetcher, labeller, FEED)
    assert (report.status, report.format, report.items, report.new) == ("ok", "arxiv-rss", 2, 2)
    assert not report.failed and report.to_dict()["failed"] is False
    papers = store.list_papers()
    assert len(papers) == 2 and all(p.labels == ["lora"] for p in papers)
    assert {p.model_version for p in papers} == {"labeller-1"}
    state = store.get_fetch_state(FEED)
    assert (state.etag, state.last_status, state.last_item_count, state.last_new) == (
        '"day1"',
        "ok",
        2,
        2,
    )

    (again,) = run(store, fetcher, labeller, FEED)
    assert server.seen[-1].headers["if-none-match"] == '"day1"'
    assert (again.status, again.items, again.new) == ("not-modified", 0, 0)
    assert store.get_fetch_state(FEED).etag == '"day1"'
    assert labeller.calls == 1  # nothing to classify the second time


def test_classification_runs_before_the_write_transaction_opens(store, fetcher):
    labeller = Labeller(store.path)
    run(store, fetcher, labeller, FEED)
    assert labeller.calls == 1
    assert labeller.in_transaction == [False]
    assert labeller.other_writer_ok == [True]  # no write lock held while the model works


def test_one_failing_source_is_reported_and_the_others_are_stored(store, fetcher):
    labeller = Labeller(store.path)
    missing, feed = run(store, fetcher, labeller, MISSING, FEED)
    assert (missing.status, missing.error_kind, missing.failed) == ("error", "permanent", True)
    assert missing.errors and MISSING in missing.errors[0]
    assert (feed.status, feed.new) == ("ok", 2)
    assert store.get_fetch_state(MISSING).consecutive_failures == 1
    assert store.count_papers() == 2


def test_a_passing_outage_is_muted_until_report_after_runs_in_a_row(store, fetcher, server):
    labeller = Labeller(store.path)
    run(store, fetcher, labeller, FEED)  # the feed has worked
    server.fail_with = 503
    seen = [run(store, fetcher, labeller, FEED, report_after=3)[0] for _ in range(3)]
    assert [(r.status, r.error_kind) for r in seen] == [("error", "transient")] * 3
    assert [(r.failures, r.muted) for r in seen] == [(1, True), (2, True), (3, False)]
    assert store.get_fetch_state(FEED).etag == '"day1"'  # a failure keeps the validators
    server.fail_with = None
    (back,) = run(store, fetcher, labeller, FEED, report_after=3)
    assert (back.status, back.failures, back.muted) == ("not-modified", 0, False)
    assert store.get_fetch_state(FEED).consecutive_failures == 0


def test_a_permanent_failure_is_never_muted(store, fetcher):
    labeller = Labeller(store.path)
    (report,) = run(store, fetcher, labeller, MISSING, report_after=5)
    assert (report.failures, report.muted) == (1, False)
    (report,) = run(store, fetcher, labeller, MISSING, report_after=5)
    assert (report.failures, report.muted) == (2, False)


class CountingLabeller(Labeller):
    """Also notes, at each call, how many papers the ingest has already committed."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.sizes: list[int] = []
        self.committed: list[int] = []

    def predict(self, papers):
        self.sizes.append(len(papers))
        other = sqlite3.connect(self.db_path, timeout=5)
        try:
            (count,) = other.execute("SELECT count(*) FROM ingest_pending").fetchone()
        finally:
            other.close()
        self.committed.append(count)
        return super().predict(papers)


def test_a_large_source_streams_classified_chunks_into_the_store(store, fetcher, tmp_path):
    import json

    from adapt_triage.ingest import CHUNK

    source = tmp_path / "big.jsonl"
    with source.open("w") as out:
        for i in range(2600):
            abstract = f"Adapter study {i}: " + " ".join(f"w{i}x{j}" for j in range(12))
            out.write(json.dumps({"title": f"Paper number {i} on adapters", "abstract": abstract}))
            out.write("\n")
    store.write_chunk = 1000
    labeller = CountingLabeller(store.path)
    (report,) = run(store, fetcher, labeller, str(source))
    assert (report.status, report.new) == ("ok", 2600)
    assert store.count_papers() == 2600
    assert max(labeller.sizes) <= CHUNK and sum(labeller.sizes) == 2600
    assert labeller.in_transaction == [False] * labeller.calls  # never under the write lock
    assert all(labeller.other_writer_ok)
    # The source is not classified whole before writing: later chunks are classified
    # after earlier ones were committed.
    assert labeller.committed[0] == 0 and labeller.committed[-1] > 0
