"""`adapt-triage classify`: the JSON contract, input order, formats and bad input."""

from __future__ import annotations

import json

from helpers import jsonl, run

from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC

CONTRACT = {
    "id",
    "title",
    "abstract",
    "authors",
    "url",
    "published",
    "source",
    "labels",
    "scores",
    "duplicate_of",
}


def test_jsonl_prints_one_object_per_input_line_in_order(tmp_path):
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": f"x{i}", "title": f"Paper {i} on low-rank adaptation", "abstract": text}
        for i, text in enumerate(
            [
                "We fine-tune a language model with LoRA low-rank updates of frozen weights.",
                "Neurons in the visual cortex adapt their firing rates to stimulus contrast.",
                "Test-time adaptation updates batch statistics on unlabeled test data.",
            ]
        )
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run(["classify", "--format", "jsonl", source])
    assert result.exit_code == 0, result.output
    out = jsonl(result.stdout)
    assert [o["id"] for o in out] == ["x0", "x1", "x2"]
    for obj in out:
        assert set(obj) >= CONTRACT
        assert set(obj["scores"]) == set(DEFAULT_SLUGS)
        assert all(0.0 <= v <= 1.0 for v in obj["scores"].values())
        assert obj["labels"] and all(lab in DEFAULT_SLUGS for lab in obj["labels"])
        assert OFF_TOPIC not in obj["labels"] or obj["labels"] == [OFF_TOPIC]
        assert obj["duplicate_of"] is None
        assert obj["source"] == str(source)


def test_jsonl_is_the_default_when_stdout_is_not_a_terminal(tmp_path, seed_page):
    result = run(["classify", seed_page])
    assert result.exit_code == 0
    out = jsonl(result.stdout)
    assert len(out) == 71
    assert out[0]["title"].startswith("Be-Your-Outpainter")
    assert all(o["id"].startswith("title:") for o in out)


def test_unseen_abstracts_get_the_obvious_primary_label():
    from conftest import FIXTURES

    result = run(["classify", FIXTURES / "cli" / "unseen_abstracts.jsonl"])
    assert result.exit_code == 0
    primary = {o["id"]: o["labels"][0] for o in jsonl(result.stdout)}
    assert primary == {
        "u1": "lora",
        "u2": "test-time-adaptation",
        "u3": OFF_TOPIC,
        "u4": "continual-learning",
        "u5": "model-composition",
        "u6": "prompt-tuning",
    }


def test_stdin_dash_reads_standard_input():
    line = json.dumps({"title": "Soft prompts", "summary": "Learned soft prompt tokens."})
    result = run(["classify", "-"], input=line + "\n")
    assert result.exit_code == 0
    (obj,) = jsonl(result.stdout)
    assert obj["title"] == "Soft prompts"
    assert obj["abstract"] == "Learned soft prompt tokens."
    assert obj["source"] == "-"


def test_explain_adds_terms_that_occur_in_the_text(tmp_path):
    source = tmp_path / "one.jsonl"
    abstract = "We propose QLoRA, a low-rank adaptation of quantized language models."
    source.write_text(json.dumps({"title": "QLoRA tuning", "abstract": abstract}) + "\n")
    result = run(["classify", "--explain", source])
    (obj,) = jsonl(result.stdout)
    assert set(obj["explain"]) == set(obj["labels"])
    terms = [t for ts in obj["explain"].values() for t in ts]
    assert terms
    text = ("QLoRA tuning " + abstract).lower()
    assert all(any(word in text for word in term.split()) for term in terms)


def test_table_format_for_people(seed_page):
    result = run(["classify", "--format", "table", seed_page])
    assert result.exit_code == 0
    assert "Be-Your-Outpainter" in result.stdout
    assert "personalization" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_bad_lines_are_reported_and_good_ones_still_classified(tmp_path):
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        json.dumps({"id": "a", "title": "Good", "abstract": "We fine-tune a model."})
        + "\n"
        + json.dumps({"id": "b", "abstract": "No title"})
        + "\n{not json\n"
        + json.dumps({"id": "c", "title": "Also good", "abstract": "Adapters in a frozen net."})
        + "\n"
    )
    result = run(["classify", source])
    assert result.exit_code == 1
    assert [o["id"] for o in jsonl(result.stdout)] == ["a", "c"]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert f"{source}: line 2:" in errors[0] and "title" in errors[0]
    assert f"{source}: line 3:" in errors[1]
    assert "Traceback" not in result.output


def test_invalid_utf8_names_the_line_and_keeps_the_rest(tmp_path):
    text = (
        "This abstract is long enough to look like a real abstract paragraph. We adapt "
        "pretrained models to new domains with few parameters and evaluate on benchmarks."
    )
    source = tmp_path / "page.txt"
    source.write_bytes(
        b"First title\n\n" + text.encode() + b" \xff\xfe\n\nSecond title\n\n" + text.encode()
    )
    result = run(["classify", source])
    assert result.exit_code == 1
    assert [o["title"] for o in jsonl(result.stdout)] == ["Second title"]
    assert f"{source}: line 3:" in result.stderr and "UTF-8" in result.stderr


def test_empty_binary_and_missing_inputs_fail_with_one_line(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    missing = tmp_path / "missing.jsonl"
    for path in (empty, binary, missing):
        result = run(["classify", path])
        assert result.exit_code == 1
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0]


def test_one_bad_source_does_not_stop_the_others(tmp_path, seed_page):
    missing = tmp_path / "missing.txt"
    result = run(["classify", missing, seed_page])
    assert result.exit_code == 1
    assert len(jsonl(result.stdout)) == 71


def test_every_line_with_a_title_gets_one_object_and_ids_echo_as_given(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": 17, "title": "Test-time adaptation of batch norm statistics"})
        + "\n"
        + json.dumps({"id": "2401.01234v2", "title": "LoRA", "abstract": "Low-rank updates."})
        + "\n"
    )
    result = run(["classify", source])
    assert result.exit_code == 0
    first, second = jsonl(result.stdout)
    assert first["id"] == 17 and first["abstract"] == ""
    assert first["labels"]
    assert second["id"] == "2401.01234v2" and second["paper_id"] == "arxiv:2401.01234"
    assert f"{source}: line 1: no abstract" in result.stderr
