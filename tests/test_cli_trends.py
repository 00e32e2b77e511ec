"""`trends` on the 31 real arXiv days of March 2026 (../shared/realworld/arxiv-days)."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import SHARED
from helpers import jsonl, run

from adapt_triage.dedup import DedupIndex
from adapt_triage.ingest import classified, read_and_parse
from adapt_triage.model import build_classifier
from adapt_triage.store import Store

DAYS = SHARED / "realworld" / "arxiv-days"
WEEKS = ["2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """Each real day's listing stored on that day (the files carry no dates of their own)."""
    if not DAYS.is_dir():
        pytest.skip("../shared/realworld/arxiv-days is not beside the repository")
    db = tmp_path_factory.mktemp("trends") / "days.db"
    files = sorted(DAYS.glob("2026-03-*.jsonl"))
    assert len(files) == 31
    classifier = build_classifier(None)
    with Store(db) as store:
        dedup = DedupIndex(store.db)
        for path in files:
            outcome = read_and_parse(str(path))
            assert outcome.parsed is not None and not outcome.parsed.errors
            store.ingest_source(
                str(path),
                classified(outcome.parsed.papers, classifier),
                dedup=dedup,
                model_version=classifier.model_version,
                now=f"{path.stem}T12:00:00+00:00",
            )
    return db


@functools.lru_cache(maxsize=2)
def expected_counts(db: Path) -> tuple[dict[str, Counter], Counter]:
    """Counted independently of `trends`: from the stored papers as `list` gives them."""
    per_label: dict[str, Counter] = {}
    totals: Counter = Counter()
    for paper in jsonl(run(["list", "-f", "jsonl"], db=db).stdout):
        day = date.fromisoformat(paper["first_seen"][:10])
        week = (day - timedelta(days=day.weekday())).isoformat()
        totals[week] += 1
        for label in paper["labels"]:
            per_label.setdefault(label, Counter())[week] += 1
    return per_label, totals


def test_trends_draws_a_chart_of_the_real_days_in_the_terminal(history):
    result = run(["trends"], db=history)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Papers per week by label, 2026-02-23 to 2026-04-05 (6 weeks")
    assert lines[2].split()[:6] == [w[5:] for w in WEEKS]
    per_label, totals = expected_counts(history)
    assert sum(totals.values()) == 6346
    rows = {line[:22].strip(): line[22:].split() for line in lines[3:]}
    assert "off-topic" not in rows  # shown only when asked for
    for label in ("lora", "test-time-adaptation", "continual-learning"):
        cells = rows[label]
        assert [int(c) for c in cells[:6]] == [per_label[label][w] for w in WEEKS]
        # the sparkline: one block a week, a blank for a week without papers
        spark = "".join(cells[6:-1])
        assert 1 <= len(spark) <= 6 and set(spark) <= set("▁▂▃▄▅▆▇█")
        assert int(cells[-1]) == sum(per_label[label].values())
    assert [int(c) for c in rows["all papers"][:6]] == [totals[w] for w in WEEKS]


def test_trends_csv_jsonl_weeks_and_category(history):
    per_label, totals = expected_counts(history)
    out = run(["trends", "-f", "csv", "-c", "lora", "-c", "off-topic"], db=history).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["week"], r["category"]) for r in rows] == [
        (w, c) for w in WEEKS for c in ("lora", "off-topic")
    ]
    for row in rows:
        assert int(row["papers"]) == per_label[row["category"]][row["week"]]
        assert int(row["week_total"]) == totals[row["week"]]
    last = [
        json.loads(line)
        for line in run(
            ["trends", "-f", "jsonl", "--weeks", "2", "-c", "compression"], db=history
        ).stdout.splitlines()
    ]
    assert [(r["week"], r["papers"]) for r in last] == [
        (w, per_label["compression"][w]) for w in WEEKS[-2:]
    ]
    bad = run(["trends", "-c", "no-such-thing"], db=history)
    assert bad.exit_code == 2 and "unknown category 'no-such-thing'" in bad.stderr


def test_trends_plot_writes_an_svg_with_one_series_per_category(history, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "trends.svg"
    asked = ["lora", "test-time-adaptation", "continual-learning"]
    args = ["trends", "--plot", target, *[x for c in asked for x in ("-c", c)]]
    result = run(args, db=history)
    assert result.exit_code == 0, result.stderr
    assert target.exists() and target.stat().st_size > 1000
    root = ET.parse(target).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    series = [el.get("id") for el in root.iter() if (el.get("id") or "").startswith("series-")]
    assert series == [f"series-{c}" for c in asked]
    texts = [el.text for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(c in texts for c in asked) and "2026-03-02" in texts  # legend and weeks

    png = tmp_path / "trends.png"
    assert run(["trends", "--plot", png, "-c", "lora"], db=history).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wrong = run(["trends", "--plot", tmp_path / "trends.gif"], db=history)
    assert wrong.exit_code == 2 and "--plot writes .svg, .png, .pdf files" in wrong.stderr


def test_trends_plot_without_matplotlib_says_how_to_get_it(history, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run(["trends", "--plot", tmp_path / "t.svg"], db=history)
    assert result.exit_code == 1
    assert "pip install 'adapt-triage[plot]'" in result.stderr
    assert not (tmp_path / "t.svg").exists()


def test_trends_on_an_empty_history(tmp_path):
    db = tmp_path / "empty.db"
    Store(db).close()
    result = run(["trends"], db=db)
    assert result.exit_code == 0 and "no stored papers yet" in result.stdout
    assert run(["trends", "-f", "csv"], db=db).stdout == "week,category,papers,week_total\n"


def test_trends_share_charts_each_category_as_a_percentage_of_the_week(history, tmp_path):
    per_label, totals = expected_counts(history)
    result = run(["trends", "--share", "-c", "lora", "-c", "compression"], db=history)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("% of each week's papers by label, 2026-02-23")
    rows = {}
    for line in lines[3:]:
        name, rest = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        rows[name] = rest.split()
    assert list(rows) == ["lora", "compression", "all papers"]
    for label in ("lora", "compression"):
        shares = [f"{100 * per_label[label][w] / totals[w]:.1f}" for w in WEEKS]
        assert rows[label][:6] == shares
        overall = 100 * sum(per_label[label].values()) / sum(totals.values())
        assert rows[label][7] == f"{overall:.1f}"
    assert [int(c) for c in rows["all papers"][:6]] == [totals[w] for w in WEEKS]

    pytest.importorskip("matplotlib")
    target = tmp_path / "share.svg"
    assert run(["trends", "--share", "-c", "lora", "--plot", target], db=history).exit_code == 0
    texts = [el.text for el in ET.parse(target).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "% of the week's papers" in texts
