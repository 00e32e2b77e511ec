"""Format detection from the content alone, one case per kind, plus what must not be taken
for a format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapt_triage.sources import READERS, detect_format, parse_bytes
from adapt_triage.sources.detect import sniff

REPO = Path(__file__).resolve().parents[1]
REALWORLD = REPO.parent / "shared" / "realworld"

REAL_FILES = {
    "arxiv-rss/arxiv_rss_quant-ph_2025-04-28_full.xml": "arxiv-rss",
    "arxiv-rss/arxiv_rss_cs.LG_2026-04-27_excerpt-3items.xml": "arxiv-rss",
    "arxiv-rss/arxiv_rss_cs.CL_2026-08-01_weekend-empty.xml": "arxiv-rss",
    "arxiv-rss/arxiv_rss_OLD-RDF_hep-ex_2018-05-23_EDITED-excerpt.xml": "arxiv-rdf",
    "arxiv-api/arxiv_api_2016-10-09_search-au-del_maestro_max10.xml": "arxiv-api",
    "arxiv-api/arxiv_api_2026-04-12_search-all-testing_max10.xml": "arxiv-api",
    "arxiv-api/arxiv_api_2026-04-12_idlist-zero-results.xml": "arxiv-api",
    "arxiv-api/arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml": "arxiv-api",
    "arxiv-api/arxiv_api_2019-01-04_error-INVALIDID.xml": "arxiv-api",
    "huggingface/hf_daily_papers_2024-03-12_raw.json": "huggingface",
    "huggingface/hf_daily_papers_2026-08-21_reserialized-indent2.json": "huggingface",
    "huggingface/hf_daily_papers_rss_UNOFFICIAL_huangboming_2026-08-08.xml": "rss",
    "other/biorxiv_rss1_genomics_2023-12-17_excerpt.xml": "rss",
    "other/semanticscholar_graph_v1_paper_batch_fields-abstract-etc.json": "semantic-scholar",
    "other/semanticscholar_graph_v1_paper_search_turing_fields-title.json": "semantic-scholar",
    "feedparser-tests/wellformed/atom10/entry_authors_name.xml": "atom",
    "feedparser-tests/wellformed/rdf/rss_version_10.xml": "rss",
    "feedparser-tests/encoding/utf-32be-bom.xml": "rss",
}


@pytest.mark.parametrize(("relative", "expected"), sorted(REAL_FILES.items()))
def test_real_files(relative, expected):
    path = REALWORLD / relative
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    data = path.read_bytes()
    assert detect_format(data) == expected
    # the name plays no part: the same bytes under another name give the same format
    assert parse_bytes(data, source="no-extension").format == expected


def test_seed_page_is_pasted():
    assert detect_format((REPO / "fixtures" / "seed_page.txt").read_bytes()) == "pasted"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"title": "t", "abstract": "a"}\n{"title": "u", "abstract": "b"}\n', "jsonl"),
        (b'{"title": "t", "abstract": "a"}', "jsonl"),
        (b'{"title": broken\n', "jsonl"),
        (b'[{"title": "t", "abstract": "a"}]', "json"),
        (b'[{"title": "t", ', "json"),
        (b"[]", "json"),
        (json.dumps([{"paper": {"id": "2401.00001"}, "title": "t"}]).encode(), "huggingface"),
        (b'{"total": 0, "offset": 0, "data": []}', "semantic-scholar"),
        (b"\xef\xbb\xbf<rss version='2.0'><channel></channel></rss>", "rss"),
        (b"<!-- c --><!DOCTYPE rss [<!ENTITY x 'y'>]><rss/>", "rss"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "atom"),
        ("<rss><channel/></rss>".encode("utf-16-le"), "rss"),
        (b"[2401.01234] A title in brackets\n\nSome text.", "pasted"),
        (b"Title\n\nAbstract.", "pasted"),
        (b"Caf\xe9 latin-1 title\n\nAn abstract in Latin-1.", "pasted"),
    ],
)
def test_crafted_inputs(data, expected):
    assert detect_format(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x1f\x8b\x08\x00" + bytes(range(200)),
        b"<!DOCTYPE html><html><head><title>x</title></head></html>",
        b"<?xml version='1.0'?><svg/>",
        b"<!-- only a comment -->",
    ],
)
def test_unknown_inputs(data):
    assert detect_format(data) is None
    result = parse_bytes(data, source="x")
    assert result.fatal and len(result.errors) == 1 and result.errors[0].startswith("x: ")


def _item(n: int) -> dict[str, str]:
    return {"title": f"Paper {n}", "abstract": f"Adapting model number {n} to a new domain."}


ONE_OF_EACH = {
    "arxiv-rss": (
        b"<rss><channel><title>cs.LG updates</title>"
        b"<link>https://rss.arxiv.org/rss/cs.LG</link></channel></rss>",
        ("arxiv-rss", 0),
    ),
    "arxiv-rdf": (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<item rdf:about="http://arxiv.org/abs/1805.01234"><title>T. (arXiv:1805.01234 '
        b"[hep-ex])</title></item></rdf:RDF>",
        ("arxiv-rdf", 1),
    ),
    "arxiv-api": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        b'<link href="http://arxiv.org/api/query"/><title>query</title></feed>',
        ("arxiv-api", 0),
    ),
    "rss": (b"<rss version='2.0'><channel><title>c</title></channel></rss>", ("rss", 0)),
    "atom": (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title></feed>', ("atom", 0)),
    "huggingface": (
        json.dumps([{"paper": {"id": "2401.00001"}, "title": "t"}]).encode(),
        ("huggingface", 0),
    ),
    "semantic-scholar": (b'{"total": 0, "offset": 0, "data": []}', ("semantic-scholar", 0)),
    "jsonfeed": (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', ("jsonfeed", 0)),
    "json": (json.dumps([_item(1)]).encode(), ("json", 1)),
    "json-stream": (json.dumps([_item(n) for n in range(20_000)]).encode(), ("json", 20_000)),
    "jsonl": (json.dumps(_item(1)).encode() + b"\n" + json.dumps(_item(2)).encode(), ("jsonl", 2)),
    "pasted": (
        b"A Title\n\n" + b"Adapters are small modules in a frozen network. " * 4,
        ("pasted", 1),
    ),
}


def test_every_format_detection_names_has_a_reader_in_the_registry():
    named = {sniff(data).format for data, _ in ONE_OF_EACH.values()}
    assert named == set(ONE_OF_EACH) == set(READERS)


@pytest.mark.parametrize("name", sorted(ONE_OF_EACH))
def test_each_format_is_read_by_its_registered_reader(name):
    data, (result_format, papers) = ONE_OF_EACH[name]
    assert sniff(data).format == name
    result = parse_bytes(data, source="one-of-each")
    assert not any("could not be read" in error for error in result.errors)
    assert (result.format, len(result.papers)) == (result_format, papers)
