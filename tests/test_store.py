"""The SQLite store: schema and migrations, ingest semantics, queries, labels, digests, feeds."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import pytest
from sqlite_utils import Database

from adapt_triage.paper import Paper, title_key
from adapt_triage.store import (
    CONTRACT_FIELDS,
    MIGRATIONS,
    AmbiguousIdError,
    FeedNameError,
    PaperNotFoundError,
    RunLockedError,
    SchemaTooNewError,
    SearchQueryError,
    Store,
    StoreError,
    UnknownLabelError,
    contract_view,
    default_db_path,
    migrate,
    row_to_paper,
)
from adapt_triage.taxonomy import OFF_TOPIC

T0 = "2026-11-01T08:00:00+00:00"
T1 = "2026-11-02T08:00:00+00:00"
T2 = "2026-11-03T08:00:00+00:00"


@dataclass
class Match:
    canonical_id: str
    reason: str
    score: float


class FakeDedup:
    """Links papers whose normalised titles are equal; records every call."""

    def __init__(self) -> None:
        self.by_title: dict[str, str] = {}
        self.found: list[str] = []
        self.added: list[tuple[str, str | None]] = []
        self.fail_on: str | None = None
        self.force: dict[str, str] = {}  # paper id -> canonical id to answer

    def find(self, paper: Paper, paper_id: str) -> Match | None:
        self.found.append(paper_id)
        if paper_id == self.fail_on:
            raise RuntimeError("index exploded")
        if paper_id in self.force:
            return Match(self.force[paper_id], "forced", 0.5)
        other = self.by_title.get(title_key(paper.title))
        if other and other != paper_id:
            return Match(other, "same title", 0.97)
        return None

    def add(self, paper_id: str, paper: Paper, canonical_id: str | None = None) -> None:
        self.added.append((paper_id, canonical_id))
        self.by_title.setdefault(title_key(paper.title), paper_id)


def arxiv(n: int, version: int | None = 1, **kw) -> Paper:
    data = {
        "title": f"Paper {n}: low-rank adaptation of frozen models",
        "abstract": f"We study adapters number {n} for parameter-efficient fine-tuning.",
        "authors": [f"A. Author{n}", "B. Second"],
        "url": f"https://arxiv.org/abs/2401.{n:05d}",
        "published": "2026-10-30",
        "arxiv_id": f"2401.{n:05d}",
        "version": version,
        "labels": ["lora", "adapters"],
        "scores": {"lora": 0.8, "adapters": 0.6, "fine-tuning": 0.1},
    }
    data.update(kw)
    return Paper(**data)


def dump(store: Store, *, skip: tuple[str, ...] = ("sources",)) -> list[str]:
    """Every row of every table (FTS index included), to compare states exactly."""
    return [
        line
        for line in store.db.conn.iterdump()
        if not any(line.startswith(f'INSERT INTO "{t}"') for t in skip)
    ]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


# ---------------------------------------------------------------- opening and migrations


def test_open_creates_directories_wal_foreign_keys_and_full_schema(tmp_path):
    path = tmp_path / "a" / "b" / "history.db"
    with Store.open(path) as store:
        conn = store.db.conn
        assert path.is_file()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert store.schema_version == len(MIGRATIONS)
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
        assert names == [fn.__name__ for fn in MIGRATIONS]
        tables = set(store.db.table_names())
        assert {
            "papers",
            "versions",
            "paper_sources",
            "sources",
            "user_labels",
            "categories",
            "digests",
            "runs",
            "papers_fts",
        } <= tables
        assert store.db["papers"].detect_fts() == "papers_fts"
    with Store(path) as again:  # reopening applies nothing
        assert again.schema_version == len(MIGRATIONS)
        assert again.db.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(
            MIGRATIONS
        )


def test_default_db_path_env_then_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ADAPT_TRIAGE_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("ADAPT_TRIAGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_db_path()
    assert path.name == "adapt-triage.db"
    assert path.parent.name == "adapt-triage"
    with Store() as store:
        assert store.path == path and path.is_file()


def test_an_old_database_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    migrate(Database(conn), upto=1)  # the database as the first release left it
    conn.execute(
        "INSERT INTO papers (id, title, abstract, source, first_seen, last_seen, model_labels)"
        " VALUES ('arxiv:2301.00001', 'Old LoRA paper', 'stored before labels existed',"
        " 'old-feed', ?, ?, '[\"lora\"]')",
        (T0, T0),
    )
    conn.commit()
    assert "user_labels" not in Database(conn).table_names()
    conn.close()

    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        paper = store.get_paper("2301.00001")
        assert paper["title"] == "Old LoRA paper" and paper["shown_in_digest"] is None
        assert [p["id"] for p in store.search("labels")] == ["arxiv:2301.00001"]
        assert store.label_paper("2301.00001", add=["adapters"]) == ["adapters", "lora"]
        assert [p["id"] for p in store.papers_for_digest(T0)] == ["arxiv:2301.00001"]


def test_a_newer_database_is_refused_clearly_and_left_alone(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('m099_from_the_future', ?)", (T0,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match="newer adapt-triage.*m099_from_the_future"):
        Store(path)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    import adapt_triage.store as store_module

    path = tmp_path / "history.db"
    Store(path).close()

    def m900_broken(db):
        db.execute("CREATE TABLE half_done (x)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, m900_broken])
    with pytest.raises(StoreError, match="migration m900_broken failed.*no such table"):
        Store(path)
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    with Store(path) as store:
        assert "half_done" not in store.db.table_names()
        assert store.schema_version == len(MIGRATIONS)


def test_a_writer_that_waits_too_long_gets_a_clear_error(tmp_path):
    path = tmp_path / "history.db"
    with Store(path) as holder, Store(path, busy_timeout=0.1) as waiter:
        with (
            holder.write(),
            pytest.raises(StoreError, match="busy.*another adapt-triage run is writing"),
        ):
            waiter.ingest_source("feed", [arxiv(1)])
        assert waiter.ingest_source("feed", [arxiv(1)]).new == 1


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="notes.db.*not a"):
        Store(path)


# ---------------------------------------------------------------- ingest


def test_ingest_counts_and_a_second_ingest_changes_nothing(store):
    dedup = FakeDedup()
    papers = [arxiv(1), arxiv(2), Paper(title="Paper 1: Low-Rank Adaptation of FROZEN models!")]
    first = store.ingest_source("feed.xml", papers, dedup=dedup, model_version="m1", now=T0)
    assert (first.items, first.new, first.duplicates, first.updated, first.unchanged) == (
        3,
        2,
        1,
        0,
        0,
    )
    title_id = papers[2].id
    assert first.duplicate_ids == [title_id]
    assert dedup.added == [
        ("arxiv:2401.00001", None),
        ("arxiv:2401.00002", None),
        (title_id, "arxiv:2401.00001"),
    ]
    dup = store.get_paper(title_id)
    assert (dup["duplicate_of"], dup["dup_reason"], dup["dup_score"]) == (
        "arxiv:2401.00001",
        "same title",
        0.97,
    )

    before = dump(store)
    second = store.ingest_source("feed.xml", papers, dedup=dedup, model_version="m2", now=T1)
    assert (second.new, second.duplicates, second.updated, second.unchanged) == (0, 0, 0, 3)
    assert dump(store) == before  # not even last_seen or the model version moved
    assert dedup.found == ["arxiv:2401.00001", "arxiv:2401.00002", title_id]  # known ids skip


def test_stored_paper_has_the_json_contract_fields(store):
    store.ingest_source("feed.xml", [arxiv(7)], model_version="m1", now=T0)
    row = store.get_paper("arxiv:2401.00007")
    view = contract_view(row)
    assert list(view) == list(CONTRACT_FIELDS)
    assert view == {
        "id": "arxiv:2401.00007",
        "title": "Paper 7: low-rank adaptation of frozen models",
        "abstract": "We study adapters number 7 for parameter-efficient fine-tuning.",
        "authors": ["A. Author7", "B. Second"],
        "url": "https://arxiv.org/abs/2401.00007",
        "published": "2026-10-30",
        "source": "feed.xml",
        "labels": ["lora", "adapters"],
        "scores": {"lora": 0.8, "adapters": 0.6, "fine-tuning": 0.1},
        "duplicate_of": None,
    }
    assert row["model_version"] == "m1" and row["first_seen"] == T0
    paper = row_to_paper(row)
    assert paper.id == row["id"] and paper.labels == ["lora", "adapters"]


def test_a_new_version_updates_the_paper_and_keeps_the_history(store):
    dedup = FakeDedup()
    store.ingest_source("feed.xml", [arxiv(3)], dedup=dedup, model_version="m1", now=T0)
    v2 = arxiv(
        3,
        version=2,
        title="Paper 3 revised: rank-adaptive tuning",
        abstract="A rewritten abstract about soft prompts.",
        announce_type="replace",
        labels=["prompt-tuning"],
        scores={"prompt-tuning": 0.9},
    )
    summary = store.ingest_source("feed.xml", [v2], dedup=dedup, model_version="m2", now=T1)
    assert (summary.updated, summary.new, summary.duplicates) == (1, 0, 0)
    paper = store.get_paper("2401.00003")
    assert paper["version"] == 2 and paper["title"].startswith("Paper 3 revised")
    assert paper["announce_type"] == "replace" and paper["duplicate_of"] is None
    assert (paper["first_seen"], paper["last_seen"]) == (T0, T1)
    assert paper["labels"] == ["prompt-tuning"] and paper["model_version"] == "m2"
    history = store.versions("arxiv:2401.00003")
    assert [(v["version"], v["title"][:14], v["seen_at"]) for v in history] == [
        (1, "Paper 3: low-r", T0),
        (2, "Paper 3 revise", T1),
    ]
    assert dedup.added[-1] == ("arxiv:2401.00003", None)  # re-indexed with the new text
    # The search index follows the text.
    assert [p["id"] for p in store.search("soft prompts")] == ["arxiv:2401.00003"]
    assert store.search("parameter-efficient") == []

    # An older version seen afterwards is history, not an update.
    before = store.get_paper("arxiv:2401.00003")
    late = store.ingest_source("api.xml", [arxiv(3, version=1)], now=T2)
    assert (late.updated, late.unchanged) == (0, 1)
    after = store.get_paper("arxiv:2401.00003")
    assert {k: v for k, v in after.items() if k != "last_seen"} == {
        k: v for k, v in before.items() if k != "last_seen"
    }


def test_same_arxiv_id_from_another_service_is_one_paper_enriched(store):
    rss = arxiv(4, authors=[], published=None, announce_type="new")
    store.ingest_source("https://rss.arxiv.org/rss/cs.LG", [rss], now=T0)
    hf = Paper(
        title=rss.title,
        abstract=rss.abstract,
        authors=["A. Author4", "B. Second"],
        published="2026-10-30T00:00:00Z",
        arxiv_id="2401.00004",
        source="https://huggingface.co/api/daily_papers",
    )
    summary = store.ingest_source("https://huggingface.co/api/daily_papers", [hf], now=T1)
    assert (summary.new, summary.duplicates, summary.updated) == (0, 0, 1)
    assert store.count_papers() == 1
    paper = store.get_paper("arxiv:2401.00004")
    assert paper["authors"] == ["A. Author4", "B. Second"]
    assert paper["published"] == "2026-10-30T00:00:00Z"
    assert paper["announce_type"] == "new" and paper["version"] == 1
    assert paper["source"] == "https://rss.arxiv.org/rss/cs.LG"  # the first source
    assert [s["source"] for s in store.paper_sources("arxiv:2401.00004")] == [
        "https://rss.arxiv.org/rss/cs.LG",
        "https://huggingface.co/api/daily_papers",
    ]


def test_duplicate_links_point_at_the_root_and_bad_answers_are_ignored(store):
    dedup = FakeDedup()
    store.ingest_source("a", [arxiv(1)], dedup=dedup, now=T0)
    store.ingest_source(
        "b", [Paper(title="PAPER 1: low rank adaptation of frozen models")], dedup=dedup, now=T0
    )
    middle = Paper(title="PAPER 1: low rank adaptation of frozen models").id
    assert store.get_paper(middle)["duplicate_of"] == "arxiv:2401.00001"
    third = Paper(title="Something else entirely", doi="10.1000/xyz")
    nowhere = Paper(title="Yet another", doi="10.1000/abc")
    dedup.force = {third.id: middle, nowhere.id: "arxiv:9999.99999"}
    summary = store.ingest_source("c", [third, nowhere], dedup=dedup, now=T0)
    assert (summary.duplicates, summary.new) == (1, 1)
    assert store.get_paper("doi:10.1000/xyz")["duplicate_of"] == "arxiv:2401.00001"  # flattened
    assert store.get_paper("doi:10.1000/abc")["duplicate_of"] is None  # unknown canonical
    clusters = store.duplicate_clusters()
    assert [c["canonical"]["id"] for c in clusters] == ["arxiv:2401.00001"]
    assert [d["id"] for d in clusters[0]["duplicates"]] == [middle, "doi:10.1000/xyz"]
    assert [d["dup_reason"] for d in store.duplicates_of("2401.00001")] == ["same title", "forced"]
    assert store.count_papers(include_duplicates=False) == 2


def test_a_failure_mid_source_stores_nothing_of_that_source(store):
    dedup = FakeDedup()
    store.ingest_source("good", [arxiv(1), arxiv(2)], dedup=dedup, now=T0)
    before = dump(store, skip=())
    dedup.fail_on = "arxiv:2401.00012"
    batch = [arxiv(10), arxiv(11), arxiv(2, version=3), arxiv(12), arxiv(13)]
    with pytest.raises(StoreError, match="^bad: arxiv:2401.00012: duplicate check failed"):
        store.ingest_source("bad", batch, dedup=dedup, now=T1, fetch_meta={"etag": '"v9"'})
    assert dump(store, skip=()) == before  # sources table included
    assert not store.db.conn.in_transaction
    dedup.fail_on = None
    ok = store.ingest_source("bad", batch, dedup=dedup, now=T1)
    assert (ok.new, ok.updated) == (4, 1)


def test_items_without_a_title_are_reported_and_the_rest_stored(store):
    summary = store.ingest_source("f", [arxiv(1), Paper(title="   "), arxiv(2)], now=T0)
    assert (summary.items, summary.new) == (3, 2)
    assert summary.errors == ["f: item 2: no title; skipped"]
    assert store.get_fetch_state("f").last_error == "f: item 2: no title; skipped"


def test_untrusted_text_is_stored_as_received(store):
    nasty = Paper(
        title='Robert\'); DROP TABLE papers;-- \x1b[31m"red"',
        abstract="50% of \\frac{a}{b} <b>bold</b> ' OR 1=1 --",
    )
    store.ingest_source("x", [nasty], now=T0)
    (row,) = store.list_papers()
    assert (row["title"], row["abstract"]) == (nasty.title, nasty.abstract)


# ---------------------------------------------------------------- sources and feeds


def test_fetch_state_travels_with_the_papers_and_failures_are_counted(store):
    store.ingest_source(
        "https://example.org/feed",
        [arxiv(1)],
        now=T0,
        fetch_meta={
            "etag": '"abc"',
            "last_modified": "Mon, 02 Nov 2026 08:00:00 GMT",
            "feed_date": "2026-11-02",
            "skip_days": ["Saturday", "Sunday"],
        },
    )
    state = store.get_fetch_state("https://example.org/feed")
    assert (state.etag, state.last_status, state.last_item_count, state.last_new) == (
        '"abc"',
        "ok",
        1,
        1,
    )
    assert (state.kind, state.feed_date, state.skip_days) == (
        "url",
        "2026-11-02",
        ["Saturday", "Sunday"],
    )

    for n in (1, 2):
        state = store.record_fetch(
            "https://example.org/feed", status="error", error="HTTP 503\nboom", etag=None
        )
        assert state.consecutive_failures == n
    assert (state.last_status, state.last_error, state.etag) == ("error", "HTTP 503 boom", '"abc"')
    assert state.last_item_count == 1  # the last good count is kept

    state = store.record_fetch("https://example.org/feed", status="not-modified", etag=None, now=T1)
    assert (state.consecutive_failures, state.etag, state.last_fetch_at) == (0, '"abc"', T1)
    state = store.record_fetch("https://example.org/feed", status="empty", item_count=0, etag=None)
    assert (state.last_status, state.last_item_count, state.etag) == ("empty", 0, None)
    with pytest.raises(ValueError):
        store.record_fetch("https://example.org/feed", status="fine")
    assert store.get_fetch_state("never-seen") is None


def test_feeds_subscribe_list_and_unsubscribe(store):
    store.add_feed("https://rss.arxiv.org/rss/cs.CL", name="cl", now=T0)
    store.add_feed("https://example.org/atom", now=T1)
    store.ingest_source("local.txt", [arxiv(1)], now=T1)
    assert [f.url for f in store.list_feeds()] == [
        "https://rss.arxiv.org/rss/cs.CL",
        "https://example.org/atom",
    ]
    assert store.list_feeds()[0].subscribed and store.list_feeds()[0].name == "cl"
    assert len(store.list_sources()) == 3
    assert store.remove_feed("cl") is True
    assert store.remove_feed("cl") is False
    assert [f.url for f in store.list_feeds()] == ["https://example.org/atom"]
    store.record_fetch("https://example.org/atom", status="error", error="down")
    store.add_feed("https://example.org/atom", name="ex")  # re-adding keeps the history
    (feed,) = store.list_feeds()
    assert (feed.name, feed.consecutive_failures, feed.added_at) == ("ex", 1, T1)
    store.add_feed("https://a.example/x", name="same")
    with pytest.raises(FeedNameError, match="taken by https://a.example/x"):
        store.add_feed("https://b.example/x", name="same")
    with pytest.raises(FeedNameError, match="already subscribed as 'same'"):
        store.add_feed("https://a.example/x", name="other")  # no silent rename
    assert store.rename_feed("same", "other").name == "other"
    # a database from before names were unique may hold two feeds of one name
    store.add_feed("https://b.example/x")
    with store.write() as conn:
        conn.execute("UPDATE sources SET name = 'other' WHERE url = 'https://b.example/x'")
    with pytest.raises(AmbiguousIdError, match="by its URL"):
        store.remove_feed("other")
    assert store.remove_feed("https://b.example/x") is True


# ---------------------------------------------------------------- queries


def test_list_is_newest_first_with_filters(store):
    dedup = FakeDedup()
    store.ingest_source(
        "a",
        [arxiv(1, published="2026-10-01"), arxiv(2, published="2026-10-05")],
        dedup=dedup,
        now=T0,
    )
    store.ingest_source(
        "b",
        [
            arxiv(3, labels=["prompt-tuning"], scores={"prompt-tuning": 0.7}),
            Paper(title="paper 1 low rank adaptation of frozen models"),
        ],
        dedup=dedup,
        now=T1,
    )
    ids = [p["id"] for p in store.list_papers()]
    assert ids == ["arxiv:2401.00003", "arxiv:2401.00002", "arxiv:2401.00001"]
    assert len(store.list_papers(include_duplicates=True)) == 4
    assert [p["id"] for p in store.list_papers(since=T1)] == ["arxiv:2401.00003"]
    assert [p["id"] for p in store.list_papers(since="2026-11-02")] == ["arxiv:2401.00003"]
    assert [p["id"] for p in store.list_papers(category="prompt-tuning")] == ["arxiv:2401.00003"]
    assert len(store.list_papers(category=["prompt-tuning", "lora"])) == 3
    assert [p["id"] for p in store.list_papers(limit=1)] == ["arxiv:2401.00003"]
    # A user's labels replace the model's for filtering too.
    store.label_paper("2401.00003", add=["lora"], remove=["prompt-tuning"])
    assert store.list_papers(category="prompt-tuning") == []
    assert len(store.list_papers(category="lora")) == 3
    with pytest.raises(StoreError):
        store.list_papers(since="yesterday-ish")


def test_search_full_text_with_filters(store):
    store.ingest_source(
        "a",
        [
            arxiv(1),
            arxiv(
                2,
                title="Visual prompt learning for CLIP",
                abstract="Soft prompts steer frozen encoders.",
                labels=["prompt-tuning"],
            ),
        ],
        now=T0,
    )
    assert [p["id"] for p in store.search("prompts")] == ["arxiv:2401.00002"]
    assert [p["id"] for p in store.search("adapter")] == ["arxiv:2401.00001"]  # stemming
    assert len(store.search("frozen")) == 2
    assert [p["id"] for p in store.search("frozen", category="prompt-tuning")] == [
        "arxiv:2401.00002"
    ]
    assert [p["id"] for p in store.search("clip OR adapters", order="rank", limit=5)]
    assert [p["id"] for p in store.search('"soft prompts"')] == ["arxiv:2401.00002"]
    assert [p["id"] for p in store.search("title:clip")] == ["arxiv:2401.00002"]
    assert store.search("low-rank") and store.search("parameter-efficient fine-tuning")


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "(frozen",
        "frozen)",
        "NEAR(",
        "a NEAR b",
        "NOT",
        "AND OR",
        "*",
        "^",
        "low-rank",
        "C++",
        "foo:bar",
        "'; DROP TABLE papers; --",
        '"""',
        "ünïcödé ✓",
        "tab\there\x00nul",
    ],
)
def test_search_never_crashes_on_fts_syntax(store, query):
    """Either a result list or a SearchQueryError quoting the query: never an SQLite error,
    never a silent rewrite into another search."""
    store.ingest_source("a", [arxiv(1)], now=T0)
    try:
        results = store.search(query)
    except SearchQueryError as exc:
        assert repr(query.strip()) in str(exc) or repr(query) in str(exc)
    else:
        assert isinstance(results, list)
    assert store.count_papers() == 1


