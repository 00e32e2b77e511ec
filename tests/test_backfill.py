"""Backfill: `ingest arxiv:CAT --since --until` over a mock arXiv API built from the real
API samples, resumable after a kill; `ingest hf:DATE` from the real daily-papers sample."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest
from arxiv_api_mock import MockArxivApi, load_pool, matching
from conftest import FIXTURES, REPO
from helpers import jsonl, run, serve

from adapt_triage import backfill, fetch
from adapt_triage.fetch import Fetcher

WINDOW = ["--since", "2026-11-20", "--until", "2026-11-24"]
FIRST, LAST = date(2026, 11, 20), date(2026, 11, 24)


@pytest.fixture
def api(shared):
    header, pool = load_pool(shared / "realworld" / "arxiv-api")
    return MockArxivApi(header, pool)


@pytest.fixture
def through(monkeypatch):
    """Route the CLI's fetcher to a handler; record the waits the fetcher asks for, on a
    clock that moves only when it waits (so the spacing it keeps is exact)."""
    waits: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    def install(handler) -> list[float]:
        monkeypatch.setattr(
            fetch,
            "make_fetcher",
            lambda: Fetcher(
                client=httpx.Client(transport=httpx.MockTransport(handler)),
                sleep=sleep,
                clock=lambda: now[0],
                retries=1,
            ),
        )
        return waits

    monkeypatch.setattr(backfill, "PAGE_SIZE", 6)
    return install


def stored(db: Path) -> dict[str, dict]:
    return {p["id"]: p for p in jsonl(run(["export", "-f", "jsonl", "--all"], db=db).stdout)}


def test_a_five_day_backfill_stores_exactly_the_papers_of_those_days(tmp_path, api, through):
    waits = through(api)
    db = tmp_path / "t.db"
    result = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)
    assert result.exit_code == 0, result.stderr
    expected = matching(api.pool, {"cs.LG"}, FIRST, LAST)
    assert len(expected) == 20 and len(api.pool) == 120
    papers = stored(db)
    assert set(papers) == {f"arxiv:{e.arxiv_id}" for e in expected}
    for entry in expected:
        paper = papers[f"arxiv:{entry.arxiv_id}"]
        assert paper["version"] == entry.version
        assert paper["published"][:10] == entry.published[:10]
        assert paper["url"] == f"https://arxiv.org/abs/{entry.arxiv_id}"
        assert paper["announce_type"] == ("new" if entry.categories[0] == "cs.LG" else "cross")
        assert paper["source"] == "arxiv:cs.LG"
    # Paged oldest first, 6 entries a page; one request per 3 s to arXiv.
    starts = [int(r.url.params["start"]) for r in api.requests]
    assert starts == [0, 6, 12, 18]
    query = api.requests[0].url.params["search_query"]
    assert query == "cat:cs.LG AND submittedDate:[202611200000 TO 202611242359]"
    assert waits == [3.0, 3.0, 3.0]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("arxiv:cs.LG 2026-11-20..2026-11-24: ok, items 20, new 20,")

    again = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)  # a finished window starts over
    assert again.exit_code == 0 and "items 20, new 0, updated 0" in again.stderr
    assert len(stored(db)) == 20


def test_several_categories_and_folding_with_the_rss_entries(tmp_path, api, through):
    through(api)
    db = tmp_path / "t.db"
    rss = FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"
    assert run(["ingest", "-q", rss], db=db).exit_code == 0
    # The API knows a newer version of a paper the RSS feed brought, inside the window.
    (entry,) = [
        e for e in matching(api.pool, {"cs.SE"}, FIRST, LAST) if "cs.LG" not in e.categories
    ][:1]
    entry.xml = entry.xml.replace(f"abs/{entry.arxiv_id}v{entry.version}", "abs/2501.00001v2")
    entry.arxiv_id, entry.version = "2501.00001", 2
    result = run(["ingest", "arxiv:cs.LG+cs.SE", *WINDOW, "--format", "json"], db=db)
    assert result.exit_code == 0, result.stderr
    (report,) = json.loads(result.stdout)["sources"]
    expected = matching(api.pool, {"cs.LG", "cs.SE"}, FIRST, LAST)
    assert report["items"] == len(expected) == 45
    assert report["updated"] == 1 and report["new"] + report["duplicates"] == 44
    assert api.requests[0].url.params["search_query"].startswith("(cat:cs.LG OR cat:cs.SE) AND")
    shown = json.loads(run(["show", "2501.00001", "-f", "json"], db=db).stdout)
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert {s["source"] for s in shown["sources"]} == {str(rss), "arxiv:cs.LG+cs.SE"}
    assert len(stored(db)) == 2 + 44


def worker(db: Path, log: Path, *, kill_at_request: int = 0, kill_at_paper: int = 0):
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "backfill_worker.py"),
            str(kill_at_request),
            str(kill_at_paper),
            str(log),
            "--db",
            str(db),
            "ingest",
            "arxiv:cs.LG",
            *WINDOW,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def snapshot(db: Path) -> dict[str, list]:
    """Everything a backfill stores, without the times of the run."""
    conn = sqlite3.connect(db)
    try:
        return {
            "papers": conn.execute(
                "SELECT id, title, abstract, authors, url, published, arxiv_id, version, "
                "announce_type, categories, source, duplicate_of, dup_reason, model_labels "
                "FROM papers ORDER BY id"
            ).fetchall(),
            "versions": conn.execute(
                "SELECT paper_id, version, source, title FROM versions ORDER BY 1, 2"
            ).fetchall(),
            "paper_sources": conn.execute(
                "SELECT paper_id, source FROM paper_sources ORDER BY 1, 2"
            ).fetchall(),
            "fts": conn.execute("SELECT count(*) FROM papers_fts").fetchall(),
        }
    finally:
        conn.close()


def test_a_killed_backfill_resumes_and_ends_identical_to_an_uninterrupted_one(tmp_path, shared):
    whole = tmp_path / "whole.db"
    done = worker(whole, tmp_path / "whole.log")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "whole.log").read_text().split() == ["0", "6", "12", "18"]

    # Killed between pages (when asking for the third), then killed half-way through
    # storing the fourth page (its transaction is rolled back), then run to the end.
    db, log = tmp_path / "killed.db", tmp_path / "killed.log"
    first = worker(db, log, kill_at_request=3)
    assert first.returncode == -9
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT next_start, total FROM backfill_progress").fetchone() == (12, 20)
    assert conn.execute("SELECT count(*) FROM papers").fetchone() == (12,)
    conn.close()
    second = worker(db, log, kill_at_paper=7)  # 6 of page 3 stored, then 1 of page 4
    assert second.returncode == -9
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT next_start FROM backfill_progress").fetchone() == (18,)
    assert conn.execute("SELECT count(*) FROM papers").fetchone() == (18,)
    conn.close()
    third = worker(db, log)
    assert third.returncode == 0, third.stderr
    assert "resuming at entry 18 of 20" in third.stderr
    assert log.read_text().split() == ["0", "6", "12", "12", "18", "18"]
    assert snapshot(db) == snapshot(whole)
    assert len(snapshot(db)["papers"]) == 20


def test_hf_dates_fetch_the_daily_papers_of_each_day(tmp_path, shared, monkeypatch):
    sample = (
        shared / "realworld" / "huggingface" / "hf_daily_papers_2026-07-31_recorded-5items.json"
    )
    url = "https://huggingface.co/api/daily_papers?date="
    seen = serve(monkeypatch, {f"{url}2026-07-31": sample, f"{url}2026-08-01": b"[]"})
    db = tmp_path / "t.db"
    one = run(["ingest", "hf:2026-07-31"], db=db)
    assert one.exit_code == 0, one.stderr
    assert [str(r.url) for r in seen] == [f"{url}2026-07-31"]
    titles = {p["title"] for p in json.loads(sample.read_text()) for p in [p["paper"]]}
    assert {p["title"] for p in stored(db).values()} == titles and len(titles) == 5

    seen.clear()
    window = run(["ingest", "hf:", "--since", "2026-07-30", "--until", "2026-08-01"], db=db)
    assert [str(r.url) for r in seen] == [f"{url}2026-07-{d}" for d in ("30", "31")] + [
        f"{url}2026-08-01"
    ]
    assert window.exit_code == 1  # 07-30 is not served (404): one line naming it
    errors = [line for line in window.stderr.splitlines() if "2026-07-30" in line]
    assert len(errors) >= 1 and "Traceback" not in window.stderr
    assert len(stored(db)) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["arxiv:cs.LG"], "arxiv:cs.LG: give the first day with --since DATE"),
        (["arxiv:cs LG!", "--since", "2026-11-20"], "expected arXiv categories like"),
        (["arxiv:cs.LG", "--since", "2026-11-20", "--until", "2026-11-01"], "is before"),
        (["arxiv:cs.LG", "--since", "yesterday"], "--since 'yesterday': expected a date"),
        (["hf:2026-13-01"], "hf:2026-13-01 '2026-13-01': expected a date"),
        ([str(FIXTURES / "seed_page.txt"), "--since", "2026-11-20"], "--since and --until apply"),
    ],
)
def test_bad_backfill_arguments_are_usage_errors(tmp_path, args, message):
    result = run(["ingest", *args], db=tmp_path / "t.db")
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_api_error_feed_is_one_line_and_the_progress_is_kept(tmp_path, api, through, shared):
    error = (
        shared / "realworld" / "arxiv-api" / "arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml"
    ).read_bytes()
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 2:
            return httpx.Response(400, content=error)
        return api(request)

    through(flaky)
    db = tmp_path / "t.db"
    result = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if "arXiv API error" in x]
    assert "incorrect id format for abc" in line and "export.arxiv.org" in line
    assert len(stored(db)) == 6
    resumed = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)
    assert resumed.exit_code == 0 and "resuming at entry 6 of 20" in resumed.stderr
    assert len(stored(db)) == 20


def test_the_page_progress_bar_joins_the_sources_bar_when_there_is_one():
    from adapt_triage.render import PageProgress, SourceProgress

    with PageProgress("arxiv:cs.LG", enabled=True) as alone:
        alone.update(6, 20)
        (task,) = alone._progress.tasks
        assert (task.completed, task.total) == (6, 20)
    with SourceProgress(2, enabled=True) as sources:
        with PageProgress("arxiv:cs.LG", enabled=True, within=sources) as pages:
            pages.update(12, 20)
            assert pages._progress is sources._progress
            assert [t.completed for t in sources._progress.tasks] == [0, 12]
        assert len(sources._progress.tasks) == 1  # the page bar is gone, the sources bar stays
    with PageProgress("arxiv:cs.LG", enabled=False) as off:
        off.update(1, 2)
        assert off._progress is None


def test_a_run_stopped_yesterday_resumes_today_when_the_window_grew(tmp_path, api, through, shared):
    """`--until` defaults to today, so a rerun the next day has a longer window: its first
    pages are the stopped run's (oldest first), so it continues instead of starting over."""
    error = (
        shared / "realworld" / "arxiv-api" / "arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml"
    ).read_bytes()
    calls: list[httpx.Request] = []

    def stops_at_the_third_page(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, content=error) if len(calls) == 3 else api(request)

    through(stops_at_the_third_page)
    db = tmp_path / "t.db"
    stopped = run(
        ["ingest", "arxiv:cs.LG", "--since", "2026-11-20", "--until", "2026-11-23"], db=db
    )
    assert stopped.exit_code == 1 and len(stored(db)) == 12
    resumed = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)
    assert resumed.exit_code == 0, resumed.stderr
    assert "arxiv:cs.LG 2026-11-20..2026-11-24: resuming at entry 12 of" in resumed.stderr
    assert [int(r.url.params["start"]) for r in calls[3:]] == [12, 18]
    assert "202611242359" in calls[3].url.params["search_query"]
    expected = matching(api.pool, {"cs.LG"}, FIRST, LAST)
    assert set(stored(db)) == {f"arxiv:{e.arxiv_id}" for e in expected}
    conn = sqlite3.connect(db)
    assert conn.execute(
        "SELECT until, next_start, finished_at IS NOT NULL FROM backfill_progress"
    ).fetchall() == [("2026-11-24", 20, 1)]
    conn.close()


