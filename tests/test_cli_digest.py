"""`adapt-triage digest`: grouped, folded, shown once, and an empty digest says why."""

from __future__ import annotations

import json

from conftest import FIXTURES
from helpers import jsonl, run, serve

from adapt_triage.taxonomy import OFF_TOPIC, category_order


def ingest(db, *sources):
    result = run(["ingest", "--quiet", *sources], db=db)
    assert result.exit_code in (0, 1), result.output
    return result


def test_digest_groups_by_primary_category_in_taxonomy_order(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    result = run(["digest", "--format", "json"], db=db)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    groups = [g["category"] for g in data["groups"]]
    assert groups == [c for c in category_order() if c in groups]
    assert groups[-1] == OFF_TOPIC
    papers = [p for g in data["groups"] for p in g["papers"]]
    assert data["count"] == len(papers) == 70  # 71 stored, the thesis folded into its paper
    for group in data["groups"]:
        scores = [p["scores"][group["category"]] for p in group["papers"]]
        assert scores == sorted(scores, reverse=True)
        assert all(p["labels"][0] == group["category"] for p in group["papers"])
    (mt,) = [p for p in papers if p["title"].startswith("Adaptive Machine Translation")]
    (also,) = mt["also_as"]
    assert also["title"] == "Language Modelling Approaches to Adaptive Machine Translation"
    assert also["reason"] and also["score"] > 0


def test_a_digest_run_twice_shows_the_papers_once(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    first = run(["digest", "--format", "jsonl"], db=db)
    assert len(jsonl(first.stdout)) == 70
    second = run(["digest", "--format", "jsonl"], db=db)
    assert second.exit_code == 0
    assert jsonl(second.stdout) == []
    assert "nothing new" in second.stderr
    again = run(["digest", "--all", "--since", "1d", "--format", "jsonl"], db=db)
    assert len(jsonl(again.stdout)) == 70


def test_new_papers_after_a_digest_are_the_next_digest(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    run(["digest", "--format", "jsonl"], db=db)
    ingest(db, FIXTURES / "cli" / "arxiv_cs_lg_day1.xml")
    result = run(["digest", "--format", "jsonl"], db=db)
    titles = [p["title"] for p in jsonl(result.stdout)]
    assert sorted(titles) == [
        "Confidence-Weighted Statistics for Test-Time Adaptation",
        "Singular-Vector Initialisation for Low-Rank Adaptation",
    ]
    assert {p["announce_type"] for p in jsonl(result.stdout)} == {"new"}


def test_filters_hide_category_min_score_and_limit(tmp_path, seed_page, shared):
    db = tmp_path / "t.db"
    # The seed papers are the model's training data (scores near 1); real feed papers are
    # not, so their scores spread out.
    ingest(
        db,
        seed_page,
        shared / "realworld/huggingface/hf_daily_papers_2026-08-21_reserialized-indent2.json",
    )
    hidden = jsonl(run(["digest", "--no-mark", "--hide", OFF_TOPIC, "-f", "jsonl"], db=db).stdout)
    assert hidden and all(p["category"] != OFF_TOPIC for p in hidden)
    lora = jsonl(run(["digest", "--no-mark", "--category", "lora", "-f", "jsonl"], db=db).stdout)
    assert lora and all("lora" in p["labels"] for p in lora)
    best = jsonl(run(["digest", "--no-mark", "--limit", "5", "-f", "jsonl"], db=db).stdout)
    assert len(best) == 5
    everything = jsonl(run(["digest", "--no-mark", "-f", "jsonl"], db=db).stdout)
    assert len(everything) == 70 + 17
    floor = min(p["primary_score"] for p in best)
    assert all(p["primary_score"] <= floor + 1e-9 for p in everything if p not in best)
    cut = sorted(p["primary_score"] for p in everything)[len(everything) // 4]
    sure = jsonl(run(["digest", "--no-mark", "--min-score", str(cut), "-f", "jsonl"], db=db).stdout)
    assert sure and all(p["primary_score"] >= cut for p in sure)
    assert len(sure) == sum(p["primary_score"] >= cut for p in everything) < len(everything)


def test_markdown_and_table_formats(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    markdown = run(["digest", "--no-mark", "--format", "markdown"], db=db).stdout
    assert markdown.startswith("# New papers\n")
    assert "## lora (" in markdown
    assert "also as: Language Modelling Approaches to Adaptive Machine Translation" in markdown
    table = run(["digest", "--format", "table"], db=db).stdout
    assert "adapt-triage digest: 70 papers not shown before" in table
    assert "\x1b[" not in table  # no colour when stdout is not a terminal


def test_empty_digest_on_a_weekend_says_so(tmp_path, shared):
    db = tmp_path / "t.db"
    feed = shared / "realworld/arxiv-rss/arxiv_rss_cs.CL_2026-08-01_weekend-empty.xml"
    assert run(["feeds", "add", feed], db=db).exit_code == 0
    ingest(db)
    result = run(["digest", "--format", "json"], db=db)
    data = json.loads(result.stdout)
    assert data["count"] == 0
    assert "weekend" in data["empty_reason"]
    assert any("Saturday" in note for note in data["notes"])


def test_empty_digest_when_every_feed_fails_says_so(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    assert run(["feeds", "add", "https://feeds.example.org/gone.xml"], db=db).exit_code == 0
    serve(monkeypatch, {})
    ingest(db)
    data = json.loads(run(["digest", "--format", "json"], db=db).stdout)
    assert data["count"] == 0
    assert "failing" in data["empty_reason"]
    (note,) = data["notes"]
    assert "HTTP 404" in note and "(1 consecutive failure)" in note


def test_notes_cover_subscribed_feeds_and_sources_forget_drops_a_one_off(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page, tmp_path / "typo-feed.xml")
    data = json.loads(run(["digest", "--no-mark", "--format", "json"], db=db).stdout)
    assert data["count"] == 70 and data["notes"] == []  # a one-off file is no feed
    listed = jsonl(run(["sources", "list", "-f", "jsonl"], db=db).stdout)
    typo = str(tmp_path / "typo-feed.xml")
    assert [s["url"] for s in listed] == [str(seed_page), typo]
    assert [s["subscribed"] for s in listed] == [False, False]
    forgot = run(["sources", "forget", typo], db=db)
    assert forgot.exit_code == 0, forgot.output
    assert [s["url"] for s in jsonl(run(["sources", "list"], db=db).stdout)] == [str(seed_page)]
    again = run(["sources", "forget", typo], db=db)
    assert again.exit_code == 1 and "no source" in again.stderr


def test_bad_since_is_a_usage_error(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    result = run(["digest", "--since", "yesterday-ish"], db=db)
    assert result.exit_code == 2
    assert "--since" in result.stderr


def test_announce_keeps_new_announcements_only(tmp_path, shared):
    db = tmp_path / "t.db"
    ingest(db, shared / "realworld/arxiv-rss/arxiv_rss_quant-ph_2025-04-28_full.xml")
    ingest(db, FIXTURES / "cli" / "hf_daily_day1.json")
    out = jsonl(run(["digest", "--no-mark", "--announce", "new", "-f", "jsonl"], db=db).stdout)
    types = [p["announce_type"] for p in out]
    assert types.count("new") == 40
    assert set(types) == {"new", None}  # the Hugging Face papers carry no announce type
    both = run(
        ["digest", "--no-mark", "--announce", "new", "--announce", "cross", "-f", "jsonl"], db=db
    )
    assert [p["announce_type"] for p in jsonl(both.stdout)].count("cross") == 10
