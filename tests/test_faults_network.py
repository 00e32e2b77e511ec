"""Network faults from a real server on 127.0.0.1 (tests/faultserver.py), through the real
fetcher and the real CLI. Every run is bounded: the slow cases run in a subprocess with a
timeout, so a broken deadline fails the test instead of hanging the suite."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from faultserver import FaultServer
from helpers import run

from adapt_triage.fetch import Fetcher, FetchError


def papers_jsonl(prefix: str, count: int = 3) -> bytes:
    return "".join(
        json.dumps(
            {
                "id": f"{prefix}-{i}",
                "title": f"{prefix} paper {i}: low-rank adapters for shift {i}",
                "abstract": f"We study LoRA variant {prefix}{i} under distribution shift.",
            }
        )
        + "\n"
        for i in range(count)
    ).encode()


@pytest.fixture
def server():
    with FaultServer() as srv:
        srv.bodies["good"] = papers_jsonl("net")
        yield srv


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.jsonl"
    path.write_bytes(papers_jsonl("file"))
    return path


def count_papers(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM papers").fetchone()[0]


def cli_process(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "ADAPT_TRIAGE_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "adapt_triage", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("adapt-triage: ") and not line.startswith("adapt-triage: warning")
    ]


# --------------------------------------------------------------------------- the deadline


def test_trickling_body_ends_at_the_deadline_and_the_good_sources_are_stored(
    server, good_file, tmp_path
):
    db = tmp_path / "t.db"
    trickle = server.url("/trickle")
    done = cli_process(
        db, "ingest", server.url("/ok/good"), trickle, str(good_file), "--deadline", "1.5"
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done.stderr)
    assert line == f"adapt-triage: {trickle}: no complete response within the 1.5 s deadline"
    assert count_papers(db) == 6  # both good sources, before and after the slow one


def test_trickling_headers_end_at_the_deadline(server, tmp_path):
    db = tmp_path / "t.db"
    url = server.url("/trickle-headers")
    done = cli_process(db, "ingest", url, "--deadline", "1", "--timeout", "30")
    assert done.returncode == 1, done.stderr
    assert error_lines(done.stderr) == [
        f"adapt-triage: {url}: no complete response within the 1 s deadline"
    ]


def test_a_server_that_never_answers_costs_the_short_timeout(server, good_file, tmp_path):
    db = tmp_path / "t.db"
    url = server.url("/silent")
    done = cli_process(
        db, "ingest", url, str(good_file), "--timeout", "0.5", "--retries", "1", timeout=30
    )
    assert done.returncode == 1, done.stderr
    assert error_lines(done.stderr) == [f"adapt-triage: {url}: timed out after 2 attempts"]
    assert count_papers(db) == 3


def test_the_deadline_also_bounds_retries_and_their_waits(server):
    url = server.url("/flaky/503/1000000/good")
    with (
        Fetcher(retries=1000000, backoff=0.05, deadline=1.0) as fetcher,
        pytest.raises(FetchError) as caught,
    ):
        fetcher.fetch(url)
    assert "HTTP 503 Service Unavailable" in str(caught.value)
    assert "1 s deadline" in str(caught.value)
    assert 2 <= server.hits["/flaky/503/1000000/good"] < 1000000


def test_a_trickle_is_cut_by_the_fetcher_itself(server):
    with Fetcher(deadline=0.5) as fetcher:
        with pytest.raises(FetchError, match=r"within the 0.5 s deadline"):  # noqa: SIM117
            fetcher.fetch(server.url("/trickle"))
        # The same fetcher goes on working for the next source.
        assert fetcher.fetch(server.url("/ok/good")).content == papers_jsonl("net")


# --------------------------------------------------------------------------- other faults


@pytest.mark.parametrize(
    ("path", "options", "reason"),
    [
        ("/reset", [], "connection failed after 2 attempts"),
        ("/truncated", [], "connection failed after 2 attempts"),
        ("/loop", [], "more than 10 redirects"),
        ("/login", [], "an HTML page, not a feed"),
        ("/gzip-bomb", ["--max-size", "1"], "response larger than 1 MB"),
        ("/oversized", ["--max-size", "1"], "response larger than 1 MB"),
        ("/oversized-declared", [], "response larger than 20 MB"),
        ("/not-modified", [], "HTTP 304 Not Modified in reply to a request that sent no"),
    ],
)
def test_a_faulty_server_is_one_error_line_and_the_good_source_is_stored(
    server, good_file, tmp_path, path, options, reason
):
    db = tmp_path / "t.db"
    url = server.url(path)
    result = run(
        ["ingest", url, str(good_file), "--retries", "1", "--timeout", "5", *options], db=db
    )
    assert result.exit_code == 1, result.output
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"adapt-triage: {url}")
    assert reason in errors[0]
    assert count_papers(db) == 3


@pytest.mark.parametrize("status", ["429", "503"])
def test_429_or_503_then_ok_is_stored(server, tmp_path, status):
    db = tmp_path / "t.db"
    path = f"/flaky/{status}/2/good"
    result = run(["ingest", server.url(path), "--retries", "2"], db=db)
    assert result.exit_code == 0, result.stderr
    assert server.hits[path] == 3
    assert count_papers(db) == 3


def test_an_unsubscribed_local_feed_sends_no_validators_and_a_304_is_an_error(server):
    # The fetcher's own view of the rule: a 304 is success only after validators were sent.
    with Fetcher(retries=0) as fetcher, pytest.raises(FetchError, match="no validators"):
        fetcher.fetch(server.url("/not-modified"))


def test_proxies_from_the_environment_are_used_and_the_deadline_holds_through_them(
    server, monkeypatch
):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    with Fetcher(deadline=0.5) as fetcher:
        assert fetcher.fetch("http://feeds.invalid/ok/good").content == papers_jsonl("net")
        with pytest.raises(FetchError, match=r"within the 0.5 s deadline"):
            fetcher.fetch("http://feeds.invalid/trickle")
    assert any(r.startswith(b"GET http://feeds.invalid/ok/good ") for r in server.requests)


def test_a_huge_retry_after_is_refused_in_words_not_in_digits():
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "9" * 302})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        Fetcher(client=client, sleep=lambda _s: None) as fetcher,
        pytest.raises(FetchError) as caught,
    ):
        fetcher.fetch("https://feeds.example/x")
    message = str(caught.value)
    assert "retry after more than a week, more than the 120 s this tool waits" in message
    assert "999" not in message
