"""Near-duplicate detection with a persisted, scalable index.

Exact identity (same arXiv id, DOI or normalised-title hash) is the store's job: those
papers share one `Paper.id`. This module links *distinct* ids that are the same work: the
same paper read from two services, a paper and its journal or thesis form, a retitled or
reformatted copy. Related but distinct works (a successor "v2"/"++" paper, two methods of
one family, a generic title shared by unrelated papers) are never linked.

How a paper is checked (cost independent of the number of indexed papers):

1. Candidates, from these keys looked up in `dedup_bands` by its (band, bucket) primary
   key, never by a scan:
   - band 0..BANDS-1: MinHash LSH bands over 5-word shingles of title + abstract (catches
     copies with scattered small edits; Jaccard >= ~0.5 is found with high probability);
   - band -1 (ANCHOR_BAND): winnowed fingerprints of 8-word runs of the abstract (any
     verbatim passage of >= ANCHOR_K + ANCHOR_W - 1 = 23 words shares a key: truncated
     abstracts, a thesis containing the paper's abstract, a shared opening paragraph);
   - band -2 (TITLE_BAND): the normalised title (retitled by case, punctuation, markup);
   - band -3 (REST_BAND): the title's content words after a leading "Name:" (all of them
     without one): a name added, dropped or changed over one subtitle;
   - bands -4 / -5 (HEAD_BAND, TAIL_BAND): the first and the last EDGE_WORDS of those:
     a qualifier added at the other end ("... for Large Language Models", "Efficient ...").
   At most BUCKET_CAP papers are read per key, the newest first (`bucket_stats`, shown by
   `dedup --stats`, counts the buckets past the cap; the other keys of a pair are read
   all the same), and only the MAX_VERIFY candidates sharing the most keys (weighted,
   title keys first) are verified.
2. Verification on the real text, normalised and without boilerplate (licence, copyright,
   permission, funding and code-availability sentences, arXiv's "this https URL"), see
   `similarity` and `_rules`: explicit rules, each with its threshold, give a score in
   [0, 1]; a pair is a duplicate when the score is >= THRESHOLD and no veto applies. Titles
   and abstracts alone decide: a missing author or id never does.

Vetoes (the pair is reported with score 0.0 and the veto as reason):
- a different kind of work: a title word that only one title has among comment,
  erratum, corrigendum, correction, reply, retraction, survey, review, reproducibility,
  reproduction, replication, revisited ("[Re] Title" reads as a reproduction);
- successor markers: the titles differ by a version marker (a number, "v2", "Namev2",
  "++", "+" or LaTeX "$^{+}$", a roman numeral II..IX, a Greek-letter suffix "Name-β",
  the words Plus, Pro, Turbo, XL, Lite): "Uni-Perceiver" vs "Uni-Perceiver v2", "MMRL"
  vs "MMRL++", "Qwen-VL" vs "Qwen2-VL". Waived only when the titles are equal but for the
  marker AND the abstracts are near-identical (3-gram Jaccard >= MARKER_ONLY_TEXT and
  containment >= MARKER_ONLY_CONTAINMENT): a "v2" written into one listing of one text;
- different strong ids (two different arXiv ids, or two different DOIs) or disjoint
  author lists: linked only when one abstract is nearly contained in the other (3-gram
  containment >= STRONG_CONTAINMENT). A thesis that contains its paper's abstract still
  links; a shared opening or a shared paragraph alone never does.

The user decides last: `dedup_decisions` holds their `link` / `unlink` of two ids
(`decide`); an unlinked pair is never returned by `find`, and the store applies both.

Storage (tables created in the given database):
- `dedup_docs`: one row per indexed paper: `doc` (integer, first-seen order),
  `paper_id`, `canonical_id` (the root it duplicates, or NULL), strong ids, author last
  names (JSON), normalised title tokens, and the normalised abstract tokens
  (zlib-compressed UTF-8, for verification). Every key is recomputable from this row.
- `dedup_bands(band, bucket, doc)`: the LSH / anchor / title keys, WITHOUT ROWID, primary
  key (band, bucket, doc).
- `dedup_meta`: the parameter version the keys were computed with; a version change
  rebuilds `dedup_bands` from `dedup_docs`.
- `dedup_decisions(a, b, decision, decided_at)`: the user's decisions (never rebuilt).
Writes join the caller's transaction (the store's, one per source) through a savepoint;
nothing here commits it.

All hashing is a fixed function of the text (blake2b for tokens, fixed-seed multiply-
shift hash families in numpy), so signatures are identical across runs and processes.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sqlite_utils

from adapt_triage.paper import Paper, clean_text

# --- parameters -------------------------------------------------------------------
SHINGLE = 5  # words per MinHash shingle
BANDS = 20  # LSH bands ...
ROWS = 3  # ... of ROWS hash values each
NUM_PERM = BANDS * ROWS
ANCHOR_K = 8  # words per anchor k-gram
ANCHOR_W = 16  # winnowing window: any shared run of K + W - 1 words shares an anchor
ANCHOR_BAND = -1
TITLE_BAND = -2
REST_BAND = -3  # the title's content words after a leading "Name:" (or all of them)
HEAD_BAND = -4  # the first EDGE_WORDS content words of that rest ...
TAIL_BAND = -5  # ... and its last EDGE_WORDS (a qualifier added at the other end)
EDGE_WORDS = 3
TITLE_KEY_BANDS = (TITLE_BAND, REST_BAND, HEAD_BAND, TAIL_BAND)
MAX_WORDS = 4000  # abstract words kept for indexing and verification (bounds cost)
BUCKET_CAP = 64  # papers read per key (the newest first; `bucket_stats` shows full ones)
MAX_VERIFY = 12  # candidates verified per lookup
PARAMS_VERSION = f"dedup-2:{SHINGLE}:{BANDS}x{ROWS}:{ANCHOR_K}/{ANCHOR_W}:seed=20240811"

# --- verification thresholds (see `similarity`; measured in tests/test_dedup.py) ---
THRESHOLD = 0.5  # a pair is a duplicate when its score is at least this
SURE = 0.999  # a candidate scoring this ends a lookup (the rest are not verified)
MIN_WORDS = 20  # an abstract shorter than this counts as missing
CONTAINMENT = 0.7  # share of the shorter abstract's 3-grams found in the longer one ...
CONTAINMENT_MIN_WORDS = 40  # ... for a shorter abstract of fewer words, titles must also
TITLE_OVERLAP = 0.5  # share this much of their content words
PASSAGE_RUN = 30  # a shared verbatim passage of this many words ...
PASSAGE_COVERAGE = 0.2  # ... with this share of the shorter abstract verbatim (8-grams) ...
# ... and TITLE_OVERLAP of the title content words
SAME_TITLE_TEXT = 0.2  # same normalised title: 3-gram containment of the abstracts
SAME_TITLE_MIN_WORDS = 5  # same title, an abstract missing: title content words needed
SPECIFIC_TITLE = 5  # a title of this many content words (3 not generic; or 4 after a
# "Name:") is specific:
SPECIFIC_VOCABULARY = 0.4  # ... the same such title AND this share of abstract words (a)
EXTENDED_TEXT = 0.25  # title extended / same subtitle AND this 3-gram containment (b, d)
EXTENDED_MAX_EXTRA = 5  # content words a title may gain and still be "extended"
REUSE_CONTAINMENT = 0.5  # another title, AND this 3-gram containment ... (d)
REUSE_COVERAGE = 0.35  # ... AND this share of the shorter abstract's 8-grams verbatim
REUSE_TITLE = 0.2  # ... AND this title overlap ...
REUSE_SPREAD = 3  # ... AND verbatim text in this many of the shorter abstract's 4 quarters
# (a paragraph copied between companion papers is one block: it fills one or two quarters)
PASSAGE_TITLE = 0.75  # the shared-passage rule's title overlap (companion papers by one
# group share an opening under titles that overlap less; a paper and its thesis more)
MARKER_ONLY_TEXT = 0.7  # titles equal but for a version marker: 3-gram Jaccard (c) ...
MARKER_ONLY_CONTAINMENT = 0.85  # ... and containment (a cut-down copy is a successor's)
STRONG_CONTAINMENT = 0.8  # two different arXiv ids or DOIs link only at this containment

_SEED = 20240811


def _constants(n: int, salt: int) -> np.ndarray:
    """n fixed odd 64-bit constants derived from the seed with blake2b (stable across
    Python and numpy versions; never Python's salted hash())."""
    values = [
        int.from_bytes(
            hashlib.blake2b(f"{_SEED}:{salt}:{i}".encode(), digest_size=8).digest(), "little"
        )
        | 1
        for i in range(n)
    ]
    return np.array(values, dtype=np.uint64)


_PERM_A = _constants(NUM_PERM, 1)
_PERM_B = _constants(NUM_PERM, 2)
_SHINGLE_MUL = _constants(SHINGLE, 3)
_ANCHOR_MUL = _constants(ANCHOR_K, 4)
_BAND_MUL = _constants(ROWS, 5)


# --- normalisation ------------------------------------------------------------------
_TOKEN_RE = re.compile(r"plusplus|\d+(?:\.\d+)*|[a-z]+")
# Text that is not ASCII after cleaning: words of every script; each Han, kana or Hangul
# character is a word of its own (those scripts put no spaces between words), and the
# combining vowel signs of Indic and Thai scripts stay inside their words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_UNICODE_TOKEN_RE = re.compile(
    rf"plusplus|\d+(?:\.\d+)*|[{_CJK}]|(?:[^\W\d_{_CJK}]|[\u0300-\u036f\u0900-\u0eff])+"
)
_PREFIX_RE = re.compile(
    r"^\s*(?:arxiv:\s*\S+\s+announce\s+type:\s*[\w-]+\s*)?"
    r"(?:(?:abstract|summary)\s*(?:[:.\u2013\u2014-]|\n)\s*)?",
    re.IGNORECASE,
)
_MARKUP_RE = re.compile(r"[<&\\${}]")
_PLUS_RE = re.compile(r"(?<=[a-z0-9])\+")
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix"})
_GREEK_NAMES = frozenset(
    {
        *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"),
        *("kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau"),
        *("upsilon", "phi", "chi", "psi", "omega"),
    }
)
# Words that name a successor or sibling model ("Plus", "Pro", "Turbo", "XL", "Lite").
_SUCCESSOR_WORDS = frozenset({"plus", "plusplus", "pro", "turbo", "xl", "lite"})
# Title words that make a paper a different kind of work than the one it is titled after.
_KIND_WORDS = frozenset(
    {
        *("comment", "comments", "erratum", "errata", "corrigendum", "correction"),
        *("reply", "rejoinder", "retraction", "retracted", "survey", "review"),
        *("reproducibility", "reproduction", "replication", "revisited", "revisiting"),
    }
)
_REPRODUCTION_RE = re.compile(r"^\s*\[\s*re\s*\]", re.IGNORECASE)  # "[Re] Title" (ReScience)
_SUPERSCRIPT_PLUS_RE = re.compile(r"\s*\^\s*\{?\s*(\+\+?)\s*\}?")  # "Name$^{+}$"
# Boilerplate removed before abstracts are compared: licence, copyright and permission
# notices, arXiv's "this https URL", code and funding lines.
_BOILERPLATE_RE = re.compile(
    r"(?:©|\(c\)\s*\d{4}|copyright\b|all rights reserved|licen[cs]ed (?:under|to)|creative commons"
    r"|\bcc[ -]by\b|permission to (?:make|reprint|copy)|published by (?:elsevier|springer)"
    r"|this article is protected|funded by|supported (?:in part )?by (?:the |a )?(?:national|"
    r"grant|nsf|european|erc|dfg)|grant (?:no|number)|code (?:and data |and models )?"
    r"(?:is|are|will be) (?:publicly |made )?(?:available|released)|available at this https?"
    r" url|https?://\S+)",
    re.IGNORECASE,
)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\d(\[©])")
_URL_PHRASE_RE = re.compile(r"\bthis\s+https?\s+url\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)*")
_STOPWORDS = frozenset(
    {
        *("a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or"),
        *("the", "to", "towards", "toward", "via", "with", "without", "using", "based"),
        *("is", "are", "be", "its", "their", "our", "we", "this", "that"),
    }
)


