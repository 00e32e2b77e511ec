"""Generic RSS/Atom through feedparser: bioRxiv RSS 1.0, feedparser's own test corpus
(encodings, entities, ill-formed and sanitiser cases) and hand-made feeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapt_triage.sources import ParseResult, detect_format, parse_bytes
from adapt_triage.sources.common import html_to_text, split_authors
from adapt_triage.sources.feeds import detail_text, run_feedparser

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"
FEEDPARSER_TESTS = REALWORLD / "feedparser-tests"
CORPUS = sorted(FEEDPARSER_TESTS.rglob("*.xml")) if FEEDPARSER_TESTS.is_dir() else []
HEADER_RE = re.compile(r"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def _leading_comment(data: bytes) -> str:
    """The test's leading comment, whatever the file's encoding (UTF-16/32 included)."""
    for codec in ("utf-32", "utf-16") if data[:4].count(b"\x00") else ():
        try:
            return data.decode(codec)[:2000]
        except UnicodeDecodeError:
            continue
    return data[:2000].decode("latin-1")


def _headers(data: bytes) -> dict[str, str] | None:
    match = HEADER_RE.search(_leading_comment(data))
    return {match.group(1): match.group(2)} if match else None


def _parse_corpus(relative: str) -> ParseResult:
    path = FEEDPARSER_TESTS / relative
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    data = path.read_bytes()
    return parse_bytes(data, source=relative, headers=_headers(data))


def test_corpus_is_present():
    if not FEEDPARSER_TESTS.is_dir():
        pytest.skip("realworld samples are not beside the repository")
    assert len(CORPUS) == 66


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(FEEDPARSER_TESTS)))
def test_every_corpus_file_gives_a_clean_result(path):
    data = path.read_bytes()
    source = str(path.relative_to(FEEDPARSER_TESTS))
    result = parse_bytes(data, source=source, headers=_headers(data))
    assert isinstance(result, ParseResult)
    for message in result.errors + result.warnings:
        assert message.startswith(f"{source}: ")
        assert "\n" not in message
    if result.fatal:
        assert result.papers == [] and result.errors
    for paper in result.papers:
        assert paper.title and paper.source == source
    assert result.item_count >= len(result.papers)


@pytest.mark.parametrize(
    ("relative", "title"),
    [
        ("encoding/euc-kr.xml", "\ub144"),
        ("encoding/http_i18n.xml", "Iñtërnâtiônàlizætiøn"),
        ("encoding/bozo_invalid-bytes-with-bom.xml", None),
        ("entities/8217.xml", "testing \u2019 entity"),
        ("entities/empty.xml", "testing \u2205 entity"),
        ("illformed/always_strip_doctype.xml", "found"),
        ("wellformed/rss/channel_title.xml", "Example feed"),
    ],
)
def test_feed_titles_decode_to_the_expected_unicode(relative, title):
    result = _parse_corpus(relative)
    assert not result.fatal
    if title is None:  # invalid bytes after a BOM: the valid part still reads
        assert result.feed_title.startswith("Valid UTF8: Ñ")
    else:
        assert result.feed_title == title


def test_header_charset_is_passed_to_feedparser():
    path = FEEDPARSER_TESTS / "encoding/http_text_xml_charset_overrides_encoding.xml"
    if not path.is_file():
        pytest.skip("corpus not available")
    data = path.read_bytes()
    assert _headers(data) == {"Content-type": "text/xml;charset = us-ascii"}
    parsed = run_feedparser(data, _headers(data))
    assert parsed.encoding == "us-ascii" and not parsed.bozo
    assert run_feedparser(data, None).encoding == "iso-8859-1"


@pytest.mark.parametrize(
    "relative", ["encoding/utf-16be-autodetect.xml", "encoding/utf-16le-bom.xml"]
)
def test_utf16_feeds_are_detected_as_feeds(relative):
    path = FEEDPARSER_TESTS / relative
    if not path.is_file():
        pytest.skip("corpus not available")
    assert detect_format(path.read_bytes()) == "rss"
    assert _parse_corpus(relative).fatal is False


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("encoding/demoronize-1.xml", "don\u2019t"),
        ("encoding/double-encoded-html.xml", "\u2026"),
        ("wellformed/sanitize/entry_content_script.xml", "safe description"),
        ("wellformed/sanitize/entry_content_script_base64.xml", "safe description"),
        ("wellformed/sanitize/entry_content_script_cdata.xml", "safe description"),
        ("wellformed/sanitize/entry_content_iframe.xml", "safe description"),
        ("wellformed/sanitize/entry_summary_script_map_description.xml", "safe description"),
        ("wellformed/sanitize/entry_content_style.xml", "never trust your upstream platypus"),
        ("wellformed/atom10/entry_content_escaped_markup.xml", "Example Atom"),
    ],
)
def test_entry_html_becomes_plain_text_without_scripts(relative, expected):
    path = FEEDPARSER_TESTS / relative
    if not path.is_file():
        pytest.skip("corpus not available")
    entry = run_feedparser(path.read_bytes(), None).entries[0]
    content = (entry.get("content") or [None])[0] or {
        "value": entry.get("summary"),
        "type": entry.summary_detail.type,
    }
    assert detail_text(content["value"], content) == expected


def test_crazy_html_loses_every_script():
    path = FEEDPARSER_TESTS / "wellformed/sanitize/entry_content_crazy.xml"
    if not path.is_file():
        pytest.skip("corpus not available")
    content = run_feedparser(path.read_bytes(), None).entries[0].content[0]
    text = detail_text(content["value"], content)
    assert "executeMe" not in text and "alert" not in text and "<" not in text
    assert text.startswith("Crazy HTML -- Can Your Regex Parse This?")


def test_entry_without_title_is_an_error_for_that_item_only():
    data = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Mixed</title>
<item><title>First</title><description>One.</description></item>
<item><description>No title here.</description></item>
<item><title>Third</title><description>&lt;p&gt;Three &amp;amp; more&lt;/p&gt;</description></item>
</channel></rss>"""
    result = parse_bytes(data, source="mixed.xml")
    assert result.format == "rss" and not result.fatal
    assert [p.title for p in result.papers] == ["First", "Third"]
    assert result.papers[1].abstract == "Three & more"
    assert result.errors == ["mixed.xml: item 2: entry without a title"]
    assert result.item_count == 3


