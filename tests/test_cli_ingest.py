"""`adapt-triage ingest` end to end: real feed bytes in, one SQLite history out."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES
from helpers import jsonl, run, serve

CLI = FIXTURES / "cli"
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def content_dump(db: Path) -> list[str]:
    """Every row of the paper tables (not the per-fetch bookkeeping of `sources`)."""
    with sqlite3.connect(db) as conn:
        out = []
        for table in ("papers", "versions", "paper_sources", "user_labels"):
            out += [repr(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        return out


def summary(result) -> dict[str, dict]:
    return {s["source"]: s for s in json.loads(result.stdout)["sources"]}


# --------------------------------------------------------------------------- the seed page


def test_seed_page_stores_71_papers_with_one_linked_duplicate(tmp_path, seed_page):
    db = tmp_path / "t.db"
    result = run(["ingest", seed_page], db=db)
    assert result.exit_code == 0, result.output
    assert f"{seed_page}: ok, items 71, new 70, updated 0, duplicates 1, errors 0" in (
        result.stderr
    )
    assert rows(db, "SELECT count(*) FROM papers") == [(71,)]
    links = rows(
        db,
        "SELECT d.title, c.title FROM papers d JOIN papers c ON c.id = d.duplicate_of",
    )
    assert links == [
        (
            "Language Modelling Approaches to Adaptive Machine Translation",
            "Adaptive Machine Translation with Large Language Models",
        )
    ]


def test_second_ingest_of_the_same_page_reports_nothing_new_and_changes_nothing(
    tmp_path, seed_page
):
    db = tmp_path / "t.db"
    assert run(["ingest", seed_page], db=db).exit_code == 0
    before = content_dump(db)
    again = run(["ingest", "--format", "json", seed_page], db=db)
    assert again.exit_code == 0
    report = summary(again)[str(seed_page)]
    assert (report["new"], report["updated"], report["duplicates"]) == (0, 0, 0)
    assert report["unchanged"] == 71
    assert content_dump(db) == before


# --------------------------------------------------------------------------- real feeds


def expected_items(path: Path) -> int:
    """Items in a real file, counted independently of the project's parsers."""
    if path.suffix == ".json":
        data = json.loads(path.read_bytes())
        return len(data["data"] if isinstance(data, dict) else data)
    root = ET.fromstring(path.read_bytes())
    return (
        len(root.findall(f"{ATOM}entry"))
        + len(root.findall("channel/item"))
        + len(root.findall(f"{RSS1}item"))
    )


REAL_FEEDS = [
    "arxiv-rss/arxiv_rss_quant-ph_2025-04-28_full.xml",
    "arxiv-rss/arxiv_rss_cs.LG_2026-04-27_excerpt-3items.xml",
    "arxiv-rss/arxiv_rss_cs.CL_2026-04-27_excerpt-3items.xml",
    "arxiv-rss/arxiv_rss_cs.AI_2026-04-27_excerpt-3items.xml",
    "arxiv-rss/arxiv_rss_cs.CL_2026-08-01_weekend-empty.xml",
    "arxiv-rss/arxiv_rss_OLD-RDF_hep-ex_2018-05-23_EDITED-excerpt.xml",
    "arxiv-api/arxiv_api_2016-10-09_search-au-del_maestro_max10.xml",
    "arxiv-api/arxiv_api_2018-02-05_search-all-Einstein_max10.xml",
    "arxiv-api/arxiv_api_2019-01-04_idlist-astro-ph-9812133.xml",
    "arxiv-api/arxiv_api_2026-04-12_idlist-2ids-1found.xml",
    "arxiv-api/arxiv_api_2026-04-12_idlist-zero-results.xml",
    "arxiv-api/arxiv_api_2026-04-12_search-all-testing_max10.xml",
    "arxiv-api/arxiv_api_2026-04-30_search-cat-cs.LG-OR-cs.AI_max20.xml",
    "huggingface/hf_daily_papers_2024-03-12_raw.json",
    "huggingface/hf_daily_papers_2026-07-31_recorded-5items.json",
    "huggingface/hf_daily_papers_2026-08-21_reserialized-indent2.json",
    "huggingface/hf_daily_papers_rss_UNOFFICIAL_huangboming_2026-08-08.xml",
    "other/biorxiv_rss1_genomics_2023-12-17_excerpt.xml",
]