@pytest.mark.parametrize("query", ["NOT lora", "*", '"', "AND OR", "(frozen", '"unbalanced'])
def test_search_rejects_what_fts5_rejects_and_operator_only_queries(store, query):
    store.ingest_source("a", [arxiv(1)], now=T0)
    with pytest.raises(SearchQueryError, match="cannot search for|only operators"):
        store.search(query)


def test_search_finds_authors_and_hyphenated_words(store):
    store.ingest_source(
        "a",
        [
            Paper(title="Rank games", abstract="low-rank adapters", authors=["Ada Lovelace"]),
            Paper(title="Other", abstract="nothing here", authors=["Alan Turing"]),
        ],
        now=T0,
    )
    assert [p["title"] for p in store.search("Lovelace")] == ["Rank games"]
    assert [p["title"] for p in store.search("low-rank")] == ["Rank games"]
    assert [p["title"] for p in store.search("turing OR lovelace", order="rank")] != []


@pytest.mark.parametrize("query", ["", "   ", "\x00", "\n\t"])
def test_search_rejects_an_empty_query(store, query):
    with pytest.raises(SearchQueryError, match="empty"):
        store.search(query)


def test_get_paper_by_id_arxiv_id_url_doi_or_prefix(store):
    store.ingest_source(
        "a",
        [
            arxiv(1),
            arxiv(2),
            Paper(title="Journal paper", doi="10.1145/3580305.3599123"),
            Paper(title="Pasted"),
        ],
        now=T0,
    )
    assert store.get_paper("arxiv:2401.00001")["id"] == "arxiv:2401.00001"
    assert store.get_paper("2401.00001v7")["id"] == "arxiv:2401.00001"
    assert store.get_paper("https://arxiv.org/pdf/2401.00002v1")["id"] == "arxiv:2401.00002"
    assert store.get_paper("https://doi.org/10.1145/3580305.3599123")["id"].startswith("doi:")
    pasted = Paper(title="Pasted").id
    assert store.get_paper(pasted[:12])["id"] == pasted
    assert store.get_paper(pasted[len("title:") :][:6])["id"] == pasted
    assert store.get_paper("doi:10.1145")["id"].startswith("doi:")
    with pytest.raises(AmbiguousIdError, match="arxiv:2401.00001, arxiv:2401.00002"):
        store.get_paper("2401.0000")
    assert store.get_paper("2501.00001") is None
    assert store.get_paper("") is None
    with pytest.raises(PaperNotFoundError, match="no stored paper matches 'nothing'"):
        store.versions("nothing")


