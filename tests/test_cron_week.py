"""Five simulated cron days against feeds served on 127.0.0.1: `ingest --quiet` then
`digest --quiet`, as a crontab runs them.

Checked: every paper appears in exactly one digest; a quiet day with nothing new prints
nothing; a typo'd feed is reported on day 1 (and every day after); a passing 503 of a feed
that worked is reported only once it has lasted --report-after days.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import FIXTURES
from helpers import jsonl, run

from adapt_triage import fetch
from adapt_triage.fetch import Fetcher


class Routes:
    def __init__(self) -> None:
        self.table: dict[str, tuple[int, bytes]] = {}


@pytest.fixture
def server():
    routes = Routes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = routes.table.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield routes, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def day_slice(shared, day: str, n: int = 12) -> bytes:
    lines = (shared / "realworld" / "arxiv-days" / f"{day}.jsonl").read_bytes().splitlines()
    return b"\n".join(lines[:n]) + b"\n"


def test_five_cron_days(tmp_path, monkeypatch, server, shared):
    routes, base = server
    # Real HTTP to the local server; no sleeping between retries.
    monkeypatch.setattr(fetch, "make_fetcher", lambda: Fetcher(sleep=lambda _s: None, retries=1))
    db = tmp_path / "cron.db"
    arxiv, hf, typo = f"{base}/arxiv.jsonl", f"{base}/hf.json", f"{base}/typo-feed.xml"
    for url in (arxiv, hf, typo):
        assert run(["feeds", "add", url], db=db).exit_code == 0
    hf_body = (FIXTURES / "cli" / "hf_daily_day1.json").read_bytes()
    days = [
        # (arxiv body, hf status) per day; the typo'd feed is 404 every day
        (day_slice(shared, "2026-03-04"), 200),
        (day_slice(shared, "2026-03-05"), 503),
        (day_slice(shared, "2026-03-05"), 503),  # nothing new anywhere: a quiet empty day
        (day_slice(shared, "2026-03-06"), 503),  # the third day of the outage
        (day_slice(shared, "2026-03-09"), 200),
    ]
    seen: Counter[str] = Counter()
    for day, (arxiv_body, hf_status) in enumerate(days, 1):
        routes.table = {
            "/arxiv.jsonl": (200, arxiv_body),
            "/hf.json": (hf_status, hf_body if hf_status == 200 else b"unavailable"),
        }
        ingest = run(["--quiet", "ingest"], db=db)
        errors = ingest.stderr.splitlines()
        assert ingest.stdout == ""
        # the typo'd feed: reported at once, every day
        assert [e for e in errors if "typo-feed.xml" in e] == [
            f"adapt-triage: {typo}: HTTP 404 Not Found"
            + (f" (failed {day} runs in a row)" if day > 1 else "")
        ]
        outage = [e for e in errors if "hf.json" in e]
        if day == 4:  # --report-after 3 (the default): the 503 on days 2, 3, 4
            (line,) = outage
            assert "HTTP 503" in line and line.endswith("(failed 3 runs in a row)")
        else:
            assert outage == [], day
        assert ingest.exit_code == 1  # some feed failed: cron sees it in the status

        digest = run(["--quiet", "digest", "--format", "jsonl"], db=db)
        assert digest.exit_code == 0 and digest.stderr == ""
        papers = jsonl(digest.stdout)
        if day == 3:
            assert digest.stdout == ""  # nothing new: nothing printed, no mail
        else:
            assert papers, day
        seen.update(p["id"] for p in papers)

    with sqlite3.connect(db) as conn:
        canonical = {r[0] for r in conn.execute("SELECT id FROM papers WHERE duplicate_of IS NULL")}
    assert len(canonical) > 40
    assert set(seen) == canonical  # every paper in a digest
    assert set(seen.values()) == {1}  # and in only one
