"""Near-duplicate detection: the seed page, hand-written hard pairs, variants of real feed
entries, and the persisted index (chains, idempotence, persistence, determinism)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import feedparser
import pytest
import sqlite_utils

from adapt_triage import dedup
from adapt_triage.dedup import THRESHOLD, DedupIndex, DuplicateMatch, similarity
from adapt_triage.paper import Paper, parse_arxiv_id
from adapt_triage.sources import parse_bytes
from adapt_triage.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REALWORLD = SHARED / "realworld"
PAIRS = [json.loads(line) for line in (ROOT / "fixtures/dedup/pairs.jsonl").open()]


def seed_papers() -> list[Paper]:
    """The seed page's 71 papers, read by the real pasted-page reader."""
    data = (ROOT / "fixtures/seed_page.txt").read_bytes()
    return parse_bytes(data, source="seed_page.txt").papers


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    database = sqlite_utils.Database(tmp_path / "papers.db")
    yield database
    database.close()


# every key row of the index: the merged ones and those added since the last merge
ALL_KEYS = "SELECT key, doc FROM dedup_bands UNION SELECT * FROM dedup_recent"


def ingest(index: DedupIndex, papers: list[Paper]) -> dict[str, DuplicateMatch]:
    """What the store does in its one transaction per source: find, then add with the
    match as canonical."""
    links = {}
    with index.db.atomic():
        for paper in papers:
            match = index.find(paper, paper.id)
            index.add(paper.id, paper, match.canonical_id if match else None)
            if match:
                links[paper.id] = match
    return links


# --- the seed page ------------------------------------------------------------------
def test_seed_page_links_exactly_the_adaptive_mt_pair(db):
    papers = seed_papers()
    assert len(papers) == 71
    by_title = {p.title: p for p in papers}
    mt_paper = by_title["Adaptive Machine Translation with Large Language Models"]
    mt_thesis = by_title["Language Modelling Approaches to Adaptive Machine Translation"]

    links = ingest(DedupIndex(db), papers)

    assert list(links) == [mt_thesis.id]  # the later one, to the earlier one
    assert links[mt_thesis.id].canonical_id == mt_paper.id
    assert "shared opening passage" in links[mt_thesis.id].reason
    assert THRESHOLD <= links[mt_thesis.id].score <= 1


def test_no_other_seed_pair_reaches_the_threshold():
    papers = seed_papers()
    docs = [dedup._Doc.of(p) for p in papers]  # what similarity() builds, built once
    above = [
        (papers[i].title, papers[j].title)
        for i in range(len(papers))
        for j in range(i + 1, len(papers))
        if dedup._verdict(docs[i], docs[j])[0] >= THRESHOLD
    ]
    assert above == [
        (
            "Adaptive Machine Translation with Large Language Models",
            "Language Modelling Approaches to Adaptive Machine Translation",
        )
    ]


def test_uni_perceiver_and_its_v2_are_not_linked(db):
    papers = {p.title.split(":")[0]: p for p in seed_papers()}
    v1, v2 = papers["Uni-Perceiver"], papers["Uni-Perceiver v2"]
    assert similarity(v1, v2)[0] < THRESHOLD
    # even with identical abstracts the version marker in the title vetoes the link
    copied = Paper(title=v2.title, abstract=v1.abstract)
    score, reason = similarity(v1, copied)
    assert score == 0.0
    assert "successor/version marker" in reason
    index = DedupIndex(db)
    index.add(v1.id, v1)
    assert index.find(copied, copied.id) is None


# --- hand-written pairs -------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS, ids=[p["kind"] for p in PAIRS])
def test_fixture_pair(pair, db):
    a, b = Paper(**pair["a"]), Paper(**pair["b"])
    duplicate = pair["expect"] == "duplicate"
    score, reason = similarity(a, b)
    assert (score >= THRESHOLD) == duplicate, reason
    assert 0.0 <= score <= 1.0 and reason
    # the index (candidates, then verification) agrees, in both orders
    for first, second in ((a, b), (b, a)):
        index = DedupIndex(db)
        index.add("first", first)
        match = index.find(second, "second")
        assert (match is not None) == duplicate
        if match:
            assert match.canonical_id == "first" and match.score >= THRESHOLD


