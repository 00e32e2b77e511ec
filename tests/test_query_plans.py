"""The bounded questions never scan the history: every statement the store runs for `list`,
`search`, `digest`, `show` and the stale-score count is planned (EXPLAIN QUERY PLAN) over an
index, never a full `SCAN` of `papers`, and the pages come out of an index in order (no
sort of every match). Plans only, no timings: the figures are in benchmarks/query_scale.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from store_support import T0, T1, T2, FakeDedup, arxiv

from adapt_triage.paper import Paper
from adapt_triage.store import Store

# Bare scans allowed: table-valued JSON, a constant row, the user's own labels (as many as
# the user gave), and the bounded CTEs a query materialises (`win`, `scored`, `hits`).
_ALLOWED_SCANS = {"json_each", "CONSTANT", "u", "user_labels", "s", "h", "win", "scored"}
_SCAN_RE = re.compile(r"^SCAN (\w+)(.*)$")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "history.db") as s:
        dedup = FakeDedup()
        s.ingest_source("a", [arxiv(n) for n in range(1, 9)], dedup=dedup, now=T0)
        s.ingest_source(
            "b",
            [
                arxiv(9, labels=["prompt-tuning"], scores={"prompt-tuning": 0.7}),
                Paper(title="paper 1 low rank adaptation of frozen models"),
            ],
            dedup=dedup,
            now=T1,
        )
        s.label_paper("2401.00002", add=["prompt-tuning"])
        s.mark_shown(["arxiv:2401.00001"], now=T1)
        yield s


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements (parameters inlined) the store runs inside the block."""
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        store.db.conn.set_trace_callback(None)


