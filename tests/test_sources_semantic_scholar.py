"""Semantic Scholar Graph API JSON: a paper batch with a not-found `null`, and a search page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapt_triage.sources import detect_format, parse_bytes

OTHER = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "other"
BATCH = "semanticscholar_graph_v1_paper_batch_fields-abstract-etc.json"
SEARCH = "semanticscholar_graph_v1_paper_search_turing_fields-title.json"


def _data(name: str) -> bytes:
    path = OTHER / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def test_batch_with_a_null_for_an_unknown_id():
    data = _data(BATCH)
    assert detect_format(data) == "semantic-scholar"
    result = parse_bytes(data, source="s2")
    items = json.loads(data)
    assert result.item_count == 4 and len(result.papers) == 3
    assert result.errors == [] and not result.fatal
    assert result.warnings == ["s2: item(s) 1: null (not found by Semantic Scholar)"]
    for paper, item in zip(result.papers, items[1:], strict=True):
        assert paper.title == item["title"]
        assert paper.abstract == " ".join(item["abstract"].split())
        assert paper.doi == item["externalIds"]["DOI"].lower()
        assert paper.authors == [a["name"] for a in item["authors"]]
        assert paper.published == item["publicationDate"]
    first = result.papers[0]
    assert first.title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert first.id == "doi:10.2139/ssrn.288970"
    assert first.abstract.startswith("Most Difference-in-Difference (DD) papers rely on")


def test_search_envelope_titles_only():
    data = _data(SEARCH)
    assert detect_format(data) == "semantic-scholar"
    result = parse_bytes(data, source="s2")
    assert result.item_count == 100 == len(result.papers)
    assert result.papers[0].title.startswith("Using DeepSpeed and Megatron to Train Megatron")
    assert all(p.abstract == "" for p in result.papers)
    assert result.warnings == ["s2: 100 paper(s) without an abstract"]


def test_arxiv_id_from_external_ids():
    data = json.dumps(
        {
            "total": 1,
            "offset": 0,
            "data": [
                {
                    "paperId": "x",
                    "title": "LoRA",
                    "abstract": "Low-rank adaptation.",
                    "externalIds": {"ArXiv": "2106.09685", "DOI": "10.48550/arXiv.2106.09685"},
                }
            ],
        }
    ).encode()
    paper = parse_bytes(data, source="s2").papers[0]
    assert paper.arxiv_id == "2106.09685"
    assert paper.url == "https://arxiv.org/abs/2106.09685"
