"""`review` on a terminal: keys read one at a time in cbreak mode (over a real pty), the
terminal restored; abstracts wrapped at word boundaries to the width."""

from __future__ import annotations

import os
import sys
import termios
import threading
import time

import pytest
from helpers import run

from adapt_triage.review import read_keys

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


def type_keys(master: int, slave: int, data: bytes) -> threading.Thread:
    """Type `data` once the reader has put the terminal in cbreak mode (before that the
    line discipline would hold the keys until a newline)."""

    def typist() -> None:
        while termios.tcgetattr(slave)[3] & termios.ICANON:
            time.sleep(0.005)
        os.write(master, data)

    thread = threading.Thread(target=typist, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def pty_pair():
    import pty

    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def test_a_command_key_answers_without_enter(pty_pair):
    master, slave = pty_pair
    before = termios.tcgetattr(slave)
    shown: list[str] = []
    type_keys(master, slave, b"y")
    assert read_keys("labels> ", slave, shown.append) == "y"
    assert "".join(shown) == "labels> y\n"
    assert termios.tcgetattr(slave) == before  # the terminal's settings are back


def test_category_keys_gather_until_enter_with_backspace(pty_pair):
    master, slave = pty_pair
    type_keys(master, slave, b"12\x7f3\r")
    assert read_keys("> ", slave, lambda _t: None) == "13"


def test_ctrl_d_on_an_empty_answer_is_the_end_of_input(pty_pair):
    master, slave = pty_pair
    type_keys(master, slave, b"\x04")
    with pytest.raises(EOFError):
        read_keys("> ", slave, lambda _t: None)


def test_abstracts_are_wrapped_at_word_boundaries(tmp_path, seed_page, monkeypatch):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", seed_page], db=db)
    monkeypatch.setenv("COLUMNS", "61")
    out = run(["review", "--limit", "1"], db=db, input="s\n").stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("[1] "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("    model:"))
    block = lines[start:end]
    assert len(block) > 4 and all(len(line) <= 60 for line in block)
    from adapt_triage.render import sanitize
    from adapt_triage.store import Store

    with Store(db) as store:
        abstracts = [sanitize(p.abstract) for p in store.list_papers()]
    # the abstract's lines joined with single spaces give the abstract back: no word split
    for first in range(1, len(block)):
        text = " ".join(line.strip() for line in block[first:]).removesuffix("…")
        if any(a.startswith(text) for a in abstracts):
            break
    else:
        raise AssertionError(block)
    assert first < len(block) - 3
