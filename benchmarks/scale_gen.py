"""A deterministic generator of arXiv-shaped papers for `make bench-scale`.

Every paper is built from the real listings in ../shared/realworld/arxiv-days/ (31 days of
cs.CV / cs.CL / cs.AI, March 2026; see SOURCES.md there): its abstract is a recombination of
real abstract sentences with about a quarter of the content words swapped for other real
words, its title a real title with words swapped the same way, its authors real first and
last names recombined, its categories a real paper's list. When the listings are missing
(an installed copy without the shared data) a small built-in vocabulary stands in.

The stream is a sequence of slots; slot `i` is fully determined by (seed, i), so any day can
be generated alone (that is what makes the cached build resumable). Days hold `DAY` slots
each; a month holds `MONTH` slots (20 weekdays), so 1M slots span 50 months from 2022-01.

Slot kinds (the ground truth that the benchmark judges links by):
- primary: a new arXiv paper, id `YYMM.NNNNN` (the slot number is encoded in the id);
- version: a new version (v2) of an earlier primary paper, small edits to its abstract;
- crossfeed: the same work as an earlier primary paper from another feed, without arXiv id
  (url `https://openreview.net/forum?id=benchJ`), title and abstract with small edits;
- nearmiss: a distinct new arXiv paper that shares boilerplate with an earlier primary one
  (its title's lead and its first two sentences, at most a quarter of either abstract),
  which must NOT be linked.

`work_of(url)` tells which work a stored record is (from its url alone).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

GEN_VERSION = 3  # 2: near-misses share at most a quarter of their text; 3: and of the other's
DAY = 1000  # slots a day
MONTH = 20 * DAY  # slots a month (20 weekdays)
START = date(2022, 1, 1)
SHARES = {"version": 0.03, "crossfeed": 0.02, "nearmiss": 0.01}
LOOKBACK = 60 * DAY  # plants refer to a paper of at most this many slots before their day
SWAP = 0.25  # share of content words swapped in a recombined sentence
# Sentences an abstract has at most (a real paper's count, at least 3): 14 gives ~1.6 KB of
# JSONL a paper; `scale.py --max-sentences 4` gives ~1.0 KB (the outside check's inputs).
MAX_SENTENCES = 14
REAL_DAYS = Path(__file__).resolve().parents[1] / ".." / "shared" / "realworld" / "arxiv-days"
STOP_WORDS = (
    "a an the of and or in on for to with by from as at is are be we our this that these "
    "which it its into than then their can via using based while both between over under "
    "not also such more most all each other has have been was were show shows"
)
STOP = set(STOP_WORDS.split())
FALLBACK = (
    "We propose a parameter efficient adaptation method for large pretrained models. "
    "Low rank updates of the attention weights match full fine tuning on most benchmarks. "
    "Our experiments on vision and language tasks show consistent gains under domain shift. "
    "The method requires no labels at test time and adds little memory. "
    "Code and models are released to support future research on continual learning."
)


@dataclass
class Corpus:
    sentences: list[str]
    titles: list[str]
    words: list[str]  # content words, with repeats (so frequent words are drawn more often)
    first_names: list[str]
    last_names: list[str]
    author_counts: list[int]
    categories: list[list[str]]
    sentence_counts: list[int]


def _sentences(text: str) -> list[str]:
    text = " ".join(text.split())
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if 30 <= len(s) <= 500]


@lru_cache(maxsize=2)
def load_corpus(directory: str = str(REAL_DAYS)) -> Corpus:
    """The real sentences, titles, names and category lists (each distinct paper once)."""
    seen: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if obj.get("id") and obj.get("title") and obj.get("summary"):
                seen.setdefault(obj["id"], obj)
    if not seen:
        seen = {
            "0": {
                "title": "Efficient low rank adaptation: a study",
                "summary": FALLBACK,
                "authors": ["Ada Lovelace", "Alan Turing"],
                "categories": ["cs.LG"],
            }
        }
    corpus = Corpus([], [], [], [], [], [], [], [])
    for obj in seen.values():
        sentences = _sentences(obj["summary"])
        corpus.sentences.extend(sentences)
        corpus.sentence_counts.append(max(len(sentences), 1))
        corpus.titles.append(" ".join(obj["title"].split()))
        names = [a for a in obj.get("authors") or [] if isinstance(a, str) and " " in a]
        corpus.author_counts.append(max(len(names), 1))
        for name in names:
            first, _, last = name.rpartition(" ")
            corpus.first_names.append(first)
            corpus.last_names.append(last)
        corpus.categories.append(list(obj.get("categories") or ["cs.LG"]))
        for word in re.findall(r"[A-Za-z][a-z]{3,}", obj["summary"]):
            if word.lower() not in STOP:
                corpus.words.append(word.lower())
    corpus.first_names = corpus.first_names or ["Ada"]
    corpus.last_names = corpus.last_names or ["Lovelace"]
    return corpus


def _rng(seed: int, i: int, salt: str = "") -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{i}:{salt}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def kind(seed: int, i: int) -> str:
    """The slot's kind; the first day holds primary papers only (nothing to refer to)."""
    if i < DAY:
        return "primary"
    draw = _rng(seed, i, "kind").random()
    for name, share in SHARES.items():
        if draw < share:
            return name
        draw -= share
    return "primary"


