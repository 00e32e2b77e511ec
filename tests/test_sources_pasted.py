"""Pasted papers pages: title line, blank line, abstract paragraph; page chrome skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapt_triage.sources import detect_format, parse_bytes

REPO = Path(__file__).resolve().parents[1]
SEED_PAGE = REPO / "fixtures" / "seed_page.txt"
FIXTURES = REPO / "fixtures" / "sources"


def _seed_pairs() -> list[tuple[str, str]]:
    """(title, abstract) pairs read straight from the page: after the chrome, every
    non-blank line alternates title, abstract."""
    lines = [line for line in SEED_PAGE.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = lines.index("Aug 11") + 1
    body = lines[start:]
    return list(zip(body[::2], body[1::2], strict=True))


def test_seed_page_gives_exactly_its_71_papers():
    data = SEED_PAGE.read_bytes()
    assert detect_format(data) == "pasted"
    result = parse_bytes(data, source="seed_page.txt")
    assert result.format == "pasted"
    assert result.errors == [] and result.warnings == [] and not result.fatal
    assert result.item_count == 71
    expected = _seed_pairs()
    assert len(expected) == 71
    assert [(p.title, p.abstract) for p in result.papers] == expected
    assert all(p.source == "seed_page.txt" for p in result.papers)
    titles = [p.title for p in result.papers]
    assert (
        "Uni-Perceiver v2: A Generalist Model for Large-Scale Vision and Vision-Language Tasks"
        in titles
    )
    assert (
        titles[0]
        == "Be-Your-Outpainter: Mastering Video Outpainting through Input-Specific Adaptation"
    )


def test_chrome_is_skipped_and_wrapped_lines_are_joined():
    data = (FIXTURES / "pasted_chrome_wrapped.txt").read_bytes()
    assert detect_format(data) == "pasted"
    result = parse_bytes(data, source="page.txt")
    assert result.errors == [] and not result.fatal
    assert [p.title for p in result.papers] == [
        "Low-Rank Adapters for Continual Domain Adaptation of Speech Recognisers",
        "Prompt Tuning Under Distribution Shift",
        "Test-Time Entropy Minimisation Revisited",
    ]
    first = result.papers[0]
    assert first.abstract.startswith(
        "We study how low-rank adapters can be added to a pre-trained speech recogniser one"
    )
    assert first.abstract.endswith("while storing 2% of the parameters per domain.")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.authors == ["Ana Silva", "Bo Chen", "Carla Ortiz"]
    assert (first.arxiv_id, first.version) == ("2403.01234", 2)
    assert first.url == "https://arxiv.org/abs/2403.01234"
    # a title line directly followed by its abstract line (no blank line between)
    assert result.papers[1].abstract.startswith("We revisit soft prompt tuning")
    # nothing from the chrome leaked into titles or abstracts
    text = " ".join(p.title + " " + p.abstract for p in result.papers)
    for chrome in ("Subscribe", "Daily Papers", "Upvote", "Published on", "Mar 4"):
        assert chrome not in text


def test_title_without_abstract_is_an_error_naming_its_line():
    data = (FIXTURES / "pasted_title_without_abstract.txt").read_bytes()
    result = parse_bytes(data, source="p.txt")
    assert [p.title for p in result.papers] == [
        "Adapter Fusion for Multilingual Parsing",
        "Sparse Fine-Tuning of Vision Transformers",
    ]
    assert result.errors == [
        "p.txt: line 5: title with no abstract after it: "
        "'A Title Whose Abstract Was Lost When Copying'"
    ]
    assert result.item_count == 3 and not result.fatal


def test_invalid_utf8_names_the_line_and_keeps_the_other_papers():
    data = (FIXTURES / "pasted_invalid_utf8.txt").read_bytes()
    assert detect_format(data) == "pasted"
    result = parse_bytes(data, source="bad.txt")
    assert [p.title for p in result.papers] == [
        "Domain-Adaptive Pre-Training for Legal Text",
        "Calibrated Test-Time Adaptation",
    ]
    assert result.errors == [
        "bad.txt: line 7: invalid UTF-8 (byte 0xff at column 67); the paper at line 5 was skipped"
    ]
    assert all("\ufffd" not in p.title + p.abstract for p in result.papers)
    assert result.item_count == 3


def test_invalid_utf8_in_chrome_only_loses_that_line():
    abstract = "We adapt a model to a new domain with a handful of labelled examples " * 3
    data = b"Aug 1\xe9\n\nA Title\n\n" + abstract.encode() + b"\n"
    result = parse_bytes(data, source="c.txt")
    assert [p.title for p in result.papers] == ["A Title"]
    assert result.errors == ["c.txt: line 1: invalid UTF-8 (byte 0xe9 at column 6); line skipped"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", "empty input"),
        ("binary.bin", "binary data, not a feed, JSON or text"),
    ],
)
def test_empty_and_binary_are_fatal(name, message):
    data = (FIXTURES / name).read_bytes()
    assert detect_format(data) is None
    result = parse_bytes(data, source=name)
    assert result.fatal and result.papers == [] and result.item_count == 0
    assert result.errors == [f"{name}: {message}"]


def test_whitespace_only_is_empty():
    result = parse_bytes(b"  \n\r\n\t\n", source="-")
    assert result.fatal and result.errors == ["-: empty input"]


def test_text_without_any_paper_is_fatal():
    result = parse_bytes(b"Just a note.\n\nAnother short line.\n", source="note.txt")
    assert result.fatal
    assert result.errors[0].startswith("note.txt: no papers found")


def test_crlf_and_bom_are_handled():
    abstract = "Parameter-efficient fine-tuning updates a small number of extra weights " * 3
    data = b"\xef\xbb\xbfFirst Title\r\n\r\n" + abstract.encode() + b"\r\n"
    result = parse_bytes(data, source="w.txt")
    assert [(p.title, p.abstract) for p in result.papers] == [("First Title", abstract.strip())]


def test_utf16_text_with_bom():
    abstract = "Continual learning keeps old tasks while new ones arrive in a stream " * 3
    text = "Über Continual Learning\n\n" + abstract + "\n"
    result = parse_bytes(text.encode("utf-16"), source="u16.txt")
    assert [p.title for p in result.papers] == ["Über Continual Learning"]


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (b"\xff\xfe\x00\x00", "utf-32-le"),  # begins like the UTF-16-LE mark
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ],
)
def test_wide_text_with_each_byte_order_mark(bom, codec):
    abstract = "Domain adaptation moves a model trained on one domain to another one " * 3
    text = "Über Domain Adaptation\n\n" + abstract + "\n"
    data = bom + text.encode(codec)
    assert detect_format(data) == "pasted"
    result = parse_bytes(data, source="wide.txt")
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("Über Domain Adaptation", abstract.strip())
    ]


def test_stray_paragraph_after_a_paper_is_an_error():
    abstract = "Adapters are small modules inserted into a frozen network and trained " * 3
    data = f"A Title\n\n{abstract}\n\n{abstract}\n".encode()
    result = parse_bytes(data, source="s.txt")
    assert len(result.papers) == 1
    assert result.errors == ["s.txt: line 5: paragraph without a title line before it (skipped)"]


def test_arxiv_id_in_abstract_text():
    abstract = "We describe arXiv:2401.01234v3 in detail and evaluate it on many tasks " * 2
    data = f"A Title\n\n{abstract}\n".encode()
    paper = parse_bytes(data, source="-").papers[0]
    assert (paper.arxiv_id, paper.version) == ("2401.01234", 3)


def test_garbage_never_raises():
    samples = [
        b"\xff" * 50,
        b"\x00\x01\x02",
        b"[[[[",
        b"{",
        b"[" * 100000,
        b"<",
        b"<?xml",
        b"<html><body>Not a feed</body></html>",
        b"Title\n\n" + bytes(range(128, 256)) * 4,
    ]
    for data in samples:
        result = parse_bytes(data, source="g")
        assert result.fatal and result.papers == []
        assert result.errors and all(message.startswith("g: ") for message in result.errors)
