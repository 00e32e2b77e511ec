"""JSON Feed (jsonfeed.org 1 and 1.1) is read as a feed: its items become papers and its
title is the channel, never a paper.

`fixtures/sources/jsonfeed_v1_1.json` holds the first three papers of the real listing
`../shared/realworld/arxiv-days/2026-03-02.jsonl` (title, abstract, authors, categories
verbatim; the second abstract as `content_html`) in a JSON Feed 1.1 written for this test;
`jsonfeed_v1.json` is a version-1 feed with `author` (singular), a DOI `external_url` and
an item without a title (micro-posts have none)."""

from __future__ import annotations

import json
import sqlite3

from conftest import FIXTURES
from helpers import run

from adapt_triage.sources import detect_format, parse_bytes

V1_1 = FIXTURES / "sources/jsonfeed_v1_1.json"
V1 = FIXTURES / "sources/jsonfeed_v1.json"


def test_items_become_papers_and_the_title_is_the_channel():
    data = V1_1.read_bytes()
    feed = json.loads(data)
    result = parse_bytes(data, source="feed.json")
    assert detect_format(data) == result.format == "jsonfeed"
    assert result.feed_title == "Reading group: papers of the week"
    assert result.item_count == 3 and not result.errors and not result.fatal
    assert [p.title for p in result.papers] == [i["title"] for i in feed["items"]]
    assert [p.arxiv_id for p in result.papers] == ["2602.24024", "2602.24092", "2602.24169"]
    first, second, _ = result.papers
    assert first.abstract.startswith("Independent media are central to democratic")
    assert "\n" not in first.abstract  # whitespace collapsed like every reader
    assert first.authors == ["Damien Berriaud", "Roger Wattenhofer"]
    assert first.categories == ["cs.GT", "cs.SI"]
    assert first.published == "2026-03-02T00:00:00+00:00"
    assert "<p>" not in second.abstract and second.abstract.startswith("While recent reductions")
    assert all(p.title != result.feed_title for p in result.papers)


def test_version_1_author_doi_and_an_item_without_title():
    result = parse_bytes(V1.read_bytes(), source="blog.json")
    assert result.format == "jsonfeed" and result.feed_title == "Lab blog"
    assert result.errors == ["blog.json: item 2: missing or empty title"]
    (paper,) = result.papers
    assert paper.doi == "10.1145/3534678.3539157" and paper.id == "doi:10.1145/3534678.3539157"
    assert paper.authors == ["A. Author"] and paper.url == "https://example.org/blog/17"


def test_an_empty_or_broken_json_feed():
    empty = b'{"version": "https://jsonfeed.org/version/1.1", "title": "Quiet", "items": []}'
    result = parse_bytes(empty, source="quiet.json")
    assert result.format == "jsonfeed" and result.papers == [] and not result.fatal
    broken = b'{"version": "https://jsonfeed.org/version/1", "title": "X", "items": {}}'
    result = parse_bytes(broken, source="x.json")
    assert result.fatal and result.errors == ["x.json: JSON Feed without an items list"]


def test_ingest_stores_the_items_not_the_feed(tmp_path):
    db = tmp_path / "t.db"
    result = run(["ingest", V1_1], db=db)
    assert result.exit_code == 0, result.output
    assert "items 3, new 3" in result.stderr
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM papers ORDER BY id")]
    assert ids == ["arxiv:2602.24024", "arxiv:2602.24092", "arxiv:2602.24169"]
    result = run(["ingest", V1], db=db)
    assert result.exit_code == 1
    assert f"{V1}: item 2: missing or empty title" in result.stderr
    assert "Traceback" not in result.output
    with sqlite3.connect(db) as conn:
        titles = [r[0] for r in conn.execute("SELECT title FROM papers")]
    assert "Our KDD paper on adapters" in titles and "Lab blog" not in titles