def tokens(text: str | None) -> list[str]:
    """Lower-case words of the cleaned text; digits split from letters ("qwen2" -> "qwen",
    "2"), "++" and a trailing "+" kept as the words "plusplus" and "plus", so that version
    markers stay visible."""
    text = text or ""
    # clean_text only changes the tokens of text with markup, entities, LaTeX or non-ASCII
    if not text.isascii() or _MARKUP_RE.search(text):
        text = clean_text(text)
        if "^" in text:
            text = _SUPERSCRIPT_PLUS_RE.sub(r"\1", text)
    if text.isascii():
        text = text.lower().replace("++", " plusplus ")
        return _TOKEN_RE.findall(_PLUS_RE.sub(" plus ", text))
    text = unicodedata.normalize("NFKC", text).casefold().replace("++", " plusplus ")
    return _UNICODE_TOKEN_RE.findall(_PLUS_RE.sub(" plus ", text))


# Literal words one of which every boilerplate sentence contains (lower case): a sentence
# without any is never matched against _BOILERPLATE_RE (which is slow on long texts).
_BOILERPLATE_TRIGGERS = (
    *("©", "(c)", "copyright", "rights reserved", "licen", "creative commons", "cc by"),
    *("cc-by", "permission to", "published by", "protected", "funded by", "supported"),
    *("grant", "available", "released", "http"),
)