def plans(store: Store, call: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """(statement, plan lines) for each SELECT / WITH statement `call` runs."""
    with statements(store) as seen:
        result = call()
        if hasattr(result, "__next__"):
            list(result)
    out = []
    for sql in seen:
        if not re.match(r"\s*(SELECT|WITH)\b", sql, re.I) or "_migrations" in sql:
            continue
        rows = store.db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        out.append((sql, [r[3] for r in rows]))
    assert out, "the call ran no query"
    return out


def assert_bounded(found: list[tuple[str, list[str]]], *, ordered: bool = True) -> None:
    """No full scan of a table of the history; with `ordered`, no sort of all matches. A
    scan of a view's co-routine (`version_texts`, a UNION ALL) reads what its own plan
    lines, checked here too, found by key."""
    for sql, lines in found:
        routines = {m.group(1) for m in map(re.compile(r"^CO-ROUTINE (\w+)$").match, lines) if m}
        for line in lines:
            scan = _SCAN_RE.match(line)
            if scan and scan.group(1) not in _ALLOWED_SCANS | routines:
                assert "USING" in scan.group(2) or "VIRTUAL TABLE" in scan.group(2), (
                    f"full scan {line!r} in {sql}"
                )
            if ordered:
                assert "TEMP B-TREE FOR ORDER BY" not in line, f"{line!r} in {sql}"


def used(found: list[tuple[str, list[str]]]) -> str:
    return "\n".join(line for _, lines in found for line in lines)


def test_list_pages_along_the_canonical_index(store):
    found = plans(store, lambda: store.list_papers(limit=20))
    assert_bounded(found)
    assert "papers_canonical_newest" in used(found)
    found = plans(store, lambda: store.list_papers(since=T1, limit=20))
    assert_bounded(found)
    assert re.search(r"SEARCH p USING INDEX papers_canonical_newest \(.*first_seen>", used(found))


def test_list_by_category_reads_the_label_index(store):
    for category in ("lora", ["lora", "prompt-tuning"]):
        found = plans(store, lambda c=category: store.list_papers(category=c, limit=20))
        assert_bounded(found)
        text = used(found)
        assert "SEARCH pl USING COVERING INDEX paper_labels_newest (label=?)" in text
        assert "json_each(p.model_labels)" not in " ".join(sql for sql, _ in found)
    found = plans(store, lambda: store.list_papers(category="lora", since=T1, starred=True))
    assert_bounded(found)
    assert "paper_labels_newest (label=? AND first_seen>?)" in used(found)


def test_digest_reads_only_its_window(store):
    for call in (
        lambda: store.papers_for_digest(),
        lambda: store.papers_for_digest(T1, best_first=True, limit=5),
        lambda: store.papers_for_digest(
            T1,
            category=["lora"],
            hide=["off-topic"],
            min_score=0.2,
            announce=["new"],
            unread=True,
            best_first=True,
        ),
        lambda: store.count_for_digest(T1, category="lora"),
        lambda: store.count_shown(T1),
        lambda: store.count_shown(),
    ):
        found = plans(store, call)
        assert_bounded(found, ordered=False)  # the window is sorted by score, not all rows
        assert re.search(r"papers_(unshown|canonical)_newest", used(found))
    found = plans(store, lambda: store.papers_for_digest(T1, include_shown=True))
    assert "papers_canonical_newest (duplicate_of=? AND first_seen>?)" in used(found)
    found = plans(store, lambda: store.papers_for_digest(T1))
    assert "papers_unshown_newest (duplicate_of=? AND shown_in_digest=? AND first_seen>?)" in (
        used(found)
    )


def test_search_reads_a_page_of_matches(store):
    for order in ("rank", "newest"):
        found = plans(store, lambda o=order: store.search("low rank", limit=20, order=o))
        assert_bounded(found, ordered=False)  # the matches are ranked, then one page read
        assert "VIRTUAL TABLE INDEX" in used(found)
    found = plans(store, lambda: store.search("frozen", category="lora", since=T0))
    assert_bounded(found, ordered=False)


def test_ranked_search_reads_only_its_window_of_newest_matches(store):
    """Past the ranking window, the window's start is found walking the matches newest
    first (FTS5's own rowid order: no sort), and the ranked statement hands FTS5 the rowid
    bound (`>` in its index plan), so bm25 runs over the window alone."""
    for category in (None, "lora"):
        found = plans(
            store,
            lambda c=category: store.search("paper", limit=1, window=2, category=c, order="rank"),
        )
        assert_bounded(found, ordered=False)
        start = [lines for sql, lines in found if "OFFSET" in sql]
        assert start and all("TEMP B-TREE" not in line for line in start[0]), start
        ranked = [lines for sql, lines in found if "rank" in sql and "OFFSET" not in sql]
        assert ranked and re.search(r"VIRTUAL TABLE INDEX \d+:M\d+>", "\n".join(ranked[0]))


def test_newest_search_walks_the_newest_index_not_every_match(store):
    """`--order newest` with more matches than the window pages along
    `papers_canonical_newest` and keeps the papers among the matches' rowids: no bm25, no
    `papers` row read per match, no sort of the matches (only the page, after `SCAN h`, is
    sorted). Within the window, the matches are read and sorted (bounded by the window)."""
    few = plans(store, lambda: store.search("paper", limit=2, order="newest"))
    assert_bounded(few, ordered=False)
    assert "papers_canonical_newest" not in used(few)
    for since in (None, T0):
        found = plans(store, lambda s=since: store.search("paper", limit=1, window=1, since=s))
        assert_bounded(found, ordered=False)
        ((_, lines),) = [(sql, lines) for sql, lines in found if "hits" in sql]
        choose = lines[: lines.index("SCAN h")]
        assert any("papers_canonical_newest" in line for line in choose), lines
        assert not any("TEMP B-TREE" in line for line in choose), lines


def test_stale_score_count_is_a_range_scan(store):
    for version in ("abc", None):
        found = plans(store, lambda v=version: store.count_stale_scores(v))
        assert_bounded(found)
        assert "COVERING INDEX papers_model_version" in used(found)


def test_show_and_training_examples_look_up_by_key(store):
    pid = "arxiv:2401.00001"
    for call in (
        lambda: store.get_paper(pid),
        lambda: store.get_paper("2401.00001v2"),
        lambda: store.get_paper("title:"),  # a unique prefix is a range of the primary key
        lambda: store.versions(pid),
        lambda: store.duplicates_of(pid),
        lambda: store.paper_sources(pid),
    ):
        assert_bounded(plans(store, call), ordered=False)  # one paper's rows may be sorted
    versions = used(plans(store, lambda: store.versions(pid)))
    assert "SEARCH v USING PRIMARY KEY (paper_id=?)" in versions  # the stored rows
    assert "SEARCH v USING PRIMARY KEY (paper_id=? AND version=?)" in versions  # m015's row
    # The user's examples in labelling order: a sort of the user's labels, not of papers.
    found = plans(store, store.user_labeled_examples)
    assert_bounded(found, ordered=False)
    assert "SEARCH p USING INDEX sqlite_autoindex_papers_1 (id=?)" in used(found)
    assert store.get_paper("title:").duplicate_of == pid


def test_a_new_paper_and_a_later_day_keep_the_plans(store):
    """The plans hold after the write path ran again (a later source, a rescore)."""
    store.ingest_source("c", [arxiv(20, labels=["adapters"])], now=T2)
    store.update_scores_many([("arxiv:2401.00020", ["lora"], {"lora": 0.9})], "v2")
    found = plans(store, lambda: store.list_papers(category="lora", limit=3))
    assert_bounded(found)
    assert [p.id for p in store.list_papers(category="lora", limit=1)] == ["arxiv:2401.00020"]


def test_folding_a_new_version_reads_only_the_staged_papers(store):
    """A day's fold into the history walks the staged rows and looks the stored papers up by
    id: the statements that keep a paper's old version before it changes planned a walk
    of every stored paper's id (0.15 s of a day's batch at a million papers)."""
    with statements(store) as seen:
        store.ingest_source(
            "c",
            [arxiv(1, version=2, abstract="A second version that says more about adapters.")],
            dedup=FakeDedup(),
            now=T2,
        )
    # (the source_keys inserts are left out: their plans list the foreign-key checks of a
    # parent row, which run only when a child row is missing its parent)
    folded = [
        sql
        for sql in seen
        if re.match(r"\s*(INSERT|UPDATE)\b.*\btemp\.stage_papers\b", sql, re.I | re.S)
        and "source_keys (source)" not in sql
    ]
    assert any("main.versions" in sql for sql in folded), "no version was kept"
    for sql in folded:
        for line in (r[3] for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql)):
            scan = _SCAN_RE.match(line)
            if scan:  # only the staged rows are walked; stored ones are searched by key
                assert scan.group(1) in {"s", "v", "temp"}, f"{line!r} in {sql}"
    assert store.get_paper("arxiv:2401.00001").version == 2