def test_every_real_feed_ingests_with_the_items_it_carries(tmp_path, shared):
    db = tmp_path / "t.db"
    paths = [shared / "realworld" / name for name in REAL_FEEDS]
    result = run(["ingest", "--format", "json", *paths], db=db)
    assert result.exit_code == 0, result.output
    reports = summary(result)
    total = 0
    for path in paths:
        report = reports[str(path)]
        items = expected_items(path)
        assert report["items"] == items, path.name
        assert report["errors"] == [], path.name
        assert report["status"] == ("ok" if items else "empty"), path.name
        assert (
            report["new"] + report["updated"] + report["duplicates"] + report["unchanged"] == items
        ), path.name
        total += report["new"] + report["duplicates"]
        stored = rows(db, "SELECT count(*) FROM paper_sources WHERE source = ?", (str(path),))
        assert stored == [(items,)], path.name
    assert rows(db, "SELECT count(*) FROM papers") == [(total,)]
    weekend = reports[str(paths[4])]
    assert weekend["skip_days"] and weekend["feed_date"].startswith("2026-08-01")


@pytest.mark.parametrize(
    "name",
    [
        "arxiv-api/arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml",
        "arxiv-api/arxiv_api_2019-01-04_error-INVALIDID.xml",
    ],
)
def test_arxiv_error_feed_is_a_clear_error_not_a_paper(tmp_path, shared, name):
    db = tmp_path / "t.db"
    path = shared / "realworld" / name
    result = run(["ingest", path], db=db)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("adapt-triage:")]
    assert len(errors) == 1
    assert str(path) in errors[0] and "incorrect id format" in errors[0]
    assert "Traceback" not in result.output
    assert rows(db, "SELECT count(*) FROM papers") == [(0,)]
    assert rows(db, "SELECT last_status, consecutive_failures FROM sources") == [("error", 1)]


def test_overlapping_arxiv_api_answers_give_100_papers_not_110(tmp_path, shared):
    db = tmp_path / "t.db"
    api = shared / "realworld" / "arxiv-api"
    small = api / "arxiv_api_2026-04-12_search-all-testing_max10.xml"
    large = api / "arxiv_api_2026-04-12_search-all-testing_max100.xml"
    result = run(["ingest", "--format", "json", small, large], db=db)
    assert result.exit_code == 0
    reports = summary(result)
    assert reports[str(large)]["unchanged"] == 10
    assert rows(db, "SELECT count(*) FROM papers") == [(100,)]
    assert rows(db, "SELECT count(*) FROM papers WHERE duplicate_of IS NOT NULL") == [(0,)]


def test_one_failing_source_does_not_stop_the_others(tmp_path, seed_page):
    db = tmp_path / "t.db"
    missing = tmp_path / "gone.xml"
    result = run(["ingest", missing, seed_page], db=db)
    assert result.exit_code == 1
    assert f"adapt-triage: {missing}: no such file" in result.stderr
    assert rows(db, "SELECT count(*) FROM papers") == [(71,)]


# --------------------------------------------------------------------------- identity


def test_same_arxiv_id_from_arxiv_feed_and_hugging_face_is_one_paper(tmp_path):
    db = tmp_path / "t.db"
    arxiv, hf = CLI / "arxiv_cs_lg_day1.xml", CLI / "hf_daily_day1.json"
    result = run(["ingest", "--format", "json", arxiv, hf], db=db)
    assert result.exit_code == 0, result.output
    reports = summary(result)
    assert reports[str(arxiv)]["new"] == 2
    assert reports[str(hf)]["new"] == 1  # 2501.00003; 2501.00001 is already known
    assert rows(db, "SELECT id FROM papers ORDER BY id") == [
        ("arxiv:2501.00001",),
        ("arxiv:2501.00002",),
        ("arxiv:2501.00003",),
    ]
    carried = rows(db, "SELECT source FROM paper_sources WHERE paper_id = 'arxiv:2501.00001'")
    assert sorted(s for (s,) in carried) == sorted([str(arxiv), str(hf)])


