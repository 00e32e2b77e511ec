"""Subscriptions and cron mode: `feeds`, `ingest` with no SOURCE, --quiet, the run lock."""

from __future__ import annotations

import json
import sqlite3

import httpx
from conftest import FIXTURES
from helpers import jsonl, run, serve

from adapt_triage.store import Store

GOOD = "https://rss.arxiv.org/rss/cs.LG"
BAD = "https://feeds.example.org/broken.xml"


def count(db, sql="SELECT count(*) FROM papers"):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_feeds_add_list_remove(tmp_path):
    db = tmp_path / "t.db"
    assert run(["feeds", "add", GOOD, "--name", "cs.LG"], db=db).exit_code == 0
    assert run(["feeds", "add", BAD], db=db).exit_code == 0
    listed = [
        json.loads(line)
        for line in run(["feeds", "list", "-f", "jsonl"], db=db).stdout.splitlines()
    ]
    assert [(f["url"], f["name"]) for f in listed] == [(GOOD, "cs.LG"), (BAD, None)]
    table = run(["feeds", "list", "-f", "table"], db=db).stdout
    assert "cs.LG" in table and "never" in table
    assert run(["feeds", "remove", "cs.LG"], db=db).exit_code == 0
    listed = run(["feeds", "list", "-f", "jsonl"], db=db).stdout.splitlines()
    assert [json.loads(line)["url"] for line in listed] == [BAD]
    missing = run(["feeds", "remove", "nope"], db=db)
    assert missing.exit_code == 1 and "nope" in missing.stderr


