"""`adapt-triage dedup`: clusters as JSON Lines with reasons and scores, the index's
figures (`--stats`), and the user's `link` / `unlink`, which win over the rules and
survive re-ingest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers import jsonl, run

MT_PAPER = "Adaptive Machine Translation with Large Language Models"
MT_THESIS = "Language Modelling Approaches to Adaptive Machine Translation"


def ids(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT title, id FROM papers"))


def links(db: Path) -> set[tuple[str, str]]:
    """(duplicate title, canonical title) of every stored link."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT d.title, c.title FROM papers d JOIN papers c ON c.id = d.duplicate_of"
        )
        return set(rows)


def linked(db: Path, a: str, b: str) -> bool:
    return (a, b) in links(db) or (b, a) in links(db)


def test_jsonl_gives_every_cluster_with_reasons_and_scores(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", seed_page], db=db).exit_code == 0
    result = run(["dedup", "--format", "jsonl"], db=db)
    assert result.exit_code == 0, result.output
    (cluster,) = jsonl(result.stdout)
    assert cluster["canonical"]["title"] == MT_PAPER
    (dup,) = cluster["duplicates"]
    assert dup["title"] == MT_THESIS
    assert "shared opening passage" in dup["reason"] and 0.5 <= dup["score"] <= 1
    # json is one document holding the same clusters
    assert json.loads(run(["dedup", "--format", "json"], db=db).stdout) == [cluster]


def test_unlink_wins_over_the_rules_and_survives_re_ingest(tmp_path, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", seed_page], db=db)
    paper, thesis = ids(db)[MT_PAPER], ids(db)[MT_THESIS]
    result = run(["dedup", "unlink", paper, thesis], db=db)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"unlinked {thesis} from {paper}"
    assert links(db) == set()
    assert run(["ingest", seed_page], db=db).exit_code == 0
    assert links(db) == set()
    # a reformatted copy of the thesis arrives: it may join the thesis, never the paper
    copy = tmp_path / "copy.jsonl"
    with sqlite3.connect(db) as conn:
        abstract = conn.execute("SELECT abstract FROM papers WHERE id = ?", (thesis,)).fetchone()
    copy.write_text(json.dumps({"title": MT_THESIS.upper(), "abstract": abstract[0]}) + "\n")
    assert run(["ingest", copy], db=db).exit_code == 0
    assert (MT_THESIS.upper(), MT_PAPER) not in links(db)
    assert run(["dedup"], db=db).stdout.count(paper) == 0


def test_link_wins_over_the_rules_and_survives_re_ingest(tmp_path, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", seed_page], db=db)
    titles = ids(db)
    uni, uni2 = (
        next(t for t in titles if t.startswith(n)) for n in ("Uni-Perceiver:", "Uni-Perceiver v2")
    )
    result = run(["dedup", "link", titles[uni2], titles[uni]], db=db)
    assert result.exit_code == 0, result.output
    # the paper seen first (here v2, earlier on the page) stays the canonical one
    assert result.stdout.strip() == f"linked {titles[uni]} to {titles[uni2]}"
    assert linked(db, uni, uni2)
    run(["ingest", seed_page], db=db)
    assert linked(db, uni, uni2) and (MT_THESIS, MT_PAPER) in links(db)
    clusters = jsonl(run(["dedup", "--format", "jsonl"], db=db).stdout)
    reasons = [d["reason"] for c in clusters for d in c["duplicates"]]
    assert any(r.startswith("linked by the user") for r in reasons)
    # linking two clusters makes one, rooted at the paper seen first
    run(["dedup", "link", titles[MT_THESIS], titles[uni2]], db=db)
    roots = {c["canonical"]["id"] for c in jsonl(run(["dedup", "-f", "jsonl"], db=db).stdout)}
    assert len(roots) == 1
    # and an unlink takes one paper out again
    run(["dedup", "unlink", titles[uni], titles[uni2]], db=db)
    assert not linked(db, uni, uni2)


def test_bad_decisions_are_one_line_errors(tmp_path, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", seed_page], db=db)
    paper = ids(db)[MT_PAPER]
    result = run(["dedup", "link", paper, "no-such-paper"], db=db)
    assert result.exit_code != 0 and "no stored paper matches 'no-such-paper'" in result.stderr
    assert "Traceback" not in result.output
    result = run(["dedup", "unlink", paper, paper], db=db)
    assert result.exit_code != 0 and "one paper" in result.stderr


def test_stats_shows_every_kind_of_key_and_full_buckets(tmp_path, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", seed_page], db=db)
    rows = jsonl(run(["dedup", "--stats", "--format", "jsonl"], db=db).stdout)
    by_kind = {r["keys"]: r for r in rows}
    assert {"text (LSH)", "anchor", "title", "title after name", "title head", "title tail"} <= (
        set(by_kind)
    )
    assert by_kind["title"]["buckets"] == by_kind["title"]["entries"] == 71
    assert all(r["over_cap"] == 0 for r in rows)
    table = run(["dedup", "--stats", "--format", "table"], db=db).stdout
    assert "over cap" in table and "newest 64" in table
