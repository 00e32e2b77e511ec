"""Stable ids: arXiv ids from any place they appear, DOIs, title hashes."""

from __future__ import annotations

import pytest

from adapt_triage.paper import Paper, normalize_doi, parse_arxiv_id, stable_id, title_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://arxiv.org/abs/2203.01250v3", ("2203.01250", 3)),
        ("https://arxiv.org/pdf/2501.00001", ("2501.00001", None)),
        ("oai:arXiv.org:2604.21952v1", ("2604.21952", 1)),
        ("arXiv:1707.08567", ("1707.08567", None)),
        ("2402.00123v12", ("2402.00123", 12)),
        ("http://arxiv.org/abs/astro-ph/9812133v1", ("astro-ph/9812133", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("not an id 12345", None),
        ("", None),
    ],
)
def test_arxiv_ids_are_found_without_their_version(text, expected):
    assert parse_arxiv_id(text) == expected


def test_dois_are_lower_cased_without_resolver():
    assert normalize_doi("https://doi.org/10.1145/3534678.3539157") == "10.1145/3534678.3539157"
    assert normalize_doi("DOI: 10.48550/ARXIV.2203.01250.") == "10.48550/arxiv.2203.01250"
    assert normalize_doi("no doi") is None


def test_stable_id_prefers_arxiv_then_doi_then_title():
    assert stable_id(Paper("T", arxiv_id="2501.00001", doi="10.1/x")) == "arxiv:2501.00001"
    assert stable_id(Paper("T", doi="10.1/x")) == "doi:10.1/x"
    assert stable_id(Paper("A Title")).startswith("title:")


def test_title_ids_ignore_case_punctuation_markup_and_latex():
    a = Paper("Low-Rank Adaptation of $\\alpha$-Models")
    b = Paper("low rank adaptation of <i>alpha</i> models")
    assert title_key(a.title) == title_key(b.title)
    assert a.id == b.id


def test_successor_titles_keep_distinct_ids():
    assert Paper("MMRL++: Vision-Language Models").id != Paper("MMRL: Vision-Language Models").id
    assert Paper("Uni-Perceiver v2").id != Paper("Uni-Perceiver").id
