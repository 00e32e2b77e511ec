"""JSON Lines (and a JSON array of the same objects): per-line errors, others kept."""

from __future__ import annotations

import json
from pathlib import Path

from adapt_triage.sources import detect_format, parse_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def test_mixed_lines_keep_the_good_and_name_the_bad():
    data = (FIXTURES / "papers_mixed.jsonl").read_bytes()
    assert detect_format(data) == "jsonl"
    result = parse_bytes(data, source="in.jsonl")
    assert result.format == "jsonl" and not result.fatal
    assert result.item_count == 9  # the blank line is not an item
    assert [p.title for p in result.papers] == [
        "LoRA Adapters for Speech",
        "Prompt Tuning Revisited",
        "No Abstract Here",
        "A Paper Known by DOI",
        "Local Id Only",
    ]
    assert result.errors == [
        "in.jsonl: line 4: missing or empty title",
        "in.jsonl: line 5: missing or empty title",
        "in.jsonl: line 7: not a JSON object (list)",
        "in.jsonl: line 8: invalid JSON: Expecting ',' delimiter (column 53)",
    ]
    # A title without an abstract is still a paper (one output per input line), with a warning.
    assert result.warnings == [
        "in.jsonl: line 6: no abstract (or summary); classified on the title alone"
    ]
    lora, prompt, untitled, by_doi, local = result.papers
    assert untitled.abstract == ""
    assert (lora.input_id, lora.arxiv_id, lora.version) == ("2401.01234v2", "2401.01234", 2)
    assert lora.authors == ["Ana Silva", "Bo Chen"]
    assert lora.published == "2024-01-03"
    assert lora.url == "https://arxiv.org/abs/2401.01234"
    assert lora.id == "arxiv:2401.01234"
    assert prompt.abstract == "Soft prompts under shift."  # `summary` accepted
    assert prompt.arxiv_id == "2312.00001" and prompt.url == "https://example.org/p"
    assert prompt.authors == ["Carla Ortiz"]
    assert by_doi.doi == "10.1234/abc.5678" and by_doi.input_id == "doi:10.1234/ABC.5678"
    assert by_doi.published == "2023-05-01T10:00:00+00:00"
    assert (local.input_id, local.doi, local.arxiv_id) == ("my-own-7", "10.5555/xyz", None)
    assert all(p.source == "in.jsonl" for p in result.papers)


def test_classify_output_round_trips():
    line = {
        "id": "arxiv:2106.09685",
        "title": "LoRA",
        "abstract": "Low-rank adaptation.",
        "authors": ["Edward Hu"],
        "url": "https://arxiv.org/abs/2106.09685",
        "published": None,
        "labels": ["peft"],
    }
    paper = parse_bytes(json.dumps(line).encode() + b"\n", source="-").papers[0]
    assert paper.id == "arxiv:2106.09685" and paper.input_id == "arxiv:2106.09685"
    assert paper.published is None


def test_json_array_reports_items():
    data = (FIXTURES / "papers_array.json").read_bytes()
    assert detect_format(data) == "json"
    result = parse_bytes(data, source="a.json")
    assert [p.title for p in result.papers] == ["First Paper", "Third Paper"]
    assert result.errors == ["a.json: item 2: missing or empty title"]
    assert result.item_count == 3
    assert result.papers[1].arxiv_id == "2402.05678"
    assert result.papers[1].categories == ["cs.LG", "cs.CL"]


def test_all_lines_bad_is_fatal():
    result = parse_bytes(b'{"title": ""}\n{"nope": 1}\n', source="bad.jsonl")
    assert result.fatal and result.papers == []
    assert result.errors[0] == "bad.jsonl: no readable paper in 2 JSON lines"
    assert "bad.jsonl: line 2: missing or empty title" in result.errors


def test_invalid_utf8_line_is_named():
    data = b'{"title": "Good", "abstract": "Fine."}\n{"title": "Bad \xff", "abstract": "x"}\n'
    result = parse_bytes(data, source="u.jsonl")
    assert [p.title for p in result.papers] == ["Good"]
    assert result.errors == ["u.jsonl: line 2: invalid UTF-8 (byte 0xff at column 16)"]


