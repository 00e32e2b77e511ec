"""Queries: list, search, show."""

from __future__ import annotations

import pytest
from store_support import T0, T1, FakeDedup, arxiv

from adapt_triage.paper import Paper
from adapt_triage.store import (
    AmbiguousIdError,
    PaperNotFoundError,
    SearchQueryError,
    Store,
    StoreError,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


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
    ids = [p.id for p in store.list_papers()]
    assert ids == ["arxiv:2401.00003", "arxiv:2401.00002", "arxiv:2401.00001"]
    assert len(store.list_papers(include_duplicates=True)) == 4
    assert [p.id for p in store.list_papers(since=T1)] == ["arxiv:2401.00003"]
    assert [p.id for p in store.list_papers(since="2026-11-02")] == ["arxiv:2401.00003"]
    assert [p.id for p in store.list_papers(category="prompt-tuning")] == ["arxiv:2401.00003"]
    assert len(store.list_papers(category=["prompt-tuning", "lora"])) == 3
    assert [p.id for p in store.list_papers(limit=1)] == ["arxiv:2401.00003"]
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
    assert [p.id for p in store.search("prompts")] == ["arxiv:2401.00002"]
    assert [p.id for p in store.search("adapter")] == ["arxiv:2401.00001"]  # stemming
    assert len(store.search("frozen")) == 2
    assert [p.id for p in store.search("frozen", category="prompt-tuning")] == ["arxiv:2401.00002"]
    assert [p.id for p in store.search("clip OR adapters", order="rank", limit=5)]
    assert [p.id for p in store.search('"soft prompts"')] == ["arxiv:2401.00002"]
    assert [p.id for p in store.search("title:clip")] == ["arxiv:2401.00002"]
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
    assert [p.title for p in store.search("Lovelace")] == ["Rank games"]
    assert [p.title for p in store.search("low-rank")] == ["Rank games"]
    assert [p.title for p in store.search("turing OR lovelace", order="rank")] != []


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
    assert store.get_paper("arxiv:2401.00001").id == "arxiv:2401.00001"
    assert store.get_paper("2401.00001v7").id == "arxiv:2401.00001"
    assert store.get_paper("https://arxiv.org/pdf/2401.00002v1").id == "arxiv:2401.00002"
    assert store.get_paper("https://doi.org/10.1145/3580305.3599123").id.startswith("doi:")
    pasted = Paper(title="Pasted").id
    assert store.get_paper(pasted[:12]).id == pasted
    assert store.get_paper(pasted[len("title:") :][:6]).id == pasted
    assert store.get_paper("doi:10.1145").id.startswith("doi:")
    with pytest.raises(AmbiguousIdError, match="arxiv:2401.00001, arxiv:2401.00002"):
        store.get_paper("2401.0000")
    assert store.get_paper("2501.00001") is None
    assert store.get_paper("") is None
    with pytest.raises(PaperNotFoundError, match="no stored paper matches 'nothing'"):
        store.versions("nothing")


def test_search_returns_one_ranked_page(store):
    from adapt_triage.store.search import DEFAULT_SEARCH_LIMIT

    papers = [
        arxiv(n, abstract=f"Low rank adapters, case {n}." + (" low rank" * (n % 4)))
        for n in range(1, 8)
    ]
    store.ingest_source("a", papers, now=T0)
    page = store.search("low rank", limit=3, order="rank")
    assert len(page) == 3 and page.more is True and page.limit == 3
    everything = store.search("low rank", order="rank")
    assert len(everything) == 7 and everything.more is False
    assert everything.limit == DEFAULT_SEARCH_LIMIT  # no limit given: the default page
    assert [p.id for p in page] == [p.id for p in everything[:3]]  # the best first
    ranks = store.db.conn.execute(
        "SELECT p.id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
        "WHERE papers_fts MATCH 'low rank' ORDER BY bm25(papers_fts), p.rowid"
    ).fetchall()
    assert [p.id for p in everything] == [r[0] for r in ranks]
    newest = store.search("low rank", limit=7, order="newest")
    assert [p.id for p in newest] == [p.id for p in store.list_papers()]
    assert store.search("low rank", limit=0) == [] and store.search("low rank", limit=0).more


def test_ranked_search_leaves_duplicates_out_unless_asked(store):
    dedup = FakeDedup()
    store.ingest_source("a", [arxiv(1)], dedup=dedup, now=T0)
    store.ingest_source(
        "hf", [Paper(title="paper 1 low rank adaptation of frozen models")], dedup=dedup, now=T1
    )
    assert [p.id for p in store.search("frozen", order="rank")] == ["arxiv:2401.00001"]
    both = store.search("frozen", order="rank", include_duplicates=True)
    assert sorted(p.duplicate_of or "" for p in both) == ["", "arxiv:2401.00001"]
    assert len(store.search("frozen", order="newest", include_duplicates=True)) == 2


def test_reopening_an_unchanged_file_skips_the_integrity_check(tmp_path, monkeypatch):
    """A read command on a big history must not run `PRAGMA quick_check` (it reads the whole
    file): the empty WAL that opening makes does not count as a change."""
    path = tmp_path / "history.db"
    with Store(path) as first:
        first.ingest_source("a", [arxiv(1)], now=T0)
    checks: list[str] = []
    monkeypatch.setattr(Store, "quick_check", lambda self: checks.append(str(self.path)))
    for _ in range(3):
        with Store(path) as again:
            assert again.list_papers(limit=1)
    assert checks == []
    with Store(path) as writer:
        writer.ingest_source("b", [arxiv(2)], now=T1)
    path.with_name(path.name + ".checked").write_text("stale")
    with Store(path):
        pass
    assert checks == [str(path)]  # a file that changed behind its back is checked


def test_show_list_and_digest_read_the_cached_model_never_fit_one(tmp_path, monkeypatch):
    from conftest import FIXTURES
    from helpers import jsonl, run

    from adapt_triage.classify import TriageClassifier

    db = tmp_path / "history.db"
    assert run(["ingest", "-q", FIXTURES / "cli" / "arxiv_cs_lg_day1.xml"], db=db).exit_code == 0

    def no_fit(self, examples):
        raise AssertionError("a read command fitted a model")

    monkeypatch.setattr(TriageClassifier, "fit", no_fit)
    shown = run(["show", "2501.00001", "--json"], db=db)
    assert shown.exit_code == 0, shown.output
    record = jsonl(shown.stdout)[0]
    assert record["id"] == "arxiv:2501.00001" and record["explain"]
    assert run(["list", "--category", record["labels"][0], "--json"], db=db).exit_code == 0
    assert run(["search", "adaptation", "--json"], db=db).exit_code == 0
    assert run(["digest", "--no-mark", "--json"], db=db).exit_code == 0


def test_newest_search_pages_alike_within_and_past_the_window(store):
    """`order="newest"` sorts the matches whole when they fit the window and walks the
    newest-first index past it: the same papers in the same order either way, filters and
    duplicates included."""
    store.ingest_source("a", [arxiv(n) for n in range(1, 6)], now=T0)
    store.ingest_source(
        "b",
        [arxiv(n, labels=["prompt-tuning"]) for n in range(6, 11)] + [arxiv(3, version=2)],
        now=T1,
    )
    for filters in ({}, {"category": "prompt-tuning"}, {"since": T1}, {"include_duplicates": True}):
        for limit in (1, 3, 20):
            whole = store.search("adapters", order="newest", limit=limit, **filters)
            walked = store.search("adapters", order="newest", limit=limit, window=1, **filters)
            assert [p.id for p in walked] == [p.id for p in whole], (filters, limit)
            assert walked.more == whole.more
    assert len(store.search("adapters", order="newest", limit=20)) == 10