def _has_trigger(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in _BOILERPLATE_TRIGGERS)


def strip_boilerplate(text: str) -> str:
    """The abstract without its licence, copyright, permission, funding and code-availability
    sentences and arXiv's "this https URL" placeholders (shared by unrelated papers)."""
    if "URL" in text:
        text = _URL_PHRASE_RE.sub(" ", text)
    if not _has_trigger(text):
        return text
    kept = [
        s for s in _SENTENCE_RE.split(text) if not (_has_trigger(s) and _BOILERPLATE_RE.search(s))
    ]
    return " ".join(kept)


# Words without one of which no boilerplate sentence matches: the (slower) sentence-level
# stripping runs only for an abstract that has one (most abstracts have none).
_BOILERPLATE_WORDS = frozenset(
    {
        *("copyright", "reserved", "licensed", "licenced", "creative", "permission"),
        *("published", "protected", "funded", "grant", "http", "https", "url"),
    }
)


def _may_have_boilerplate(words: Sequence[str], text: str) -> bool:
    present = set(words)
    return bool(
        present & _BOILERPLATE_WORDS
        or "©" in text
        or "(c)" in text.lower()
        or ("code" in present and ("available" in present or "released" in present))
        or ("supported" in present and "by" in present)
        or ("cc" in present and "by" in present)
    )


def abstract_tokens(abstract: str | None) -> list[str]:
    """`tokens` of an abstract without an "Abstract:" or arXiv "Announce Type" prefix and
    without boilerplate (`strip_boilerplate`)."""
    text = _PREFIX_RE.sub("", abstract or "", count=1)
    words = tokens(text)
    if _may_have_boilerplate(words, text):
        words = tokens(strip_boilerplate(text))
    return words[:MAX_WORDS]


def title_tokens(title: str | None) -> list[str]:
    """`tokens` of a title, with "|" after a leading "Name:" of at most 4 words ("LoRA-Drop:
    Efficient ..."), and "[Re]" read as "reproduction"."""
    text = _REPRODUCTION_RE.sub("reproduction ", title or "")
    head, colon, tail = text.partition(":")
    if colon:
        name, rest = tokens(head), tokens(tail)
        if 1 <= len(name) <= 4 and rest:
            return [*name, "|", *rest]
    return tokens(text)


def _last_name(name: str) -> str:
    name = clean_text(name).lower()
    name = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    return re.sub(r"[^a-z]", "", name)


@dataclass(frozen=True)
class _Doc:
    """What verification needs of a paper (rebuilt from Paper or from a stored row)."""

    title: tuple[str, ...]
    words: tuple[str, ...]
    arxiv_id: str | None = None
    doi: str | None = None
    authors: frozenset[str] = frozenset()

    @classmethod
    def of(cls, paper: Paper) -> _Doc:
        authors = frozenset(n for n in (_last_name(str(a)) for a in paper.authors or ()) if n)
        return cls(
            title=tuple(title_tokens(paper.title)),
            words=tuple(abstract_tokens(paper.abstract)),
            arxiv_id=str(paper.arxiv_id) if paper.arxiv_id else None,
            doi=str(paper.doi).lower() if paper.doi else None,
            authors=authors,
        )


# --- hashing ------------------------------------------------------------------------
@lru_cache(maxsize=1 << 18)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _token_hashes(words: Sequence[str]) -> np.ndarray:
    return np.fromiter(map(_token_hash, words), dtype=np.uint64, count=len(words))


def _gram_hashes(h: np.ndarray, k: int, mul: np.ndarray) -> np.ndarray:
    """One uint64 hash per k-token window of token hashes `h`, in order (a single one for
    shorter texts)."""
    if len(h) == 0:
        return np.zeros(0, dtype=np.uint64)
    k = min(k, len(h))
    n = len(h) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        acc += h[j : j + n] * mul[j]
    return _mix(acc)


def _minhash(h: np.ndarray) -> np.ndarray:
    shingles = np.unique(_gram_hashes(h, SHINGLE, _SHINGLE_MUL))
    if len(shingles) == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    values = (shingles[:, None] * _PERM_A[None, :] + _PERM_B[None, :]) >> np.uint64(32)
    return values.min(axis=0).astype(np.uint32)


def minhash_signature(words: Sequence[str]) -> np.ndarray:
    """MinHash (NUM_PERM uint32 values) of the SHINGLE-word shingles of `words`."""
    return _minhash(_token_hashes(words))


def _band_buckets(signature: np.ndarray) -> list[int]:
    rows = signature.reshape(BANDS, ROWS).astype(np.uint64)
    acc = (rows * _BAND_MUL[None, :]).sum(axis=1, dtype=np.uint64)
    return [int(v) for v in _mix(acc).view(np.int64)]


