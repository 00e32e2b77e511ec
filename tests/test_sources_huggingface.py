"""Hugging Face daily papers: the official JSON (three schemas) and an unofficial RSS feed."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from adapt_triage.sources import detect_format, parse_bytes

HF_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "huggingface"
JSON_COUNTS = {
    "hf_daily_papers_2024-03-12_raw.json": 9,
    "hf_daily_papers_2026-08-21_reserialized-indent2.json": 17,
    "hf_daily_papers_2026-07-31_recorded-5items.json": 5,
}
RSS = "hf_daily_papers_rss_UNOFFICIAL_huangboming_2026-08-08.xml"


def _path(name: str) -> Path:
    path = HF_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


@pytest.mark.parametrize("name", sorted(JSON_COUNTS))
def test_daily_papers_json_matches_the_file(name):
    data = _path(name).read_bytes()
    assert detect_format(data) == "huggingface"
    result = parse_bytes(data, source=name)
    items = json.loads(data)
    assert result.format == "huggingface"
    assert not result.fatal and result.errors == []
    assert result.item_count == len(items) == len(result.papers) == JSON_COUNTS[name]
    for paper, item in zip(result.papers, items, strict=True):
        inner = item["paper"]
        assert paper.arxiv_id == inner["id"]
        assert paper.url == f"https://arxiv.org/abs/{inner['id']}"
        assert paper.title == " ".join((item.get("title") or inner["title"]).split())
        assert paper.abstract == " ".join(inner["summary"].split())
        assert paper.authors == [a["name"] for a in inner["authors"]]
        assert paper.published[:19] == inner["publishedAt"][:19]
        assert paper.source == name


def test_2024_spot_check():
    result = parse_bytes(_path("hf_daily_papers_2024-03-12_raw.json").read_bytes(), source="hf")
    paper = result.papers[0]
    assert paper.arxiv_id == "2403.06634"
    assert paper.title == "Stealing Part of a Production Language Model"
    assert paper.abstract.startswith("We introduce the first model-stealing attack")
    assert paper.authors[0] == "Nicholas Carlini"
    assert "Florian Tramèr" in paper.authors
    assert paper.published == "2024-03-11T11:46:12+00:00"
    assert paper.id == "arxiv:2403.06634"


def test_items_without_title_are_errors_others_kept():
    data = json.dumps(
        [
            {"paper": {"id": "2401.00001", "title": "Kept", "summary": "An abstract."}},
            {"paper": {"id": "2401.00002", "summary": "No title anywhere."}},
            {"paper": {"id": "2401.00003", "summary": "Title at top level."}, "title": "Top"},
            "not an object",
        ]
    ).encode()
    result = parse_bytes(data, source="hf.json")
    assert result.format == "huggingface"
    assert [p.title for p in result.papers] == ["Kept", "Top"]
    assert result.item_count == 4
    assert result.errors == [
        "hf.json: item 2: missing or empty title",
        "hf.json: item 4: not a JSON object",
    ]
    assert result.fatal is False


def test_empty_day_is_not_fatal():
    result = parse_bytes(b"[]", source="hf.json")
    assert result.fatal is False and result.item_count == 0 and result.papers == []


def test_unofficial_rss_feed():
    data = _path(RSS).read_bytes()
    assert detect_format(data) == "rss"
    result = parse_bytes(data, source=RSS)
    items = ET.fromstring(data).findall("channel/item")
    assert result.item_count == 30 == len(items) == len(result.papers)
    assert result.errors == [] and not result.fatal
    assert result.feed_date == "2026-08-08T00:40:03+00:00"
    for paper, item in zip(result.papers, items, strict=True):
        description = item.findtext("description")
        summary = re.search(r"<b>Summary:</b>(.*?)</p>", description, re.DOTALL).group(1)
        assert paper.abstract == " ".join(html.unescape(summary).split())
        authors = re.search(r"<b>Authors:</b>(.*?)</p>", description, re.DOTALL).group(1)
        assert paper.authors == [a.strip() for a in authors.split(",")]
        assert paper.title == item.findtext("title")
        assert paper.arxiv_id == item.findtext("link").rsplit("/", 1)[1]
    first = result.papers[0]
    assert first.title.startswith("OSReward: Instituting Standardized Evaluation")
    assert first.abstract.startswith("Computer-using agents (CUAs) are advancing rapidly")
    assert first.published == "2026-07-30T00:00:00+00:00"