# ---------------------------------------------------------------- labels and categories


def test_user_labels_win_and_feed_training(store):
    store.ingest_source("a", [arxiv(1), arxiv(2), arxiv(3)], model_version="m1", now=T0)
    assert store.user_labeled_examples() == []
    assert store.get_user_labels("2401.00001") is None

    assert store.label_paper("2401.00001", add=["prompt-tuning"], remove=["adapters"]) == [
        "prompt-tuning",
        "lora",
    ]
    assert store.label_paper("2401.00002", add=[OFF_TOPIC]) == [OFF_TOPIC]
    assert store.label_paper("2401.00002", add=["fine-tuning"]) == ["fine-tuning"]
    paper = store.get_paper("2401.00001")
    assert paper["labels"] == ["prompt-tuning", "lora"]
    assert paper["model_labels"] == ["lora", "adapters"]  # kept apart
    assert store.effective_labels(paper) == paper["labels"]

    # Reclassification changes the model's labels, never the user's.
    store.update_scores("arxiv:2401.00001", ["adapters"], {"adapters": 0.9}, "m2")
    paper = store.get_paper("2401.00001")
    assert paper["labels"] == ["prompt-tuning", "lora"] and paper["model_labels"] == ["adapters"]

    examples = store.user_labeled_examples()
    assert [(e["id"], e["labels"]) for e in examples] == [
        ("arxiv:2401.00001", ["prompt-tuning", "lora"]),
        ("arxiv:2401.00002", ["fine-tuning"]),
    ]
    assert set(examples[0]) == {"id", "title", "abstract", "labels", "categories"}

    assert store.clear_user_labels("2401.00002") is True
    assert store.get_paper("2401.00002")["labels"] == ["lora", "adapters"]