def test_new_arxiv_version_updates_the_paper_and_keeps_its_versions(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    result = run(["ingest", "--format", "json", CLI / "arxiv_cs_lg_day2.xml"], db=db)
    assert result.exit_code == 0
    (report,) = summary(result).values()
    assert (report["new"], report["updated"], report["duplicates"]) == (0, 1, 0)
    assert rows(db, "SELECT version, announce_type FROM papers WHERE arxiv_id = '2501.00001'") == [
        (2, "replace")
    ]
    assert rows(db, "SELECT version FROM versions WHERE paper_id = 'arxiv:2501.00001'") == [
        (1,),
        (2,),
    ]
    abstract = rows(db, "SELECT abstract FROM papers WHERE id = 'arxiv:2501.00001'")[0][0]
    assert abstract.endswith("a study of the rank.")
    shown = run(["show", "2501.00001", "-f", "table"], db=db)
    assert "v1" in shown.stdout and "v2" in shown.stdout


def test_retitled_copy_without_an_id_is_a_linked_duplicate(tmp_path):
    db = tmp_path / "t.db"
    run(["ingest", CLI / "arxiv_cs_lg_day1.xml"], db=db)
    result = run(["ingest", "--format", "json", CLI / "pasted_copy.txt"], db=db)
    assert result.exit_code == 0
    (report,) = summary(result).values()
    assert report["duplicates"] == 1 and report["new"] == 0
    ((dup_id, canonical, reason, score),) = rows(
        db,
        "SELECT id, duplicate_of, dup_reason, dup_score FROM papers WHERE duplicate_of IS NOT NULL",
    )
    assert dup_id.startswith("title:") and canonical == "arxiv:2501.00001"
    assert reason and 0 < score <= 1
    listed = jsonl(run(["list", "--format", "jsonl"], db=db).stdout)
    assert dup_id not in [p["id"] for p in listed]
    everything = jsonl(run(["list", "--all", "--format", "jsonl"], db=db).stdout)
    assert {p["id"]: p["duplicate_of"] for p in everything}[dup_id] == canonical


# --------------------------------------------------------------------------- over HTTP


def test_url_sources_use_conditional_get_and_304_is_success(tmp_path, shared, monkeypatch):
    db = tmp_path / "t.db"
    url = "https://rss.arxiv.org/rss/cs.LG"
    body = (
        shared / "realworld/arxiv-rss/arxiv_rss_cs.LG_2026-04-27_excerpt-3items.xml"
    ).read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"etag": '"v1"'})
        return httpx.Response(200, content=body, headers={"etag": '"v1"'})

    seen = serve(monkeypatch, handler)
    first = run(["ingest", "--format", "json", url], db=db)
    assert first.exit_code == 0, first.output
    assert summary(first)[url]["new"] == 3
    second = run(["ingest", "--format", "json", url], db=db)
    assert second.exit_code == 0
    assert summary(second)[url]["status"] == "not-modified"
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[0].headers["user-agent"].startswith("adapt-triage/")
    assert rows(db, "SELECT count(*) FROM papers") == [(3,)]


def test_http_failure_is_one_line_naming_the_url(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    url = "https://example.org/feed.xml"
    serve(monkeypatch, {url: 503})
    result = run(["ingest", url], db=db)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("adapt-triage:")]
    assert len(errors) == 1 and url in errors[0] and "503" in errors[0]
    assert "Traceback" not in result.output


def test_json_summary_goes_to_stdout(tmp_path, seed_page):
    result = run(["ingest", "--format", "json", seed_page], db=tmp_path / "t.db")
    data = json.loads(result.stdout)
    (source,) = data["sources"]
    assert {"source", "status", "items", "new", "updated", "duplicates", "errors"} <= set(source)
    assert (source["items"], source["new"], source["duplicates"]) == (71, 70, 1)


def test_quiet_prints_nothing_on_success(tmp_path, seed_page):
    result = run(["ingest", "--quiet", seed_page], db=tmp_path / "t.db")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_two_works_with_one_title_and_no_ids_are_both_kept_and_not_linked(tmp_path):
    db = tmp_path / "t.db"
    source = tmp_path / "same-title.jsonl"
    source.write_text(
        json.dumps(
            {
                "title": "Efficient Adaptation",
                "abstract": "We prune attention heads of a pretrained transformer to cut "
                "inference cost on mobile devices while keeping accuracy on GLUE.",
            }
        )
        + "\n"
        + json.dumps(
            {
                "title": "Efficient adaptation.",
                "abstract": "Test-time adaptation of segmentation networks to fog and night "
                "scenes by updating normalisation statistics on the unlabeled stream.",
            }
        )
        + "\n"
    )
    first = run(["ingest", "--format", "json", source], db=db)
    (report,) = summary(first).values()
    assert (report["new"], report["duplicates"]) == (2, 0)
    ids = [i for (i,) in rows(db, "SELECT id FROM papers ORDER BY rowid")]
    assert ids[1].startswith(ids[0] + "-")
    again = run(["ingest", "--format", "json", source], db=db)
    (report,) = summary(again).values()
    assert (report["new"], report["unchanged"]) == (0, 2)
    assert rows(db, "SELECT count(*), count(duplicate_of) FROM papers") == [(2, 0)]
