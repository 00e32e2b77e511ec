"""`export --format bibtex|ris`, read back by real parsers (bibtexparser, rispy); `mark`,
`list --starred/--unread`, `open`."""

from __future__ import annotations

import json

import bibtexparser
import rispy
from bibtexparser import middlewares
from conftest import FIXTURES
from helpers import jsonl, run

HOSTILE = 'Evil} @misc{pwned, title={x} & 100% <script>alert("t")</script>\nER  - '


def parse_bib(text: str):
    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()]
    )
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library.entries


def seeded(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    return db


def test_bibtex_and_ris_of_the_seed_page_parse_back_with_every_field(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    papers = {p["title"]: p for p in jsonl(run(["export", "-f", "jsonl"], db=db).stdout)}
    assert len(papers) == 70

    entries = parse_bib(run(["export", "--format", "bibtex"], db=db).stdout)
    assert len(entries) == 70
    assert len({e.key for e in entries}) == 70
    for entry in entries:
        assert entry.entry_type == "misc"
        fields = entry.fields_dict
        paper = papers[fields["title"].value]
        assert set(fields) == {"title", "abstract", "keywords", "note"}
        assert fields["abstract"].value.split()[:5] == paper["abstract"].split()[:5]
        assert fields["keywords"].value.split(", ") == paper["labels"]
        assert fields["note"].value == f"adapt-triage id {paper['id']}"

    records = rispy.loads(run(["export", "--format", "ris"], db=db).stdout)
    assert len(records) == 70
    for record in records:
        paper = papers[record["title"]]
        assert record["type_of_reference"] == "GEN"
        assert record["id"] == paper["id"]
        assert record["keywords"] == paper["labels"]
        assert record["abstract"].split()[:5] == paper["abstract"].split()[:5]


def test_arxiv_eprint_doi_url_authors_year_keywords_and_a_hostile_title(tmp_path):
    db = tmp_path / "t.db"
    extra = tmp_path / "extra.jsonl"
    rows = [
        {
            "id": "2502.01234v3",
            "title": "Rank-Adaptive Merging of {LoRA} Experts",
            "abstract": "We merge low-rank adapters of several tasks into one model.",
            "authors": ["Émilie du Châtelet", "Ada Lovelace"],
            "doi": "10.1234/Merge.2025",
            "categories": ["cs.CL", "cs.LG"],
            "published": "2025-02-03",
        },
        {
            "title": HOSTILE,
            "abstract": "Prompt tuning with soft tokens for a frozen backbone.",
            "authors": ["Smith and Sons Research"],
            "url": "javascript:alert(1)",
        },
    ]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    day1 = FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"
    assert run(["ingest", "-q", day1, extra], db=db).exit_code == 0

    bib = run(["export", "-f", "bibtex"], db=db).stdout
    # BibTeX itself counts every brace: each entry's braces must balance.
    for chunk in ("\n" + bib).split("\n@")[1:]:
        assert chunk.count("{") == chunk.count("}"), chunk
    entries = {e.key: e for e in parse_bib(bib)}
    assert len(entries) == 4
    merge = entries["chatelet2025rank"].fields_dict
    assert merge["archivePrefix"].value == "arXiv"
    assert merge["eprint"].value == "2502.01234"
    assert merge["primaryClass"].value == "cs.CL"
    assert merge["doi"].value == "10.1234/merge.2025"
    assert merge["url"].value == "https://arxiv.org/abs/2502.01234"
    assert merge["year"].value == "2025"
    assert merge["title"].value == "Rank-Adaptive Merging of {LoRA} Experts"
    names = merge["author"].value
    assert [" ".join(n.first + n.von + n.last) for n in names] == [
        "Émilie du Châtelet",
        "Ada Lovelace",
    ]
    assert merge["keywords"].value
    lovelace = entries["lovelace2025singular"].fields_dict
    assert lovelace["eprint"].value == "2501.00001"
    assert lovelace["primaryClass"].value == "cs.LG"
    assert [" ".join(n.first + n.last) for n in lovelace["author"].value] == [
        "Ada Lovelace",
        "Alan Turing",
    ]
    (hostile,) = [e for e in entries.values() if "Evil" in e.fields_dict["title"].value]
    title = hostile.fields_dict["title"].value
    assert title == 'Evil @miscpwned, title=x \\& 100\\% <script>alert("t")</script> ER -'
    assert "url" not in hostile.fields_dict  # javascript: is never a URL
    (author,) = hostile.fields_dict["author"].value
    assert " ".join(author.last) == "{Smith and Sons Research}"  # one author, not three

    records = {r["id"]: r for r in rispy.loads(run(["export", "-f", "ris"], db=db).stdout)}
    assert len(records) == 4
    merge = records["arxiv:2502.01234"]
    assert merge["type_of_reference"] == "UNPB"
    assert merge["authors"] == ["Châtelet, Émilie du", "Lovelace, Ada"]
    assert merge["doi"] == "10.1234/merge.2025"
    assert merge["urls"] == ["https://arxiv.org/abs/2502.01234"]
    assert merge["year"] == "2025" and merge["date"] == "2025/02/03"
    assert merge["name_of_database"] == "arXiv"
    assert merge["accession_number"] == "arXiv:2502.01234"
    assert "arXiv:2502.01234 [cs.CL]" in merge["notes"]
    assert merge["keywords"]
    (hostile,) = [r for r in records.values() if "Evil" in r["title"]]
    assert hostile["title"].endswith("ER -") and "urls" not in hostile


def test_export_filters_category_since_and_starred(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    lora = jsonl(run(["export", "-f", "jsonl", "-c", "lora"], db=db).stdout)
    assert 0 < len(lora) < 70
    assert len(parse_bib(run(["export", "-f", "bibtex", "-c", "lora"], db=db).stdout)) == len(lora)
    assert len(rispy.loads(run(["export", "-f", "ris", "-c", "lora"], db=db).stdout)) == len(lora)
    assert run(["export", "-f", "bibtex", "--since", "2999-01-01"], db=db).stdout == ""
    assert len(parse_bib(run(["export", "-f", "bibtex", "--since", "1d"], db=db).stdout)) == 70

    assert run(["export", "-f", "ris", "--starred"], db=db).stdout == ""
    first, second = lora[0]["id"], lora[1]["id"]
    for pid in (first, second):
        assert run(["mark", pid, "--star"], db=db).exit_code == 0
    out = tmp_path / "starred.ris"
    assert run(["export", "-f", "ris", "--starred", "-o", out], db=db).exit_code == 0
    assert {r["id"] for r in rispy.loads(out.read_text())} == {first, second}


def test_mark_read_star_and_the_list_filters(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    ids = [p["id"] for p in jsonl(run(["list", "-f", "jsonl"], db=db).stdout)]
    result = run(["mark", ids[0], "--read", "--star"], db=db)
    assert result.exit_code == 0 and result.stdout.strip() == f"{ids[0]}: read, starred"
    assert run(["mark", ids[1], "--star"], db=db).exit_code == 0
    starred = [p["id"] for p in jsonl(run(["list", "--starred", "-f", "jsonl"], db=db).stdout)]
    assert sorted(starred) == sorted(ids[:2])
    unread = [p["id"] for p in jsonl(run(["list", "--unread", "-f", "jsonl"], db=db).stdout)]
    assert len(unread) == 69 and ids[0] not in unread

    assert run(["mark", ids[0], "--unread", "--unstar"], db=db).stdout.strip() == (
        f"{ids[0]}: unread, not starred"
    )
    assert len(jsonl(run(["list", "--unread", "-f", "jsonl"], db=db).stdout)) == 70
    assert [p["id"] for p in jsonl(run(["list", "--starred", "-f", "jsonl"], db=db).stdout)] == [
        ids[1]
    ]

    nothing = run(["mark", ids[0]], db=db)
    assert nothing.exit_code == 2 and "--read" in nothing.stderr
    missing = run(["mark", "2999.99999", "--read"], db=db)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "adapt-triage: no stored paper matches '2999.99999'"


def test_digest_hide_read_leaves_out_the_papers_marked_read(tmp_path, seed_page):
    db = seeded(tmp_path, seed_page)
    ids = [p["id"] for p in jsonl(run(["list", "-f", "jsonl"], db=db).stdout)]
    for pid in ids[:5]:
        run(["mark", pid, "--read"], db=db)
    shown = jsonl(run(["digest", "--all", "--no-mark", "-f", "jsonl", "--hide-read"], db=db).stdout)
    assert len(shown) == 65 and not {p["id"] for p in shown} & set(ids[:5])
    everything = jsonl(run(["digest", "--all", "--no-mark", "-f", "jsonl"], db=db).stdout)
    assert len(everything) == 70


def test_open_prints_the_url_without_a_display_and_opens_a_browser_with_one(tmp_path, monkeypatch):
    db = tmp_path / "t.db"
    extra = tmp_path / "bad.jsonl"
    extra.write_text(json.dumps({"title": "No link here", "url": "file:///etc/passwd"}) + "\n")
    assert (
        run(["ingest", "-q", FIXTURES / "cli" / "arxiv_cs_lg_day1.xml", extra], db=db).exit_code
        == 0
    )
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)

    result = run(["open", "2501.00001"], db=db)
    assert result.exit_code == 0 and result.stdout == "https://arxiv.org/abs/2501.00001\n"
    assert opened == []
    unread = {
        p["title"]: p["id"] for p in jsonl(run(["list", "--unread", "-f", "jsonl"], db=db).stdout)
    }
    assert len(unread) == 2 and "No link here" in unread  # opening marked 2501.00001 read

    monkeypatch.setenv("DISPLAY", ":0")
    result = run(["open", "arxiv:2501.00002"], db=db)
    assert result.exit_code == 0 and result.stdout == ""
    assert opened == ["https://arxiv.org/abs/2501.00002"]
    assert run(["open", "2501.00002", "--print"], db=db).stdout.strip() == opened[0]
    assert len(opened) == 1

    no_link = run(["open", unread["No link here"]], db=db)
    assert no_link.exit_code == 1 and "no http(s) URL" in no_link.stderr
    unread = jsonl(run(["list", "--unread", "-f", "jsonl"], db=db).stdout)
    assert [p["title"] for p in unread] == ["No link here"]
