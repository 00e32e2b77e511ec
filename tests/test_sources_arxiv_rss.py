"""arXiv announcement feeds (rss.arxiv.org 2024+ and the old RDF feed) read from real bytes.

Every item is checked against the file itself, read independently with ElementTree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from adapt_triage.sources import detect_format, parse_bytes

RSS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "arxiv-rss"
QUANT_PH = "arxiv_rss_quant-ph_2025-04-28_full.xml"
EXCERPTS = [
    "arxiv_rss_cs.LG_2026-04-27_excerpt-3items.xml",
    "arxiv_rss_cs.CL_2026-04-27_excerpt-3items.xml",
    "arxiv_rss_cs.AI_2026-04-27_excerpt-3items.xml",
]
WEEKEND = "arxiv_rss_cs.CL_2026-08-01_weekend-empty.xml"
OLD_RDF = "arxiv_rss_OLD-RDF_hep-ex_2018-05-23_EDITED-excerpt.xml"
NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}


def _path(name: str) -> Path:
    path = RSS_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def _parse(name: str):
    return parse_bytes(_path(name).read_bytes(), source=name)


def _items(name: str) -> list[ET.Element]:
    return ET.parse(_path(name)).getroot().findall("channel/item")


def _collapse(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", [QUANT_PH, *EXCERPTS, WEEKEND])
def test_new_format_items_match_the_file(name):
    result = _parse(name)
    items = _items(name)
    assert result.format == "arxiv-rss"
    assert not result.fatal and result.errors == []
    assert result.item_count == len(items) == len(result.papers)
    for paper, item in zip(result.papers, items, strict=True):
        guid = item.findtext("guid")
        arxiv_id, version = re.fullmatch(r"oai:arXiv\.org:(.+)v(\d+)", guid).groups()
        assert (paper.arxiv_id, paper.version) == (arxiv_id, int(version))
        assert paper.title == _collapse(item.findtext("title"))
        description = item.findtext("description")
        assert paper.abstract == _collapse(description.split("Abstract:", 1)[1])
        assert "Announce Type" not in paper.abstract
        assert paper.announce_type == item.findtext("arxiv:announce_type", namespaces=NS)
        assert paper.categories == [c.text for c in item.findall("category")]
        assert paper.url == item.findtext("link")
        assert paper.source == name
        assert paper.published is not None and paper.published.endswith("-04:00")
        doi = item.findtext("arxiv:DOI", namespaces=NS)
        assert paper.doi == (doi.lower() if doi else None)
        creators = item.findtext("dc:creator", namespaces=NS)
        if "(" not in creators:
            expected = [_collapse(name) for name in creators.split(",") if name.strip()]
            assert paper.authors == expected


def test_quant_ph_counts_by_announce_type():
    result = _parse(QUANT_PH)
    assert result.item_count == 81
    assert Counter(p.announce_type for p in result.papers) == {
        "new": 40,
        "cross": 10,
        "replace": 22,
        "replace-cross": 9,
    }
    assert result.feed_title == "quant-ph updates on arXiv.org"
    assert result.feed_date == "2025-04-28T00:00:00-04:00"
    assert result.skip_days == ["Saturday", "Sunday"]


def test_quant_ph_spot_checks():
    papers = {p.arxiv_id: p for p in _parse(QUANT_PH).papers}
    first = papers["2504.17830"]
    assert first.title == "Self-Adjoint Time Operator in a Weighted Energy Space"
    assert first.abstract.startswith(
        r"We introduce a self-adjoint time operator \(T_w = i\hbar\bigl(\partial_E"
    )
    assert first.authors == ["Radmir Kokoulin"]
    assert first.published == "2025-04-28T00:00:00-04:00"
    assert first.id == "arxiv:2504.17830"

    replaced = papers["2312.01259"]
    assert replaced.version == 3
    assert replaced.announce_type == "replace-cross"
    assert replaced.doi == "10.1103/physrevlett.132.241601"
    assert replaced.authors == ["Fumika Suzuki", "Wojciech H. Zurek"]

    # LaTeX with "<" survives (feedparser's HTML sanitiser would have eaten it)
    assert r"($0< \delta \ll 1$)" in papers["2504.18135"].abstract
    # LaTeX accents in names are kept as received
    assert any(r"Jakob G\"unther" in p.authors for p in papers.values())


def test_authors_with_affiliations_containing_commas():
    papers = {p.arxiv_id: p for p in _parse(QUANT_PH).papers}
    assert papers["2504.18264"].authors == [
        "M. R. Nirmal",
        "Ankit Khandelwal",
        "Manoj Nambiar",
        "Sharma S. R. K. C. Yamijala",
    ]


def test_excerpt_spot_check():
    result = _parse("arxiv_rss_cs.LG_2026-04-27_excerpt-3items.xml")
    paper = result.papers[0]
    assert paper.arxiv_id == "2604.21952" and paper.version == 1
    assert paper.title.startswith("Focus Session: Hardware and Software Techniques")
    assert paper.abstract.startswith("This work presents a multi-layered methodology")
    assert paper.categories == ["cs.LG", "cs.AI", "cs.AR", "cs.NE", "cs.RO"]
    assert paper.authors[0] == "Muhammad Shafique" and len(paper.authors) == 6
    assert result.feed_date == "2026-04-27T00:00:00-04:00"


def test_excerpt_with_double_space_in_author_list():
    result = _parse("arxiv_rss_cs.CL_2026-04-27_excerpt-3items.xml")
    authors = [a for p in result.papers for a in p.authors]
    assert "Deepti" in authors
    assert all(a == a.strip() and "  " not in a for a in authors)


def test_weekend_feed_is_empty_but_not_broken():
    result = _parse(WEEKEND)
    assert result.fatal is False
    assert result.item_count == 0 and result.papers == [] and result.errors == []
    assert result.skip_days == ["Sunday", "Saturday"]
    assert result.feed_date == "2026-08-01T00:00:00-04:00"
    assert result.feed_title == "cs.CL updates on arXiv.org"


def test_old_rdf_feed():
    data = _path(OLD_RDF).read_bytes()
    assert detect_format(data) == "arxiv-rdf"
    result = parse_bytes(data, source=OLD_RDF)
    assert result.item_count == 3 and not result.fatal and result.errors == []
    assert result.feed_date == "2018-05-23T20:30:00-05:00"
    new, cross, updated = result.papers
    assert new.title == "Measurement of Transverse Single Spin Asymmetries"
    assert (new.arxiv_id, new.version, new.announce_type) == ("1805.08875", 1, "new")
    assert new.authors == ["Christopher Dilks"]
    assert new.abstract.startswith("In 2015 the first collisions between polarized protons")
    assert "<p>" not in new.abstract
    assert r"range of $2.6<\eta<4$. Within" in new.abstract
    assert cross.title == "Recent Top quark results from the Tevatron"
    assert (cross.arxiv_id, cross.announce_type) == ("1805.09166", "cross")
    assert cross.abstract == "We present recent measurements"
    assert updated.title == "New Perspective on Hybrid Mesons"
    assert (updated.arxiv_id, updated.version, updated.announce_type) == (
        "1805.06430",
        2,
        "replace",
    )
    assert updated.categories == ["nucl-th"]
    assert updated.authors == [
        "Shu-Sheng Xu",
        "Zhu-Fang Cui",
        "Lei Chang",
        "Joannis Papavassiliou",
        "Craig D. Roberts",
        "Hong-Shi Zong",
    ]


def test_atom_flavour_of_the_announcement_feed():
    # rss.arxiv.org/atom/<cat>: same content as the RSS flavour, in Atom elements
    data = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
      xmlns="http://www.w3.org/2005/Atom">
  <id>http://rss.arxiv.org/atom/cs.LG</id>
  <title>cs.LG updates on arXiv.org</title>
  <updated>2026-04-27T04:00:01.000Z</updated>
  <entry>
    <id>oai:arXiv.org:2604.00001v2</id>
    <title>Adapters All the Way Down</title>
    <updated>2026-04-27T04:00:01.000Z</updated>
    <link href="https://arxiv.org/abs/2604.00001" rel="alternate" type="text/html"/>
    <summary>arXiv:2604.00001v2 Announce Type: replace
Abstract: We stack adapters with $k&lt;n$ layers.</summary>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom/"/>
    <published>2026-04-27T00:00:00-04:00</published>
    <arxiv:announce_type>replace</arxiv:announce_type>
    <dc:creator>Ann Lee, Bo Wu and Cy Diaz</dc:creator>
  </entry>
</feed>"""
    assert detect_format(data) == "arxiv-rss"
    result = parse_bytes(data, source="atom")
    assert result.feed_date == "2026-04-27T04:00:01+00:00"
    paper = result.papers[0]
    assert (paper.arxiv_id, paper.version, paper.announce_type) == ("2604.00001", 2, "replace")
    assert paper.abstract == "We stack adapters with $k<n$ layers."
    assert paper.authors == ["Ann Lee", "Bo Wu", "Cy Diaz"]
    assert paper.categories == ["cs.LG"]
    assert paper.published == "2026-04-27T00:00:00-04:00"