def test_fixture_has_enough_pairs_of_each_kind():
    kinds = [p["expect"] for p in PAIRS]
    assert kinds.count("duplicate") >= 15 and kinds.count("distinct") >= 15


@pytest.mark.parametrize(
    ("kind", "marker"),
    [
        ("successor ++ with heavy text reuse", "plusplus"),
        ("successor ++ reusing two sentences verbatim", "plusplus"),
        ("same title, one abstract missing, different arXiv ids", "different arXiv ids"),
    ],
)
def test_vetoed_pairs_say_why(kind, marker):
    pair = next(p for p in PAIRS if p["kind"] == kind)
    score, reason = similarity(Paper(**pair["a"]), Paper(**pair["b"]))
    assert score == 0.0
    assert reason.startswith("not a duplicate") and marker in reason


def test_different_arxiv_ids_link_only_when_one_abstract_is_nearly_contained():
    """Two arXiv ids are strong evidence of two works: a shared 42-word opening (the seed
    page's paper and thesis, which on the page carry no ids and are linked) no longer
    outweighs it; a thesis that contains the paper's abstract still links."""
    pair = next(p for p in PAIRS if p["kind"].startswith("paper vs thesis sharing only"))
    a, b = Paper(**pair["a"]), Paper(**pair["b"])
    assert a.arxiv_id != b.arxiv_id
    score, reason = similarity(a, b)
    assert score == 0.0 and "different arXiv ids" in reason and "passage of 42 words" in reason
    assert similarity(Paper(a.title, a.abstract), Paper(b.title, b.abstract))[0] >= THRESHOLD
    pair = next(p for p in PAIRS if p["kind"].startswith("thesis containing the paper's"))
    a, b = Paper(**pair["a"]), Paper(**pair["b"])
    assert a.arxiv_id != b.arxiv_id
    assert similarity(a, b)[0] >= THRESHOLD


def test_author_and_id_vetoes_apply_when_text_is_not_overwhelming():
    words = seed_papers()[0].abstract.split()
    edited = " ".join("however" if i % 8 == 7 else w for i, w in enumerate(words))
    a = Paper(
        title="Video Outpainting by Adaptation", abstract=" ".join(words), authors=["Fu-Yun Wang"]
    )
    b = Paper(title="Video outpainting by adaptation.", abstract=edited, authors=["Wang, Fu-Yun"])
    score, reason = similarity(a, b)  # no 30-word verbatim run, containment below 0.8
    assert score >= THRESHOLD and reason.startswith("same normalised title")
    stranger = Paper(title=b.title, abstract=b.abstract, authors=["J. Doe"])
    score, reason = similarity(a, stranger)
    assert score == 0.0 and "no author in common" in reason
    a.arxiv_id, b.arxiv_id = "2403.00001", "2403.00002"
    assert "different arXiv ids" in similarity(a, b)[1]
    a.doi, b.doi, a.arxiv_id, b.arxiv_id = "10.1/x", "10.1/y", None, None
    assert "different DOIs" in similarity(a, b)[1]
    # a nearly contained abstract overrides every one of these vetoes
    c = Paper(title=a.title, abstract=" ".join(words), doi="10.1/z", authors=["J. Doe"])
    assert similarity(a, c)[0] >= THRESHOLD


