"""Sources and feeds: fetch state, subscriptions."""

from __future__ import annotations

import pytest
from store_support import T0, T1, arxiv

from adapt_triage.store import (
    AmbiguousIdError,
    FeedNameError,
    Store,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


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
