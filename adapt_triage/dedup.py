"""Near-duplicate detection with a persisted, scalable index.

Exact identity (same arXiv id, DOI or normalised-title hash) is the store's job: those
papers share one `Paper.id`. This module links *distinct* ids that are the same work: the
same paper read from two services, a paper and its journal or thesis form, a retitled or
reformatted copy. Related but distinct works (a successor "v2"/"++" paper, two methods of
one family, a generic title shared by unrelated papers) are never linked.

How a paper is checked (cost independent of the number of indexed papers):

1. Candidates, from these keys looked up in `dedup_bands` by its (key, doc) primary key,
   never by a scan (a key is one 32-bit integer naming its kind and bucket, `_fold`):
   - band 0..BANDS-1: MinHash LSH bands (BANDS x ROWS) over 5-word shingles of title +
     abstract (catches copies with scattered small edits; Jaccard >= ~0.5 is found with
     high probability);
   - band -1 (ANCHOR_BAND): winnowed fingerprints of 8-word runs of the abstract (any
     verbatim passage of >= ANCHOR_K + ANCHOR_W - 1 = 30 words, PASSAGE_RUN, shares a key:
     truncated abstracts, a thesis containing the paper's abstract, a shared opening);
   - band -2 (TITLE_BAND): the normalised title (retitled by case, punctuation, markup);
   - band -3 (REST_BAND): the title's content words after a leading "Name:" (all of them
     without one): a name added, dropped or changed over one subtitle;
   - bands -4 / -5 (HEAD_BAND, TAIL_BAND): the first and the last EDGE_WORDS of those:
     a qualifier added at the other end ("... for Large Language Models", "Efficient ...").
   A bucket is 31 bits of the key's hash for an anchor, 27 bits for the others, which
   share the rest of the 32 with a 4-bit code of their band (a chance collision only
   adds a candidate). At most BUCKET_CAP papers are read per key, the newest first
   (`bucket_stats`, shown by `dedup --stats`, counts the buckets past the cap; the other
   keys of a pair are read all the same), and only the MAX_VERIFY candidates sharing the
   most keys (weighted, title keys first) are considered. One met through a single LSH
   band or anchor and no title key is verified only if the titles overlap
   (`_worth_verifying`).
2. Verification on the stored token hashes of the text, normalised and without
   boilerplate (licence, copyright, permission, funding and code-availability sentences,
   arXiv's "this https URL"), see `similarity` and `_rules`: explicit rules, each with
   its threshold, give a score in [0, 1]; a pair is a duplicate when the score is >=
   THRESHOLD and no veto applies. Titles and abstracts alone decide: a missing author or
   id never does. A candidate first meets `_may_link`, a necessary condition of a link
   from the titles and the 3-gram containment (at 100k stored, of a paper's ~5.8
   candidates ~0.03 pass it); only one that passes gets the full `_verdict`.

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

Storage (tables created in the given database by MIGRATIONS, which the store's
migration runner applies; DedupIndex applies them itself when they are missing):
- `dedup_docs`: one row per indexed paper: `doc` (integer, first-seen order),
  `paper_id`, strong ids ('' when the paper id spells it, `arxiv:<id>` / `doi:<doi>`),
  author last names (32-bit hashes), normalised title tokens, the abstract's token
  hashes (low 16 bits, uint16 in order, `_pack16`) and its content-stem hashes (sorted
  uint16, Elias-Fano coded by `adapt_triage.stempack`, kept for a title of 4+ content
  words): verification reads these, never the text. The
  cluster root is NOT kept here: it is `papers.duplicate_of` (the store's), read at lookup.
- `dedup_bands(key, doc)`: the LSH / anchor / title keys, WITHOUT ROWID, primary key
  (key, doc); `dedup_recent(key, doc)` the same for the keys added since the last merge.
- `dedup_meta`: the parameter version the keys were computed with; a version change
  rebuilds `dedup_bands` from the stored papers' text, in the first command that opens
  the index (a pass over every paper, ~0.4 ms each: minutes at 1M papers; m004 converts
  a dedup-3 index without it, ~60 us a paper).
- `dedup_decisions(a, b, decision, decided_at)`: the user's decisions (never rebuilt).
Per chunk of papers: `find_many` (one lookup statement for all their keys; a paper is
also checked against the chunk's earlier papers) then `add_many` (one insert of the docs,
one `executemany` of all key rows, sorted); `find` / `add` are the one-paper forms.
Writes join the caller's transaction (the store's) through a savepoint; nothing here
commits it.

All hashing is a fixed function of the text (blake2b for tokens, fixed-seed multiply-
shift hash families in numpy), so signatures are identical across runs and processes.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain

import numpy as np
import sqlite_utils

from adapt_triage import hashpack, stempack
from adapt_triage.dedup_migrations import MIGRATIONS, m001_dedup_tables  # noqa: F401
from adapt_triage.paper import Paper, clean_text

# --- parameters -------------------------------------------------------------------
SHINGLE = 5  # words per MinHash shingle
BANDS = 10  # LSH bands ...
ROWS = 2  # ... of ROWS hash values each
NUM_PERM = BANDS * ROWS
ANCHOR_K = 8  # words per anchor k-gram
ANCHOR_W = 23  # winnowing window: any shared run of K + W - 1 = PASSAGE_RUN words shares an anchor
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
# (dedup-4: the keys of dedup-3 stored folded into one 32-bit integer, `_fold`; m004
# converts a dedup-3 index in place, without rebuilding its keys from the papers)
PARAMS_VERSION = f"dedup-4:{SHINGLE}:{BANDS}x{ROWS}:{ANCHOR_K}/{ANCHOR_W}:seed=20240811:key32"

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
        if "+" in text:  # (the regex substitution costs a pass over every text)
            text = _PLUS_RE.sub(" plus ", text)
        return _TOKEN_RE.findall(text)
    text = unicodedata.normalize("NFKC", text).casefold().replace("++", " plusplus ")
    if "+" in text:
        text = _PLUS_RE.sub(" plus ", text)
    return _UNICODE_TOKEN_RE.findall(text)


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
        stripped = strip_boilerplate(text)
        if stripped != text:  # (most candidates have nothing to strip)
            words = tokens(stripped)
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
    # clean_text changes nothing but whitespace (which goes below) of ASCII without markup
    name = (clean_text(name) if not name.isascii() or _MARKUP_RE.search(name) else name).lower()
    name = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    return re.sub(r"[^a-z]", "", name)


@dataclass(frozen=True, eq=False)
class _Doc:
    """What verification needs of a paper (built from a Paper or read from a stored row):
    the title tokens, the abstract's token hashes in order (`h`, uint64, or for a stored doc
    their stored form until `hashes` is read: every n-gram the rules compare is hashed
    from these, never from text), the hashes of its content stems
    (`stems`, sorted unique uint16; a stored doc keeps their stored form, `stempack`, until
    `stem_hashes` is read), strong ids and author last names."""

    title: tuple[str, ...]
    h: np.ndarray | bytes
    stems: np.ndarray | bytes
    arxiv_id: str | None = None
    doi: str | None = None
    authors: frozenset[int] = frozenset()

    @cached_property
    def content(self) -> frozenset[str]:
        """`_content` of the title (what `_may_link` compares with every candidate's)."""
        return frozenset(_content(self.title))

    @cached_property
    def kinds(self) -> frozenset[str]:
        """The title's kind words (`_KIND_WORDS`)."""
        return frozenset(self.title) & _KIND_WORDS

    @cached_property
    def stem_hashes(self) -> np.ndarray:
        """The stem hashes (decoded once, when a rule reads them: only the same-specific-
        title rule does, and decoding them cost more than the rest of a stored doc)."""
        if isinstance(self.stems, bytes):
            return stempack.unpack(self.stems)
        return self.stems

    @cached_property
    def hashes(self) -> np.ndarray:
        """The token hashes (uint64). A stored doc keeps their stored form (`hashpack`) in
        `h` until they are read: a lookup reads some ten candidates a paper and verifies
        a few, those whose titles pass `_worth_verifying`, and decoding the rest's hashes
        was the largest cost of reading a candidate."""
        if isinstance(self.h, bytes):
            return _unpack_hashes(self.h)
        return self.h

    @cached_property
    def size(self) -> int:
        """The abstract's number of tokens (`len(hashes)`; a stored blob says it)."""
        return hashpack.count(self.h) if isinstance(self.h, bytes) else len(self.h)

    @cached_property
    def h16(self) -> np.ndarray:
        """The low 16 bits of the token hashes: what is stored, and what verification
        reads. Two different words share them with p = 2**-16, and only a gram whose
        every word matches counts: an 8-gram or a 3-gram differing in one word still
        matches with p = 2**-16 (one in 65,536 near-matching grams, ~0.002% of a
        containment), grams differing in more words far less often."""
        if isinstance(self.h, bytes):
            return self.hashes  # stored: the low 16 bits already
        return self.hashes & np.uint64(0xFFFF)

    @cached_property
    def grams3(self) -> np.ndarray:
        """The abstract's distinct 3-gram hashes, sorted (resemblance and containment: a
        set only ever intersected, `_shared`)."""
        return _sorted_unique(_gram_hashes(self.h16, 3, _GRAM3_MUL))

    @cached_property
    def grams8(self) -> np.ndarray:
        """The abstract's 8-gram hashes in order (verbatim runs)."""
        return _gram_hashes(self.h16, 8, _GRAM8_MUL)

    @cached_property
    def grams8_set(self) -> np.ndarray:
        """The distinct 8-gram hashes, sorted (`_hits` looks grams up in it)."""
        return _sorted_unique(self.grams8)

    @classmethod
    def of(cls, paper: Paper) -> _Doc:
        authors = frozenset(
            h for h in map(_author_key, map(str, paper.authors or ())) if h is not None
        )
        words = abstract_tokens(paper.abstract)
        return cls(
            title=tuple(title_tokens(paper.title)),
            h=_token_hashes(words),
            stems=_stem_hashes(words),
            arxiv_id=str(paper.arxiv_id) if paper.arxiv_id else None,
            doi=str(paper.doi).lower() if paper.doi else None,
            authors=authors,
        )


# --- hashing ------------------------------------------------------------------------
def _blake(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")


_HASHES: dict[str, int] = {}  # token -> hash: each distinct token is hashed once
_HASHES_MAX = 1 << 20  # tokens kept (the cache starts again when full)


def _token_hash(token: str) -> int:
    value = _HASHES.get(token)
    if value is None:
        value = _HASHES[token] = _blake(token)
    return value


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _token_hashes(words: Sequence[str]) -> np.ndarray:
    """uint64 hashes of tokens, each distinct token hashed once (then read from a dict)."""
    try:
        return np.fromiter(map(_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))
    except KeyError:
        if len(_HASHES) > _HASHES_MAX:
            _HASHES.clear()
        for word in set(words).difference(_HASHES):
            _HASHES[word] = _blake(word)
        return np.fromiter(map(_HASHES.__getitem__, words), dtype=np.uint64, count=len(words))


_STEM_HASHES: dict[str, int] = {}  # word -> the 16-bit hash of its stem, -1 if not content


def _stem_hashes(words: Sequence[str]) -> np.ndarray:
    """Sorted unique 16-bit hashes of the content stems of an abstract (`_vocabulary`): a
    chance collision among an abstract's ~100 stems moves an overlap by ~0.2%. (Each
    distinct word's stem hash is worked out once, then read from a dict.)"""
    distinct = set(words)
    try:
        values = np.fromiter(map(_STEM_HASHES.__getitem__, distinct), np.int64, len(distinct))
    except KeyError:
        if len(_STEM_HASHES) > _HASHES_MAX:
            _STEM_HASHES.clear()
        for word in distinct.difference(_STEM_HASHES):
            content = _vocabulary([word])
            _STEM_HASHES[word] = _token_hash(content.pop()) & 0xFFFF if content else -1
        values = np.fromiter(map(_STEM_HASHES.__getitem__, distinct), np.int64, len(distinct))
    return _sorted_unique(values[values >= 0].astype(np.uint16))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique without its overhead on small arrays."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


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
    return _signatures([h])[0]


def minhash_signature(words: Sequence[str]) -> np.ndarray:
    """MinHash (NUM_PERM uint32 values) of the SHINGLE-word shingles of `words`."""
    return _minhash(_token_hashes(words))


def _windows(texts: Sequence[np.ndarray], k: int, mul: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The k-gram hashes of several texts at once, concatenated, and the text each belongs
    to (a text shorter than k gives one gram of all its tokens, as `_gram_hashes`)."""
    if len(texts) == 1:  # one paper (find / add): no boundaries to respect
        grams = _gram_hashes(texts[0], k, mul)
        return grams, np.zeros(len(grams), dtype=np.int64)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    if not len(texts) or not lengths.sum():
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    grams = _gram_hashes(np.concatenate(texts), k, mul)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # windows lying inside one text: start s of text t with s <= start_t + len_t - k
    owner = np.repeat(np.arange(len(texts)), lengths)[: len(grams)]
    keep = np.arange(len(grams)) <= (starts + lengths - k)[owner]
    grams, owner = grams[keep], owner[keep]
    short = [i for i, n in enumerate(lengths) if 0 < n < k]
    if short:  # rare: a text of fewer than k tokens
        extra = np.concatenate([_gram_hashes(texts[i], k, mul) for i in short])
        grams = np.concatenate([grams, extra])
        owner = np.concatenate([owner, np.array(short, dtype=np.int64)])
        order = np.argsort(owner, kind="stable")
        grams, owner = grams[order], owner[order]
    return grams, owner


_SIGNATURE_BLOCK = 2_048  # shingles hashed at once (a block x NUM_PERM uint64 matrix, 1 MB)


def _signatures(texts: Sequence[np.ndarray]) -> np.ndarray:
    """MinHash signatures (len(texts) x NUM_PERM uint32) of the SHINGLE-grams of several
    texts, vectorised over all of them; an empty text gets all 0xFFFFFFFF."""
    out = np.full((len(texts), NUM_PERM), 0xFFFFFFFF, dtype=np.uint32)
    shingles, owner = _windows(texts, SHINGLE, _SHINGLE_MUL)
    at = 0
    while at < len(shingles):
        # a block of whole texts (one text alone may exceed the block)
        end = min(at + _SIGNATURE_BLOCK, len(shingles))
        if end < len(shingles):
            cut = int(np.searchsorted(owner, owner[end], side="left"))
            end = cut if cut > at else int(np.searchsorted(owner, owner[at], side="right"))
        block, who = shingles[at:end], owner[at:end]
        values = np.multiply(block[:, None], _PERM_A[None, :])
        values += _PERM_B[None, :]
        values >>= np.uint64(32)
        firsts = np.flatnonzero(np.concatenate(([True], who[1:] != who[:-1])))
        out[who[firsts]] = np.minimum.reduceat(values, firsts, axis=0).astype(np.uint32)
        at = end
    return out


def _band_buckets(signature: np.ndarray) -> list[int]:
    return _band_bucket_rows(signature[None, :])[0].tolist()


def _band_bucket_rows(signatures: np.ndarray) -> np.ndarray:
    """The BANDS LSH buckets (int64) of each signature row."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    acc = (rows * _BAND_MUL[None, None, :]).sum(axis=2, dtype=np.uint64)
    return _mix(acc).view(np.int64)


def anchors(words: Sequence[str]) -> list[int]:
    """Winnowed fingerprints of the ANCHOR_K-word runs: two texts sharing a verbatim run of
    ANCHOR_K + ANCHOR_W - 1 words share at least one (Schleimer et al., 2003)."""
    return _anchors_many([_token_hashes(words)])[0].tolist()


def _anchors_many(texts: Sequence[np.ndarray]) -> list[np.ndarray]:
    """`anchors` of several texts (token hashes, int64 arrays), vectorised over all."""
    if len(texts) == 1:  # one paper (find / add)
        return [_anchors_one(texts[0])]
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in texts]
    long_enough = [i for i, t in enumerate(texts) if len(t) >= ANCHOR_K]
    if not long_enough:
        return out
    grams, owner = _windows([texts[i] for i in long_enough], ANCHOR_K, _ANCHOR_MUL)
    firsts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    counts = np.diff(np.append(firsts, len(grams)))
    picked_parts, picked_owner = [], []
    if len(grams) >= ANCHOR_W:
        # the minimum of each window of ANCHOR_W grams (the value winnowing picks; which
        # position holds it does not matter once the values are deduplicated)
        minima, width = grams, 1
        while width < ANCHOR_W:
            step = min(width, ANCHOR_W - width)
            minima = np.minimum(minima[:-step], minima[step:])
            width += step
        # windows inside one text: start s with s + ANCHOR_W - 1 in the same text
        starts = np.flatnonzero(owner[: len(minima)] == owner[ANCHOR_W - 1 :])
        picked_parts.append(minima[starts])
        picked_owner.append(owner[starts])
    small = np.flatnonzero(counts <= ANCHOR_W)  # a text of <= ANCHOR_W grams: its minimum
    if len(small):
        mins = np.minimum.reduceat(grams, firsts)[small]
        picked_parts.append(mins)
        picked_owner.append(owner[firsts[small]])
    picked = np.concatenate(picked_parts)
    who = np.concatenate(picked_owner)
    order = np.lexsort((picked, who))  # by text, then by unsigned value (as np.unique)
    picked, who = picked[order], who[order]
    fresh = np.concatenate(([True], (picked[1:] != picked[:-1]) | (who[1:] != who[:-1])))
    values, who = picked[fresh].view(np.int64), who[fresh]
    cuts = np.flatnonzero(who[1:] != who[:-1]) + 1
    for i, part in zip(
        who[np.concatenate(([0], cuts))].tolist(), np.split(values, cuts), strict=True
    ):
        out[long_enough[i]] = part
    return out


def _anchors_one(h: np.ndarray) -> np.ndarray:
    """`_anchors_many` of one text: the distinct minima of its windows of ANCHOR_W grams
    (the minimum of all of them for a text of fewer grams)."""
    if len(h) < ANCHOR_K:
        return np.zeros(0, dtype=np.int64)
    minima, width = _gram_hashes(h, ANCHOR_K, _ANCHOR_MUL), 1
    if len(minima) <= ANCHOR_W:
        return minima[[int(minima.argmin())]].view(np.int64)
    while width < ANCHOR_W:
        step = min(width, ANCHOR_W - width)
        minima = np.minimum(minima[:-step], minima[step:])
        width += step
    return _sorted_unique(minima).view(np.int64)


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


# A stored key is one signed 32-bit integer (4 bytes a row, one column) that names its
# band: an anchor is 0 then 31 bits of its hash; any other key is 1, a 4-bit code of its
# band (LSH band b: b; title bands -2..-5: BANDS..BANDS+3), then 27 bits of its hash. The
# anchors, ~14 a paper, keep the most bits; a chance collision only adds a candidate.
_ANCHOR_MASK = 0x7FFFFFFF
_OTHER_MASK = 0x07FFFFFF
assert BANDS + 3 < 16, "the band code has 4 bits"


def _band_code(band: int) -> int:
    return band if band >= 0 else BANDS - 2 - band


def _fold(band: int, bucket: int) -> int:
    """The stored key of (band, hash): see above. `_fold(band, _fold(band, h)) ==
    _fold(band, h)`, so a key of the (band, bucket) layout converts by folding its bucket
    (the low 32 bits of the same hash)."""
    if band == ANCHOR_BAND:
        return (bucket & _ANCHOR_MASK) - 0x80000000
    return (_band_code(band) << 27) | (bucket & _OTHER_MASK)


# The band of a stored key (`_fold`'s inverse) in SQL, for `bucket_stats`.
_SQL_BAND = (
    f"CASE WHEN key < 0 THEN {ANCHOR_BAND} WHEN key >> 27 < {BANDS} THEN key >> 27"
    f" ELSE {BANDS - 2} - (key >> 27) END"
)


def _key(band: int, bucket: int) -> int:
    """A key as one Python integer: (band + 8) << 32 | (stored key + 2**31); the stored
    key is its low 32 bits less 2**31."""
    return ((band + 8) << 32) | (_fold(band, bucket) + 0x80000000)


def _unkey(key: int) -> tuple[int, int]:
    """(band, stored key) of a `_key` (`_key` of it gives the key back)."""
    return (key >> 32) - 8, _stored(key)


def _stored(key: int) -> int:
    """The stored (signed 32-bit) form of a `_key`: its low 32 bits less 2**31."""
    return (key & 0xFFFFFFFF) - 0x80000000


_BAND_KEYS = ((np.arange(BANDS, dtype=np.int64) + 8) << 32) | (
    (np.arange(BANDS, dtype=np.int64) << 27) + 0x80000000
)


def _keys_many(docs: Sequence[_Doc]) -> list[list[int]]:
    """The keys (`_key`) of several documents at once: LSH bands over title + abstract,
    anchors of the abstract, title keys. Each key once per document."""
    texts = [np.concatenate([_token_hashes(_plain(d.title)), d.hashes]) for d in docs]
    bands = _band_bucket_rows(_signatures(texts)) if docs else np.zeros((0, BANDS), np.int64)
    band_keys = (_BAND_KEYS | (bands & _OTHER_MASK)).tolist()
    marks = _anchors_many([d.hashes for d in docs])
    anchor_keys = (
        _ANCHOR_KEY | (np.concatenate([np.zeros(0, np.int64), *marks]) & _ANCHOR_MASK)
    ).tolist()
    out: list[list[int]] = []
    at = 0
    for doc, text, lsh, these in zip(docs, texts, band_keys, marks, strict=True):
        keys = lsh if len(text) else []
        keys += anchor_keys[at : at + len(these)]
        at += len(these)
        keys += [_key(band, bucket) for band, bucket in _title_keys(doc.title)]
        out.append(list(dict.fromkeys(keys)))
    return out


_ANCHOR_KEY = (ANCHOR_BAND + 8) << 32


def _keys(doc: _Doc) -> list[tuple[int, int]]:
    """(band, stored key) keys of one document (see `_keys_many`)."""
    return [_unkey(key) for key in _keys_many([doc])[0]]


def _flatten(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(the length of each list, all their values in order), as int64 arrays."""
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    return lengths, np.fromiter(chain.from_iterable(lists), np.int64, int(lengths.sum()))


def _key_pairs(keys: Iterable[list[int]], numbers: Iterable[int]) -> list[tuple[int, int]]:
    """The sorted distinct (stored key, doc) rows of documents' keys, for one executemany
    (numpy: a chunk has some 30,000)."""
    keys = list(keys)
    lengths, flat = _flatten(keys)
    docs = np.repeat(np.fromiter(numbers, np.int64, len(keys)), lengths)
    stored = (flat & 0xFFFFFFFF) - 0x80000000
    order = np.lexsort((docs, stored))
    stored, docs = stored[order], docs[order]
    fresh = np.ones(len(stored), dtype=bool)
    fresh[1:] = (stored[1:] != stored[:-1]) | (docs[1:] != docs[:-1])
    return list(zip(stored[fresh].tolist(), docs[fresh].tolist(), strict=True))


def _key_rows(keys: Iterable[list[int]], numbers: Iterable[int]) -> list[tuple[int, int, int]]:
    """The (band, bucket, doc) rows of the previous layout, which m002 writes (m004 then
    folds them into `_key_pairs`' form)."""
    pairs = {(key, n) for ks, n in zip(keys, numbers, strict=True) for key in ks}
    return sorted((*_unkey(key), n) for key, n in pairs)


# --- verification -------------------------------------------------------------------
# Hash families of the n-grams verification compares (3-grams for resemblance and
# containment, 8-grams for verbatim runs), over the stored token hashes.
_GRAM3_MUL = _constants(3, 6)
_GRAM8_MUL = _constants(8, 7)


def _stem(word: str) -> str:
    return word[:5]


def _content(title: Sequence[str]) -> set[str]:
    return {_stem(w) for w in title if w not in _STOPWORDS and w != "|"}


def _vocabulary(words: Sequence[str]) -> set[str]:
    """Content stems of an abstract (words of 3+ letters that are not stopwords)."""
    return {w[:5] for w in set(words) if len(w) > 2 and w not in _STOPWORDS and not w.isdigit()}


def _vocabulary_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Shared content stems / content stems of the smaller abstract (stem hashes)."""
    if not len(a) or not len(b):
        return 0.0
    return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b))


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
    small, large = (a, b) if a.size <= b.size else (b, a)
    short, long_ = small.h16, large.h16
    if len(short) < MIN_WORDS:
        return _Evidence(title_equal, overlap, 0.0, 0.0, 0.0, 0, 0, len(short), relation=relation)
    s3, l3 = small.grams3, large.grams3
    inter = _shared(s3, l3)
    hits = _hits(small.grams8, large.grams8_set)
    differ = np.flatnonzero(short != long_[: len(short)])
    return _Evidence(
        title_equal,
        overlap,
        resemblance=inter / (len(s3) + len(l3) - inter),
        containment=inter / len(s3),
        coverage=int(np.count_nonzero(hits)) / len(hits),
        run=_longest_run(hits),
        opening=int(differ[0]) if len(differ) else len(short),
        shorter=len(short),
        spread=_spread(hits),
        relation=relation,
    )


def _shared(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted arrays of distinct values have in common."""
    if not len(a) or not len(b):
        return 0
    return int(np.count_nonzero(_hits(a, b)))


def _shared_many(values: np.ndarray, others: Sequence[np.ndarray]) -> list[int]:
    """`_shared(values, other)` for each of `others` (sorted arrays of distinct values),
    in one search."""
    if not others:
        return []
    lengths = np.array([len(other) for other in others], dtype=np.int64)
    ends = np.cumsum(lengths)
    found = np.concatenate(([0], np.cumsum(_hits(np.concatenate(others), values))))
    return (found[ends] - found[ends - lengths]).tolist()


def _grams3_many(docs: Iterable[_Doc]) -> None:
    """Work out `grams3` of the docs that do not have it yet, vectorised over all of them
    (the same values as one at a time: a candidate's cost was mostly numpy's per call)."""
    todo = [doc for doc in dict.fromkeys(docs) if "grams3" not in doc.__dict__]
    if len(todo) < 2:
        return
    for at in range(0, len(todo), _GRAMS_BLOCK):
        block = todo[at : at + _GRAMS_BLOCK]
        grams, owner = _windows([doc.h16 for doc in block], 3, _GRAM3_MUL)
        bounds = np.searchsorted(owner, np.arange(len(block) + 1)).tolist()
        for i, doc in enumerate(block):  # (the cached_property's slot)
            doc.__dict__["grams3"] = _sorted_unique(grams[bounds[i] : bounds[i + 1]])


_GRAMS_BLOCK = 1_000  # docs hashed at once (bounds the temporary arrays to a few MB)


def _hits(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which of `values` occur in `sorted_set` (sorted distinct values), as booleans."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_set, values)
    at[at == len(sorted_set)] = 0
    return sorted_set[at] == values


def _longest_run(hits: np.ndarray) -> int:
    """Words of the longest verbatim run, from the 8-gram hits of the shorter abstract."""
    if not hits.any():
        return 0
    edges = np.flatnonzero(np.diff(np.concatenate(([False], hits, [False])).view(np.int8)))
    return int((edges[1::2] - edges[::2]).max()) + 7


def _spread(hits: np.ndarray) -> int:
    """Quarters of the shorter abstract with at least a quarter of their 8-grams shared."""
    if not hits.any():
        return 0
    quarter = max(1, len(hits) // 4)
    parts = (hits[q * quarter : (q + 1) * quarter if q < 3 else None] for q in range(4))
    return sum(1 for part in parts if len(part) and 4 * int(np.count_nonzero(part)) >= len(part))


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
    # (a title word is asked again and again: by every key and every verification)
    marker = _MARKERS.get(word)
    if marker is None:
        if len(_MARKERS) > _HASHES_MAX:
            _MARKERS.clear()
        marker = _MARKERS[word] = bool(
            _NUMBER_RE.fullmatch(word)
            or word in _ROMAN
            or word in _GREEK_NAMES
            or word in _SUCCESSOR_WORDS
        )
    return marker


_MARKERS: dict[str, bool] = {}  # word -> _is_marker


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
    if ev.shorter >= MIN_WORDS:
        rules = _text_rules(ev, a, b)
        rules.extend(_reuse_rules(ev))
        return rules
    if ev.title_equal:
        n = len(_content(a.title))
        return [
            (
                _grade_count(n, SAME_TITLE_MIN_WORDS),
                f"same normalised title ({n} content words), an abstract missing",
            )
        ]
    return []


def _text_rules(ev: _Evidence, a: _Doc, b: _Doc) -> list[tuple[float, str]]:
    """The rules on two abstracts and their titles: containment, the same title with
    similar text, the same specific title with a shared vocabulary, a title extended."""
    contained = _grade(ev.containment, CONTAINMENT)
    if ev.shorter < CONTAINMENT_MIN_WORDS:
        contained = min(contained, _grade(ev.title_overlap, TITLE_OVERLAP))
    if ev.resemblance >= 0.9:
        what = f"near-identical abstract (3-gram Jaccard {ev.resemblance:.2f})"
    else:
        what = f"abstract containment {ev.containment:.2f} (3-gram Jaccard {ev.resemblance:.2f})"
    rules = [(contained, what)]
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
        vocabulary = _vocabulary_overlap(a.stem_hashes, b.stem_hashes)
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
    return rules


def _reuse_rules(ev: _Evidence) -> list[tuple[float, str]]:
    """The rules on verbatim text under another title: reused text spread over the
    abstract, and one long shared passage."""
    reuse = min(
        _grade(ev.containment, REUSE_CONTAINMENT),
        _grade(ev.coverage, REUSE_COVERAGE),
        _grade(ev.title_overlap, REUSE_TITLE),
        _grade_count(ev.spread, REUSE_SPREAD),
    )
    passage = min(
        _grade_count(ev.run, PASSAGE_RUN),
        _grade(ev.coverage, PASSAGE_COVERAGE),
        _grade(ev.title_overlap, PASSAGE_TITLE),
    )
    where = "opening " if ev.opening >= ev.run > 0 else ""
    return [
        (
            reuse,
            f"text reused under another title (containment {ev.containment:.2f}, verbatim "
            f"coverage {ev.coverage:.2f} in {ev.spread} of 4 quarters, title overlap "
            f"{ev.title_overlap:.2f})",
        ),
        (
            passage,
            f"shared {where}passage of {ev.run} words, verbatim coverage "
            f"{ev.coverage:.2f}, title overlap {ev.title_overlap:.2f}",
        ),
    ]


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


# Looser than each threshold by this much: `_may_link` compares the same figures as the
# rules, and a margin keeps a float rounding of them from ever making it stricter.
_SLACK = 1e-9


def _may_link(a: _Doc, b: _Doc, shared: int | None = None) -> bool:
    """Whether `_verdict(a, b)` can link the pair (score >= THRESHOLD, no veto), from the
    figures that cost no pass over the 8-grams: the titles and the abstracts' 3-gram
    containment and resemblance, computed exactly as `_evidence` computes them. False
    only when it cannot, so that a lookup verifies just the candidates that may link.

    Why a False is safe: every rule's score is the lowest grade of its conditions, and a
    grade (`_grade`, `_grade_count`) reaches 0.5 only when its measurement reaches its
    threshold. So a rule scores >= THRESHOLD only if each of its conditions holds, and
    this returns False only when, for every rule, a condition it needs fails:
    - an abstract missing (shorter < MIN_WORDS): the only rule needs the same title;
    - containment (< CONTAINMENT; below CONTAINMENT_MIN_WORDS words also title overlap
      < TITLE_OVERLAP), the same title (needs title_equal and SAME_TITLE_TEXT), the same
      specific title (needs relation "equal" and `_specific`: kept whenever both hold),
      extended / subtitle (needs that relation and EXTENDED_TEXT), text reuse (needs
      REUSE_CONTAINMENT and REUSE_TITLE), the shared passage (needs PASSAGE_TITLE).
    And a pair that a rule may link is still refused when a veto is certain, as
    `_veto` would give it (a vetoed verdict scores 0.0): a kind word in one title only;
    a marker difference without equal unmarked titles, MARKER_ONLY_TEXT and
    MARKER_ONLY_CONTAINMENT; containment < STRONG_CONTAINMENT with different arXiv ids,
    different DOIs or disjoint authors. Each comparison is looser by _SLACK.
    tests/test_dedup_skip.py checks this on real and perturbed pairs. `shared`: the
    number of 3-gram hashes the two have in common when known (`_shared_many`)."""
    if a.kinds ^ b.kinds:
        return False
    small, large = (a, b) if a.size <= b.size else (b, a)
    if small.size < MIN_WORDS:
        return _may_link_at(a, b, small, 0.0, 0.0)
    s3, l3 = small.grams3, large.grams3
    inter = _shared(s3, l3) if shared is None else shared
    return _may_link_at(a, b, small, inter / len(s3), inter / (len(s3) + len(l3) - inter))


def _may_link_given(a: _Doc, b: _Doc, small: _Doc, bound: float) -> bool:
    """`_may_link(a, b)` with the 3-gram figures replaced by `bound`, an upper bound of
    them (`_containment_bounds`): False only when `_may_link` is False (each of its tests on
    containment and resemblance passes more often the larger they are, and resemblance <=
    containment)."""
    if a.kinds ^ b.kinds:
        return False
    # (most candidates: two arXiv papers, which only that containment links)
    if bound < STRONG_CONTAINMENT - _SLACK and a.arxiv_id and b.arxiv_id:
        return a.arxiv_id == b.arxiv_id and _may_link_at(a, b, small, bound, bound)
    return _may_link_at(a, b, small, bound, bound)


def _containment_bounds(pairs: Sequence[tuple[_Doc, _Doc]]) -> list[float]:
    """An upper bound of the 3-gram containment of each pair (a, b) that needs no 3-gram
    of `b`, for all pairs at once in numpy (a pair at a time cost ~30 us, mostly numpy's
    per call). A pair with an abstract under MIN_WORDS gets 0.0 (no rule reads a bound for
    it). The token bitmaps of the `a`s are made _BOUND_OWNERS at a time (64 KB each).

    The bound, from the windows of three tokens of `b` (its 3-grams, each hashed from its
    three 16-bit token hashes): a 3-gram the two share has all three tokens in `a`, so the
    shared ones number at most the W windows of `b` whose tokens are all in `a`; and when
    `b` is the shorter, a window with a token not in `a` is a 3-gram of `b` not shared,
    and there are at least ceil(m / 3) distinct such 3-grams for the m distinct tokens of
    `b` not in `a` (a 3-gram holds 3), so containment <= W / (W + ceil(m / 3)). (Up to a
    collision of two 64-bit 3-gram hashes, which the rules themselves take as equal.)
    At a million stored papers, nine in ten candidates met through two LSH bands are
    unrelated papers whose bound stays under every threshold: their 3-grams are never
    built. tests/test_dedup_skip.py holds this to a pair-at-a-time version."""
    out = [0.0] * len(pairs)
    by_owner: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(pairs):
        if min(a.size, b.size) >= MIN_WORDS:
            by_owner.setdefault(id(a), []).append(i)
    groups = list(by_owner.values())
    for at in range(0, len(groups), _BOUND_OWNERS):
        block = groups[at : at + _BOUND_OWNERS]
        own = [pairs[group[0]][0].h16 for group in block]
        present = np.zeros(len(block) << 16, dtype=bool)  # a row of 2**16 per `a`
        present[(_repeat_rows(own) << 16) | np.concatenate(own).astype(np.int64)] = True
        these = [i for group in block for i in group]
        rows = np.repeat(np.arange(len(block)), [len(group) for group in block])
        tokens = [pairs[i][1].h16 for i in these]
        lengths = np.fromiter(map(len, tokens), np.int64, len(tokens))
        flat = np.concatenate(tokens).astype(np.int64)
        hit = present[(np.repeat(rows, lengths) << 16) | flat]
        # the windows of three tokens all in `a` (one starts up to 3 tokens before the end)
        window = np.zeros(len(flat), dtype=bool)
        window[:-2] = hit[:-2] & hit[1:-1] & hit[2:]
        ends = np.cumsum(lengths)
        window[ends - 1] = window[ends - 2] = False
        windows = np.add.reduceat(window, ends - lengths, dtype=np.int64).tolist()
        # the distinct tokens of `b` not in `a`, where `b` is the shorter (a sort, not
        # np.unique: its hashing cost twice as much)
        shorter = np.fromiter((pairs[i][1].size < pairs[i][0].size for i in these), bool)
        pair_of = np.repeat(np.arange(len(these), dtype=np.int64), lengths)
        wanted = ~hit & np.repeat(shorter, lengths)
        gone = np.sort((pair_of[wanted] << 16) | flat[wanted])
        first = np.ones(len(gone), dtype=bool)
        first[1:] = gone[1:] != gone[:-1]
        missing = np.bincount(gone[first] >> 16, minlength=len(these)).tolist()
        for j, i in enumerate(these):
            a, b = pairs[i]
            w = windows[j]
            if a.size <= b.size:
                out[i] = min(1.0, w / len(a.grams3))
            else:
                out[i] = w / (w + -(-missing[j] // 3)) if w else 0.0
    return out


_BOUND_OWNERS = 64  # token bitmaps held at once (4 MB)


def _repeat_rows(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The row number of each element of the arrays laid end to end."""
    return np.repeat(np.arange(len(arrays)), [len(x) for x in arrays])


def _may_link_at(a: _Doc, b: _Doc, small: _Doc, containment: float, resemblance: float) -> bool:
    """`_may_link` given the 3-gram containment and resemblance (or upper bounds of them);
    `small` is the one of `a` and `b` with the shorter abstract."""
    ta, tb = a.content, b.content
    overlap = len(ta & tb) / min(len(ta), len(tb)) if ta and tb else 0.0
    title_equal = bool(a.title) and _plain(a.title) == _plain(b.title)
    if small.size < MIN_WORDS:
        return title_equal and _no_veto(a, b, 0.0, 0.0)

    def at_least(value: float, threshold: float) -> bool:
        return value >= threshold - _SLACK

    def related(*relations: str) -> bool:  # the title relation, worked out only if asked
        return bool(a.title and b.title) and _title_relation(a.title, b.title) in relations

    possible = (
        (
            at_least(containment, CONTAINMENT)
            and (small.size >= CONTAINMENT_MIN_WORDS or at_least(overlap, TITLE_OVERLAP))
        )
        or (title_equal and at_least(containment, SAME_TITLE_TEXT))
        or (at_least(containment, REUSE_CONTAINMENT) and at_least(overlap, REUSE_TITLE))
        or at_least(overlap, PASSAGE_TITLE)
        # ("equal" needs the same content words: the same set of them first)
        or (ta == tb and _specific(a.title) and related("equal"))
        or (at_least(containment, EXTENDED_TEXT) and related("extended", "subtitle"))
    )
    return possible and _no_veto(a, b, resemblance, containment)


def _no_veto(a: _Doc, b: _Doc, resemblance: float, containment: float) -> bool:
    """False when `_veto` surely refuses the pair (see `_may_link`; the kind words are
    checked there)."""
    if _markers(a.title) ^ _markers(b.title) and not (
        resemblance >= MARKER_ONLY_TEXT - _SLACK
        and containment >= MARKER_ONLY_CONTAINMENT - _SLACK
        and _content(_unmarked(a.title)) == _content(_unmarked(b.title))
    ):
        return False
    if containment < STRONG_CONTAINMENT - _SLACK:
        if a.arxiv_id and b.arxiv_id and a.arxiv_id != b.arxiv_id:
            return False
        if a.doi and b.doi and a.doi != b.doi:
            return False
        if a.authors and b.authors and not a.authors & b.authors:
            return False
    return True


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


# The index's migrations live in dedup_migrations.py (no numpy needed to check them);
# `dedup.MIGRATIONS` is the same list.

_TABLES = ("dedup_docs", "dedup_bands", "dedup_recent", "dedup_meta", "dedup_decisions")
# Key rows the recent table holds before they are merged into dedup_bands in sorted
# inserts (about 35,000 papers: a merge then writes each page of dedup_bands about once
# for that many papers, where adding them one by one writes a page per key).
MERGE_ROWS = 1_000_000
MERGE_PARTS = 32  # key ranges a merge moves one after the other (see `DedupIndex._merge`)
_DOC_COLUMNS = "doc, paper_id, arxiv_id, doi, authors, title, hashes, stems"
# Keys looked up in one statement (a chunk's, or one paper's, `_key_values`, in the order
# of their stored form): for each key, at most ?2 papers, the newest first, from the
# recent and the merged keys (a full bucket of a generic key never stops finding recent
# papers; the more specific keys of a pair are looked up all the same). The two lists are
# joined only for a key found in both tables (rare: a UNION per key cost ~20% of a lookup).
_LOOKUP = """
    WITH hits AS MATERIALIZED (
        SELECT (k.value >> 32) - 8 AS band, (k.value & 4294967295) - 2147483648 AS key,
            (SELECT group_concat(doc) FROM (
                SELECT doc FROM dedup_recent r
                WHERE r.key = (k.value & 4294967295) - 2147483648
                ORDER BY doc DESC
                LIMIT ?2)) AS recent,
            (SELECT group_concat(doc) FROM (
                SELECT doc FROM dedup_bands b
                WHERE b.key = (k.value & 4294967295) - 2147483648
                ORDER BY doc DESC
                LIMIT ?2)) AS merged
        FROM json_each(?1) k)
    SELECT band, key, CASE WHEN merged IS NULL THEN recent WHEN recent IS NULL THEN merged
        ELSE (SELECT group_concat(value) FROM (
            SELECT DISTINCT value FROM json_each('[' || recent || ',' || merged || ']')
            ORDER BY value DESC
            LIMIT ?2)) END
    FROM hits
"""


def _key_values(keys: Iterable[tuple[int, int]]) -> list[int]:
    """(band, bucket) keys as the single integers `_LOOKUP` reads (`_key`)."""
    return [_key(band, bucket) for band, bucket in keys]


_INSERT_DOC = f"INSERT OR REPLACE INTO dedup_docs ({_DOC_COLUMNS}) VALUES ({', '.join('?' * 8)})"
_INSERT_KEY = "INSERT OR IGNORE INTO dedup_bands (key, doc) VALUES (?, ?)"
_INSERT_RECENT = "INSERT OR IGNORE INTO dedup_recent (key, doc) VALUES (?, ?)"
# The (band, bucket, doc) insert of the previous layout, which m002 writes (m004 folds it).
_INSERT_KEYS = "INSERT OR IGNORE INTO dedup_bands (band, bucket, doc) VALUES (?, ?, ?)"
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


def _pack_hashes(h: np.ndarray) -> bytes:
    """The previous layout's token hashes (which m002 writes and m004 converts): the low 32
    bits, the distinct values (uint32) after a uint16 count, then each token's index among
    them (uint8 when fewer than 256)."""
    low = (h & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    order = np.argsort(low, kind="stable")
    ordered = low[order]
    first = (
        np.concatenate(([True], ordered[1:] != ordered[:-1]))
        if len(low)
        else np.zeros(0, dtype=bool)
    )
    values, index = ordered[first], np.empty(len(low), dtype=np.int64)
    index[order] = np.cumsum(first) - 1
    width = np.uint8 if len(values) < 256 else np.uint16
    count = np.array([len(values)], dtype="<u2")
    return count.tobytes() + values.astype("<u4").tobytes() + index.astype(width).tobytes()


def _unpack_hashes32(blob: bytes) -> np.ndarray:
    """The token hashes of `_pack_hashes` (the previous layout)."""
    count = int(np.frombuffer(blob, dtype="<u2", count=1)[0])
    values = np.frombuffer(blob, dtype="<u4", count=count, offset=2)
    width = np.uint8 if count < 256 else np.uint16
    return values[np.frombuffer(blob, dtype=width, offset=2 + 4 * count)].astype(np.uint64)


def _pack16(h: np.ndarray) -> bytes:
    """The stored token hashes: the low 16 bits of each, in order (see `_Doc.h16` for why
    16 bits are enough), coded by `hashpack` (dedup m006: ~1.7 bytes a word, not 2)."""
    return hashpack.pack((h & np.uint64(0xFFFF)).astype(np.uint16))


def _unpack_hashes(blob: bytes) -> np.ndarray:
    """The token hashes of `_pack16` (uint64 values below 2**16), coded or raw uint16."""
    return hashpack.unpack(blob).astype(np.uint64)


_AUTHOR_KEYS: dict[str, int | None] = {}  # author as given -> `_author_hashes` of its last name
# authors kept (the memo starts again when full): far fewer than the token memo's, as
# nearly every paper brings new author strings and the memo keeps them alive (with a
# million entries a 200k-paper source peaked 100 MB higher)
_AUTHOR_KEYS_MAX = 1 << 15


def _author_key(author: str) -> int | None:
    """The hash `_author_hashes` gives the author's last name, None without one (worked out
    once per distinct author string: authors recur from paper to paper)."""
    try:
        return _AUTHOR_KEYS[author]
    except KeyError:
        if len(_AUTHOR_KEYS) > _AUTHOR_KEYS_MAX:
            _AUTHOR_KEYS.clear()
        name = _last_name(author)
        key = _AUTHOR_KEYS[author] = _token_hash(name) & 0xFFFFFFFF if name else None
        return key


def _decode_many(docs: Iterable[_Doc]) -> None:
    """Decode the stored token hashes of the docs that hold them undecoded, all at once
    (`hashpack.unpack_many`)."""
    todo = [d for d in dict.fromkeys(docs) if "hashes" not in d.__dict__]
    blobs = [(d, d.h) for d in todo if isinstance(d.h, bytes)]
    # _GRAMS_BLOCK at a time: a doc's hashes are a view of its block's array, which lives
    # as long as one of them (a lookup at a million papers meets some ten thousand)
    for at in range(0, len(blobs), _GRAMS_BLOCK):
        block = blobs[at : at + _GRAMS_BLOCK]
        values = hashpack.unpack_many([blob for _, blob in block], np.uint64)
        for (doc, _), hashes in zip(block, values, strict=True):
            doc.__dict__["hashes"] = hashes  # (the cached_property's slot)


def _author_hashes(names: Iterable[str]) -> frozenset[int]:
    """Author last names as 32-bit hashes (the veto only asks whether two lists meet: a
    chance collision among ~10 x 10 names, p ~ 2e-8, waives one veto)."""
    return frozenset(_token_hash(name) & 0xFFFFFFFF for name in names)


def _pack_authors(authors: frozenset[int]) -> bytes:
    return np.array(sorted(authors), dtype="<u4").tobytes()


def _stored_id(value: str | None, paper_id: str, prefix: str) -> str | None:
    """An arXiv id or DOI as stored: '' when it is the paper id's own (`arxiv:<id>`,
    `doi:<doi>`, read back from the paper id), else the value."""
    return "" if value and paper_id == prefix + value else value


def _read_id(value: str | None, paper_id: str, prefix: str) -> str | None:
    return paper_id[len(prefix) :] if value == "" else value


def _row_doc(row: Sequence) -> _Doc:
    """A `_Doc` from a `dedup_docs` row selected with _DOC_COLUMNS."""
    return _Doc(
        title=tuple(row[5].split()),
        h=bytes(row[6]),
        stems=bytes(row[7]),
        arxiv_id=_read_id(row[2], row[1], "arxiv:"),
        doi=_read_id(row[3], row[1], "doi:"),
        authors=frozenset(np.frombuffer(row[4], dtype="<u4").tolist()),
    )


def _worth_verifying(weight: int, doc: _Doc, other: _Doc) -> bool:
    """A candidate met through one LSH band or one anchor only (weight 1, no title key) is
    verified only when the titles share REUSE_TITLE of their content words: every rule
    but plain containment needs that much (the title rules, text reuse, the shared
    passage), and an abstract contained at CONTAINMENT in another shares more than one
    key with it (its verbatim runs an anchor every few words, or several bands)."""
    if weight > 1:
        return True
    ta, tb = doc.content, other.content
    return bool(ta and tb) and len(ta & tb) >= REUSE_TITLE * min(len(ta), len(tb))


@dataclass
class _Candidate:
    """An indexed paper met by a lookup: stored (`number` its doc) or earlier in the chunk."""

    paper_id: str
    root: str | None  # None for a stored doc until read (`DedupIndex._root`)
    doc: _Doc


# A lookup's answer as arrays: the keys found, how many doc numbers each, and all the doc
# numbers in that order (each key's newest first).
_Hits = tuple[np.ndarray, np.ndarray, np.ndarray]


def _hits_arrays(hits: dict[int, list[int]]) -> _Hits:
    """`_Hits` of the stored doc numbers per key."""
    sizes, numbers = _flatten(list(hits.values()))
    return np.fromiter(hits, np.int64, len(hits)), sizes, numbers


def _rank_many(
    keys: Sequence[list[int]], hits: dict[int, list[int]] | _Hits
) -> list[list[tuple[int, int]]]:
    """For each item of a chunk (its keys, `_key`), the MAX_VERIFY candidates sharing the
    most keys with it (weighted, `_WEIGHTS`), as (number, weight): a stored doc number
    (`hits`: the stored docs per key), or -1 - j for an EARLIER item j of the chunk that
    has the key too. On a tie, the first seen first (stored docs by number, then the
    chunk's items). In numpy, for the whole chunk at once. `hits` is `_lookup`'s arrays or
    the same as a dict of lists."""
    lengths, flat = _flatten(keys)
    item = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
    weight = np.ones(len(flat), dtype=np.int64)
    band = (flat >> 32) - 8
    for b, w in _WEIGHTS.items():
        weight[band == b] = w
    # the stored docs of each key: a ragged repeat of the key's hits
    known, sizes, numbers = _hits_arrays(hits) if isinstance(hits, dict) else hits
    starts = np.cumsum(sizes) - sizes
    order = np.argsort(known)
    known = known[order]
    if len(known):
        at = np.searchsorted(known, flat).clip(max=len(known) - 1)
        met = known[at] == flat
        slot = order[at[met]]
    else:
        met, slot = np.zeros(len(flat), dtype=bool), np.zeros(0, np.int64)
    count, first = sizes[slot], starts[slot]
    offsets = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    stored_item = np.repeat(item[met], count)
    stored_weight = np.repeat(weight[met], count)
    stored_number = numbers[np.repeat(first, count) + offsets]
    # the chunk's earlier items with the same key: in a group of items sharing a key (in
    # item order), the r-th meets the r before it
    by_key = np.lexsort((item, flat))
    k_sorted, i_sorted, w_sorted = flat[by_key], item[by_key], weight[by_key]
    group = np.ones(len(k_sorted), dtype=bool)
    group[1:] = k_sorted[1:] != k_sorted[:-1]
    group_start = np.maximum.accumulate(np.where(group, np.arange(len(k_sorted)), 0))
    rank = np.arange(len(k_sorted)) - group_start
    pair_count = int(rank.sum())
    later = np.repeat(np.arange(len(k_sorted)), rank)
    before = (
        np.repeat(group_start, rank)
        + np.arange(pair_count, dtype=np.int64)
        - np.repeat(np.cumsum(rank) - rank, rank)
    )
    all_item = np.concatenate([stored_item, i_sorted[later]])
    all_number = np.concatenate([stored_number, -1 - i_sorted[before]])
    all_weight = np.concatenate([stored_weight, w_sorted[later]])
    # the weight of each (item, number), then the best MAX_VERIFY of each item
    by_pair = np.lexsort((all_number, all_item))
    all_item, all_number, all_weight = all_item[by_pair], all_number[by_pair], all_weight[by_pair]
    fresh = np.ones(len(all_item), dtype=bool)
    fresh[1:] = (all_item[1:] != all_item[:-1]) | (all_number[1:] != all_number[:-1])
    cuts = np.flatnonzero(fresh)
    total = np.add.reduceat(all_weight, cuts) if len(cuts) else np.zeros(0, np.int64)
    p_item, p_number = all_item[cuts], all_number[cuts]
    best = np.lexsort((np.abs(p_number), p_number < 0, -total, p_item))
    p_item, p_number, total = p_item[best], p_number[best], total[best]
    head = np.ones(len(p_item), dtype=bool)
    head[1:] = p_item[1:] != p_item[:-1]
    item_start = np.maximum.accumulate(np.where(head, np.arange(len(p_item)), 0))
    keep = np.arange(len(p_item)) - item_start < MAX_VERIFY
    out: list[list[tuple[int, int]]] = [[] for _ in keys]
    for i, n, w in zip(
        p_item[keep].tolist(), p_number[keep].tolist(), total[keep].tolist(), strict=True
    ):
        out[i].append((n, w))
    return out


class DedupIndex:
    """Near-duplicate index over the papers stored so far, kept in the store's database.

    The cluster root has one owner, `papers.duplicate_of` (the store's): a candidate's
    root is read from there (a database without a `papers` table, as in a bare index,
    has every paper its own root).

    The caller owns the transaction: inside it, each call's writes join it through a
    savepoint (`Database.atomic`), so a rollback by the caller undoes them and nothing here
    commits. Called outside a transaction, each call is atomic and committed on its own,
    like sqlite-utils' own write methods.

    Per chunk: `find_many` then `add_many` of the same items (one lookup statement and one
    `executemany` of sorted key rows per chunk). `find` / `add` are the one-paper forms.
    """

    def __init__(
        self, db: sqlite_utils.Database, *, on_upgrade: Callable[[str], None] | None = None
    ) -> None:
        """`on_upgrade(message)` is called before the keys of an existing index are rebuilt
        for a new PARAMS_VERSION (a one-time step that takes minutes on a large history)."""
        self.db = db
        self._on_upgrade = on_upgrade
        # keys computed by find_many, kept for the add_many of the same papers
        self._prepared: dict[tuple, tuple[tuple, _Doc, list[int]]] = {}
        self._has_papers = False
        self._recent: int | None = None  # rows in dedup_recent (counted when first needed)
        # Whether any user decision exists, read once: decisions name stored papers, and
        # `find` is asked about new ones, so a decision made meanwhile changes nothing.
        self._has_decisions = True
        if self._ready():  # the common case: read-only, takes no write lock
            self._has_decisions = (
                self.db.execute("SELECT 1 FROM dedup_decisions LIMIT 1").fetchone() is not None
            )
            return
        if db.conn.in_transaction:  # the caller's: join it
            with db.atomic():
                self._set_up()
            return
        # Our own, taken with the write lock first: a deferred one would read the params,
        # then fail to write them ("database is locked", with no wait) when another
        # process set up the same new file in between.
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            self._set_up()
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")

    def _set_up(self) -> None:
        """The tables, and keys built with this version's PARAMS_VERSION (in a transaction)."""
        db = self.db
        for migration in MIGRATIONS:
            migration(db)
        row = db.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
        if row is None or row[0] != PARAMS_VERSION:
            if row is not None:
                if self._on_upgrade is not None:
                    self._on_upgrade(
                        "rebuilding the duplicate index for this version of adapt-triage "
                        "(once; a large history takes a few minutes)"
                    )
                self._rebuild()
            db.execute(
                "INSERT OR REPLACE INTO dedup_meta (key, value) VALUES ('params', ?)",
                (PARAMS_VERSION,),
            )

    # -- lookups

    def find(self, paper: Paper, paper_id: str | None = None) -> DuplicateMatch | None:
        """The best verified match among indexed papers with an id other than `paper_id`
        (resolved to its root), or None."""
        return self.find_many([(paper_id, paper)])[0]

    def find_many(self, items: Sequence[tuple[str | None, Paper]]) -> list[DuplicateMatch | None]:
        """`find` for a chunk of (paper_id, paper), in order, with one lookup statement.

        Contract: the items are new papers that the caller will add (`add_many` or `add`)
        in the same order, each linked to the match returned for it. An item is therefore
        also checked against the EARLIER items of the same chunk, as if they had been
        added already (its root being the earlier item's match, or the earlier item)."""
        prepared = self._prepare_many([paper for _, paper in items])
        hits = self._lookup({key for _, _, keys in prepared for key in keys})
        ranked = _rank_many([keys for _, _, keys in prepared], hits)
        stored = self._candidates({n for picks in ranked for n, _ in picks if n > 0})
        # the candidates worth verifying (their titles decide) ...
        kept: list[list[tuple[int, _Candidate | None, _Doc]]] = []
        for (_, doc, _), picks in zip(prepared, ranked, strict=True):
            these: list[tuple[int, _Candidate | None, _Doc]] = []
            for number, weight in picks:
                found = stored.get(number) if number > 0 else None
                if number > 0 and found is None:
                    continue  # a doc number with no doc (see `remove`)
                other = found.doc if found is not None else prepared[-number - 1][1]
                if _worth_verifying(weight, doc, other):
                    these.append((number, found, other))
            kept.append(these)
        # ... of those, the ones upper bounds of their 3-gram figures do not rule out
        # (`_containment_bounds`: they need the 3-grams of the paper only), and then the 3-gram
        # sets of what is left, in one pass
        _grams3_many([doc for (_, doc, _), these in zip(prepared, kept, strict=True) if these])
        _decode_many([other for these in kept for _, _, other in these])
        pairs = [
            (doc, other)
            for (_, doc, _), these in zip(prepared, kept, strict=True)
            for _, _, other in these
        ]
        bounds = _containment_bounds(pairs)
        at = 0
        for (_, doc, _), these in zip(prepared, kept, strict=True):
            limits, at = bounds[at : at + len(these)], at + len(these)
            these[:] = [
                t
                for t, bound in zip(these, limits, strict=True)
                if _may_link_given(doc, t[2], doc if doc.size <= t[2].size else t[2], bound)
            ]
        _grams3_many([other for these in kept for _, _, other in these])
        # A stored doc is let go after the last paper of the chunk that verifies it, with
        # the n-gram sets verification cached on it: at a million papers a chunk meets
        # some ten thousand stored docs, and holding every one's sets cost ~400 MB.
        last_use = {n: i for i, picks in enumerate(ranked) for n, _ in picks if n > 0}
        results: list[DuplicateMatch | None] = []
        for i, ((paper_id, _), (_, doc, _), picks, these) in enumerate(
            zip(items, prepared, ranked, kept, strict=True)
        ):
            candidates = []
            for number, found, _ in these:
                if found is not None:
                    candidate = found
                else:  # an earlier paper of this chunk, linked as find_many said
                    j = -number - 1
                    own = items[j][0] or f"#{j}"
                    earlier_match = results[j]
                    root = earlier_match.canonical_id if earlier_match else own
                    candidate = _Candidate(own, root, prepared[j][1])
                candidates.append((number, candidate))
            kept[i] = []
            results.append(self._best(paper_id, doc, candidates))
            for number, _ in picks:
                if number > 0 and last_use.get(number) == i:
                    stored.pop(number, None)
        return results

    def _best(
        self, paper_id: str | None, doc: _Doc, candidates: list[tuple[int, _Candidate]]
    ) -> DuplicateMatch | None:
        """The best verified candidate (in first-seen order, a SURE one ends the search)."""
        if not candidates:
            return None
        best: tuple[float, _Candidate] | None = None
        best_reason = ""
        # stored docs in first-seen order, then the chunk's papers in theirs
        ordered = [c for _, c in sorted(candidates, key=lambda c: (c[0] < 0, abs(c[0])))]
        shared = _shared_many(doc.grams3, [c.doc.grams3 for c in ordered])
        for candidate, common in zip(ordered, shared, strict=True):
            other_id = candidate.paper_id
            if paper_id is not None and paper_id == other_id:
                continue
            if not _may_link(doc, candidate.doc, common):
                continue  # no rule can link them (most candidates: one full verdict saved)
            score, reason = _verdict(doc, candidate.doc)
            if score >= THRESHOLD and (best is None or score > best[0]):
                # (the root is read only now: a candidate that does not pass changes
                # nothing, whatever its root)
                root = self._root(candidate)
                if paper_id is not None and paper_id == root:
                    continue  # a duplicate of this very paper
                if paper_id is not None and self._refused(paper_id, other_id, root):
                    continue  # the user said these are different works
                best, best_reason = (score, candidate), reason
                if score >= SURE:
                    break  # a copy: no other candidate can do better
        if best is None:
            return None
        score, candidate = best
        root = self._root(candidate)
        if root != candidate.paper_id:
            best_reason += f" (matched {candidate.paper_id})"
        return DuplicateMatch(canonical_id=root, reason=best_reason, score=round(score, 4))

    def _root(self, candidate: _Candidate) -> str:
        """The candidate's cluster root (`papers.duplicate_of`, or itself), read once."""
        if candidate.root is None:
            row = None
            if self._papers_table():
                row = self.db.execute(
                    "SELECT duplicate_of FROM papers WHERE id = ?", (candidate.paper_id,)
                ).fetchone()
            candidate.root = (row[0] if row else None) or candidate.paper_id
        return candidate.root

    def _lookup(self, keys: set[int]) -> _Hits:
        """Stored doc numbers per key (the newest BUCKET_CAP), in one statement, as arrays
        (`_Hits`: at a million papers a chunk's lookup finds some 190,000, and a list per key
        cost 0.2 s of a day's batch to build and flatten again)."""
        if not keys:
            return _hits_arrays({})
        # in stored-key order: the probes walk each table's B-tree once, left to right
        ordered = sorted(keys, key=lambda key: key & 0xFFFFFFFF)
        rows = [r for r in self.db.execute(_LOOKUP, (json.dumps(ordered), BUCKET_CAP)) if r[2]]
        if not rows:
            return _hits_arrays({})
        band = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        stored = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        # `_key(band, stored key)`: the stored key is folded already (`_fold` is idempotent)
        known = ((band + 8) << 32) | (stored + 0x80000000)
        sizes = np.fromiter((r[2].count(",") + 1 for r in rows), np.int64, len(rows))
        numbers = np.fromstring(",".join(r[2] for r in rows), dtype=np.int64, sep=",")
        return known, sizes, numbers

    def _candidates(self, numbers: set[int]) -> dict[int, _Candidate]:
        """Stored docs by number; the root of one is read when it passes verification
        (`_root`: most candidates do not, and reading `papers` for each cost a second
        B-tree lookup, two at a million papers)."""
        if not numbers:
            return {}
        rows = self.db.execute(
            f"SELECT {_DOC_COLUMNS} FROM dedup_docs WHERE doc IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(numbers)),),
        )
        return {row[0]: _Candidate(row[1], None, _row_doc(row)) for row in rows}

    def _papers_table(self) -> bool:
        if not self._has_papers:
            self._has_papers = (
                self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'papers'").fetchone()
                is not None
            )
        return self._has_papers

    def _prepare_many(self, papers: Sequence[Paper]) -> list[tuple[tuple, _Doc, list[int]]]:
        """Docs and keys of a chunk (keys vectorised over the chunk), kept for the
        `add_many` of the same papers that follows a `find_many`."""
        wanted = [_content_key(p) for p in papers]
        first = dict(zip(reversed(wanted), reversed(papers), strict=True))
        todo = [k for k in first if k not in self._prepared]
        known = {k: self._prepared[k] for k in wanted if k in self._prepared}
        if todo:
            docs = [_Doc.of(first[k]) for k in todo]
            keys = _keys_many(docs)
            known.update((k, (k, d, ks)) for k, d, ks in zip(todo, docs, keys, strict=True))
        self._prepared = known
        return [known[k] for k in wanted]

    # -- writes

    def add(self, paper_id: str, paper: Paper, canonical_id: str | None = None) -> None:
        """Index one paper (see `add_many`). `canonical_id` is accepted for the store's
        call and not kept: the root is `papers.duplicate_of`."""
        self.add_many([(paper_id, paper)])

    def add_many(self, items: Sequence[tuple[str, Paper]]) -> None:
        """Index a chunk of (paper_id, paper): one insert of the docs and one `executemany`
        of all their key rows, sorted. Re-adding an id replaces its text and keys."""
        if not items:
            return
        items = list({paper_id: (paper_id, paper) for paper_id, paper in items}.values())
        prepared = self._prepare_many([paper for _, paper in items])
        ids = [paper_id for paper_id, _ in items]
        with self.db.atomic():
            existing = {
                row[1]: row
                for row in self.db.execute(
                    f"SELECT {_DOC_COLUMNS} FROM dedup_docs "
                    "WHERE paper_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            }
            # the replaced text's title keys go; its text keys (LSH, anchors: hashed from
            # 64-bit token hashes, of which 32 bits are stored) stay and lead to this
            # paper's current text, which verification then reads
            stale = [
                (_fold(band, bucket), row[0])
                for row in existing.values()
                for band, bucket in _title_keys(tuple(row[5].split()))
            ]
            for table in ("dedup_bands", "dedup_recent"):
                self.db.conn.executemany(
                    f"DELETE FROM {table} WHERE key = ? AND doc = ?", sorted(stale)
                )
            top = self.db.execute("SELECT coalesce(max(doc), 0) FROM dedup_docs").fetchone()[0]
            numbers: dict[str, int] = {}
            rows = []
            for paper_id, (_, doc, _) in zip(ids, prepared, strict=True):
                if paper_id not in numbers:
                    if paper_id in existing:
                        numbers[paper_id] = existing[paper_id][0]
                    else:
                        top += 1
                        numbers[paper_id] = top
                rows.append(_doc_row(numbers[paper_id], paper_id, doc))
            self.db.conn.executemany(_INSERT_DOC, rows)
            keys = _key_pairs([ks for _, _, ks in prepared], [numbers[i] for i in ids])
            self.db.conn.executemany(_INSERT_RECENT, keys)
            if self._recent is None:
                self._recent = self.db.execute("SELECT count(*) FROM dedup_recent").fetchone()[0]
            else:
                self._recent += len(keys)
            if self._recent > MERGE_ROWS:
                self._merge()

    def remove(self, paper_id: str) -> None:
        """Drop a paper from the index (the store's undo of an interrupted ingest's entries
        for a paper it never stored): its doc row and its recent keys go. Keys already
        merged into dedup_bands may stay behind; a lookup skips a doc number with no doc,
        and a number reused later only costs one verification, which reads the text."""
        with self.db.atomic():
            row = self.db.execute(
                "SELECT doc FROM dedup_docs WHERE paper_id = ?", (paper_id,)
            ).fetchone()
            if row is None:
                return
            self.db.execute("DELETE FROM dedup_docs WHERE doc = ?", (row[0],))
            removed = self.db.execute("DELETE FROM dedup_recent WHERE doc = ?", (row[0],))
            if self._recent is not None:
                self._recent -= removed.rowcount

    def _merge(self) -> None:
        """Move the recent keys into dedup_bands in key order, one of MERGE_PARTS ranges of
        keys at a time, each deleted from dedup_recent as soon as it is copied: the pages
        it frees hold the next range's growth of dedup_bands. (Copying all, then deleting
        all, left the whole recent table's pages free in the file: 14 of 43 MB for a
        million keys, ~60 bytes a paper in a 100k history.)"""
        step = (1 << 32) // MERGE_PARTS
        with self.db.atomic():
            for low in range(-(1 << 31), 1 << 31, step):
                bounds = (low, low + step)
                self.db.execute(
                    "INSERT OR IGNORE INTO dedup_bands (key, doc) SELECT key, doc "
                    "FROM dedup_recent WHERE key >= ? AND key < ? ORDER BY key, doc",
                    bounds,
                )
                self.db.execute("DELETE FROM dedup_recent WHERE key >= ? AND key < ?", bounds)
        self._recent = 0

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

    def canonical(self, paper_id: str) -> str | None:
        """The root `paper_id` duplicates (`papers.duplicate_of`), or None."""
        if not self._papers_table():
            return None
        row = self.db.execute(
            "SELECT duplicate_of FROM papers WHERE id = ?", (paper_id,)
        ).fetchone()
        return row[0] if row else None

    def bucket_stats(self) -> list[dict[str, object]]:
        """Per kind of key: keys, papers, the largest bucket, and the buckets holding more
        than BUCKET_CAP papers (a lookup reads only the newest BUCKET_CAP of those)."""
        rows = self.db.execute(
            f"""SELECT {_SQL_BAND} AS band, count(*), sum(n), max(n), sum(n > ?1)
               FROM (SELECT key, count(*) AS n FROM (
                        SELECT key, doc FROM dedup_bands
                        UNION SELECT key, doc FROM dedup_recent)
                     GROUP BY key)
               GROUP BY band ORDER BY band""",
            (BUCKET_CAP,),
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for band, keys, entries, largest, full in rows:
            name = _BAND_NAMES.get(band, "text (LSH)")
            entry = counts.setdefault(
                name, {"buckets": 0, "entries": 0, "largest": 0, "over_cap": 0}
            )
            entry["buckets"] += keys
            entry["entries"] += entries
            entry["largest"] = max(entry["largest"], largest)
            entry["over_cap"] += full
        return [{"keys": name, **entry} for name, entry in counts.items()]

    def _ready(self) -> bool:
        names = {
            r[0]
            for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(_TABLES),),
            )
        }
        if len(names) < len(_TABLES):
            return False
        row = self.db.execute("SELECT value FROM dedup_meta WHERE key = 'params'").fetchone()
        return row is not None and row[0] == PARAMS_VERSION

    def _rebuild(self) -> None:
        """Recompute every key (after a change of PARAMS_VERSION), a chunk at a time, from
        the stored paper's title and abstract (`papers`); a doc without one keeps only the
        keys its stored form gives (title keys exact, text keys from 32-bit hashes)."""
        self.db.execute("DELETE FROM dedup_bands")
        self.db.execute("DELETE FROM dedup_recent")
        self._recent = 0
        text = "p.title, p.abstract, p.authors, p.arxiv_id, p.doi"
        columns = ", ".join(f"d.{c}" for c in _DOC_COLUMNS.split(", "))
        query = (
            f"SELECT {columns}, {text} FROM dedup_docs d LEFT JOIN papers p ON p.id = d.paper_id"
            if self._papers_table()
            else f"SELECT {columns} FROM dedup_docs d"
        )
        cursor = self.db.conn.execute(query + " ORDER BY d.doc")
        while chunk := cursor.fetchmany(1000):
            docs = [_stored_paper_doc(row) or _row_doc(row) for row in chunk]
            self.db.conn.executemany(
                "UPDATE dedup_docs SET hashes = ?, stems = ? WHERE doc = ?",
                [
                    (_pack16(d.hashes), _stored_stems(d), row[0])
                    for row, d in zip(chunk, docs, strict=True)
                ],
            )
            rows = _key_pairs(_keys_many(docs), [row[0] for row in chunk])
            self.db.conn.executemany(_INSERT_KEY, rows)


def _stored_paper_doc(row: Sequence) -> _Doc | None:
    """The doc of a `dedup_docs` row rebuilt from its `papers` row (title, abstract,
    authors, ids: the columns after _DOC_COLUMNS), or None without one."""
    if len(row) <= 8 or row[8] is None:
        return None
    title, abstract, authors, arxiv_id, doi = row[8:13]
    authors = json.loads(authors) if authors else []
    return _Doc.of(
        Paper(title=title, abstract=abstract or "", authors=authors, arxiv_id=arxiv_id, doi=doi)
    )


def _content_key(paper: Paper) -> tuple:
    """What a paper's doc and keys depend on."""
    return (paper.title, paper.abstract, tuple(paper.authors or ()), paper.arxiv_id, paper.doi)


def _doc_values(doc: _Doc) -> tuple:
    """The previous layout's stored columns of a doc after `doc` and `paper_id` (m002
    writes them; m004 converts them)."""
    return (
        doc.arxiv_id,
        doc.doi,
        json.dumps(sorted(doc.authors)),
        " ".join(doc.title),
        _pack_hashes(doc.hashes),
        doc.stem_hashes.tobytes(),
    )


def _doc_row(number: int, paper_id: str, doc: _Doc) -> tuple:
    """The `dedup_docs` row of a doc (`_DOC_COLUMNS`)."""
    return (
        number,
        paper_id,
        _stored_id(doc.arxiv_id, paper_id, "arxiv:"),
        _stored_id(doc.doi, paper_id, "doi:"),
        _pack_authors(doc.authors),
        " ".join(doc.title),
        _pack16(doc.hashes),
        _stored_stems(doc),
    )


def _stored_stems(doc: _Doc) -> bytes:
    """The stem hashes, kept only for a title of 4 content words or more: they serve only
    the same-specific-title rule, and a specific title has at least 4 (the other title of
    the pair, being "equal", has the same content words)."""
    return stempack.pack(doc.stem_hashes) if len(_content(doc.title)) >= 4 else b""
