"""Reading the bytes of a local source (a file, or stdin for "-"), and the records every
source's read gives; URLs go to `adapt_triage.fetch` (httpx), imported only when a source is
a URL, so commands on local files start without the HTTP stack.
"""

from __future__ import annotations

import mmap
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, TypeVar, cast

from adapt_triage.text import collapse_whitespace

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ClosingContext",
    "DeferredFetcher",
    "FetchError",
    "FetchResult",
    "FetchState",
    "is_url",
    "read_source",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # per source: URL bodies, files and stdin alike
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclass
class FetchState:
    """What the store keeps per source between runs, for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    url: str  # final URL after redirects (the path, or "-", for local input)
    status: int  # 200, 304, or a 4xx whose body is a feed (arXiv API error feed)
    content: bytes  # b"" for 304
    headers: dict[str, str]  # response headers, lower-cased keys; {} for local input
    not_modified: bool  # True on 304
    etag: str | None
    last_modified: str | None

    @property
    def state(self) -> FetchState:
        """The state to store for the next conditional GET."""
        return FetchState(etag=self.etag, last_modified=self.last_modified)


class FetchError(Exception):
    """A source could not be read. `str(e)` is one line: "<source>: <reason>"."""

    def __init__(self, source: str, reason: str, *, status: int | None = None) -> None:
        self.source = collapse_whitespace(source)
        self.reason = collapse_whitespace(reason)
        self.status = status
        super().__init__(f"{self.source}: {self.reason}")


def is_url(source: str) -> bool:
    """Whether SOURCE names a URL (any scheme) rather than a path or "-"."""
    return bool(_URL_RE.match(source))


class FetcherLike(Protocol):
    @property
    def max_bytes(self) -> int: ...

    def fetch(self, url: str, state: FetchState | None = None) -> FetchResult: ...


_Self = TypeVar("_Self", bound="ClosingContext")


class ClosingContext:
    """A context manager whose exit is `close()`."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class DeferredFetcher(ClosingContext):
    """A fetcher made on first use: `make()` (which builds the HTTP client) runs only when a
    URL is fetched, so a run over local files never imports httpx. A context manager that
    closes what it made."""

    def __init__(self, make: Any, max_bytes: int | None = None) -> None:
        self._make = make
        self._fetcher: Any = None
        self._max_bytes = max_bytes

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is not None:
            return self._max_bytes
        return self._real().max_bytes

    def _real(self) -> Any:
        if self._fetcher is None:
            self._fetcher = self._make()
        return self._fetcher

    def fetch(self, url: str, state: FetchState | None = None) -> FetchResult:
        return self._real().fetch(url, state)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def close(self) -> None:
        """Close the fetcher if one was made (never makes one to close it)."""
        if self._fetcher is not None:
            self._fetcher.close()


def limited_fetcher(
    timeout: float | None = None,
    retries: int | None = None,
    deadline: float | None = None,
    max_size: float | None = None,
) -> DeferredFetcher:
    """`fetch.make_fetcher()` with the limits the user gave (MB for `max_size`; the others
    keep their defaults), made only when a URL is fetched: a run over local files never
    loads the HTTP stack."""
    max_bytes = int(max_size * 1024 * 1024) if max_size is not None else None

    def make() -> Any:
        from adapt_triage import fetch

        fetcher = fetch.make_fetcher()
        fetcher.configure(timeout=timeout, retries=retries, deadline=deadline, max_bytes=max_bytes)
        return fetcher

    return DeferredFetcher(make, max_bytes=max_bytes or DEFAULT_MAX_BYTES)


def read_source(
    source: str,
    *,
    fetcher: FetcherLike | None = None,
    state: FetchState | None = None,
    stdin: BinaryIO | None = None,
    max_bytes: int | None = None,
) -> FetchResult:
    """The bytes of SOURCE: "-" for stdin, an http(s) URL, or a local path.

    Local input gives status 200, empty headers and no etag. A URL with another
    scheme is a FetchError. Without a `fetcher`, a temporary one is used for URLs.
    Local input larger than `max_bytes` (default: the fetcher's cap, else 20 MB) is refused
    without being read whole. stdin is touched only when SOURCE is "-".
    """
    limit = max_bytes or (fetcher.max_bytes if fetcher is not None else DEFAULT_MAX_BYTES)
    if source == "-":
        stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise FetchError("-", "cannot read stdin: it is closed")
        try:
            content = _read_limited(stream, limit)
        except (OSError, ValueError) as exc:
            raise FetchError("-", f"cannot read stdin: {_describe(exc)}") from None
        if content is None:
            raise FetchError("-", f"input larger than the {_size(limit)} limit (--max-size)")
        return _local_result("-", content)
    if is_url(source):
        if fetcher is not None:
            return fetcher.fetch(source, state)
        from adapt_triage.fetch import Fetcher

        with Fetcher() as temporary:
            return temporary.fetch(source, state)
    return _local_result(source, _read_file(source, limit))


# Local files larger than this come as a read-only mmap (bytes-like), not a copy.
MAP_BYTES = 16 * 1024 * 1024


def _read_file(source: str, limit: int) -> bytes:
    path = Path(source)
    try:
        # O_NONBLOCK: a FIFO without a writer must not hang the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FetchError(source, "no such file") from None
    except IsADirectoryError:
        raise FetchError(source, "is a directory, not a file") from None
    except PermissionError:
        raise FetchError(source, "permission denied") from None
    except (OSError, ValueError) as exc:
        if path.is_dir():
            raise FetchError(source, "is a directory, not a file") from None
        raise FetchError(source, f"cannot read: {_describe(exc)}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FetchError(source, "is a directory, not a file")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise FetchError(
                source,
                f"file is {_size(info.st_size, exact=False)}, more than the {_size(limit)} "
                "limit (--max-size)",
            )
        if stat.S_ISREG(info.st_mode) and info.st_size > MAP_BYTES:
            # A large file is mapped, not read: its pages are the page cache's, and the
            # JSON Lines reader gives back those it has read (flat memory at any size).
            return cast(bytes, mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            content = _read_limited(stream, limit)
    except FetchError:
        raise
    except (OSError, ValueError) as exc:
        if isinstance(exc, IsADirectoryError):
            raise FetchError(source, "is a directory, not a file") from None
        raise FetchError(source, f"cannot read: {_describe(exc)}") from None
    finally:
        os.close(fd)
    if content is None:
        raise FetchError(source, f"input larger than the {_size(limit)} limit (--max-size)")
    return content


def _read_limited(stream: BinaryIO, limit: int) -> bytes | None:
    """At most `limit` bytes from `stream`, or None when there is more."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(1024 * 1024, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None


# -- helpers ------------------------------------------------------------------------------


def _local_result(name: str, content: bytes) -> FetchResult:
    return FetchResult(
        url=name,
        status=200,
        content=content,
        headers={},
        not_modified=False,
        etag=None,
        last_modified=None,
    )


def _size(n: int, *, exact: bool = True) -> str:
    mb = 1024 * 1024
    if n >= mb and (n % mb == 0 or not exact):
        return f"{n / mb:.0f} MB" if n % mb == 0 else f"{n / mb:.1f} MB"
    return f"{n} bytes"


def _describe(exc: BaseException) -> str:
    text = collapse_whitespace(str(exc))
    if not text:
        return type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return collapse_whitespace(exc.strerror)
    return text
