"""How a source's chunks are paced: sized by the time their writes take, with a short
pause after a long stretch of writing so that another writer gets the lock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import islice

from adapt_triage.paper import Paper


class Pacer:
    """Lets a waiting writer in between two write transactions: the time spent outside
    the lock since the last commit counts; the store sleeps only for what is missing of
    `pause` seconds, and only once `every` seconds of writing have passed."""

    def __init__(self, pause: float, every: float) -> None:
        self.pause, self.every = pause, every
        self.writing = 0.0  # write time since the last pause
        self.committed: float | None = None
        self.started = self.last = 0.0

    def before_write(self) -> None:
        now = time.monotonic()
        if self.committed is not None:
            outside = now - self.committed
            if outside >= self.pause:
                self.writing = 0.0
            elif self.writing >= self.every:
                time.sleep(self.pause - outside)  # another writer may take the lock now
                self.writing = 0.0
        self.started = time.monotonic()

    def after_commit(self) -> None:
        self.committed = time.monotonic()
        self.last = self.committed - self.started  # the transaction's length
        self.writing += self.last


class Sizer:
    """The size of the next chunk: as many papers as take about `seconds` to write (so a
    waiting writer never waits long, and a fast store writes few, large transactions)."""

    def __init__(self, first: int, most: int, seconds: float) -> None:
        self.least, self.most, self.seconds = min(500, most), most, seconds
        self.next = min(first, most)

    def size(self) -> int:
        return self.next

    def took(self, papers: int, seconds: float) -> None:
        if papers < self.next or seconds <= 0:
            return
        ideal = papers * self.seconds / seconds
        self.next = max(self.least, min(self.most, int((self.next + ideal) / 2)))


def chunked(
    items: Iterator[tuple[int, Paper]], size: Callable[[], int]
) -> Iterator[tuple[list[tuple[int, Paper]], bool]]:
    """`size()` items at a time, each with whether it is the last chunk (an empty source
    is one empty chunk). The next chunk is taken before a chunk is handed out."""
    ahead = list(islice(items, size()))
    while True:
        chunk, ahead = ahead, list(islice(items, size()))
        yield chunk, not ahead
        if not ahead:
            return