def test_ingest_without_sources_fetches_every_subscribed_feed(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    run(["feeds", "add", GOOD], db=db)
    seen = serve(monkeypatch, {GOOD: FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"})
    result = run(["ingest"], db=db)
    assert result.exit_code == 0, result.output
    assert [str(r.url) for r in seen] == [GOOD]
    assert count(db) == 2
    (feed,) = [
        json.loads(line)
        for line in run(["feeds", "list", "-f", "jsonl"], db=db).stdout.splitlines()
    ]
    assert (feed["last_status"], feed["last_item_count"], feed["last_new"]) == ("ok", 2, 2)
    assert feed["last_fetch_at"] and feed["consecutive_failures"] == 0


def test_ingest_with_nothing_subscribed_is_a_usage_error(tmp_path):
    result = run(["ingest"], db=tmp_path / "t.db")
    assert result.exit_code == 2
    assert "feeds add" in result.stderr


def test_cron_reports_a_failing_feed_only_on_the_third_night(tmp_path, monkeypatch):
    """--quiet: a feed that has worked and now answers 502 (a passing outage): nothing on
    nights one and two, the error on night three; exit 1 every night; the good feed is
    stored every night."""
    db = tmp_path / "t.db"
    run(["feeds", "add", GOOD], db=db)
    run(["feeds", "add", BAD], db=db)
    # night 0: both feeds work (they carry the same paper; a 304 to a first request, which
    # sent no validators, would be an error)
    hf_day = FIXTURES / "cli" / "hf_daily_day1.json"
    serve(monkeypatch, {GOOD: hf_day, BAD: hf_day})
    assert run(["ingest", "--quiet"], db=db).exit_code == 0
    nights = [
        FIXTURES / "cli" / "arxiv_cs_lg_day1.xml",
        FIXTURES / "cli" / "arxiv_cs_lg_day2.xml",
        FIXTURES / "cli" / "hf_daily_day1.json",
    ]
    stored = []
    for night, good_body in enumerate(nights, 1):
        body = good_body.read_bytes()

        def handler(request: httpx.Request, body: bytes = body) -> httpx.Response:
            if str(request.url) == GOOD:
                return httpx.Response(200, content=body)
            return httpx.Response(502)

        serve(monkeypatch, handler)
        result = run(["ingest", "--quiet"], db=db)
        assert result.exit_code == 1, night
        assert result.stdout == ""
        if night < 3:
            assert result.stderr == "", night
        else:
            (line,) = result.stderr.splitlines()
            assert line.startswith(f"adapt-triage: {BAD}: HTTP 502")
            assert "3 runs in a row" in line
        stored.append(count(db, "SELECT count(*) || '/' || max(version) FROM papers"))
        with Store(db) as store:
            assert store.get_fetch_state(GOOD).last_status == "ok"
            assert store.get_fetch_state(BAD).consecutive_failures == night
    # night 0: one HF paper; day 1: two papers; day 2: a new version of one; HF: the same
    assert stored == ["3/1", "3/2", "3/2"]


def test_quiet_reports_at_once_what_waiting_will_not_fix(tmp_path, monkeypatch):
    """A feed that never worked (a typo), a permanent status (404, 410, 401, 403) and an
    unreadable file are reported on the first --quiet run; --report-after is for outages."""
    db = tmp_path / "t.db"
    worked = "https://feeds.example.org/worked.xml"
    statuses = {worked: FIXTURES / "cli" / "hf_daily_day1.json"}
    serve(monkeypatch, statuses)
    assert run(["ingest", "--quiet", worked], db=db).exit_code == 0
    for status in (404, 410, 401, 403):
        serve(monkeypatch, {worked: status})
        result = run(["ingest", "--quiet", worked], db=db)
        (line,) = result.stderr.splitlines()
        assert result.exit_code == 1 and line.startswith(f"adapt-triage: {worked}: HTTP {status}")
    serve(monkeypatch, {BAD: 503})
    never = run(["ingest", "--quiet", BAD], db=db)  # never worked: maybe a typo
    assert never.exit_code == 1 and f"{BAD}: HTTP 503" in never.stderr
    typo = run(["ingest", "--quiet", tmp_path / "typo-feed.xml"], db=db)
    assert typo.exit_code == 1 and "typo-feed.xml: no such file" in typo.stderr


def test_without_quiet_every_failure_is_reported(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    serve(monkeypatch, {BAD: 500})
    result = run(["ingest", BAD], db=db)
    assert result.exit_code == 1
    assert f"adapt-triage: {BAD}: HTTP 500" in result.stderr


def test_report_after_is_configurable(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    serve(monkeypatch, {BAD: 500})
    result = run(["ingest", "--quiet", "--report-after", "1", BAD], db=db)
    assert result.exit_code == 1 and BAD in result.stderr


def test_overlapping_run_waits_then_exits_cleanly_with_a_message(tmp_path, seed_page):
    db = tmp_path / "t.db"
    with Store(db) as store, store.run_lock(command="ingest"):
        result = run(["ingest", "--wait", "0.2", seed_page], db=db)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "another adapt-triage run" in line and str(db) in line
    assert count(db) == 0
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    assert count(db) == 71


def test_feed_names_are_unique_and_rename_changes_one(tmp_path):
    db = tmp_path / "t.db"
    assert run(["feeds", "add", GOOD, "--name", "lg"], db=db).exit_code == 0
    clash = run(["feeds", "add", BAD, "--name", "lg"], db=db)
    assert clash.exit_code == 2
    (line,) = clash.stderr.splitlines()
    assert "'lg' is taken by" in line and GOOD in line
    # re-adding a URL with another name is no silent rename
    again = run(["feeds", "add", GOOD, "--name", "x"], db=db)
    assert again.exit_code == 2 and "feeds rename lg x" in again.stderr
    assert run(["feeds", "add", BAD, "--name", "broken"], db=db).exit_code == 0
    taken = run(["feeds", "rename", "broken", "lg"], db=db)
    assert taken.exit_code == 1 and "taken" in taken.stderr
    assert run(["feeds", "rename", "lg", "arxiv-lg"], db=db).exit_code == 0
    listed = jsonl(run(["feeds", "list"], db=db).stdout)  # piped: jsonl by default
    assert [(f["url"], f["name"]) for f in listed] == [(GOOD, "arxiv-lg"), (BAD, "broken")]
    assert run(["feeds", "remove", "broken"], db=db).exit_code == 0
    assert [f["url"] for f in jsonl(run(["feeds", "list"], db=db).stdout)] == [GOOD]
    missing = run(["feeds", "rename", "nope", "x"], db=db)
    assert missing.exit_code == 1 and "no subscribed feed 'nope'" in missing.stderr


def test_feeds_add_takes_a_url_a_file_or_an_arxiv_shortcut(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    work = tmp_path / "work"
    work.mkdir()
    (work / "local.xml").write_bytes((FIXTURES / "cli" / "arxiv_cs_lg_day1.xml").read_bytes())
    monkeypatch.chdir(work)
    assert run(["feeds", "add", "local.xml"], db=db).exit_code == 0
    assert run(["feeds", "add", "cs.CL"], db=db).exit_code == 0
    assert run(["feeds", "add", "arxiv:cs.LG+stat.ML", "--name", "ml"], db=db).exit_code == 0
    for bad in ("cs.CL.txt", "nosuch/feed.xml", "ftp://example.org/feed", "lg"):
        result = run(["feeds", "add", bad], db=db)
        assert result.exit_code == 2, bad
        (line,) = result.stderr.splitlines()
        assert repr(bad) in line
        assert "URL" in line and ("arXiv category" in line or "http" in line), line
    urls = [f["url"] for f in jsonl(run(["feeds", "list"], db=db).stdout)]
    assert urls == [
        str(work / "local.xml"),
        "https://rss.arxiv.org/rss/cs.CL",
        "https://rss.arxiv.org/rss/cs.LG+stat.ML",
    ]
    # the stored absolute path works from any working directory (as under cron)
    monkeypatch.chdir(tmp_path)
    serve(monkeypatch, {})
    result = run(["ingest", "--quiet", str(work / "local.xml")], db=db)
    assert result.exit_code == 0 and count(db) == 2


def test_opml_round_trip(tmp_path):
    db = tmp_path / "t.db"
    run(["feeds", "add", GOOD, "--name", 'cs.LG & "friends" <3'], db=db)
    run(["feeds", "add", BAD], db=db)
    exported = run(["feeds", "export"], db=db)
    assert exported.exit_code == 0
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported.stdout)
    assert exported.stdout.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">'
    )
    other = tmp_path / "other.db"
    imported = run(["feeds", "import", opml], db=other)
    assert imported.exit_code == 0, imported.output
    assert "imported 2 feeds" in imported.stderr
    before = [(f["url"], f["name"]) for f in jsonl(run(["feeds", "list"], db=db).stdout)]
    after = [(f["url"], f["name"]) for f in jsonl(run(["feeds", "list"], db=other).stdout)]
    assert after == before == [(GOOD, 'cs.LG & "friends" <3'), (BAD, None)]
    again = run(["feeds", "import", opml], db=other)
    assert again.exit_code == 0 and "imported 0 feeds" in again.stderr


def test_opml_from_a_feed_reader_with_folders_and_bad_entries(tmp_path):
    db = tmp_path / "t.db"
    opml = tmp_path / "newsboat.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="1.0"><head/><body>'
        '<outline text="papers"><outline text="arXiv LG" xmlUrl="https://rss.arxiv.org/rss/cs.LG"/>'
        '<outline title="HF" xmlUrl="https://huggingface.co/api/daily_papers"/></outline>'
        '<outline text="gopher" xmlUrl="gopher://example.org/feed"/>'
        "</body></opml>"
    )
    result = run(["feeds", "import", opml], db=db)
    assert result.exit_code == 1
    assert "gopher://example.org/feed" in result.stderr and "imported 2 feeds" in result.stderr
    names = [f["name"] for f in jsonl(run(["feeds", "list"], db=db).stdout)]
    assert names == ["arXiv LG", "HF"]
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body><outline")
    bad = run(["feeds", "import", broken], db=db)
    assert bad.exit_code == 2 and "not well-formed" in bad.stderr