def test_label_errors_are_clear(store):
    store.ingest_source("a", [arxiv(1)], now=T0)
    with pytest.raises(UnknownLabelError, match="unknown category 'quantum-knitting'"):
        store.label_paper("2401.00001", add=["quantum-knitting"])
    with pytest.raises(StoreError, match="would leave no label"):
        store.label_paper("2401.00001", remove=["lora", "adapters"])
    with pytest.raises(StoreError, match="stands alone"):
        store.label_paper("2401.00001", add=[OFF_TOPIC, "lora"])
    with pytest.raises(PaperNotFoundError):
        store.label_paper("2409.99999", add=["lora"])
    assert store.get_user_labels("2401.00001") is None


def test_custom_categories(store):
    store.ingest_source("a", [arxiv(1)], now=T0)
    assert store.add_category("model-merging", "merging fine-tuned weights", now=T0) == {
        "slug": "model-merging",
        "description": "merging fine-tuned weights",
        "created_at": T0,
    }
    store.add_category("model-merging", "weight averaging and merging")
    store.add_category("model-merging")  # re-adding without a description keeps it
    assert [(c["slug"], c["description"]) for c in store.list_categories()] == [
        ("model-merging", "weight averaging and merging")
    ]
    labels = store.known_labels()
    assert "model-merging" in labels and labels[-1] == OFF_TOPIC
    assert store.label_paper("2401.00001", add=["model-merging"])[0] == "model-merging"
    for bad in ("Model Merging", "-x", "", "lora", "1", "2x", "a--b", "a-", "x" * 64):
        with pytest.raises(StoreError):
            store.add_category(bad)