def test_truncated_feed_keeps_what_was_read_with_a_warning():
    data = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Cut</title>
<item><title>Whole item</title><description>Read fine.</description></item>
<item><title>Cut off"""
    result = parse_bytes(data, source="cut.xml")
    assert not result.fatal
    assert result.papers[0].title == "Whole item"
    assert any("not well-formed" in w for w in result.warnings)


def test_broken_markup_with_nothing_readable_is_fatal():
    result = parse_bytes(b"<rss><<<>>>&&&", source="junk.xml")
    assert result.fatal and result.papers == []
    assert result.errors[0].startswith("junk.xml: ")


def test_atom_feed_with_arxiv_links_and_doi():
    data = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Reading &lt;i&gt;list&lt;/i&gt;</title>
  <updated>2026-05-01T08:00:00+02:00</updated>
  <entry>
    <title type="html">Low-Rank &lt;em&gt;Adaptation&lt;/em&gt;</title>
    <id>tag:example.org,2026:1</id>
    <link href="https://arxiv.org/abs/2106.09685v2"/>
    <link rel="related" href="https://doi.org/10.48550/arXiv.2106.09685"/>
    <author><name>Edward Hu</name></author>
    <author><name>Yelong Shen</name></author>
    <published>2021-06-17T17:37:18Z</published>
    <summary type="html">We propose &lt;b&gt;LoRA&lt;/b&gt;,
      with $W_0 + BA$ where $r &lt; d$.</summary>
  </entry>
</feed>"""
    assert detect_format(data) == "atom"
    result = parse_bytes(data, source="atom.xml")
    assert result.feed_title == "Reading list"
    assert result.feed_date == "2026-05-01T08:00:00+02:00"
    paper = result.papers[0]
    assert paper.title == "Low-Rank Adaptation"
    assert paper.abstract == "We propose LoRA, with $W_0 + BA$ where $r < d$."
    assert (paper.arxiv_id, paper.version) == ("2106.09685", 2)
    assert paper.doi == "10.48550/arxiv.2106.09685"
    assert paper.authors == ["Edward Hu", "Yelong Shen"]
    assert paper.published == "2021-06-17T17:37:18+00:00"


def test_biorxiv_rss1():
    path = REALWORLD / "other" / "biorxiv_rss1_genomics_2023-12-17_excerpt.xml"
    if not path.is_file():
        pytest.skip("sample not available")
    data = path.read_bytes()
    assert detect_format(data) == "rss"
    result = parse_bytes(data, source="biorxiv")
    assert result.item_count == 1 and result.errors == [] and not result.fatal
    assert result.feed_title == "bioRxiv Subject Collection: Genomics"
    paper = result.papers[0]
    assert paper.title.startswith("Complete genome of the Medicago anthracnose fungus")
    assert paper.abstract.startswith("Colletotrichum destructivum (Cd) is a phytopathogenic")
    assert paper.abstract.endswith("in this asexual fungal pathogen.")
    assert paper.doi == "10.1101/2023.12.16.571984"
    assert paper.id == "doi:10.1101/2023.12.16.571984"
    assert paper.arxiv_id is None
    assert paper.published == "2023-12-16"
    assert paper.authors[:3] == ["LAPALU, N.", "SIMON, A.", "Lu, A."]
    assert paper.authors[-1] == "O'Connell, R. J."
    assert len(paper.authors) == 10


def test_html_to_text_keeps_latex_and_decodes_entities():
    assert html_to_text("<p>$a<b$ and $c>d$ &amp; x</p>") == "$a<b$ and $c>d$ & x"
    assert html_to_text("H<sub>2</sub>O<br/>next &lt;tag&gt;") == "H2O next <tag>"
    assert html_to_text("a &nota b &para;") == "a &nota b \u00b6"
    assert html_to_text("x<script>alert(1)</script>y<!-- c -->z") == "x y z"


def test_split_authors():
    assert split_authors("A. One, B. Two and C. Three") == ["A. One", "B. Two", "C. Three"]
    assert split_authors("Ann Lee (MIT, USA), Bo Wu (ETH, Zurich, CH)") == ["Ann Lee", "Bo Wu"]
    assert split_authors('<a href="x">Ann Lee</a>, Anand Rao') == ["Ann Lee", "Anand Rao"]
    assert split_authors("") == []
