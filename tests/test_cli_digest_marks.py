"""The digest marks exactly the papers it showed: filters, --limit and a closed pipe never
use papers up, --all's hint is true, and a quiet empty day prints nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import REPO
from helpers import jsonl, run

from adapt_triage.taxonomy import OFF_TOPIC


def ingest(db, *sources):
    result = run(["ingest", "--quiet", *sources], db=db)
    assert result.exit_code in (0, 1), result.output
    return result


def shown_ids(db) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id FROM papers WHERE shown_in_digest IS NOT NULL")
        return {r[0] for r in rows}


def canonical_ids(db) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM papers WHERE duplicate_of IS NULL")}


def test_limit_then_digest_shows_the_other_papers(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    first = jsonl(run(["digest", "--limit", "3", "-f", "jsonl"], db=db).stdout)
    assert len(first) == 3
    assert shown_ids(db) >= {p["id"] for p in first}
    rest = jsonl(run(["digest", "-f", "jsonl"], db=db).stdout)
    assert len(rest) == 67
    assert not {p["id"] for p in first} & {p["id"] for p in rest}
    assert {p["id"] for p in first} | {p["id"] for p in rest} == canonical_ids(db)


def test_filters_never_use_papers_up(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    lora = jsonl(run(["digest", "-c", "lora", "-f", "jsonl"], db=db).stdout)
    assert lora and all(p["category"] == "lora" or "lora" in p["labels"] for p in lora)
    hidden = jsonl(run(["digest", "--hide", OFF_TOPIC, "-f", "jsonl"], db=db).stdout)
    assert all(p["category"] != OFF_TOPIC for p in hidden)
    rest = jsonl(run(["digest", "-f", "jsonl"], db=db).stdout)
    assert rest and all(p["category"] == OFF_TOPIC for p in rest)
    assert len(lora) + len(hidden) + len(rest) == 70


def test_all_hint_is_true_and_all_shows_the_shown_papers(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    assert len(jsonl(run(["digest", "-f", "jsonl"], db=db).stdout)) == 70
    empty = run(["digest", "-f", "json"], db=db)
    reason = json.loads(empty.stdout)["empty_reason"]
    assert reason == "nothing new; 70 papers from earlier digests (--all shows them)"
    again = jsonl(run(["digest", "--all", "-f", "jsonl"], db=db).stdout)
    assert len(again) == 70  # right after a digest, as the hint says


def test_quiet_with_nothing_new_prints_nothing(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    run(["digest", "--format", "markdown"], db=db)
    for fmt in ("markdown", "table", "json", "jsonl", "csv", "html"):
        result = run(["--quiet", "digest", "--format", fmt], db=db)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", ""), fmt


def test_every_format_marks_what_it_showed(tmp_path, seed_page):
    for fmt in ("markdown", "table", "json", "jsonl", "csv", "html"):
        db = tmp_path / f"{fmt}.db"
        ingest(db, seed_page)
        result = run(["digest", "--limit", "2", "--format", fmt], db=db)
        assert result.exit_code == 0, (fmt, result.output)
        assert len(shown_ids(db) & canonical_ids(db)) == 2, fmt
    csv_out = run(["digest", "--format", "csv"], db=tmp_path / "csv.db").stdout.splitlines()
    assert csv_out[0].startswith("category,id,title") and len(csv_out) > 60


def test_unknown_filter_values_are_usage_errors_listing_the_valid_ones(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    for args, option in (
        (["digest", "-c", "tta"], "--category"),
        (["digest", "-c", "LoRA"], "--category"),
        (["digest", "--hide", "nosuch"], "--hide"),
        (["digest", "--announce", "bogus"], "--announce"),
        (["digest", "--announce", "new,crosss"], "--announce"),
        (["list", "-c", "lora,tta"], "--category"),
        (["search", "lora", "-c", "tta"], "--category"),
        (["export", "-c", "tta"], "--category"),
        (["trends", "-c", "tta"], "--category"),
    ):
        result = run(args, db=db)
        assert result.exit_code == 2, args
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert option in line and "valid:" in line, line
        assert ("new, cross, replace" if option == "--announce" else "lora, ") in line
    assert "did you mean 'lora'?" in run(["digest", "-c", "LoRA"], db=db).stderr
    assert shown_ids(db) == set()  # a usage error marks nothing


def test_comma_lists_and_repeats_both_work(tmp_path, seed_page):
    db = tmp_path / "t.db"
    ingest(db, seed_page)
    comma = jsonl(run(["list", "-c", "lora,test-time-adaptation"], db=db).stdout)
    repeat = jsonl(run(["list", "-c", "lora", "-c", "test-time-adaptation"], db=db).stdout)
    only_lora = jsonl(run(["list", "-c", "lora"], db=db).stdout)
    assert comma == repeat and len(comma) > len(only_lora) > 0
    hidden = jsonl(
        run(["digest", "--no-mark", "--hide", f"{OFF_TOPIC},lora", "-f", "jsonl"], db=db).stdout
    )
    assert hidden and not {p["category"] for p in hidden} & {OFF_TOPIC, "lora"}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX shell and head")
def test_digest_piped_into_head_marks_only_the_lines_head_read(tmp_path, seed_page):
    """`digest | head -N` marks the papers whose lines head took, never one more. Whether the
    reader took a line is read from the pipe (its unread count) while the reader lives; when
    head exits before that could be seen, the paper stays unmarked (it comes back, nothing
    is swallowed). That race is rare but real on a loaded machine, so each case may take up
    to three runs to show the exact count; a run that marks more fails at once."""
    # markdown: the heading and the first group heading are 4 lines, the 5th starts a paper
    for fmt, lines, marked in (("jsonl", 1, 1), ("markdown", 4, 0), ("markdown", 5, 1)):
        counts = []
        for attempt in range(3):
            db = tmp_path / f"{fmt}-{lines}-{attempt}.db"
            ingest(db, seed_page)
            env = {**os.environ, "ADAPT_TRIAGE_DB": str(db)}
            piped = subprocess.run(
                f"'{sys.executable}' -m adapt_triage digest -f {fmt} | head -{lines}",
                shell=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                check=True,
            )
            assert piped.stderr == ""
            assert len(piped.stdout.splitlines()) == lines
            counts.append(len(shown_ids(db)))
            assert counts[-1] <= marked, (fmt, lines, counts)  # never more than was read
            # what was not marked comes back in full
            rest = jsonl(run(["digest", "-f", "jsonl"], db=db).stdout)
            assert len(rest) == 70 - counts[-1]
            if counts[-1] == marked:
                break
        assert counts[-1] == marked, (fmt, lines, counts)
