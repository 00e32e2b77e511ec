"""Writing output whose delivery matters: the digest marks only the papers that reached the
reader.

A terminal or a file takes what is written. A pipe buffers it: `digest | head -1` can write
every line into the pipe before `head` exits, and the lines left in the buffer are lost
when it does. So on a pipe, `OutputSink.write` waits until the reader has taken the bytes
(the pipe's unread count drops to zero) before it says they were delivered, and reports
bytes the reader left behind when it went away as not delivered.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import time
from typing import Any, TextIO


def _unread_bytes(fd: int) -> int | None:
    """Bytes written into the pipe `fd` that its reader has not taken yet (Linux, macOS)."""
    try:
        import fcntl
        import struct
        import termios

        raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", raw)[0])
    except (ImportError, OSError, AttributeError):
        return None


def _reader_gone(fd: int) -> bool:
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


class OutputSink:
    """Write text chunks to `out` and tell, per chunk, whether it reached the reader."""

    def __init__(self, out: TextIO, *, poll_interval: float = 0.002) -> None:
        self.out = out
        self.closed = False
        self.poll_interval = poll_interval
        self._fd: int | None = None
        try:
            fd = out.fileno()
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and _unread_bytes(fd) is not None:
                self._fd = fd
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def write(self, text: str) -> bool:
        """Write `text` whole; True when the reader has it (a pipe's reader took every byte
        of it), False once the reader has gone (nothing more is written after that)."""
        if self.closed:
            return False
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._close()
            return False
        if self._fd is None:
            return True
        while True:
            unread = _unread_bytes(self._fd)
            if not unread:
                return True
            if _reader_gone(self._fd):
                self._close()
                return False
            time.sleep(self.poll_interval)

    def _close(self) -> None:
        """The reader went away: point stdout at /dev/null so that the interpreter's last
        flush does not fail again."""
        self.closed = True
        with contextlib.suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())
            os.close(devnull)


def deliver_digest(
    store: Any, digest: Any, fmt: str, out: TextIO, *, notes: bool = True, mark: bool = True
) -> list[str]:
    """Write `digest` in `fmt` to `out` piece by piece, and mark shown (unless `mark` is
    false) exactly the papers whose piece reached the reader; `notes` adds the table's
    notes and the empty reason on stderr. Returns the ids shown."""
    import sys

    from adapt_triage.render import digest_chunks, digest_table_notes

    sink = OutputSink(out)
    shown: list[str] = []
    for ids, chunk in digest_chunks(digest, fmt):
        if not sink.write(chunk):
            break
        shown.extend(ids)
    if not sink.closed:
        if fmt == "table":
            digest_table_notes(digest, stderr_notes=notes)
        elif fmt == "jsonl" and digest.empty_reason and notes:
            print(f"adapt-triage: {digest.empty_reason}", file=sys.stderr)
    if mark and shown:
        store.mark_shown(shown, since=digest.since)
    return shown