# --- real feed entries and variants of them -----------------------------------------
def realworld_papers() -> list[Paper]:
    papers = []
    for name in (
        "arxiv-api/arxiv_api_2026-04-12_search-all-testing_max100.xml",
        "arxiv-rss/arxiv_rss_quant-ph_2025-04-28_full.xml",
    ):
        feed = feedparser.parse((REALWORLD / name).read_bytes())
        for entry in feed.entries:
            arxiv_id = parse_arxiv_id(entry.get("id") or entry.get("link"))
            authors = [a.get("name", "") for a in entry.get("authors", [])]
            if len(authors) == 1 and "," in authors[0]:
                authors = authors[0].split(", ")
            papers.append(
                Paper(
                    title=entry.title,
                    abstract=entry.summary,  # RSS: "arXiv:... Announce Type: ... Abstract: ..."
                    authors=authors,
                    arxiv_id=arxiv_id[0] if arxiv_id else None,
                    doi=entry.get("arxiv_doi"),
                    source=name,
                )
            )
    return list({p.id: p for p in papers}.values())


def variant(paper: Paper, kind: int) -> Paper:
    abstract = re.sub(r"^arXiv:\S+ Announce Type: \S+\s+Abstract: ", "", paper.abstract)
    words = abstract.split()
    if kind == 0:  # feed teaser: cut, ellipsis, pasted page (title-hash id)
        return Paper(title=paper.title, abstract=" ".join(words[: len(words) * 6 // 10]) + " …")
    if kind == 1:  # publisher copy: upper-case title, "Abstract:" prefix, DOI only
        return Paper(title=paper.title.upper(), abstract="Abstract: " + abstract, doi=paper.doi)
    if kind == 2:  # HTML copy: tagged title, escaped abstract
        first, _, rest = paper.title.partition(" ")
        return Paper(title=f"<b>{first}</b> {rest}", abstract=html.escape(abstract))
    return Paper(title=paper.title.rstrip(".") + ".", abstract="\n".join(words))  # reflowed


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared/realworld not beside the repo")
def test_real_feed_entries_link_only_to_their_variants(db):
    papers = realworld_papers()
    assert len(papers) > 150
    index = DedupIndex(db)
    # 181 real arXiv papers, many on the same topic ("testing"): no links among them
    # (this includes 1106.3680 and its journal extension 1306.4664, two arXiv ids sharing
    # only 45% of their 3-grams: vetoed by design)
    assert ingest(index, papers) == {}
    checked = 0
    for n, paper in enumerate(papers[::4]):
        copy = variant(paper, n % 4)
        assert copy.id != paper.id
        match = index.find(copy, copy.id)
        assert match is not None and match.canonical_id == paper.id, (paper.title, match)
        checked += 1
    assert checked >= 40


# --- the persisted index ------------------------------------------------------------
def paper_pair() -> tuple[Paper, Paper, Paper]:
    pair = next(p for p in PAIRS if p["kind"].startswith("thesis whose abstract"))
    paper, thesis = Paper(**pair["a"]), Paper(**pair["b"])
    copy = Paper(title=thesis.title.upper(), abstract="Abstract: " + thesis.abstract)
    return paper, thesis, copy


def test_chains_are_flattened_to_the_first_seen_paper(tmp_path):
    """The root of a cluster has one owner, `papers.duplicate_of`: the index reads it."""
    paper, thesis, copy = paper_pair()
    store = Store.open(tmp_path / "papers.db")
    index = DedupIndex(store.db)
    store.ingest_source("a", [paper], dedup=index, now="2026-01-01T00:00:00Z")
    store.ingest_source("b", [thesis], dedup=index, now="2026-01-02T00:00:00Z")
    a, b, c = paper.id, thesis.id, copy.id
    assert index.canonical(b) == a
    # the copy matches the thesis (a duplicate): it is linked to the thesis's root
    match = index.find(copy, c)
    assert match is not None and match.canonical_id == a
    store.ingest_source("c", [copy], dedup=index, now="2026-01-03T00:00:00Z")
    assert index.canonical(b) == a and index.canonical(c) == a
    match = index.find(Paper(title=copy.title, abstract=copy.abstract + " Extra."), "D")
    assert match is not None and match.canonical_id == a
    # A itself turns out to duplicate an older Z (the user links them): everything that
    # pointed at A follows, without a word to the index
    z = Paper(title="A report the rules cannot tie to it", abstract=seed_papers()[5].abstract)
    store.ingest_source("z", [z], dedup=index, now="2026-01-04T00:00:00Z")
    store.db.execute("UPDATE papers SET first_seen = '2025-01-01T00:00:00Z' WHERE id = ?", [z.id])
    store.link_papers(z.id, a)
    assert [index.canonical(x) for x in (a, b, c)] == [z.id, z.id, z.id]
    assert index.canonical(z.id) is None
    store.close()


def stored_roots(db: sqlite_utils.Database, roots: dict[str, str | None]) -> None:
    """What the store writes beside the index: each paper's root, `papers.duplicate_of`."""
    db.execute("CREATE TABLE IF NOT EXISTS papers (id TEXT PRIMARY KEY, duplicate_of TEXT)")
    db.conn.executemany("INSERT OR REPLACE INTO papers VALUES (?, ?)", list(roots.items()))


def test_find_skips_the_paper_itself_and_its_own_duplicates(db):
    paper, thesis, _ = paper_pair()
    index = DedupIndex(db)
    index.add("A", paper)
    index.add("B", thesis)
    stored_roots(db, {"A": None, "B": "A"})
    assert index.find(paper, "A") is None  # re-ingesting A does not link it to B
    assert index.find(thesis, "B").canonical_id == "A"


def test_add_is_idempotent_and_replaces_rows(db):
    paper, thesis, _ = paper_pair()
    index = DedupIndex(db)

    def counts() -> tuple[int, int]:
        docs = db.execute("SELECT count(*) FROM dedup_docs").fetchone()[0]
        return docs, db.execute(f"SELECT count(*) FROM ({ALL_KEYS})").fetchone()[0]

    index.add("A", paper)
    once = counts()
    index.add("A", paper)
    assert counts() == once
    other = seed_papers()[5]
    index.add("A", other)  # same id, new text: the old keys are gone
    assert counts()[0] == 1
    assert index.find(paper, "X") is None
    assert index.find(other, "X").canonical_id == "A"


def test_index_survives_closing_the_database(tmp_path):
    path = tmp_path / "papers.db"
    paper, thesis, _ = paper_pair()
    db = sqlite_utils.Database(path)
    DedupIndex(db).add("A", paper)
    db.conn.commit()
    db.close()
    db = sqlite_utils.Database(path)
    match = DedupIndex(db).find(thesis, "B")
    assert match is not None and match.canonical_id == "A"
    db.close()


def test_writes_join_the_callers_transaction(db, tmp_path):
    paper, thesis, _ = paper_pair()
    index = DedupIndex(db)
    db.begin()  # the store's transaction for one source
    index.add("A", paper)
    assert db.conn.in_transaction  # not committed by the index
    db.rollback()
    assert db.execute("SELECT count(*) FROM dedup_docs").fetchone()[0] == 0
    assert index.find(thesis, "B") is None
    # outside a transaction each call stands alone, as sqlite-utils' own writes do
    index.add("A", paper)
    assert not db.conn.in_transaction
    other = sqlite_utils.Database(tmp_path / "papers.db")
    assert DedupIndex(other).find(thesis, "B").canonical_id == "A"
    other.close()


def test_opening_an_existing_index_writes_nothing(db):
    DedupIndex(db).add("A", paper_pair()[0])
    before = db.conn.total_changes
    DedupIndex(db)
    assert db.conn.total_changes == before and not db.conn.in_transaction


def test_a_parameter_change_rebuilds_the_keys(tmp_path):
    paper, thesis, _ = paper_pair()
    store = Store.open(tmp_path / "papers.db")
    db = store.db
    store.ingest_source("a", [paper], dedup=DedupIndex(db), now="2026-01-01T00:00:00Z")
    db.execute("UPDATE dedup_meta SET value = 'older' WHERE key = 'params'")
    db.execute("DELETE FROM dedup_bands")
    db.execute("DELETE FROM dedup_recent")
    db.conn.commit()
    index = DedupIndex(db)  # the keys are recomputed from the stored papers' text
    assert db.execute("SELECT value FROM dedup_meta").fetchone()[0] == dedup.PARAMS_VERSION
    assert index.find(thesis, "B").canonical_id == paper.id
    store.close()


def test_an_index_of_the_first_layout_is_converted(db):
    """An index written before token hashes (compressed words, its own canonical_id copy
    of the root) is converted when opened: the same papers are found, nothing is lost."""
    paper, thesis, _ = paper_pair()
    db.execute(
        "CREATE TABLE dedup_docs (doc INTEGER PRIMARY KEY, paper_id TEXT NOT NULL UNIQUE, "
        "canonical_id TEXT, arxiv_id TEXT, doi TEXT, authors TEXT NOT NULL DEFAULT '[]', "
        "title TEXT NOT NULL DEFAULT '', words BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX dedup_docs_canonical ON dedup_docs (canonical_id)")
    db.execute(
        "CREATE TABLE dedup_bands (band INTEGER NOT NULL, bucket INTEGER NOT NULL, doc INTEGER "
        "NOT NULL, PRIMARY KEY (band, bucket, doc)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE dedup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO dedup_meta VALUES ('params', 'dedup-2:5:20x3:8/16:seed=20240811')")
    words = dedup.abstract_tokens(paper.abstract)
    db.execute(
        "INSERT INTO dedup_docs (doc, paper_id, title, words) VALUES (1, 'A', ?, ?)",
        [" ".join(dedup.title_tokens(paper.title)), zlib.compress(" ".join(words).encode())],
    )
    db.execute("INSERT INTO dedup_bands VALUES (0, 12345, 1)")  # a key of the old family
    db.conn.commit()
    index = DedupIndex(db)
    columns = {row[1] for row in db.execute("PRAGMA table_info(dedup_docs)")}
    assert "words" not in columns and "canonical_id" not in columns
    old_key = dedup._fold(0, 12345)
    assert (
        db.execute("SELECT count(*) FROM dedup_bands WHERE key = ?", [old_key]).fetchone()[0] == 0
    )
    assert index.find(thesis, "B").canonical_id == "A"
    assert DedupIndex(db).find(paper, "C").canonical_id == "A"
    for migration in dedup.MIGRATIONS:  # each migration can run again: nothing changes
        migration(db)
    assert index.find(thesis, "B").canonical_id == "A"


def test_lookups_use_the_band_index_not_a_scan(db):
    DedupIndex(db)
    plan = db.execute(
        "EXPLAIN QUERY PLAN " + dedup._LOOKUP,
        (json.dumps(dedup._key_values([(0, 1)])), dedup.BUCKET_CAP),
    ).fetchall()
    steps = [row[3] for row in plan]
    assert "SEARCH b USING PRIMARY KEY (key=?)" in steps
    assert "SEARCH r USING PRIMARY KEY (key=?)" in steps  # the recent keys
    assert not any(step.startswith(("SCAN b", "SCAN r")) or "dedup_" in step for step in steps)


def test_empty_and_huge_input(db):
    index = DedupIndex(db)
    assert index.find(Paper(title=""), "x") is None
    index.add("empty", Paper(title="", abstract=""))
    huge = Paper(title="A very long abstract", abstract="word " * 50_000 + "\x00 <b>")
    index.add("huge", huge)
    stored = db.execute("SELECT hashes FROM dedup_docs WHERE paper_id = 'huge'").fetchone()[0]
    assert len(dedup._unpack_hashes(stored)) == dedup.MAX_WORDS  # a token hash a word kept
    assert index.find(huge, "huge2").canonical_id == "huge"


# --- determinism --------------------------------------------------------------------
TEXT = seed_papers()[3].title + " " + seed_papers()[3].abstract


def test_signatures_are_identical_in_another_process():
    words = dedup.tokens(TEXT)
    here = (dedup.minhash_signature(words).tobytes().hex(), dedup.anchors(words))
    code = (
        "import json, sys; from adapt_triage import dedup; w = dedup.tokens(sys.stdin.read());"
        "print(json.dumps([dedup.minhash_signature(w).tobytes().hex(), dedup.anchors(w)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=TEXT,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        check=True,
    ).stdout
    assert json.loads(out) == [here[0], here[1]]


def test_hash_family_is_pinned():
    """Stored keys depend on these values: if this fails, bump dedup.PARAMS_VERSION."""
    words = dedup.tokens(
        "The quick brown fox jumps over the lazy dog while the cat sleeps in the warm afternoon sun"
    )
    assert dedup.minhash_signature(words)[:6].tolist() == [
        283026367,
        193974076,
        94650607,
        562261507,
        248109751,
        153327545,
    ]
    assert dedup.anchors(words) == [2117851330482241216]


def test_tokens_keep_version_markers():
    assert dedup.tokens("MMRL++ vs LoRA+ and Qwen2-VL, $\\alpha$-x") == [
        *("mmrl", "plusplus", "vs", "lora", "plus", "and", "qwen", "2", "vl", "alpha", "x"),
    ]


# --- the chunk API: find_many / add_many ----------------------------------------------
def test_find_many_sees_the_earlier_papers_of_its_chunk(db):
    """A chunk's papers may duplicate each other: each is checked against the stored
    papers and against the chunk's earlier ones, linked to their root, as one-by-one
    find/add would link them."""
    paper, thesis, copy = paper_pair()
    other = seed_papers()[5]
    items = [("A", paper), ("O", other), ("B", thesis), ("C", copy)]
    index = DedupIndex(db)
    matches = index.find_many(items)
    assert [m.canonical_id if m else None for m in matches] == [None, None, "A", "A"]
    index.add_many(items)
    # the same answers, one paper at a time, in a fresh database
    single = sqlite_utils.Database(memory=True)
    one = DedupIndex(single)
    stored_roots(single, {})
    answers = []
    for paper_id, p in items:
        match = one.find(p, paper_id)
        answers.append(match.canonical_id if match else None)
        one.add(paper_id, p)
        stored_roots(single, {paper_id: match.canonical_id if match else None})
    assert answers == [None, None, "A", "A"]
    rows = f"{ALL_KEYS} ORDER BY 1, 2"
    assert db.execute(rows).fetchall() == single.execute(rows).fetchall()
    docs = "SELECT doc, paper_id, title, hashes, stems FROM dedup_docs ORDER BY doc"
    assert db.execute(docs).fetchall() == single.execute(docs).fetchall()


def test_find_many_of_the_stored_papers_finds_nothing_new(db):
    papers = seed_papers()
    index = DedupIndex(db)
    items = [(p.id, p) for p in papers]
    assert [m for m in index.find_many(items) if m] != []  # the adaptive-MT pair
    index.add_many(items)
    # asked again about themselves (same ids): nothing, and one statement per chunk
    statements = []
    db.conn.set_trace_callback(statements.append)
    assert index.find_many(items[:10]) == [None] * 10
    db.conn.set_trace_callback(None)
    assert sum("json_each" in s and "dedup_bands" in s for s in statements) == 1


def test_the_migrations_are_named_functions_that_run_twice(db):
    names = [m.__name__ for m in dedup.MIGRATIONS]
    assert names == sorted(names) and all(re.fullmatch(r"m\d{3}_\w+", n) for n in names)
    for _ in range(2):
        for migration in dedup.MIGRATIONS:
            migration(db)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"dedup_docs", "dedup_bands", "dedup_recent", "dedup_meta", "dedup_decisions"} <= tables
    DedupIndex(db).add("A", paper_pair()[0])
    assert DedupIndex(db).find(paper_pair()[1], "B").canonical_id == "A"


def test_recent_keys_are_merged_in_key_order_and_still_found(db, monkeypatch):
    """Keys go to the small recent table; past MERGE_ROWS rows they move to dedup_bands
    in one insert, and every paper is found the same before and after."""
    papers = seed_papers()
    monkeypatch.setattr(dedup, "MERGE_ROWS", 500)
    index = DedupIndex(db)
    index.add_many([(p.id, p) for p in papers[:10]])
    recent = db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0]
    assert 0 < recent <= 500
    assert db.execute("SELECT count(*) FROM dedup_bands").fetchone()[0] == 0
    before = [index.find(Paper(p.title.upper(), p.abstract), "x") for p in papers[:10]]
    index.add_many([(p.id, p) for p in papers[10:40]])  # past MERGE_ROWS: merged
    assert db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0] == 0
    merged = db.execute("SELECT count(*) FROM dedup_bands").fetchone()[0]
    assert merged > recent
    after = [index.find(Paper(p.title.upper(), p.abstract), "x") for p in papers[:10]]
    assert [m.canonical_id for m in before] == [m.canonical_id for m in after]
    assert [m.canonical_id for m in after] == [p.id for p in papers[:10]]


