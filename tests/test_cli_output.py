"""The one output path: the formats the record set gained where they make sense (markdown
for `feeds list`, `sources list` and `classify`; csv and markdown for `show` and
`dedup`), the same TTY-aware default everywhere, and `--json` still an alias."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import FIXTURES
from helpers import jsonl, run

from adapt_triage import output
from adapt_triage.paper import CONTRACT_FIELDS
from adapt_triage.render import DEDUP_COLUMNS, EXPORT_COLUMNS, SOURCE_COLUMNS

UNSEEN = str(FIXTURES / "cli" / "unseen_abstracts.jsonl")


@pytest.fixture(scope="module")
def db(tmp_path_factory, model_cache_dir):
    db = tmp_path_factory.mktemp("output") / "t.db"
    env = pytest.MonkeyPatch()
    env.setenv("ADAPT_TRIAGE_CACHE", str(model_cache_dir))
    env.setenv("XDG_CONFIG_HOME", str(db.parent / "config"))
    try:
        day1 = FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"
        result = run(["ingest", "--quiet", FIXTURES / "seed_page.txt", day1], db=db)
        assert result.exit_code == 0, result.output
        assert run(["feeds", "add", "cs.LG", "--name", "lg"], db=db).exit_code == 0
        # One cluster for `dedup`: two stored papers the user says are one work.
        assert run(["dedup", "link", "2501.00001", "2501.00002"], db=db).exit_code == 0
    finally:
        env.undo()
    return db


def csv_rows(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert len({len(r) for r in rows}) == 1
    return rows


def markdown_header(text: str) -> list[str]:
    first = text.lstrip().splitlines()[0]
    assert first.startswith("|") and text.splitlines()[1].startswith("|---")
    return [cell.strip() for cell in first.strip("|").split("|")]


@pytest.mark.parametrize(
    ("command", "columns"),
    [(["feeds", "list"], SOURCE_COLUMNS), (["sources", "list"], SOURCE_COLUMNS)],
    ids=" ".join,
)
def test_feeds_and_sources_list_take_markdown(db, command, columns):
    result = run([*command, "--format", "markdown"], db=db)
    assert result.exit_code == 0, result.output
    assert markdown_header(result.stdout) == list(columns)
    assert "cs.LG" in result.stdout or "cs_lg" in result.stdout


def test_classify_takes_markdown(db):
    result = run(["classify", UNSEEN, "--format", "markdown"], db=db)
    assert result.exit_code == 0, result.output
    header = markdown_header(result.stdout)
    assert header[:3] == ["id", "title", "labels"]
    records = jsonl(run(["classify", UNSEEN, "--format", "jsonl"], db=db).stdout)
    assert len(result.stdout.strip().splitlines()) == 2 + len(records)


def test_show_takes_csv_and_markdown(db):
    shown = json.loads(run(["show", "2501.00001", "-f", "json"], db=db).stdout)
    rows = csv_rows(run(["show", "2501.00001", "--format", "csv"], db=db).stdout)
    assert rows[0] == list(EXPORT_COLUMNS)
    assert len(rows) == 2 and rows[1][0] == shown["id"]
    assert rows[1][EXPORT_COLUMNS.index("title")] == shown["title"]
    markdown = run(["show", "2501.00001", "--format", "markdown"], db=db).stdout
    assert markdown_header(markdown)[0] == "id"
    assert shown["id"] in markdown and len(markdown.strip().splitlines()) == 3


def test_dedup_takes_csv_and_markdown_one_linked_paper_a_row(db):
    clusters = jsonl(run(["dedup"], db=db).stdout)
    rows = csv_rows(run(["dedup", "--format", "csv"], db=db).stdout)
    assert rows[0] == list(DEDUP_COLUMNS)
    linked = [(r[0], r[1]) for r in rows[1:]]
    expected = [(c["canonical"]["id"], d["id"]) for c in clusters for d in c["duplicates"]]
    assert linked == expected
    assert any(dup.endswith("2501.00002") for _, dup in linked)  # the link made above
    markdown = run(["dedup", "--format", "markdown"], db=db).stdout
    assert markdown_header(markdown) == list(DEDUP_COLUMNS)
    assert len(markdown.strip().splitlines()) == 2 + len(expected)
    document = json.loads(run(["dedup", "--format", "json"], db=db).stdout)
    assert document == clusters  # json: one document, the array of the clusters


def test_dedup_stats_take_every_format(db):
    lines = jsonl(run(["dedup", "--stats", "--format", "jsonl"], db=db).stdout)
    assert lines and all(isinstance(line, dict) for line in lines)
    assert json.loads(run(["dedup", "--stats", "-f", "json"], db=db).stdout) == lines
    rows = csv_rows(run(["dedup", "--stats", "-f", "csv"], db=db).stdout)
    assert rows[0] == list(lines[0]) and len(rows) == 1 + len(lines)


def test_one_tty_default_table_on_a_terminal_and_jsonl_or_markdown_in_a_pipe(db, monkeypatch):
    piped = {
        "list": run(["list"], db=db).stdout,
        "digest": run(["digest", "--no-mark"], db=db).stdout,
    }
    assert all(isinstance(r, dict) for r in jsonl(piped["list"]))
    assert piped["digest"].lstrip().startswith("#")  # digest's pipe default: markdown
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    for command in (["list"], ["feeds", "list"], ["categories", "list"], ["dedup"]):
        text = run(command, db=db).stdout
        assert text.strip() and not text.lstrip().startswith("{"), command
    # --json and --format win over the terminal.
    assert jsonl(run(["list", "--json"], db=db).stdout) == jsonl(piped["list"])
    assert jsonl(run(["feeds", "list", "-f", "jsonl"], db=db).stdout)[0]["name"] == "lg"


def test_the_contract_fields_come_first_in_every_json_record(db):
    listed = jsonl(run(["list"], db=db).stdout)
    classified = jsonl(run(["classify", UNSEEN], db=db).stdout)
    shown = json.loads(run(["show", "2501.00001", "-f", "json"], db=db).stdout)
    for record in (listed[0], classified[0], shown):
        assert list(record)[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)


def test_choose_is_the_one_default():
    assert output.choose(None, terminal=True) == "table"
    assert output.choose(None, terminal=False) == "jsonl"
    assert output.choose(None, terminal=False, piped="markdown") == "markdown"
    assert output.choose(output.Format.csv, terminal=True) == "csv"
    assert output.choose(output.Format.csv, json_alias=True, terminal=True) == "jsonl"
