"""The shared whitespace helpers: what "collapsed" and "on one line" mean everywhere."""

from __future__ import annotations

from adapt_triage.text import collapse_whitespace, one_line


def test_collapse_whitespace_folds_every_run_to_one_space_and_trims() -> None:
    assert collapse_whitespace("  Low-rank\n\tadaptation \u00a0 of  LLMs \r\n") == (
        "Low-rank adaptation of LLMs"
    )
    assert collapse_whitespace(None) == ""
    assert collapse_whitespace(" \n\t ") == ""


def test_one_line_keeps_the_first_line_of_a_message_collapsed() -> None:
    assert one_line("  first   line\nsecond line") == "first line"
    assert one_line(ValueError("bad\tvalue\nat line 3")) == "bad value"


def test_one_line_names_the_exception_type_when_it_has_no_text() -> None:
    assert one_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("   ")) == "RuntimeError"
