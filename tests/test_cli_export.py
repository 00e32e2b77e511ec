"""`export`, `list`, `search`, `show`, `dedup` output formats, and hostile text."""

from __future__ import annotations

import csv
import io
import json

from conftest import FIXTURES
from helpers import jsonl, run

from adapt_triage.render import EXPORT_COLUMNS

CLI = FIXTURES / "cli"


def seeded(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    return db


def test_export_csv_has_a_stable_header_and_every_paper(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    result = run(["export", "--format", "csv", "--all"], db=db)
    assert result.exit_code == 0
    reader = csv.reader(io.StringIO(result.stdout))
    header = next(reader)
    assert header == list(EXPORT_COLUMNS)
    assert header[:3] == ["id", "title", "authors"]
    records = [dict(zip(header, row, strict=True)) for row in reader]
    assert len(records) == 71
    (dup,) = [r for r in records if r["duplicate_of"]]
    assert dup["title"] == "Language Modelling Approaches to Adaptive Machine Translation"
    assert dup["dup_reason"] and float(dup["dup_score"]) > 0
    assert all(r["labels"] and json.loads(r["scores"]) for r in records)


def test_export_jsonl_and_markdown(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    out = jsonl(run(["export", "--format", "jsonl"], db=db).stdout)
    assert len(out) == 70
    assert all(set(EXPORT_COLUMNS) <= set(o) for o in out)
    markdown = run(["export", "--format", "markdown"], db=db).stdout
    assert markdown.splitlines()[0].startswith("| id | title |")
    assert len(markdown.splitlines()) == 72
    target = tmp_path / "papers.csv"
    assert run(["export", "-f", "csv", "-o", target], db=db).exit_code == 0
    assert target.read_text().splitlines()[0] == ",".join(EXPORT_COLUMNS)


def test_list_search_and_their_formats(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    everything = jsonl(run(["list", "-f", "jsonl"], db=db).stdout)
    assert len(everything) == 70
    assert len(jsonl(run(["list", "--all", "-f", "jsonl"], db=db).stdout)) == 71
    assert len(jsonl(run(["list", "--limit", "3", "-f", "jsonl"], db=db).stdout)) == 3
    lora = jsonl(run(["list", "-c", "lora", "-f", "jsonl"], db=db).stdout)
    assert lora and all("lora" in p["labels"] for p in lora)
    found = jsonl(run(["search", "Uni-Perceiver", "-f", "jsonl"], db=db).stdout)
    assert sorted(p["title"][:16] for p in found) == ["Uni-Perceiver v2", "Uni-Perceiver: P"]
    phrase = jsonl(run(["search", '"test-time adaptation"', "-f", "jsonl"], db=db).stdout)
    assert phrase and all("test-time" in (p["title"] + p["abstract"]).lower() for p in phrase)
    odd = run(["search", 'NEAR( "unbalanced', "-f", "jsonl"], db=db)
    assert odd.exit_code in (0, 2) and "Traceback" not in odd.output
    table = run(["list", "--format", "table", "--limit", "2"], db=db).stdout
    assert "title" in table
    rows = list(csv.reader(io.StringIO(run(["list", "-f", "csv"], db=db).stdout)))
    assert rows[0] == list(EXPORT_COLUMNS) and len(rows) == 71


def test_show_and_dedup(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    clusters = json.loads(run(["dedup", "--format", "json"], db=db).stdout)
    (cluster,) = clusters
    canonical = cluster["canonical"]["id"]
    (dup,) = cluster["duplicates"]
    assert dup["reason"] and 0.5 <= dup["score"] <= 1
    shown = json.loads(run(["show", canonical, "--format", "json"], db=db).stdout)
    assert [d["id"] for d in shown["duplicates"]] == [dup["id"]]
    assert set(shown["explain"]) == set(shown["labels"])
    text = run(["show", canonical, "-f", "table"], db=db).stdout
    assert "also as:" in text and "terms that pushed" in text
    assert run(["dedup", "-f", "table"], db=db).stdout.strip().endswith("1 cluster")
    assert jsonl(run(["dedup"], db=db).stdout) == [cluster]  # piped: JSON Lines
    missing = run(["show", "nothing-like-this"], db=db)
    assert missing.exit_code == 1 and "nothing-like-this" in missing.stderr


def test_hostile_feed_text_never_reaches_the_terminal_intact(tmp_path):
    db = tmp_path / "t.db"
    evil = "Evil \x1b]8;;http://x\x07link\x1b[2J\x1b[31mred\x9b1m \u202eelif\x07 title"
    source = tmp_path / "evil.jsonl"
    source.write_text(
        json.dumps({"id": "e1", "title": evil, "abstract": "LoRA low-rank \x1b[1mbold\x1b[0m"})
        + "\n",
        encoding="utf-8",
    )
    assert run(["ingest", "--quiet", source], db=db).exit_code == 0
    outputs = [
        run(["list", "-f", "table"], db=db).stdout,
        run(["list", "-f", "csv"], db=db).stdout,
        run(["list", "-f", "jsonl"], db=db).stdout,
        run(["show", "e1", "-f", "table"], db=db).stdout,
        run(["digest", "--no-mark", "-f", "table"], db=db).stdout,
        run(["digest", "--no-mark", "-f", "markdown"], db=db).stdout,
        run(["digest", "--no-mark", "-f", "json"], db=db).stdout,
        run(["export", "-f", "markdown"], db=db).stdout,
        run(["classify", "-f", "table", source], db=db).stdout,
        run(["classify", "-f", "jsonl", source], db=db).stdout,
    ]
    for out in outputs:
        assert not any(ch in out for ch in "\x1b\x07\x9b\u202e"), out
    (record,) = jsonl(outputs[2])
    assert record["title"] == evil  # stored and exported as received, escaped in JSON
