"""Active-learning review (ASReview-style): show the stored papers the model is least sure
about, one at a time, and take the user's labels with single keys.

Every answer is saved at once, so Ctrl-C or the end of input loses nothing entered so far.
The model is retrained from the seed set plus the user's labels (never its own output)
after each answer, so the next question reflects what the user just taught it.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapt_triage.taxonomy import OFF_TOPIC

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.store import Store
    from adapt_triage.stored import StoredPaper

# Keys that are commands; every other letter or digit names a category.
ACCEPT, OFF, SKIP, QUIT, HELP = "y", "o", "s", "q", "?"
_COMMAND_KEYS = {ACCEPT, OFF, SKIP, QUIT, HELP}


def category_keys(categories: Sequence[str]) -> dict[str, str]:
    """One single-character key per category (off-topic has its own command key `o`)."""
    pool = [k for k in string.digits[1:] + "0" + string.ascii_lowercase if k not in _COMMAND_KEYS]
    cats = [c for c in categories if c != OFF_TOPIC]
    if len(cats) > len(pool):
        raise ValueError(f"too many categories for single keys ({len(cats)})")
    return dict(zip(pool, cats, strict=False))


def uncertainty(scores: Mapping[str, float]) -> float:
    """Higher = less sure: a small margin between the two best categories, or a best score
    near 0.5. In [0, 1]."""
    ranked = sorted(scores.values(), reverse=True) + [0.0, 0.0]
    margin = ranked[0] - ranked[1]
    closeness = 1.0 - abs(ranked[0] - 0.5) * 2.0
    return max(0.0, min(1.0, 0.5 * (1.0 - margin) + 0.5 * closeness))


# How many of the newest unlabelled papers are candidates for a question.
CANDIDATES = 2000


def review_queue(
    store: Store, classifier: TriageClassifier, *, limit: int | None = None
) -> list[StoredPaper]:
    """The newest canonical papers without user labels (at most CANDIDATES), least certain
    first, with the current model's scores and labels."""
    rows = [p for p in store.iter_papers(limit=CANDIDATES * 2) if not p.user_labels]
    rows = rows[:CANDIDATES]
    if not rows:
        return []
    scores = classifier.predict_scores(rows)
    for row, score in zip(rows, scores, strict=True):
        row.scores = score
        row.labels = classifier.decide(score)
    order = {row.id: uncertainty(score) for row, score in zip(rows, scores, strict=True)}
    rows.sort(key=lambda r: (-order[r.id], r.id))
    return rows[:limit] if limit is not None else rows


@dataclass
class ReviewResult:
    labelled: dict[str, list[str]] = field(default_factory=dict)
    skipped: int = 0
    stopped: str = "done"  # done | quit | end-of-input | interrupted


def parse_answer(answer: str, keys: Mapping[str, str]) -> tuple[str, list[str]] | str:
    """('labels', [...]) for category keys / y / o; 'skip', 'quit', 'help'; or an error text."""
    answer = answer.strip().lower()
    if not answer or answer == SKIP:
        return "skip"
    if answer == QUIT:
        return "quit"
    if answer == HELP:
        return "help"
    if answer == ACCEPT:
        return ("accept", [])
    if answer == OFF:
        return ("labels", [OFF_TOPIC])
    unknown = [ch for ch in answer if ch not in keys and not ch.isspace()]
    if unknown:
        return f"unknown key {unknown[0]!r} (press ? for the keys)"
    labels = list(dict.fromkeys(keys[ch] for ch in answer if ch in keys))
    return ("labels", labels)