def test_broken_json_array_is_fatal_with_position():
    result = parse_bytes(b'[\n  {"title": "a", "abstract": "b"},\n  {"title": \n]', source="b.json")
    assert result.fatal
    assert result.errors == ["b.json: line 4: invalid JSON: Expecting value (column 1)"]


def test_wrong_types_are_errors():
    data = b'{"title": 5, "abstract": "x"}\n{"title": "t", "abstract": ["x"]}\n'
    result = parse_bytes(data, source="t.jsonl")
    assert result.errors[1:] == [
        "t.jsonl: line 1: title is not a string",
        "t.jsonl: line 2: abstract is not a string",
    ]


def _jsonl(objects) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objects).encode()


def test_the_first_pass_checks_lines_and_papers_are_made_once(monkeypatch):
    # The check pass decides good/bad/warning without making a paper; each good line is
    # made into a paper once, when the papers are iterated (as the store does).
    from adapt_triage.sources import jsonl

    made = []
    real = jsonl.paper_from_object

    def counting(obj, source):
        made.append(obj.get("id") if isinstance(obj, dict) else None)
        return real(obj, source)

    monkeypatch.setattr(jsonl, "paper_from_object", counting)
    lines = [{"id": f"p{i}", "title": f"Paper {i}", "abstract": "Text."} for i in range(50)]
    result = parse_bytes(_jsonl([*lines, {"title": ""}]), source="in.jsonl")
    assert made == [] and len(result.papers) == 50
    assert [p.input_id for p in result.papers] == [f"p{i}" for i in range(50)]
    assert made == [f"p{i}" for i in range(50)]


def test_check_object_decides_as_paper_from_object_at_every_limit():
    from adapt_triage.sources.common import MAX_ABSTRACT_CHARS, MAX_TITLE_CHARS
    from adapt_triage.sources.jsonl import check_object, paper_from_object

    titles = [None, "", " \n", 3, ["t"], "T", "T" * MAX_TITLE_CHARS, "T" * (MAX_TITLE_CHARS + 1)]
    titles += [" T" * MAX_TITLE_CHARS, "T  " * (MAX_TITLE_CHARS // 2), "T" * 4 * MAX_TITLE_CHARS]
    titles += ["T" * (4 * MAX_TITLE_CHARS + 1)]
    abstracts = [None, "", " ", 7, {"a": 1}, "A", "A" * MAX_ABSTRACT_CHARS]
    abstracts += ["A" * (MAX_ABSTRACT_CHARS + 1), "A  " * (MAX_ABSTRACT_CHARS // 2 + 1)]
    abstracts += [" \t" * MAX_ABSTRACT_CHARS, "A" * (4 * MAX_ABSTRACT_CHARS + 1)]
    objects: list[object] = [None, 1, "text", [], [{"title": "T"}]]
    for title in titles:
        for abstract in abstracts:
            objects.append({"title": title, "abstract": abstract})
            objects.append({"title": title, "abstract": "", "summary": abstract})
            objects.append({"title": title, "summary": abstract, "authors": 5, "id": True})
    reasons = set()
    for obj in objects:
        paper, problem = paper_from_object(obj, "src")
        assert check_object(obj) == (paper is not None, problem), obj
        reasons.add(problem)
    # every kind of refusal and the warning were met
    assert len(reasons) >= 9


def test_jsonl_errors_and_warnings_at_the_size_limits():
    from adapt_triage.sources.common import MAX_TITLE_CHARS

    spaced = "T   " * (MAX_TITLE_CHARS // 3)  # over the limit until collapsed: kept
    long = "T" * (MAX_TITLE_CHARS + 1)
    data = _jsonl(
        [
            {"title": spaced, "abstract": "x"},
            {"title": long, "abstract": "x"},
            {"title": "Only a title"},
            {"title": "Fine", "abstract": "y" * 400_001},
        ]
    )
    result = parse_bytes(data, source="in.jsonl")
    assert [p.title for p in result.papers] == [" ".join(spaced.split()), "Only a title"]
    assert result.errors == [
        "in.jsonl: line 2: title of 2,001 characters, more than 2,000; refused",
        "in.jsonl: line 4: abstract of 400,001 characters, more than 100,000; refused",
    ]
    assert result.warnings == [
        "in.jsonl: line 3: no abstract (or summary); classified on the title alone"
    ]
