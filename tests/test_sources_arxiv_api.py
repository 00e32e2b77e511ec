"""arXiv API Atom responses (legacy and 2026 serialisations) read from real bytes.

Every entry is checked against the file itself, read independently with ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from adapt_triage.sources import detect_format, parse_bytes

API_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "arxiv-api"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"

EXPECTED_COUNTS = {
    "arxiv_api_2016-10-09_search-au-del_maestro_max10.xml": 10,
    "arxiv_api_2018-02-05_search-all-Einstein_max10.xml": 10,
    "arxiv_api_2019-01-04_idlist-astro-ph-9812133.xml": 1,
    "arxiv_api_2026-04-12_idlist-2ids-1found.xml": 1,
    "arxiv_api_2026-04-12_idlist-zero-results.xml": 0,
    "arxiv_api_2026-04-12_search-all-testing_max10.xml": 10,
    "arxiv_api_2026-04-12_search-all-testing_max100.xml": 100,
    "arxiv_api_2026-04-30_search-cat-cs.LG-OR-cs.AI_max20.xml": 20,
}
ERROR_FEEDS = {
    "arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml": "incorrect id format for abc",
    "arxiv_api_2019-01-04_error-INVALIDID.xml": "incorrect id format for INVALIDID",
}


def _path(name: str) -> Path:
    path = API_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def _parse(name: str):
    return parse_bytes(_path(name).read_bytes(), source=name)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def test_every_api_file_is_covered():
    if not API_DIR.is_dir():
        pytest.skip("realworld samples are not beside the repository")
    assert {p.name for p in API_DIR.glob("*.xml")} == set(EXPECTED_COUNTS) | set(ERROR_FEEDS)


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_entries_match_the_file(name):
    data = _path(name).read_bytes()
    assert detect_format(data) == "arxiv-api"
    result = parse_bytes(data, source=name)
    entries = ET.fromstring(data).findall(f"{ATOM}entry")
    assert result.format == "arxiv-api"
    assert not result.fatal and result.errors == [] and result.warnings == []
    assert result.item_count == len(entries) == len(result.papers) == EXPECTED_COUNTS[name]
    for paper, entry in zip(result.papers, entries, strict=True):
        arxiv_id, version = re.fullmatch(
            r"https?://arxiv\.org/abs/(.+)v(\d+)", entry.findtext(f"{ATOM}id")
        ).groups()
        assert (paper.arxiv_id, paper.version) == (arxiv_id, int(version))
        assert paper.title == _collapse(entry.findtext(f"{ATOM}title"))
        assert paper.abstract == _collapse(entry.findtext(f"{ATOM}summary"))
        assert paper.authors == [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]
        published = entry.findtext(f"{ATOM}published")
        assert paper.published == published.replace("Z", "+00:00")
        primary = entry.find(f"{ARXIV}primary_category").get("term")
        assert paper.categories[0] == primary
        assert set(paper.categories) == {c.get("term") for c in entry.findall(f"{ATOM}category")}
        doi = entry.findtext(f"{ARXIV}doi")
        assert paper.doi == (doi.lower() if doi else None)
        assert paper.source == name


@pytest.mark.parametrize("name", sorted(ERROR_FEEDS))
def test_error_feed_is_fatal_with_arxiv_message(name):
    data = _path(name).read_bytes()
    assert detect_format(data) == "arxiv-api"
    result = parse_bytes(data, source=name)
    assert result.fatal is True
    assert result.papers == []
    assert len(result.errors) == 1
    assert result.errors[0] == f"{name}: arXiv API error: {ERROR_FEEDS[name]}"


def test_zero_results_is_not_an_error():
    result = _parse("arxiv_api_2026-04-12_idlist-zero-results.xml")
    assert result.fatal is False and result.item_count == 0 and result.errors == []
    assert result.feed_date == "2026-04-12T22:09:26+00:00"


def test_new_serialisation_spot_checks():
    result = _parse("arxiv_api_2026-04-12_search-all-testing_max10.xml")
    paper = result.papers[0]
    assert paper.arxiv_id == "2202.12139" and paper.version == 1
    assert paper.title == (
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert paper.abstract.startswith("Deep Learning (DL) has revolutionized the capabilities")
    assert paper.published == "2022-02-24T15:05:19+00:00"
    assert paper.categories == ["cs.SE", "cs.LG"]
    assert paper.url == "https://arxiv.org/abs/2202.12139v1"
    assert paper.doi == "10.1109/icstw55395.2022.00035"
    # UTF-8 decoded properly
    assert any("Aurora Ramírez" in p.authors for p in result.papers)


def test_legacy_serialisation_spot_checks():
    paper = _parse("arxiv_api_2016-10-09_search-au-del_maestro_max10.xml").papers[0]
    assert paper.arxiv_id == "1201.4869" and paper.version == 1
    assert paper.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert paper.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes")
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.authors == ["Adrian Del Maestro"]
    assert paper.doi == "10.1142/s021797921244002x"
    assert paper.id == "arxiv:1201.4869"


def test_old_style_identifier():
    paper = _parse("arxiv_api_2019-01-04_idlist-astro-ph-9812133.xml").papers[0]
    assert (paper.arxiv_id, paper.version) == ("astro-ph/9812133", 1)
    assert paper.title == "Measurements of Omega and Lambda from 42 High-Redshift Supernovae"
    assert paper.authors[:2] == ["S. Perlmutter", "G. Aldering"]
    assert len(paper.authors) == 32
    assert paper.doi == "10.1086/307221"


def test_latex_less_than_survives_in_api_summary():
    result = _parse("arxiv_api_2026-04-12_search-all-testing_max100.xml")
    assert any("$γ(u)<γ(v)$, it holds $y(u)<y(v)$" in p.abstract for p in result.papers)