def _wrapper(width: int) -> Callable[[str], str]:
    import textwrap

    def wrapped(text: str) -> str:
        return textwrap.fill(
            text,
            width=max(width, 30),
            initial_indent="    ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )

    return wrapped


def _question(paper: StoredPaper, asked: int, width: int) -> str:
    """A paper as a question: its number and title, the abstract, the model's labels."""
    import textwrap

    from adapt_triage.render import format_scores, sanitize, shorten

    wrapped = _wrapper(width)
    title = textwrap.fill(
        f"[{asked}] {sanitize(paper.title)}",
        width=max(width, 30),
        subsequent_indent="    ",
        break_long_words=False,
    )
    return f"\n{title}\n{wrapped(shorten(sanitize(paper.abstract), 600))}\n" + wrapped(
        f"model: {', '.join(paper.labels)}  ({format_scores(paper.scores)})"
    )


def _answer(
    read: Callable[[str], str], write: Callable[[str], None], keys: Mapping[str, str], help: str
) -> tuple[str, list[str]] | str:
    """The user's answer, asked again until it parses: ("accept" | "labels", labels),
    "skip", "quit", or "end-of-input" / "interrupted" when reading stopped."""
    while True:
        try:
            answer = read("labels> ")
        except EOFError:
            return "end-of-input"
        except KeyboardInterrupt:
            return "interrupted"
        parsed = parse_answer(answer, keys)
        if parsed == "help":
            write(f"keys: {help}  y=accept  o=off-topic  s=skip  q=quit")
            continue
        if isinstance(parsed, str) and parsed not in ("skip", "quit"):
            write(parsed)
            continue
        return parsed


def run_review(
    store: Store,
    build_classifier: Callable[[], TriageClassifier],
    *,
    read: Callable[[str], str],
    write: Callable[[str], None],
    limit: int | None = None,
    retrain: bool = True,
    width: int = 100,
) -> ReviewResult:
    """The loop. `read(prompt)` returns the user's answer (raising EOFError at the end of
    input, KeyboardInterrupt on Ctrl-C); `write(text)` shows text, wrapped at word
    boundaries to `width` columns. Labels are stored as they come."""
    result = ReviewResult()
    classifier = build_classifier()
    keys = category_keys(store.known_labels())
    key_help = "  ".join(f"{k}={c}" for k, c in keys.items())
    write(
        f"keys: {key_help}\n  y=accept the model's labels  o=off-topic  s/Enter=skip  q=quit  "
        "(several category keys at once, most central first)"
    )
    seen: set[str] = set()
    asked = 0
    while limit is None or asked < limit:
        queue = [r for r in review_queue(store, classifier) if r.id not in seen]
        if not queue:
            break
        paper = queue[0]
        seen.add(paper.id)
        asked += 1
        write(_question(paper, asked, width))
        parsed = _answer(read, write, keys, key_help)
        if parsed in ("quit", "end-of-input", "interrupted"):
            result.stopped = str(parsed)
            return result
        if isinstance(parsed, str):  # skip
            result.skipped += 1
            continue
        kind, labels = parsed
        if kind == "accept":
            labels = list(paper.labels)
        saved = store.set_user_labels(paper.id, labels)
        result.labelled[paper.id] = saved
        write(f"    saved: {', '.join(saved)}")
        if retrain:
            classifier = build_classifier()
    return result


# Keys that answer at once on a terminal; category keys gather until Enter (several at once).
IMMEDIATE_KEYS = frozenset({ACCEPT, OFF, SKIP, QUIT, HELP})


def read_keys(prompt: str, fd: int, write: Callable[[str], None]) -> str:
    """One answer from the terminal `fd`, a key at a time (no Enter needed for y, o, s, q
    and ?; category keys are echoed and gathered until Enter; Backspace erases). Ctrl-D or
    the end of input raises EOFError; Ctrl-C stays a KeyboardInterrupt (cbreak mode keeps
    signals). The terminal's settings are restored whatever happens."""
    import os
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        write(prompt)
        answer = ""
        while True:
            data = os.read(fd, 1)
            if not data or (data == b"\x04" and not answer):
                write("\n")
                raise EOFError
            ch = data.decode("latin-1")
            if ch in ("\r", "\n"):
                write("\n")
                return answer
            if ch in ("\x7f", "\b"):
                if answer:
                    answer = answer[:-1]
                    write("\b \b")
                continue
            if not answer and ch.lower() in IMMEDIATE_KEYS:
                write(ch + "\n")
                return ch
            if ch.isprintable() and not ch.isspace():
                answer += ch
                write(ch)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