def test_papers_needing_scores_and_bulk_updates(store):
    store.ingest_source("a", [arxiv(n) for n in range(1, 8)], model_version="m1", now=T0)
    store.ingest_source("b", [Paper(title="Unclassified")], now=T0)
    stale = [p["id"] for p in store.papers_needing_scores("m2", batch=3)]
    assert len(stale) == 8
    assert (
        store.update_scores_many([(pid, [OFF_TOPIC], {OFF_TOPIC: 0.7}) for pid in stale], "m2") == 8
    )
    assert list(store.papers_needing_scores("m2")) == []
    assert [p["id"] for p in store.papers_needing_scores("m1")] == stale
    with pytest.raises(PaperNotFoundError):
        store.update_scores("arxiv:0000.00000", ["lora"], {}, "m2")


# ---------------------------------------------------------------- digests and runs


def test_digest_shows_papers_once_with_duplicates_folded(store):
    dedup = FakeDedup()
    assert store.last_digest_at() is None
    store.ingest_source("a", [arxiv(1), arxiv(2)], dedup=dedup, now=T0)
    store.ingest_source(
        "hf",
        [Paper(title="paper 1 - LOW-RANK adaptation of frozen models", url="https://hf.co/p/1")],
        dedup=dedup,
        now=T0,
    )
    digest = store.papers_for_digest(since="2026-11-01")
    assert [p["id"] for p in digest] == ["arxiv:2401.00001", "arxiv:2401.00002"]  # feed order
    folded = digest[0]["duplicates"]
    assert [(d["url"], d["dup_reason"]) for d in folded] == [("https://hf.co/p/1", "same title")]

    digest_id = store.mark_shown([p["id"] for p in digest], since="2026-11-01", now=T1)
    assert store.last_digest_at() == T1
    assert store.papers_for_digest(since="2026-11-01") == []
    again = store.papers_for_digest(since="2026-11-01", include_shown=True)
    assert len(again) == 2
    shown = store.db.conn.execute(
        "SELECT count(*) FROM papers WHERE shown_in_digest = ?", (digest_id,)
    )
    assert shown.fetchone()[0] == 3  # the folded duplicate too

    store.ingest_source("a", [arxiv(3)], now=T2)
    assert [p["id"] for p in store.papers_for_digest(since=store.last_digest_at())] == [
        "arxiv:2401.00003"
    ]
    assert store.mark_shown([], now=T2) > digest_id  # an empty digest still moves "since"
    assert store.last_digest_at() == T2


