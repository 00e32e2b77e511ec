"""fetch.py: polite, robust reading of sources. httpx.MockTransport only, never the network;
a fake clock whose sleep advances it, so nothing really waits."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from adapt_triage import __version__
from adapt_triage.fetch import (
    USER_AGENT,
    Fetcher,
    FetchError,
    FetchResult,
    FetchState,
    is_arxiv_host,
    read_source,
)

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"
ARXIV_ERROR_FEED = REALWORLD / "arxiv-api" / "arxiv_api_2026-04-12_error-incorrect-id_HTTP400.xml"
ARXIV_RSS = REALWORLD / "arxiv-rss" / "arxiv_rss_quant-ph_2025-04-28_full.xml"
HF_JSON = REALWORLD / "huggingface" / "hf_daily_papers_2024-03-12_raw.json"


def real_bytes(path: Path) -> bytes:
    """A real sample's bytes; the test is skipped where ../shared is not beside the repo."""
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A monotonic clock that only moves when something sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """Serves canned responses in order and records the requests it saw."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item


def make_fetcher(handler: Handler, fake: FakeTime, **kwargs) -> Fetcher:
    kwargs.setdefault("rand", lambda: 0.0)
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Fetcher(client=client, sleep=fake.sleep, clock=fake.clock, **kwargs)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


# -- basics -------------------------------------------------------------------------------


def test_sends_user_agent_and_accept_and_returns_body(fake: FakeTime) -> None:
    body = real_bytes(ARXIV_RSS)
    rec = Recorder(
        httpx.Response(
            200,
            content=body,
            headers={"Content-Type": "application/rss+xml", "ETag": '"abc"'},
        )
    )
    result = make_fetcher(rec, fake).fetch("https://rss.arxiv.org/rss/quant-ph")

    sent = rec.requests[0].headers
    assert sent["user-agent"] == (
        f"adapt-triage/{__version__} (+https://github.com/adapt-triage/adapt-triage)"
    )
    assert sent["user-agent"] == USER_AGENT
    assert "application/atom+xml" in sent["accept"]
    assert "application/json" in sent["accept"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.content == body  # byte-exact
    assert result.url == "https://rss.arxiv.org/rss/quant-ph"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.etag == '"abc"'
    assert result.last_modified is None
    assert result.not_modified is False
    assert fake.sleeps == []


def test_gzip_body_is_decoded(fake: FakeTime) -> None:
    body = real_bytes(HF_JSON)
    rec = Recorder(
        httpx.Response(200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    )
    result = make_fetcher(rec, fake).fetch("https://huggingface.co/api/daily_papers")
    assert result.content == body


def test_corrupt_gzip_is_one_line_error(fake: FakeTime) -> None:
    rec = Recorder(
        httpx.Response(
            200, content=iter([b"not gzip at all"]), headers={"Content-Encoding": "gzip"}
        )
    )
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake).fetch("https://example.org/feed")
    assert str(info.value).startswith("https://example.org/feed: could not decode")
    assert "\n" not in str(info.value)
    assert len(rec.requests) == 1


# -- conditional GET ----------------------------------------------------------------------


def test_304_sends_validators_and_keeps_previous_ones(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(304))
    state = FetchState(etag='W/"v1"', last_modified="Mon, 28 Apr 2025 04:00:00 GMT")
    result = make_fetcher(rec, fake).fetch("https://rss.arxiv.org/rss/cs.LG", state)

    sent = rec.requests[0].headers
    assert sent["if-none-match"] == 'W/"v1"'
    assert sent["if-modified-since"] == "Mon, 28 Apr 2025 04:00:00 GMT"
    assert result.status == 304
    assert result.not_modified is True
    assert result.content == b""
    assert result.etag == 'W/"v1"'
    assert result.last_modified == "Mon, 28 Apr 2025 04:00:00 GMT"
    assert result.state == state


def test_304_with_new_etag_replaces_the_old_one(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(304, headers={"ETag": '"v2"'}))
    state = FetchState(etag='"v1"', last_modified="Mon, 28 Apr 2025 04:00:00 GMT")
    result = make_fetcher(rec, fake).fetch("https://example.org/feed", state)
    assert result.etag == '"v2"'
    assert result.last_modified == "Mon, 28 Apr 2025 04:00:00 GMT"


def test_200_after_change_returns_new_validators(fake: FakeTime) -> None:
    rec = Recorder(
        httpx.Response(
            200, content=b"<rss/>", headers={"Last-Modified": "Tue, 29 Apr 2025 04:00:00 GMT"}
        )
    )
    result = make_fetcher(rec, fake).fetch("https://example.org/feed", FetchState(etag='"v1"'))
    assert rec.requests[0].headers["if-none-match"] == '"v1"'
    assert result.etag is None  # the new response has none: the old one is stale
    assert result.last_modified == "Tue, 29 Apr 2025 04:00:00 GMT"


# -- retries ------------------------------------------------------------------------------


def test_retry_on_503_then_success_with_exponential_backoff(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(503), httpx.Response(503), httpx.Response(200, content=b"ok"))
    fetcher = make_fetcher(rec, fake, backoff=1.0, jitter=0.1, rand=lambda: 0.5)
    result = fetcher.fetch("https://example.org/feed")
    assert result.content == b"ok"
    assert len(rec.requests) == 3
    # 1 s then 2 s, each plus 0.1 * 0.5 of itself as (deterministic) jitter
    assert fake.sleeps == pytest.approx([1.05, 2.1])


def test_503_every_time_gives_up_with_status(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(503))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake, retries=2).fetch("https://example.org/feed")
    assert (
        str(info.value) == "https://example.org/feed: HTTP 503 Service Unavailable after 3 attempts"
    )
    assert info.value.status == 503
    assert len(rec.requests) == 3
    assert fake.sleeps == pytest.approx([1.0, 2.0])


def test_429_is_retried(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(429), httpx.Response(200, content=b"[]"))
    result = make_fetcher(rec, fake).fetch("https://huggingface.co/api/daily_papers")
    assert result.content == b"[]"
    assert len(rec.requests) == 2
    assert fake.sleeps == pytest.approx([1.0])


def test_retry_after_seconds_is_honoured(fake: FakeTime) -> None:
    rec = Recorder(
        httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, content=b"ok")
    )
    make_fetcher(rec, fake).fetch("https://example.org/feed")
    assert fake.sleeps == [7.0]


def test_retry_after_http_date_is_honoured_relative_to_date_header(fake: FakeTime) -> None:
    now = datetime(2025, 4, 28, 12, 0, 0, tzinfo=timezone.utc)
    headers = {
        "Date": format_datetime(now, usegmt=True),
        "Retry-After": format_datetime(now + timedelta(seconds=30), usegmt=True),
    }
    rec = Recorder(httpx.Response(429, headers=headers), httpx.Response(200, content=b"ok"))
    # a wall clock far off: the server's own Date header is what the delay is measured from
    make_fetcher(rec, fake, wall_clock=lambda: 0.0).fetch("https://example.org/feed")
    assert fake.sleeps == pytest.approx([30.0])


def test_retry_after_http_date_without_date_header_uses_wall_clock(fake: FakeTime) -> None:
    now = datetime(2025, 4, 28, 12, 0, 0, tzinfo=timezone.utc)
    headers = {"Retry-After": format_datetime(now + timedelta(seconds=45), usegmt=True)}
    rec = Recorder(httpx.Response(503, headers=headers), httpx.Response(200, content=b"ok"))
    make_fetcher(rec, fake, wall_clock=now.timestamp).fetch("https://example.org/feed")
    assert fake.sleeps == pytest.approx([45.0])


def test_retry_after_beyond_the_cap_gives_up_without_sleeping(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake, max_retry_after=120).fetch("https://example.org/feed")
    message = str(info.value)
    assert message.startswith("https://example.org/feed: HTTP 429 Too Many Requests")
    assert "3600 s" in message and "120 s" in message
    assert len(rec.requests) == 1
    assert fake.sleeps == []


def test_garbage_retry_after_falls_back_to_backoff(fake: FakeTime) -> None:
    rec = Recorder(
        httpx.Response(503, headers={"Retry-After": "soon-ish"}),
        httpx.Response(200, content=b"ok"),
    )
    make_fetcher(rec, fake, backoff=2.0).fetch("https://example.org/feed")
    assert fake.sleeps == pytest.approx([2.0])


def test_404_is_not_retried_and_names_url_and_status(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(404, content=b"<html>not here</html>"))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake).fetch("https://x.example/feed")
    assert str(info.value) == "https://x.example/feed: HTTP 404 Not Found"
    assert info.value.status == 404
    assert len(rec.requests) == 1
    assert fake.sleeps == []


def test_arxiv_error_feed_with_400_is_returned_not_raised(fake: FakeTime) -> None:
    body = real_bytes(ARXIV_ERROR_FEED)
    rec = Recorder(
        httpx.Response(400, content=body, headers={"Content-Type": "application/atom+xml"})
    )
    url = "https://export.arxiv.org/api/query?id_list=abc"
    result = make_fetcher(rec, fake).fetch(url)
    assert result.status == 400
    assert result.content == body
    assert b"<title>Error</title>" in result.content
    assert len(rec.requests) == 1


def test_400_with_non_feed_body_is_an_error(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(400, content=b"<!doctype html><p>bad request</p>"))
    with pytest.raises(FetchError, match=r"^https://example\.org/q: HTTP 400 Bad Request$"):
        make_fetcher(rec, fake).fetch("https://example.org/q")


def test_connection_error_is_retried_then_one_line_error(fake: FakeTime) -> None:
    rec = Recorder(httpx.ConnectError("[Errno 111] Connection\nrefused"))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake, retries=3).fetch("https://down.example/feed")
    assert len(rec.requests) == 4
    assert str(info.value) == (
        "https://down.example/feed: connection failed after 4 attempts: "
        "[Errno 111] Connection refused"
    )
    assert fake.sleeps == pytest.approx([1.0, 2.0, 4.0])


def test_connection_error_then_success(fake: FakeTime) -> None:
    rec = Recorder(httpx.ConnectError("refused"), httpx.Response(200, content=b"ok"))
    assert make_fetcher(rec, fake).fetch("https://flaky.example/feed").content == b"ok"
    assert len(rec.requests) == 2


def test_timeout_becomes_fetch_error(fake: FakeTime) -> None:
    rec = Recorder(httpx.ReadTimeout("read timed out"))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake, retries=2).fetch("https://slow.example/feed")
    assert str(info.value) == "https://slow.example/feed: timed out after 3 attempts"
    assert len(rec.requests) == 3


def test_timeout_while_streaming_the_body_is_retried(fake: FakeTime) -> None:
    def stalls() -> Iterator[bytes]:
        yield b"<rss>"
        raise httpx.ReadTimeout("stalled")

    rec = Recorder(httpx.Response(200, content=stalls()), httpx.Response(200, content=b"<rss/>"))
    result = make_fetcher(rec, fake).fetch("https://slow.example/feed")
    assert result.content == b"<rss/>"
    assert len(rec.requests) == 2


def test_no_retries_means_one_attempt(fake: FakeTime) -> None:
    rec = Recorder(httpx.ConnectTimeout("connect timed out"))
    with pytest.raises(FetchError, match="timed out after 1 attempt$"):
        make_fetcher(rec, fake, retries=0).fetch("https://slow.example/feed")
    assert len(rec.requests) == 1
    assert fake.sleeps == []


# -- size cap -----------------------------------------------------------------------------


def test_size_cap_by_content_length_rejects_before_reading(fake: FakeTime) -> None:
    def never_read() -> Iterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    rec = Recorder(
        httpx.Response(200, headers={"Content-Length": str(30 * 1024 * 1024)}, content=never_read())
    )
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake).fetch("https://big.example/feed")
    assert str(info.value) == "https://big.example/feed: response larger than 20 MB"
    assert len(rec.requests) == 1  # not retried


def test_size_cap_while_streaming_without_content_length(fake: FakeTime) -> None:
    consumed = []

    def endless() -> Iterator[bytes]:
        for i in range(1000):
            consumed.append(i)
            yield b"x" * 100

    rec = Recorder(httpx.Response(200, content=endless()))
    with pytest.raises(FetchError, match="response larger than 1000 bytes$"):
        make_fetcher(rec, fake, max_bytes=1000).fetch("https://big.example/feed")
    assert "content-length" not in rec.requests[0].headers
    assert len(consumed) <= 12  # stopped reading right after the cap, not at the end


def test_body_exactly_at_the_cap_is_accepted(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200, content=b"y" * 1000))
    assert len(make_fetcher(rec, fake, max_bytes=1000).fetch("https://e.example/").content) == 1000


# -- politeness ---------------------------------------------------------------------------


def test_arxiv_requests_are_spaced_three_seconds(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200, content=b"<feed/>"))
    fetcher = make_fetcher(rec, fake)
    fetcher.fetch("https://export.arxiv.org/api/query?search_query=cat:cs.LG")
    assert fake.sleeps == []
    fetcher.fetch("https://export.arxiv.org/api/query?search_query=cat:cs.CL&start=100")
    assert fake.sleeps == pytest.approx([3.0])


def test_arxiv_spacing_counts_time_already_passed(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200, content=b"<feed/>"))
    fetcher = make_fetcher(rec, fake)
    fetcher.fetch("https://export.arxiv.org/api/query?id_list=2401.00001")
    fake.now += 1.0  # parsing etc. took a second
    fetcher.fetch("https://export.arxiv.org/api/query?id_list=2401.00002")
    assert fake.sleeps == pytest.approx([2.0])
    fake.now += 5.0
    fetcher.fetch("https://export.arxiv.org/api/query?id_list=2401.00003")
    assert fake.sleeps == pytest.approx([2.0])  # nothing more: 5 s had passed


def test_all_arxiv_hosts_share_one_slot(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200, content=b"<rss/>"))
    fetcher = make_fetcher(rec, fake, polite_delay=3.0)
    fetcher.fetch("https://rss.arxiv.org/rss/cs.LG")
    fetcher.fetch("https://export.arxiv.org/api/query?id_list=2401.00001")
    fetcher.fetch("https://arxiv.org/a/someone.atom")
    assert fake.sleeps == pytest.approx([3.0, 3.0])


def test_different_non_arxiv_hosts_are_not_delayed(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200, content=b"[]"))
    fetcher = make_fetcher(rec, fake)
    fetcher.fetch("https://huggingface.co/api/daily_papers")
    fetcher.fetch("https://www.biorxiv.org/rss/genomics")
    fetcher.fetch("https://notarxiv.org/feed")
    assert fake.sleeps == []


def test_arxiv_spacing_also_applies_between_retries(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(503), httpx.Response(200, content=b"<feed/>"))
    make_fetcher(rec, fake, backoff=1.0).fetch("https://export.arxiv.org/api/query?id_list=x")
    # 1 s backoff, then 2 s more to complete the 3 s arXiv spacing
    assert fake.sleeps == pytest.approx([1.0, 2.0])
    assert sum(fake.sleeps) == pytest.approx(3.0)


def test_is_arxiv_host() -> None:
    assert is_arxiv_host("arxiv.org")
    assert is_arxiv_host("export.arxiv.org")
    assert is_arxiv_host("RSS.arXiv.org.")
    assert not is_arxiv_host("notarxiv.org")
    assert not is_arxiv_host("arxiv.org.evil.example")


# -- redirects and URLs -------------------------------------------------------------------


def test_redirect_is_followed_and_each_arxiv_hop_is_spaced(fake: FakeTime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": "https://export.arxiv.org/api/query"})
        return httpx.Response(200, content=b"<feed/>", headers={"ETag": '"e"'})

    rec = Recorder(handler)
    state = FetchState(etag='"old"')
    result = make_fetcher(rec, fake).fetch("http://export.arxiv.org/api/query", state)
    assert result.url == "https://export.arxiv.org/api/query"
    assert result.content == b"<feed/>"
    assert [str(r.url) for r in rec.requests] == [
        "http://export.arxiv.org/api/query",
        "https://export.arxiv.org/api/query",
    ]
    assert rec.requests[1].headers["if-none-match"] == '"old"'
    assert rec.requests[1].headers["user-agent"] == USER_AGENT
    assert fake.sleeps == pytest.approx([3.0])


def test_redirect_to_non_http_scheme_is_refused(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(302, headers={"Location": "ftp://mirror.example/feed.xml"}))
    with pytest.raises(FetchError, match="redirected to a non-HTTP URL: ftp://mirror.example/"):
        make_fetcher(rec, fake).fetch("https://example.org/feed")
    assert len(rec.requests) == 1


def test_redirect_loop_is_an_error(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(302, headers={"Location": "https://example.org/loop"}))
    with pytest.raises(FetchError, match="more than 10 redirects"):
        make_fetcher(rec, fake).fetch("https://example.org/loop")


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)"]
)
def test_non_http_schemes_are_rejected(fake: FakeTime, url: str) -> None:
    rec = Recorder(httpx.Response(200))
    with pytest.raises(FetchError) as info:
        make_fetcher(rec, fake).fetch(url)
    assert str(info.value).startswith(f"{url}: unsupported URL scheme")
    assert rec.requests == []


def test_url_without_host_is_rejected(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200))
    with pytest.raises(FetchError, match="no host"):
        make_fetcher(rec, fake).fetch("https:///feed")
    assert rec.requests == []


# -- client ownership ---------------------------------------------------------------------


def test_context_manager_closes_its_own_client_only() -> None:
    with Fetcher() as own:
        pass
    assert own._client.is_closed

    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with Fetcher(client=client):
        pass
    assert not client.is_closed
    client.close()


# -- read_source --------------------------------------------------------------------------


def test_read_source_file(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_bytes(b'{"title": "A"}\n')
    result = read_source(str(path))
    assert result.content == b'{"title": "A"}\n'
    assert result.status == 200
    assert result.headers == {}
    assert result.url == str(path)
    assert result.not_modified is False


def test_read_source_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(FetchError) as info:
        read_source(str(missing))
    assert str(info.value) == f"{missing}: no such file"


def test_read_source_directory(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as info:
        read_source(str(tmp_path))
    assert str(info.value) == f"{tmp_path}: is a directory, not a file"


def test_read_source_stdin() -> None:
    result = read_source("-", stdin=io.BytesIO(b"Title\n\nAbstract.\n"))
    assert result.content == b"Title\n\nAbstract.\n"
    assert result.url == "-"
    assert result.status == 200
    assert result.headers == {}


def test_read_source_url_goes_through_the_fetcher(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(304))
    fetcher = make_fetcher(rec, fake)
    result = read_source(
        "https://rss.arxiv.org/rss/cs.LG", fetcher=fetcher, state=FetchState(etag='"s"')
    )
    assert result.not_modified is True
    assert rec.requests[0].headers["if-none-match"] == '"s"'


def test_read_source_rejects_other_url_schemes(fake: FakeTime) -> None:
    rec = Recorder(httpx.Response(200))
    with pytest.raises(FetchError, match=r"^ftp://example\.org/x: unsupported URL scheme"):
        read_source("ftp://example.org/x", fetcher=make_fetcher(rec, fake))
    assert rec.requests == []