def test_with_quiet_a_failing_backfill_is_reported_once_it_failed_three_runs(
    tmp_path, through, api
):
    """A passing outage (503) of a backfill that has worked waits for --report-after runs;
    a permanent status (404) is reported on the first run."""
    outage = {"on": False}
    through(lambda request: httpx.Response(503) if outage["on"] else api(request))
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", "arxiv:cs.LG", *WINDOW], db=db).exit_code == 0
    outage["on"] = True
    for attempt in (1, 2, 3):
        result = run(["ingest", "--quiet", "arxiv:cs.LG", *WINDOW], db=db)
        assert result.exit_code == 1
        if attempt < 3:
            assert result.stderr == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("adapt-triage: arxiv:cs.LG 2026-11-20..2026-11-24: ")
    assert "HTTP 503" in line and line.endswith("(failed 3 runs in a row)")
    loud = run(["ingest", "arxiv:cs.LG", *WINDOW], db=db)
    assert "run the same command again to resume (failed 4 runs in a row)" in loud.stderr
    through(lambda request: httpx.Response(404))
    first = run(["ingest", "--quiet", "arxiv:cs.LG", *WINDOW], db=tmp_path / "new.db")
    (line,) = first.stderr.splitlines()
    assert first.exit_code == 1 and "HTTP 404" in line
