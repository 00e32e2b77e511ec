"""`make bench-scale` (benchmarks/scale.py) at a tiny size: the generator is deterministic and
arXiv-shaped, and a 2k-paper end to end (the real ingest, a real SQLite file) finds every
planted duplicate, links no near-miss and prints its figures. No timing asserts."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import scale_gen as gen  # noqa: E402


def test_the_generator_is_deterministic_and_shaped_like_arxiv_listings(shared):
    day = gen.day_records(0, 3)
    assert day == gen.day_records(0, 3)
    assert day != gen.day_records(1, 3)
    assert len(day) == gen.DAY
    first = gen.primary(0, 3 * gen.DAY)
    assert re.fullmatch(r"\d{4}\.\d{5}", first["id"])
    assert first["url"] == f"https://arxiv.org/abs/{first['id']}"
    assert gen.slot_of_arxiv(first["id"]) == 3 * gen.DAY
    assert 300 < len(first["abstract"]) < 5000 and first["authors"] and first["categories"]
    assert gen.day_date(0).isoformat() == "2022-01-03"  # the first weekday
    assert gen.day_date(999).year == 2026  # 1M papers span years
    kinds = {gen.kind(0, i) for i in range(gen.DAY, 3 * gen.DAY)}
    assert kinds == {"primary", "version", "crossfeed", "nearmiss"}


def test_planted_records_point_at_their_work_and_near_misses_at_their_own(shared):
    by_kind: dict[str, int] = {}
    for i in range(gen.DAY, 2 * gen.DAY):
        by_kind.setdefault(gen.kind(0, i), i)
    version = gen.record(0, by_kind["version"])
    target = gen.target(0, by_kind["version"])
    assert version["id"] == gen.arxiv_id(target) + "v2"
    cross = gen.record(0, by_kind["crossfeed"])
    assert "id" not in cross and gen.work_of(cross["url"]) == gen.target(0, by_kind["crossfeed"])
    near_slot = by_kind["nearmiss"]
    near, other = gen.record(0, near_slot), gen.primary(0, gen.target(0, near_slot))
    assert gen.work_of(near["url"]) == near_slot != gen.work_of(other["url"])
    assert near["title"].split()[:2] == other["title"].split()[:2]  # a shared lead
    opening = " ".join(gen._opening(other["abstract"]))
    assert opening and near["abstract"].startswith(opening)
    assert other["abstract"].startswith(opening)  # the other's opening, verbatim ...
    # ... at most a quarter of either text (more would read as a thesis around its paper)
    assert len(opening) <= len(near["abstract"]) / 4 and len(opening) <= len(other["abstract"]) / 4
    truth = gen.planted(0, 2 * gen.DAY)
    assert gen.arxiv_id(target) in truth["version"]
    assert (near["id"], other["id"]) in truth["nearmiss"]


def test_a_tiny_end_to_end_finds_the_planted_duplicates_and_prints_its_figures(shared, tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--papers", "2000"]
        + ["--only", "size,dups", "--build-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    found = re.search(r"planted duplicates found\s+(\d+) / (\d+)", out)
    assert found and found[1] == found[2] and int(found[2]) > 0, out
    assert re.search(r"near-misses linked \(must not be\)\s+0 / [1-9]", out), out
    assert re.search(r"false links in a sample of \d+\s+0\s", out), out
    assert re.search(r"database per paper\s+[\d.]+ KB", out), out
    assert "dedup index" in out and "full-text search" in out
    progress = json.loads(next(tmp_path.glob("g*-n2000/progress.json")).read_text())
    assert progress["days_done"] == 2 and progress["complete"] is True
    again = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--papers", "2000"]
        + ["--only", "dups", "--build-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert "history: cached" in again.stdout, again.stdout  # built once, then reused


def test_unknown_parts_are_a_usage_error():
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--only", "ingest,speed"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2 and "speed" in done.stderr


def test_an_interrupted_build_resumes_from_the_last_day_stored(shared, tmp_path, capsys):
    import scale

    from adapt_triage.store import Store

    history = scale.History(tmp_path, 2000, 0)
    history.papers = 1000  # stop after day 0, as an interrupted build would
    history.ensure()
    with Store(history.db) as store:
        after_one_day = store.count_papers()
    history.papers = 2000
    history._save(days_done=1, complete=False)
    history.ensure()
    assert "resuming at day 1 of 2" in capsys.readouterr().out
    assert history.state()["days_done"] == 2 and history.state()["complete"] is True
    with Store(history.db) as store:
        assert 1000 == after_one_day < store.count_papers()