def test_a_key_in_both_tables_reads_the_newest_of_both_once(db, monkeypatch):
    """A bucket whose papers are partly merged and partly recent (and one paper re-added,
    so in both): a lookup reads the newest of the two together, each paper once."""
    monkeypatch.setattr(dedup, "MERGE_ROWS", 500)
    generic = " for Parameter-Efficient Fine-Tuning"
    papers = [Paper(p.title + generic, p.abstract) for p in seed_papers()[:40]]
    index = DedupIndex(db)
    index.add_many([(f"p{i}", p) for i, p in enumerate(papers[:30])])  # past 500 rows: merged
    assert db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0] == 0
    index.add_many([(f"p{i}", p) for i, p in enumerate(papers[30:], 30)])
    index.add_many([("p0", papers[0])])  # doc 1 again: its keys in both tables
    assert 0 < db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0] < 500
    keys = dedup._keys(dedup._Doc.of(papers[0]))
    tail = dedup._key_values([k for k in keys if k[0] == dedup.TAIL_BAND])
    for cap, expect in ((64, list(range(40, 0, -1))), (35, list(range(40, 5, -1)))):
        ((band, _, found),) = db.execute(dedup._LOOKUP, (json.dumps(tail), cap)).fetchall()
        assert band == dedup.TAIL_BAND and [int(d) for d in found.split(",")] == expect