def test_runs_are_recorded(store):
    run = store.start_run("ingest", now=T0)
    store.finish_run(run, "ok", {"sources": 2, "failed": 0}, now=T1)
    last = store.last_run("ingest")
    assert (last["started_at"], last["finished_at"], last["status"]) == (T0, T1, "ok")
    assert last["summary"] == {"sources": 2, "failed": 0}
    assert store.last_run("digest") is None


def test_run_lock_excludes_a_second_holder(store, tmp_path):
    with (
        store.run_lock(command="ingest"),
        Store(store.path) as other,
        pytest.raises(RunLockedError, match="ingest"),
        other.run_lock(timeout=0.2),
    ):
        pass
    with Store(store.path) as other, other.run_lock(timeout=0):
        pass


# ---------------------------------------------------------------- the real dedup index


def test_with_the_real_dedup_index(store):
    dedup_module = pytest.importorskip("adapt_triage.dedup")
    index = dedup_module.DedupIndex(store.db)
    abstract = (
        "Neural machine translation systems adapt poorly to new domains at test time. We "
        "propose an adaptive method that retrieves similar sentence pairs from a datastore "
        "and updates a lightweight adapter on the fly, improving BLEU on five domains "
        "without any retraining of the base model and with negligible latency overhead."
    )
    original = Paper(
        title="Adaptive Machine Translation with Retrieval",
        abstract=abstract,
        authors=["Ana Li", "Bo Chen"],
        arxiv_id="2402.01234",
        version=1,
    )
    copy = Paper(
        title="Adaptive machine translation with retrieval.",
        abstract=abstract,
        authors=["Ana Li", "Bo Chen"],
    )
    other = Paper(
        title="Uni-Perceiver v2: a generalist model",
        abstract="A different text about "
        "generalist perception models trained on many tasks with shared encoders.",
    )
    summary = store.ingest_source("a", [original, copy, other], dedup=index, now=T0)
    assert (summary.new, summary.duplicates) == (2, 1)
    assert store.get_paper(copy.id)["duplicate_of"] == "arxiv:2402.01234"

    before = dump(store, skip=())
    broken = Paper(title="Will fail", abstract=abstract[:50])

    class Exploding:
        def find(self, paper, paper_id):
            return index.find(paper, paper_id)

        def add(self, paper_id, paper, canonical_id=None):
            index.add(paper_id, paper, canonical_id=canonical_id)
            if paper_id == broken.id:
                raise RuntimeError("disk full")

    with pytest.raises(StoreError, match="disk full"):
        store.ingest_source("b", [arxiv(50), broken], dedup=Exploding(), now=T1)
    assert dump(store, skip=()) == before  # the index rows were rolled back as well