def target(seed: int, i: int) -> int:
    """The earlier primary slot that a planted slot refers to."""
    rng = _rng(seed, i, "target")
    day_start = i - i % DAY
    low = max(0, day_start - LOOKBACK)
    while True:
        j = rng.randrange(low, day_start)
        if kind(seed, j) == "primary":
            return j


def arxiv_id(i: int) -> str:
    month, seq = divmod(i, MONTH)
    year, mon = divmod(month, 12)
    return f"{(START.year + year) % 100:02d}{mon + 1:02d}.{seq + 1:05d}"


def slot_of_arxiv(aid: str) -> int | None:
    match = re.match(r"(\d{2})(\d{2})\.(\d{5})", aid)
    if not match:
        return None
    yy, mm, seq = (int(g) for g in match.groups())
    month = (2000 + yy - START.year) * 12 + mm - 1
    return month * MONTH + seq - 1


def day_date(day: int) -> date:
    """The weekday of the month that day `day` is announced on."""
    month, index = divmod(day, MONTH // DAY)
    first = date(START.year + month // 12, month % 12 + 1, 1)
    days = [first + timedelta(n) for n in range(31)]
    weekdays = [d for d in days if d.month == first.month and d.weekday() < 5]
    return weekdays[index]


def work_of(url: str | None) -> int | None:
    """The slot of the work a stored record is (None for a url the generator never made)."""
    url = url or ""
    if "openreview.net/forum?id=bench" in url:
        return int(url.rsplit("bench", 1)[1])
    if "arxiv.org/abs/" in url:
        return slot_of_arxiv(url.rsplit("/", 1)[1])
    return None


def _swap(rng: random.Random, text: str, corpus: Corpus, share: float = SWAP) -> str:
    out = []
    for word in text.split(" "):
        if len(word) > 3 and word.isalpha() and word.lower() not in STOP and rng.random() < share:
            new = rng.choice(corpus.words)
            word = new.capitalize() if word[0].isupper() else new
        out.append(word)
    return " ".join(out)


def _abstract(rng: random.Random, corpus: Corpus) -> list[str]:
    count = min(max(rng.choice(corpus.sentence_counts), 3), MAX_SENTENCES)
    return [_swap(rng, rng.choice(corpus.sentences), corpus) for _ in range(count)]


def _title(rng: random.Random, corpus: Corpus) -> str:
    return _swap(rng, rng.choice(corpus.titles), corpus, 0.4)


def _authors(rng: random.Random, corpus: Corpus) -> list[str]:
    count = min(rng.choice(corpus.author_counts), 30)
    first, last = corpus.first_names, corpus.last_names
    return [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(count)]


def primary(seed: int, i: int) -> dict[str, Any]:
    """The primary paper of slot `i` (whatever the slot's kind: plants derive from it)."""
    corpus = load_corpus()
    rng = _rng(seed, i, "paper")
    aid = arxiv_id(i)
    return {
        "id": aid,
        "title": _title(rng, corpus),
        "abstract": " ".join(_abstract(rng, corpus)),
        "authors": _authors(rng, corpus),
        "categories": rng.choice(corpus.categories),
        "url": f"https://arxiv.org/abs/{aid}",
        "published": day_date(i // DAY).isoformat(),
    }


def _edit_words(rng: random.Random, text: str, edits: int) -> str:
    words = text.split(" ")
    for _ in range(edits):
        at = rng.randrange(len(words))
        words[at] = rng.choice(["novel", "new", "simple", "robust", "efficient", "the"])
    return " ".join(words)


def record(seed: int, i: int) -> dict[str, Any]:
    """The JSON object of slot `i`, in the fields the JSONL reader takes."""
    slot = kind(seed, i)
    if slot == "primary":
        return primary(seed, i)
    j = target(seed, i)
    base = primary(seed, j)
    rng = _rng(seed, i, slot)
    published = day_date(i // DAY).isoformat()
    if slot == "version":
        return {
            **base,
            "id": f"{base['id']}v2",
            "abstract": _edit_words(rng, base["abstract"], 3) + " Code is now available.",
            "updated": published,
        }
    if slot == "crossfeed":
        title = base["title"].rstrip(".")
        title = title.lower().capitalize() if rng.random() < 0.5 else title.replace(":", " -")
        return {
            "title": title,
            "abstract": "Abstract: " + _edit_words(rng, base["abstract"], 2),
            "authors": base["authors"],
            "url": f"https://openreview.net/forum?id=bench{j}",
            "published": published,
        }
    return near_miss(rng, base, primary(seed, i))


def near_miss(rng: random.Random, base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A distinct work sharing boilerplate with `base`: the title's lead (the part before a
    colon, else its first three words) and the opening sentences (`_opening`), at most a
    quarter of either text; the rest is its own (more real sentences are drawn until it
    is)."""
    lead = base["title"].split(":")[0] if ":" in base["title"] else base["title"].split()[:3]
    lead = lead if isinstance(lead, str) else " ".join(lead)
    tail = own["title"].split(":")[-1].strip()
    shared = _opening(base["abstract"])
    rest = _sentences(own["abstract"])
    while sum(map(len, rest)) < 3 * sum(map(len, shared)):
        rest += _abstract(rng, load_corpus())
    return {**own, "title": f"{lead}: {tail}", "abstract": " ".join(shared + rest)}


def _opening(abstract: str) -> list[str]:
    """The first two sentences of `abstract`, as many as stay within a quarter of it (a
    first sentence longer than that: its first quarter of words). Sharing more would make
    a near-miss contain most of a short abstract: the text of a thesis around its paper,
    which dedup is meant to link."""
    budget = len(abstract) // 4
    shared: list[str] = []
    for sentence in _sentences(abstract)[:2]:
        if sum(map(len, shared)) + len(sentence) > budget:
            break
        shared.append(sentence)
    if not shared:
        words = abstract.split()
        shared = [" ".join(words[: max(len(words) // 4, 1)])]
    return shared


def day_records(seed: int, day: int) -> list[dict[str, Any]]:
    return [record(seed, i) for i in range(day * DAY, (day + 1) * DAY)]


def variant() -> str:
    """The generator's name in cache paths: its version, and the sentence cap when not the
    default."""
    cap = "" if MAX_SENTENCES == 14 else f"-s{MAX_SENTENCES}"
    return f"g{GEN_VERSION}{cap}"


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        for obj in records:
            out.write(json.dumps(obj, ensure_ascii=False))
            out.write("\n")
    tmp.replace(path)
    return path


def write_slots(path: Path, seed: int, start: int, stop: int) -> Path:
    """Slots [start, stop) as one JSONL file (one source)."""
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        for i in range(start, stop):
            out.write(json.dumps(record(seed, i), ensure_ascii=False))
            out.write("\n")
    tmp.replace(path)
    return path


def planted(seed: int, stop: int) -> dict[str, set]:
    """Ground truth of slots [0, stop): version targets (arXiv ids), cross-feed pairs
    (url, arXiv id of the work) and near-miss pairs (own arXiv id, the other's id)."""
    out: dict[str, set] = {"version": set(), "crossfeed": set(), "nearmiss": set()}
    for i in range(DAY, stop):
        slot = kind(seed, i)
        if slot == "primary":
            continue
        j = target(seed, i)
        if slot == "version":
            out["version"].add(arxiv_id(j))
        elif slot == "crossfeed":
            out["crossfeed"].add((f"https://openreview.net/forum?id=bench{j}", arxiv_id(j)))
        else:
            out["nearmiss"].add((arxiv_id(i), arxiv_id(j)))
    return out