def test_a_merge_moves_every_key_and_reuses_the_pages_it_frees(db):
    """A merge moves the recent keys a key range at a time, deleting each as it goes: all
    rows arrive (the same set as before), and the recent table's pages hold the growth of
    dedup_bands instead of staying free in the file."""
    import random

    index = DedupIndex(db)
    rnd = random.Random(3)
    merged = sorted({(rnd.randrange(-(1 << 31), 1 << 31), d) for d in range(1, 20001)})
    recent = sorted({(rnd.randrange(-(1 << 31), 1 << 31), d) for d in range(20001, 40001)})
    recent += [(-(1 << 31), 40001), ((1 << 31) - 1, 40002)]  # the ends of the key range
    with db.atomic():
        db.conn.executemany("INSERT INTO dedup_bands (key, doc) VALUES (?, ?)", merged)
        db.conn.executemany("INSERT INTO dedup_recent (key, doc) VALUES (?, ?)", recent)
    page = db.execute("PRAGMA page_size").fetchone()[0]
    recent_bytes = db.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name = 'dedup_recent'"
    ).fetchone()[0]
    index._merge()
    assert db.execute("SELECT count(*) FROM dedup_recent").fetchone() == (0,)
    rows = db.execute("SELECT key, doc FROM dedup_bands ORDER BY key, doc").fetchall()
    assert rows == sorted(merged + recent)
    free = db.execute("PRAGMA freelist_count").fetchone()[0] * page
    assert free < 0.2 * recent_bytes  # all of it was left free when copied whole first
