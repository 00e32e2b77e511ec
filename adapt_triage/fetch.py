"""Reading the bytes of a URL over HTTP(S) (local files and stdin: `adapt_triage.localread`).

`Fetcher` wraps one `httpx.Client` and is polite and robust:

- a User-Agent naming the tool and its version, and an Accept header for feeds and JSON;
- connect/read timeouts per request (`timeout`, default 15 s); retries (`retries`, default
  2) with exponential backoff (plus a little jitter) on connection errors, timeouts, HTTP
  429 and 5xx, honouring `Retry-After` up to a cap (a server asking for a longer wait is a
  clear error, not an hours-long sleep);
- one overall deadline per source (`deadline`, default 60 s) over every attempt, redirect,
  backoff wait, connect, headers and body, kept with a monotonic clock: a server that
  trickles one byte at a time is cut off when the deadline passes (a watchdog shuts the
  socket down, so even a blocked read ends), with an error naming the deadline;
- a cap on the body size, checked against `Content-Length` and while streaming (after
  decompression, so a gzip bomb stops at the cap); local files and stdin have the same cap;
- conditional GET from a stored `FetchState` (`If-None-Match`, `If-Modified-Since`);
  a 304 is a success with no content, but only in reply to a request that sent validators;
- arXiv's terms of use: at most one request every `polite_delay` seconds to arXiv
  (every host under arxiv.org shares one slot, since the limit covers all of its legacy
  APIs together), counted for every request including retries and redirect hops, and a
  single connection at a time.

Fetches are sequential: a `Fetcher` serves one request at a time (calls from several
threads wait for each other), so there is never more than one connection to arXiv.

Every failure is a `FetchError` whose message is one line naming the source.

One deliberate exception to "4xx is an error": the arXiv API reports a bad query as an
Atom feed with one entry titled `Error`, sent with HTTP 400. A 4xx response (other than
429) whose body is an Atom/RSS/RDF feed is therefore *returned* (with its status), so the
feed parser can report arXiv's own error text; callers must not assume `status == 200`.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import random
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpcore
import httpx

from adapt_triage import __version__
from adapt_triage.localread import (
    DEFAULT_MAX_BYTES,
    ClosingContext,
    FetchError,
    FetchResult,
    FetchState,
    _describe,
    _size,
    read_source,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FetchError",
    "FetchResult",
    "FetchState",
    "Fetcher",
    "is_arxiv_host",
    "read_source",
]

USER_AGENT = f"adapt-triage/{__version__} (+https://github.com/adapt-triage/adapt-triage)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.9, "
    "application/x-ndjson;q=0.8, text/plain;q=0.5, */*;q=0.1"
)
MAX_REDIRECTS = 10
DEFAULT_TIMEOUT = 15.0  # seconds, per request (connect at most 10 s)
DEFAULT_RETRIES = 2  # retries after the first attempt
DEFAULT_DEADLINE = 60.0  # seconds, per source, over every attempt
MAX_BACKOFF = 60.0  # seconds; one backoff step never waits longer than this
_ARXIV_SLOT = "arxiv.org"
_FEED_MARKERS = (b"<feed", b"<rss", b"<rdf:rdf")


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth retrying."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _SocketWatch(httpcore.NetworkBackend):
    """The network backend of a Fetcher's own client: it keeps a duplicate of every socket
    it opens during one fetch, so that the deadline watchdog can shut them down (which
    wakes a read blocked in another thread, unlike close)."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._guard = threading.Lock()
        self._dups: list[socket.socket] = []
        self._cut = False

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return self._track(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - not used for http(s) URLs
        stream = self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return self._track(stream)

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore's own waits
        self._inner.sleep(seconds)

    def _track(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        sock = stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with self._guard:
                dup = sock.dup()
                self._dups.append(dup)
                if self._cut:
                    _shutdown(dup)
        return stream

    def cut(self) -> None:
        with self._guard:
            self._cut = True
            for dup in self._dups:
                _shutdown(dup)

    def release(self) -> None:
        with self._guard:
            for dup in self._dups:
                dup.close()
            self._dups.clear()
            self._cut = False


def _watch_sockets(client: httpx.Client) -> _SocketWatch | None:
    """Put a _SocketWatch under every connection pool of `client` (the direct one and the
    proxies from the environment); None if this httpx keeps its pools elsewhere (the
    deadline is then checked between reads only)."""
    watch = _SocketWatch()
    transports = [client._transport, *client._mounts.values()]
    pools: list[Any] = [getattr(t, "_pool", None) for t in transports if t is not None]
    if not pools or not all(hasattr(pool, "_network_backend") for pool in pools):
        return None  # pragma: no cover - another httpx layout
    for pool in pools:
        pool._network_backend = watch
    return watch


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def is_arxiv_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "arxiv.org" or host.endswith(".arxiv.org")


class Fetcher(ClosingContext):
    """Fetch URLs politely. See the module docstring for the rules it follows.

    `retries` is the number of retries after the first attempt (0 = try once); `timeout`
    applies to each request, `deadline` to one whole `fetch()` (None or 0: no deadline).
    The wait before retry n (1-based) is `backoff * 2**(n-1)` seconds, capped at 60 s,
    plus up to `jitter` times that (drawn with `rand`), unless the server sent
    `Retry-After`, which is used instead when it is at most `max_retry_after` seconds.
    `sleep`, `clock` (monotonic, for the arXiv spacing), `wall_clock` (for HTTP-date
    `Retry-After` when the response has no `Date`) and `rand` are injectable for tests.
    A client passed in is used as is (its transport, proxies, TLS settings) and is not
    closed by `close()`; the headers, timeouts and redirect handling are set per request.
    """

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 1.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float | None = DEFAULT_DEADLINE,
        polite_delay: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retry_after: float = 120.0,
        jitter: float = 0.1,
        rand: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self._owns_client = client is None
        self._watch: _SocketWatch | None = None
        if client is None:
            # No keep-alive: every request opens a socket the deadline watchdog knows of.
            client = httpx.Client(
                timeout=self._request_timeout(timeout),
                limits=httpx.Limits(max_keepalive_connections=0),
            )
            self._watch = _watch_sockets(client)
        self._client = client
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.polite_delay = polite_delay
        self.max_retry_after = max_retry_after
        self.jitter = jitter
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._wall_clock = wall_clock
        self._last_done: dict[str, float] = {}  # politeness slot -> clock() at last completion
        self._lock = threading.Lock()
        self._deadline_at = math.inf
        self._expired = threading.Event()
        self._last_failure: str | None = None

    def configure(
        self,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        deadline: float | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """Change the limits given (None keeps a limit as it is)."""
        if timeout is not None:
            self.timeout = timeout
        if retries is not None:
            self.retries = max(0, retries)
        if deadline is not None:
            self.deadline = deadline
        if max_bytes is not None:
            self.max_bytes = max_bytes

    @staticmethod
    def _request_timeout(seconds: float) -> httpx.Timeout:
        seconds = max(seconds, 0.001)
        return httpx.Timeout(seconds, connect=min(seconds, 10.0))

    # -- public ---------------------------------------------------------------------------

    def fetch(self, url: str, state: FetchState | None = None) -> FetchResult:
        """GET `url` (following redirects) and return its bytes, or raise FetchError."""
        with self._lock:
            expired = self._expired = threading.Event()
            timer: threading.Timer | None = None
            if self.deadline:
                self._deadline_at = self._clock() + self.deadline
                if self._watch is not None:
                    watch = self._watch

                    def cut() -> None:
                        expired.set()
                        watch.cut()

                    timer = threading.Timer(self.deadline, cut)
                    timer.daemon = True
                    timer.start()
            else:
                self._deadline_at = math.inf
            try:
                return self._fetch(url, state)
            finally:
                if timer is not None:
                    timer.cancel()
                if self._watch is not None:
                    self._watch.release()

    def _fetch(self, url: str, state: FetchState | None) -> FetchResult:
        request = self._build_request(url, state)
        for _hop in range(MAX_REDIRECTS + 1):
            response, body = self._send_with_retries(request, url)
            next_request = response.next_request
            if next_request is None:
                return self._result(url, response, body, state)
            if next_request.url.scheme not in ("http", "https"):
                raise FetchError(url, f"redirected to a non-HTTP URL: {next_request.url}")
            request = next_request
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- one request ----------------------------------------------------------------------

    def _build_request(self, url: str, state: FetchState | None) -> httpx.Request:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
            raise FetchError(url, f"invalid URL: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            scheme = parsed.scheme or "no scheme"
            raise FetchError(url, f"unsupported URL scheme ({scheme}); only http and https")
        if not parsed.host:
            raise FetchError(url, "invalid URL: no host")
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        if state is not None and state.etag:
            headers["If-None-Match"] = state.etag
        if state is not None and state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            return self._client.build_request(
                "GET", parsed, headers=headers, timeout=self._request_timeout(self.timeout)
            )
        except (httpx.InvalidURL, httpx.HTTPError, ValueError, UnicodeError) as exc:
            raise FetchError(url, f"invalid request: {_describe(exc)}") from None

    def _send_with_retries(self, request: httpx.Request, url: str) -> tuple[httpx.Response, bytes]:
        label = url if str(request.url) == url else f"{url} (redirected to {request.url})"
        attempts = self.retries + 1
        self._last_failure = None
        for attempt in range(1, attempts + 1):
            self._check_deadline(label)
            try:
                return self._exchange(request, label)
            except _Retryable as failure:
                times = "attempt" if attempt == 1 else "attempts"
                self._last_failure = f"{failure.reason} after {attempt} {times}"
                self._check_deadline(label)
                if attempt == attempts:
                    times = "attempt" if attempts == 1 else "attempts"
                    reason = failure.reason
                    if reason.startswith("connection failed: "):
                        detail = reason.removeprefix("connection failed: ")
                        reason = f"connection failed after {attempts} {times}: {detail}"
                    else:
                        reason = f"{reason} after {attempts} {times}"
                    raise FetchError(label, reason, status=failure.status) from None
                if failure.retry_after is not None:
                    if failure.retry_after > self.max_retry_after:
                        raise FetchError(
                            label,
                            f"{failure.reason}; the server asks to retry after "
                            f"{_seconds(failure.retry_after)}, more than the "
                            f"{self.max_retry_after:.0f} s this tool waits",
                            status=failure.status,
                        ) from None
                    delay = failure.retry_after
                else:
                    delay = self._backoff_delay(attempt)
                if self._clock() + delay >= self._deadline_at:
                    times = "attempt" if attempt == 1 else "attempts"
                    raise FetchError(
                        label,
                        f"{failure.reason} after {attempt} {times}; no time left for another "
                        f"within the {self.deadline:g} s deadline",
                        status=failure.status,
                    ) from None
                if delay > 0:
                    self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(self, request: httpx.Request, label: str) -> tuple[httpx.Response, bytes]:
        """One request/response, after waiting for the host's turn. The body is read
        (capped) when it will be used; the response is closed before returning."""
        slot = _ARXIV_SLOT if is_arxiv_host(request.url.host) else None
        self._wait_turn(slot)
        self._check_deadline(label)
        request.extensions["timeout"] = self._request_timeout(
            min(self.timeout, self._deadline_at - self._clock())
        ).as_dict()
        try:
            return self._exchange_once(request, label)
        except (_Retryable, FetchError):
            self._check_deadline(label)
            raise
        finally:
            if slot is not None:
                self._last_done[slot] = self._clock()

    def _exchange_once(self, request: httpx.Request, label: str) -> tuple[httpx.Response, bytes]:
        try:
            response = self._client.send(request, stream=True, follow_redirects=False)
            try:
                status = response.status_code
                if status == 429 or 500 <= status <= 599:
                    raise _Retryable(
                        _status_text(response),
                        status=status,
                        retry_after=self._retry_after(response),
                    )
                body = b""
                if response.next_request is None and (200 <= status <= 299 or 400 <= status <= 499):
                    body = self._read_capped(response, label)  # 4xx: may be an error feed
                return response, body
            finally:
                response.close()
        except httpx.TimeoutException:
            raise _Retryable("timed out") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(f"connection failed: {_describe(exc)}") from None
        except httpx.DecodingError as exc:
            reason = f"could not decode the response body: {_describe(exc)}"
            raise FetchError(label, reason) from None
        except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL) as exc:
            raise FetchError(label, f"request failed: {_describe(exc)}") from None

    def _read_capped(self, response: httpx.Response, label: str) -> bytes:
        limit = self.max_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(label, f"response larger than {_size(limit)}")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise FetchError(label, f"response larger than {_size(limit)}")
            self._check_deadline(label)
        self._check_deadline(label)  # a socket shut by the watchdog may look like a clean end
        return bytes(body)

    def _check_deadline(self, label: str) -> None:
        if self._expired.is_set() or self._clock() >= self._deadline_at:
            reason = f"no complete response within the {self.deadline:g} s deadline"
            last = self._last_failure
            raise FetchError(label, f"{reason} (last: {last})" if last else reason)

    def _result(
        self, url: str, response: httpx.Response, body: bytes, state: FetchState | None
    ) -> FetchResult:
        status = response.status_code
        headers = {key.lower(): value for key, value in response.headers.items()}
        final_url = str(response.url)
        if status == 304:
            if state is None or not (state.etag or state.last_modified):
                label = url if final_url == url else f"{url} (redirected to {final_url})"
                raise FetchError(
                    label,
                    "HTTP 304 Not Modified in reply to a request that sent no validators "
                    "(a broken server or proxy)",
                    status=status,
                )
            previous = state
            return FetchResult(
                url=final_url,
                status=status,
                content=b"",
                headers=headers,
                not_modified=True,
                etag=headers.get("etag") or previous.etag,
                last_modified=headers.get("last-modified") or previous.last_modified,
            )
        if 200 <= status <= 299 or (400 <= status <= 499 and _looks_like_feed(body)):
            return FetchResult(
                url=final_url,
                status=status,
                content=body,
                headers=headers,
                not_modified=False,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
            )
        label = url if final_url == url else f"{url} (redirected to {final_url})"
        raise FetchError(label, _status_text(response), status=status)

    # -- timing ---------------------------------------------------------------------------

    def _wait_turn(self, slot: str | None) -> None:
        if slot is None:
            return
        last = self._last_done.get(slot)
        if last is None:
            return
        wait = last + self.polite_delay - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _backoff_delay(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        return base + base * self.jitter * self._rand()

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds from `Retry-After` (delay-seconds or HTTP-date), or None."""
        value = response.headers.get("retry-after", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
        when = _http_date(value)
        if when is None:
            return None
        now = _http_date(response.headers.get("date", "")) or datetime.fromtimestamp(
            self._wall_clock(), timezone.utc
        )
        return max(0.0, (when - now).total_seconds())


# -- helpers ------------------------------------------------------------------------------


def _looks_like_feed(body: bytes) -> bool:
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and any(marker in head for marker in _FEED_MARKERS)


def _status_text(response: httpx.Response) -> str:
    phrase = response.reason_phrase or ""
    return f"HTTP {response.status_code} {phrase}".strip()


def _http_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _seconds(value: float) -> str:
    """A wait for a message: never hundreds of digits from a hostile header."""
    if value > 7 * 86400:
        return "more than a week"
    return f"{value:.0f} s"


def make_fetcher() -> Fetcher:
    """The HTTP fetcher of a command-line run (tests replace it with one over
    httpx.MockTransport: `monkeypatch.setattr(adapt_triage.fetch, "make_fetcher", ...)`)."""
    return Fetcher()