def anchors(words: Sequence[str]) -> list[int]:
    """Winnowed fingerprints of the ANCHOR_K-word runs: two texts sharing a verbatim run of
    ANCHOR_K + ANCHOR_W - 1 words share at least one (Schleimer et al., 2003)."""
    return _anchors(_token_hashes(words))


def _anchors(h: np.ndarray) -> list[int]:
    if len(h) < ANCHOR_K:
        return []
    g = _gram_hashes(h, ANCHOR_K, _ANCHOR_MUL)
    if len(g) <= ANCHOR_W:
        picked = g[[int(g.argmin())]]
    else:
        windows = np.lib.stride_tricks.sliding_window_view(g, ANCHOR_W)
        picked = g[windows.argmin(axis=1) + np.arange(len(windows))]
    return [int(v) for v in np.unique(picked).view(np.int64)]


def _title_bucket(title: Sequence[str], salt: str = "") -> int:
    digest = hashlib.blake2b((salt + " ".join(title)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _plain(title: Sequence[str]) -> list[str]:
    """Title tokens without the "|" that marks the end of a leading "Name:"."""
    return [w for w in title if w != "|"]


def _rest(title: Sequence[str]) -> list[str]:
    """The content stems of the title after a leading "Name:" (all of them without one),
    version markers left out."""
    if "|" in title:
        title = title[title.index("|") + 1 :]
    return [_stem(w) for w in title if w not in _STOPWORDS and not _is_marker(w)]


def _title_keys(title: Sequence[str]) -> list[tuple[int, int]]:
    """The title's candidate keys: the whole normalised title; its content words after a
    leading "Name:" (a name added, dropped or changed); and the first and the last
    EDGE_WORDS of those (a qualifier added at the other end)."""
    plain = _plain(title)
    if not plain:
        return []
    keys = [(TITLE_BAND, _title_bucket(plain))]
    rest = _rest(title)
    if len(rest) >= EDGE_WORDS:
        keys.append((REST_BAND, _title_bucket(rest, "rest:")))
    if len(rest) > EDGE_WORDS:
        keys.append((HEAD_BAND, _title_bucket(rest[:EDGE_WORDS], "head:")))
        keys.append((TAIL_BAND, _title_bucket(rest[-EDGE_WORDS:], "tail:")))
    return keys


def _keys(doc: _Doc) -> list[tuple[int, int]]:
    """(band, bucket) keys of a document: LSH bands, anchors, title keys."""
    keys: list[tuple[int, int]] = []
    title, words = _token_hashes(_plain(doc.title)), _token_hashes(doc.words)
    if len(title) or len(words):
        keys += list(enumerate(_band_buckets(_minhash(np.concatenate([title, words])))))
    keys += [(ANCHOR_BAND, a) for a in _anchors(words)]
    keys += _title_keys(doc.title)
    return keys


# --- verification -------------------------------------------------------------------
def _grams(words: Sequence[str], k: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def _stem(word: str) -> str:
    return word[:5]


def _content(title: Sequence[str]) -> set[str]:
    return {_stem(w) for w in title if w not in _STOPWORDS and w != "|"}


def _vocabulary(words: Sequence[str]) -> set[str]:
    """Content stems of an abstract (words of 3+ letters that are not stopwords)."""
    return {_stem(w) for w in words if len(w) > 2 and w not in _STOPWORDS and not w.isdigit()}


def _vocabulary_overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Shared content stems / content stems of the smaller abstract."""
    va, vb = _vocabulary(a), _vocabulary(b)
    return len(va & vb) / min(len(va), len(vb)) if va and vb else 0.0


def _title_relation(a: Sequence[str], b: Sequence[str]) -> str:
    """How two titles (title tokens) relate: "equal" (the same content words), "subtitle"
    (the same words after a leading "Name:", the name added, dropped or changed),
    "extended" (one is the other with at most EXTENDED_MAX_EXTRA content words added at
    its start or end) or ""."""
    ca = [_stem(w) for w in a if w not in _STOPWORDS and w != "|"]
    cb = [_stem(w) for w in b if w not in _STOPWORDS and w != "|"]
    if ca and ca == cb:
        return "equal"
    ra, rb = _rest(a), _rest(b)
    if len(ra) >= EDGE_WORDS and ra == rb:
        return "subtitle"
    for x, y in ((ca, cb), (ra, rb)):
        short, long_ = sorted((x, y), key=len)
        n = len(short)
        if (
            n >= EDGE_WORDS
            and 0 < len(long_) - n <= EXTENDED_MAX_EXTRA
            and (long_[:n] == short or long_[-n:] == short)
        ):
            return "extended"
    return ""


# Title words of machine-learning papers so common that a title made of them names a
# topic, not a work ("Towards Efficient Fine-Tuning of Large Language Models"); by stem.
_GENERIC_TITLE_STEMS = frozenset(
    _stem(w)
    for w in (
        *("model", "learning", "language", "large", "neural", "network", "deep", "efficient"),
        *("data", "method", "approach", "framework", "improving", "robust", "task", "training"),
        *("fine", "tuning", "adaptation", "adaptive", "llm", "llms", "vision", "visual"),
        *("image", "text", "analysis", "study", "new", "novel", "benchmark", "evaluation"),
        *("evaluating", "understanding", "generation", "multimodal", "multi", "modal"),
        *("transformer", "representation", "system", "performance", "scalable", "simple"),
        *("effective", "general", "generalization", "foundation", "pre", "trained"),
        *("parameter", "unsupervised", "supervised", "self", "semi", "domain", "semantic"),
        *("segmentation", "detection", "classification", "recognition", "prediction"),
        *("reasoning", "knowledge", "agent", "reinforcement", "towards", "beyond", "rethinking"),
        *("scaling", "generative", "diffusion", "retrieval", "augmented", "aware", "guided"),
    )
)


def _specific(title: Sequence[str]) -> bool:
    """A title specific enough that two papers with it are one work: a leading "Name:" and
    4 content words; or SPECIFIC_TITLE content words of which 3 are not generic ML title
    words ("Towards Efficient Fine-Tuning of Large Language Models" is a topic, not a
    work)."""
    words = _content(title)
    if "|" in title and len(words) >= 4:
        return True
    return len(words) >= SPECIFIC_TITLE and len(words - _GENERIC_TITLE_STEMS) >= 3


@dataclass(frozen=True)
class _Evidence:
    """Measurements on a pair of documents (abstract figures are 0 when one is missing)."""

    title_equal: bool
    title_overlap: float  # shared content words / content words of the shorter title
    resemblance: float  # Jaccard of the abstracts' 3-gram sets
    containment: float  # share of the shorter abstract's 3-grams present in the longer
    coverage: float  # share of the shorter abstract's 8-grams present in the longer
    run: int  # longest verbatim run of words shared (from 8-gram matches)
    opening: int  # words the two abstracts share from their first word
    shorter: int  # words in the shorter abstract
    spread: int = 0  # quarters of the shorter abstract with >= 1/4 of their 8-grams shared
    relation: str = ""  # see `_title_relation`


def _evidence(a: _Doc, b: _Doc) -> _Evidence:
    ta, tb = _content(a.title), _content(b.title)
    overlap = len(ta & tb) / min(len(ta), len(tb)) if ta and tb else 0.0
    title_equal = bool(a.title) and _plain(a.title) == _plain(b.title)
    relation = _title_relation(a.title, b.title) if a.title and b.title else ""
    short, long_ = sorted((a.words, b.words), key=len)
    if len(short) < MIN_WORDS:
        return _Evidence(title_equal, overlap, 0.0, 0.0, 0.0, 0, 0, len(short), relation=relation)
    s3, l3 = _grams(short, 3), _grams(long_, 3)
    inter = len(s3 & l3)
    resemblance = inter / len(s3 | l3)
    containment = inter / len(s3)
    l8 = _grams(long_, 8)
    hits = [tuple(short[i : i + 8]) in l8 for i in range(len(short) - 7)]
    coverage = sum(hits) / len(hits) if hits else 0.0
    best = streak = 0
    for hit in hits:
        streak = streak + 1 if hit else 0
        best = max(best, streak)
    run = best + 7 if best else 0
    spread = 0
    if hits:
        quarter = max(1, len(hits) // 4)
        spread = sum(
            1
            for q in range(4)
            if (part := hits[q * quarter : (q + 1) * quarter if q < 3 else None])
            and 4 * sum(part) >= len(part)
        )
    opening = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        opening += 1
    return _Evidence(
        title_equal,
        overlap,
        resemblance,
        containment,
        coverage,
        run,
        opening,
        len(short),
        spread,
        relation,
    )


def _grade(value: float, threshold: float) -> float:
    """Map a measurement in [0, 1] to a score in [0, 1] with `threshold` -> 0.5."""
    value = min(max(value, 0.0), 1.0)
    if value < threshold:
        return 0.5 * value / threshold
    return 0.5 + 0.5 * (value - threshold) / (1.0 - threshold)


def _grade_count(value: float, threshold: float) -> float:
    """Map a count to [0, 1] with `threshold` -> 0.5 and twice the threshold -> 1."""
    return min(1.0, 0.5 * value / threshold)


def _is_marker(word: str) -> bool:
    return bool(
        _NUMBER_RE.fullmatch(word)
        or word in _ROMAN
        or word in _GREEK_NAMES
        or word in _SUCCESSOR_WORDS
    )


def _markers(title: Iterable[str]) -> set[str]:
    """Version and successor markers of a title: numbers ("Qwen2", "Namev2", "Llama 2"),
    roman numerals, "+"/"++" (also LaTeX "$^{+}$"), Greek-letter suffixes ("Name-β") and
    the words Plus, Pro, Turbo, XL and Lite."""
    return {w for w in title if _is_marker(w)}


def _unmarked(title: Sequence[str]) -> list[str]:
    """Title tokens without their markers (and the "v" of "v2" or "Namev2")."""
    out: list[str] = []
    words = _plain(title)
    for i, w in enumerate(words):
        if _is_marker(w):
            continue
        if i + 1 < len(words) and _NUMBER_RE.fullmatch(words[i + 1]) and w.endswith("v"):
            w = w[:-1]
            if not w:
                continue
        out.append(w)
    return out


def _rules(ev: _Evidence, a: _Doc, b: _Doc) -> list[tuple[float, str]]:
    """Every rule's score (each graded so that its threshold maps to 0.5; an AND of
    conditions takes the lowest grade) and its reason."""
    title = _grade(ev.title_overlap, TITLE_OVERLAP)
    rules: list[tuple[float, str]] = []
    if ev.shorter >= MIN_WORDS:
        contained = _grade(ev.containment, CONTAINMENT)
        if ev.shorter < CONTAINMENT_MIN_WORDS:
            contained = min(contained, title)
        if ev.resemblance >= 0.9:
            what = f"near-identical abstract (3-gram Jaccard {ev.resemblance:.2f})"
        else:
            what = (
                f"abstract containment {ev.containment:.2f} (3-gram Jaccard {ev.resemblance:.2f})"
            )
        rules.append((contained, what))
        if ev.title_equal:
            rules.append(
                (
                    _grade(ev.containment, SAME_TITLE_TEXT),
                    f"same normalised title, abstract containment {ev.containment:.2f}",
                )
            )
        best = max(score for score, _ in rules)
        if ev.relation == "equal" and best < 0.9 and _specific(a.title):
            # (not read when a text rule is sure already: it costs a pass over both texts)
            vocabulary = _vocabulary_overlap(a.words, b.words)
            rules.append(
                (
                    _grade(vocabulary, SPECIFIC_VOCABULARY),
                    f"same specific title ({len(_content(a.title))} content words), abstract "
                    f"vocabulary overlap {vocabulary:.2f}",
                )
            )
        if ev.relation in ("extended", "subtitle"):
            what = "same subtitle, name changed" if ev.relation == "subtitle" else "title extended"
            rules.append(
                (
                    _grade(ev.containment, EXTENDED_TEXT),
                    f"{what}, abstract containment {ev.containment:.2f}",
                )
            )
        reuse = min(
            _grade(ev.containment, REUSE_CONTAINMENT),
            _grade(ev.coverage, REUSE_COVERAGE),
            _grade(ev.title_overlap, REUSE_TITLE),
            _grade_count(ev.spread, REUSE_SPREAD),
        )
        rules.append(
            (
                reuse,
                f"text reused under another title (containment {ev.containment:.2f}, verbatim "
                f"coverage {ev.coverage:.2f} in {ev.spread} of 4 quarters, title overlap "
                f"{ev.title_overlap:.2f})",
            )
        )
        passage = min(
            _grade_count(ev.run, PASSAGE_RUN),
            _grade(ev.coverage, PASSAGE_COVERAGE),
            _grade(ev.title_overlap, PASSAGE_TITLE),
        )
        where = "opening " if ev.opening >= ev.run > 0 else ""
        rules.append(
            (
                passage,
                f"shared {where}passage of {ev.run} words, verbatim coverage "
                f"{ev.coverage:.2f}, title overlap {ev.title_overlap:.2f}",
            )
        )
    elif ev.title_equal:
        n = len(_content(a.title))
        rules.append(
            (
                _grade_count(n, SAME_TITLE_MIN_WORDS),
                f"same normalised title ({n} content words), an abstract missing",
            )
        )
    return rules


def _verdict(a: _Doc, b: _Doc) -> tuple[float, str]:
    ev = _evidence(a, b)
    rules = _rules(ev, a, b)
    score, reason = max(rules, key=lambda rule: rule[0], default=(0.0, "nothing in common"))
    if score < THRESHOLD:
        return score, reason
    veto = _veto(a, b, ev)
    if veto:
        return 0.0, f"{veto}; otherwise {reason} ({score:.2f})"
    return score, reason


def _veto(a: _Doc, b: _Doc, ev: _Evidence) -> str | None:
    kinds = (set(a.title) & _KIND_WORDS) ^ (set(b.title) & _KIND_WORDS)
    if kinds:
        return f"not a duplicate: a different kind of work ({', '.join(sorted(kinds))})"
    diff = _markers(a.title) ^ _markers(b.title)
    if diff:
        marker_only = _content(_unmarked(a.title)) == _content(_unmarked(b.title))
        if not (
            marker_only
            and ev.resemblance >= MARKER_ONLY_TEXT
            and ev.containment >= MARKER_ONLY_CONTAINMENT
        ):
            return f"not a duplicate: successor/version marker in title ({', '.join(sorted(diff))})"
    if ev.containment < STRONG_CONTAINMENT:
        if a.arxiv_id and b.arxiv_id and a.arxiv_id != b.arxiv_id:
            return f"not a duplicate: different arXiv ids ({a.arxiv_id}, {b.arxiv_id})"
        if a.doi and b.doi and a.doi != b.doi:
            return f"not a duplicate: different DOIs ({a.doi}, {b.doi})"
        if a.authors and b.authors and not a.authors & b.authors:
            return "not a duplicate: no author in common"
    return None


def similarity(a: Paper, b: Paper) -> tuple[float, str]:
    """Verification score in [0, 1] and its reason; a duplicate when score >= THRESHOLD.

    Rules (the score is the best rule's, each graded so that its threshold maps to 0.5;
    an AND of conditions takes the lowest grade):
    - containment: >= CONTAINMENT of the shorter abstract's word 3-grams occur in the
      longer (a copy, a reformatted, truncated, prefixed or lightly edited abstract, a
      thesis or extended version containing it); a shorter abstract of fewer than
      CONTAINMENT_MIN_WORDS words also needs title overlap >= TITLE_OVERLAP;
    - same normalised title (markup, case, punctuation and LaTeX ignored) AND abstract
      containment >= SAME_TITLE_TEXT; when an abstract is missing, a title of at least
      SAME_TITLE_MIN_WORDS content words;
    - same specific title (SPECIFIC_TITLE content words, 4 after a "Name:") AND
      >= SPECIFIC_VOCABULARY of the smaller abstract's content words in the other (an
      abstract rewritten from scratch, class a);
    - title extended (at most EXTENDED_MAX_EXTRA content words added at its start or end,
      a "Name:" prefix added) or the same subtitle under another name, AND abstract
      containment >= EXTENDED_TEXT (classes b and d);
    - text reused under another title: containment >= REUSE_CONTAINMENT AND verbatim
      coverage >= REUSE_COVERAGE spread over REUSE_SPREAD of the shorter abstract's four
      quarters AND title overlap >= REUSE_TITLE (a conference vs journal version, d);
    - shared passage: a verbatim run >= PASSAGE_RUN words AND >= PASSAGE_COVERAGE of the
      shorter abstract's 8-grams in the longer AND title overlap >= PASSAGE_TITLE (a
      paper and the thesis built around it, sharing their opening paragraph).
    Vetoes then give 0.0: see the module docstring. Margins against the nearest false
    pairs: `tests/test_dedup_rules.py::test_margins`.
    """
    return _verdict(_Doc.of(a), _Doc.of(b))


# --- the persisted index ------------------------------------------------------------
@dataclass
class DuplicateMatch:
    canonical_id: str  # the first-seen paper this one duplicates (never itself a duplicate)
    reason: str
    score: float


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dedup_docs (
        doc INTEGER PRIMARY KEY,
        paper_id TEXT NOT NULL UNIQUE,
        canonical_id TEXT,
        arxiv_id TEXT,
        doi TEXT,
        authors TEXT NOT NULL DEFAULT '[]',
        title TEXT NOT NULL DEFAULT '',
        words BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dedup_docs_canonical ON dedup_docs (canonical_id)",
    """CREATE TABLE IF NOT EXISTS dedup_bands (
        band INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        doc INTEGER NOT NULL,
        PRIMARY KEY (band, bucket, doc)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS dedup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The user's decisions (`dedup link` / `dedup unlink`), one row per pair of paper ids
    # (a < b): they win over the rules and are never recomputed.
    """CREATE TABLE IF NOT EXISTS dedup_decisions (
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('link', 'unlink')),
        decided_at TEXT NOT NULL,
        PRIMARY KEY (a, b)
    ) WITHOUT ROWID""",
)
_DOC_COLUMNS = "doc, paper_id, canonical_id, arxiv_id, doi, authors, title, words"
# All keys of a document in one statement: for each (band, bucket), at most ? papers, the
# newest first (a full bucket of a generic key never stops finding recent papers; the
# more specific keys of a pair are looked up all the same).
_LOOKUP = """
    SELECT json_extract(k.value, '$[0]') AS band,
        (SELECT group_concat(doc) FROM (
            SELECT doc FROM dedup_bands b
            WHERE b.band = json_extract(k.value, '$[0]')
              AND b.bucket = json_extract(k.value, '$[1]')
            ORDER BY doc DESC
            LIMIT ?2))
    FROM json_each(?1) k
"""
# Candidate weight per key hit: a shared title key counts like every LSH band at once;
# the looser title keys count for a few bands each.
_WEIGHTS = {TITLE_BAND: BANDS, REST_BAND: BANDS // 2, HEAD_BAND: 3, TAIL_BAND: 3}
_BAND_NAMES = {
    ANCHOR_BAND: "anchor",
    TITLE_BAND: "title",
    REST_BAND: "title after name",
    HEAD_BAND: "title head",
    TAIL_BAND: "title tail",
}


def _pack_words(words: Sequence[str]) -> bytes:
    return zlib.compress(" ".join(words).encode("utf-8"))


def _row_doc(row: Sequence) -> _Doc:
    """A `_Doc` from a `dedup_docs` row selected with _DOC_COLUMNS."""
    text = zlib.decompress(row[7]).decode("utf-8")
    return _Doc(
        title=tuple(row[6].split()),
        words=tuple(text.split()),
        arxiv_id=row[3],
        doi=row[4],
        authors=frozenset(json.loads(row[5])),
    )


class DedupIndex:
    """Near-duplicate index over the papers stored so far, kept in the store's database.

    The caller owns the transaction: inside it, each call's writes join it through a
    savepoint (`Database.atomic`), so a rollback by the caller undoes them and nothing here
    commits. Called outside a transaction, each call is atomic and committed on its own,
    like sqlite-utils' own write methods.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        # find() and then add() of the same paper is the store's pattern: compute its
        # tokens and keys once.
        self._prepared: tuple[tuple, _Doc, list[tuple[int, int]]] | None = None
        # Whether any user decision exists, read once: decisions name stored papers, and
        # `find` is asked about new ones, so a decision made meanwhile changes nothing.
        self._has_decisions = True
        if self._ready():  # the common case: read-only, takes no write lock
            self._has_decisions = (
                self.db.execute("SELECT 1 FROM dedup_decisions LIMIT 1").fetchone() is not None
            )
            return
        with db.atomic():
            for statement in _SCHEMA:
                db.execute(statement)
            row = db.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
            if row is None or row[0] != PARAMS_VERSION:
                if row is not None:
                    self._rebuild()
                db.execute(
                    "INSERT OR REPLACE INTO dedup_meta (key, value) VALUES ('params', ?)",
                    (PARAMS_VERSION,),
                )

    def _prepare(self, paper: Paper) -> tuple[_Doc, list[tuple[int, int]]]:
        key = (
            paper.title,
            paper.abstract,
            tuple(paper.authors or ()),
            paper.arxiv_id,
            paper.doi,
        )
        if self._prepared is None or self._prepared[0] != key:
            doc = _Doc.of(paper)
            self._prepared = (key, doc, _keys(doc))
        return self._prepared[1], self._prepared[2]

    def find(self, paper: Paper, paper_id: str | None = None) -> DuplicateMatch | None:
        """The best verified match among indexed papers with an id other than `paper_id`
        (resolved to its root), or None."""
        doc, keys = self._prepare(paper)
        counts: Counter[int] = Counter()
        for band, hits in self.db.execute(_LOOKUP, (json.dumps(keys), BUCKET_CAP)):
            if not hits:
                continue
            weight = _WEIGHTS.get(band, 1)
            if weight == 1:
                counts.update(map(int, hits.split(",")))
            else:
                for hit in map(int, hits.split(",")):
                    counts[hit] += weight
        if not counts:
            return None
        ranked = sorted(counts, key=lambda d: (-counts[d], d))[:MAX_VERIFY]
        marks = ",".join("?" * len(ranked))
        rows = self.db.execute(
            f"SELECT {_DOC_COLUMNS} FROM dedup_docs WHERE doc IN ({marks}) ORDER BY doc",
            ranked,
        ).fetchall()
        best: tuple[float, Sequence] | None = None
        best_reason = ""
        for row in rows:
            other_id, root = row[1], row[2] or row[1]
            if paper_id is not None and paper_id in (other_id, root):
                continue
            score, reason = _verdict(doc, _row_doc(row))
            if score >= THRESHOLD and (best is None or score > best[0]):
                if paper_id is not None and self._refused(paper_id, other_id, root):
                    continue  # the user said these are different works
                best, best_reason = (score, row), reason
                if score >= SURE:
                    break  # a copy: no other candidate can do better
        if best is None:
            return None
        score, row = best
        root = row[2] or row[1]
        if root != row[1]:
            best_reason += f" (matched {row[1]})"
        return DuplicateMatch(canonical_id=root, reason=best_reason, score=round(score, 4))

    def add(self, paper_id: str, paper: Paper, canonical_id: str | None = None) -> None:
        """Index a paper (re-adding an id replaces its rows). `canonical_id` is the paper it
        duplicates, if any; chains are flattened so that every link points at a root."""
        root = self._root(canonical_id) if canonical_id else None
        if root == paper_id:
            root = None
        doc, keys = self._prepare(paper)
        values = (
            root,
            doc.arxiv_id,
            doc.doi,
            json.dumps(sorted(doc.authors)),
            " ".join(doc.title),
            _pack_words(doc.words),
        )
        with self.db.atomic():
            existing = self._row(paper_id)
            if existing is None:
                cursor = self.db.execute(
                    "INSERT INTO dedup_docs (canonical_id, arxiv_id, doi, authors, title, words,"
                    " paper_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*values, paper_id),
                )
                number = cursor.lastrowid
            else:
                number = existing[0]
                self._delete_keys(number, _row_doc(existing))
                self.db.execute(
                    "UPDATE dedup_docs SET canonical_id = ?, arxiv_id = ?, doi = ?, authors = ?,"
                    " title = ?, words = ? WHERE doc = ?",
                    (*values, number),
                )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)",
                [(band, bucket, number) for band, bucket in keys],
            )
            if root is not None:
                self.db.execute(
                    "UPDATE dedup_docs SET canonical_id = ? WHERE canonical_id = ?",
                    (root, paper_id),
                )

    def remove(self, paper_id: str) -> None:
        """Drop a paper from the index. Papers that duplicated it are re-rooted on the
        earliest of them."""
        row = self._row(paper_id)
        if row is None:
            return
        with self.db.atomic():
            self._delete_keys(row[0], _row_doc(row))
            self.db.execute("DELETE FROM dedup_docs WHERE doc = ?", (row[0],))
            children = [
                r[0]
                for r in self.db.execute(
                    "SELECT paper_id FROM dedup_docs WHERE canonical_id = ? ORDER BY doc",
                    (paper_id,),
                )
            ]
            if children:
                self.db.execute(
                    "UPDATE dedup_docs SET canonical_id = NULL WHERE paper_id = ?", (children[0],)
                )
                self.db.execute(
                    "UPDATE dedup_docs SET canonical_id = ? WHERE canonical_id = ?",
                    (children[0], paper_id),
                )

    # -- the user's decisions and the index's own figures

    def decide(self, a: str, b: str, decision: str, when: str) -> None:
        """Record the user's `link` or `unlink` of two paper ids (replacing an earlier one)."""
        x, y = sorted((a, b))
        self._has_decisions = True
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO dedup_decisions (a, b, decision, decided_at) "
                "VALUES (?, ?, ?, ?)",
                (x, y, decision, when),
            )

    def decision(self, a: str, b: str) -> str | None:
        x, y = sorted((a, b))
        row = self.db.execute(
            "SELECT decision FROM dedup_decisions WHERE a = ? AND b = ?", (x, y)
        ).fetchone()
        return row[0] if row else None

    def decisions(self) -> list[dict[str, str]]:
        rows = self.db.execute(
            "SELECT a, b, decision, decided_at FROM dedup_decisions ORDER BY decided_at, a, b"
        ).fetchall()
        return [dict(zip(("a", "b", "decision", "decided_at"), r, strict=True)) for r in rows]

    def _refused(self, paper_id: str, *others: str) -> bool:
        """Did the user unlink `paper_id` from one of `others`? (Asked only of a pair that
        passed verification: a primary-key lookup per such pair.)"""
        if not self._has_decisions:
            return False
        return any(self.decision(paper_id, other) == "unlink" for other in set(others))

    def set_root(self, paper_id: str, root: str | None) -> None:
        """Make `root` the canonical paper of `paper_id` and of everything linked to it
        (None: `paper_id` stands alone again, its own duplicates stay with it)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE dedup_docs SET canonical_id = ? WHERE paper_id = ?", (root, paper_id)
            )
            if root is not None:
                self.db.execute(
                    "UPDATE dedup_docs SET canonical_id = ? WHERE canonical_id = ?",
                    (root, paper_id),
                )

    def bucket_stats(self) -> list[dict[str, object]]:
        """Per kind of key: keys, papers, the largest bucket, and the buckets holding more
        than BUCKET_CAP papers (a lookup reads only the newest BUCKET_CAP of those)."""
        rows = self.db.execute(
            """SELECT band, count(*), sum(n), max(n), sum(n > ?1)
               FROM (SELECT band, bucket, count(*) AS n FROM dedup_bands GROUP BY band, bucket)
               GROUP BY band ORDER BY band""",
            (BUCKET_CAP,),
        ).fetchall()
        stats: dict[str, dict[str, object]] = {}
        for band, keys, entries, largest, full in rows:
            name = _BAND_NAMES.get(band, "text (LSH)")
            entry = stats.setdefault(
                name, {"keys": name, "buckets": 0, "entries": 0, "largest": 0, "over_cap": 0}
            )
            entry["buckets"] = int(entry["buckets"]) + keys
            entry["entries"] = int(entry["entries"]) + entries
            entry["largest"] = max(int(entry["largest"]), largest)
            entry["over_cap"] = int(entry["over_cap"]) + full
        return list(stats.values())

    def canonical(self, paper_id: str) -> str | None:
        """The root `paper_id` was linked to when added, or None (also when not indexed)."""
        row = self.db.execute(
            "SELECT canonical_id FROM dedup_docs WHERE paper_id = ?", (paper_id,)
        ).fetchone()
        return row[0] if row else None

    def _ready(self) -> bool:
        names = {
            r[0]
            for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE name IN "
                "('dedup_docs', 'dedup_docs_canonical', 'dedup_bands', 'dedup_meta', "
                "'dedup_decisions')"
            )
        }
        if len(names) < 5:
            return False
        row = self.db.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
        return row is not None and row[0] == PARAMS_VERSION

    def _root(self, paper_id: str) -> str:
        parent = self.canonical(paper_id)
        return parent or paper_id

    def _row(self, paper_id: str) -> Sequence | None:
        return self.db.execute(
            f"SELECT {_DOC_COLUMNS} FROM dedup_docs WHERE paper_id = ?", (paper_id,)
        ).fetchone()

    def _delete_keys(self, number: int, doc: _Doc) -> None:
        self.db.conn.executemany(
            "DELETE FROM dedup_bands WHERE band = ? AND bucket = ? AND doc = ?",
            [(band, bucket, number) for band, bucket in _keys(doc)],
        )

    def _rebuild(self) -> None:
        """Recompute every key (after a change of PARAMS_VERSION)."""
        self.db.execute("DELETE FROM dedup_bands")
        for row in self.db.execute(f"SELECT {_DOC_COLUMNS} FROM dedup_docs").fetchall():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)",
                [(band, bucket, row[0]) for band, bucket in _keys(_row_doc(row))],
            )
