"""The shared whitespace helpers: what "collapsed" and "on one line" mean everywhere."""

from __future__ import annotations

from adapt_triage.text import collapse_whitespace, one_line


def test_collapse_whitespace_folds_every_run_to_one_space_and_trims() -> None:
    assert collapse_whitespace("  Low-rank\n\tadaptation \u00a0 of  LLMs \r\n") == (
        "Low-rank adaptation of LLMs"
    )
    assert collapse_whitespace(None) == ""
    assert collapse_whitespace(" \n\t ") == ""


def test_collapse_whitespace_treats_the_same_characters_as_whitespace_as_the_regex() -> None:
    # Every code point the regex \s matches is one str.split splits on, and no other: the
    # separators \x1c-\x1f, NEL, NBSP, the line and paragraph separators, ideographic space.
    import re
    import sys

    space = re.compile(r"\s")
    whitespace = "".join(chr(i) for i in range(sys.maxunicode + 1) if space.fullmatch(chr(i)))
    assert "\x1c" in whitespace and "\u2028" in whitespace and "\u3000" in whitespace
    text = f"{whitespace}a{whitespace}b\u200bc{whitespace}"  # a zero-width space is no space
    assert collapse_whitespace(text) == re.sub(r"\s+", " ", text).strip() == "a b\u200bc"


def test_one_line_keeps_the_first_line_of_a_message_collapsed() -> None:
    assert one_line("  first   line\nsecond line") == "first line"
    assert one_line(ValueError("bad\tvalue\nat line 3")) == "bad value"


def test_one_line_names_the_exception_type_when_it_has_no_text() -> None:
    assert one_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("   ")) == "RuntimeError"
