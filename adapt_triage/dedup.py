"""Near-duplicate detection with a persisted, scalable index.

Exact identity (same arXiv id, DOI or normalised-title hash) is the store's job: those
papers share one `Paper.id`. This module links *distinct* ids that are the same work: the
same paper read from two services, a paper and its journal or thesis form, a retitled or
reformatted copy. Related but distinct works (a successor "v2"/"++" paper, two methods of
one family, a generic title shared by unrelated papers) are never linked.

How a paper is checked (cost independent of the number of indexed papers):

1. Candidates, from three kinds of keys looked up in `dedup_bands` by its (band, bucket)
   primary key, never by a scan:
   - band 0..BANDS-1: MinHash LSH bands over 5-word shingles of title + abstract (catches
     copies with scattered small edits; Jaccard >= ~0.5 is found with high probability);
   - band -1 (ANCHOR_BAND): winnowed fingerprints of 8-word runs of the abstract (any
     verbatim passage of >= ANCHOR_K + ANCHOR_W - 1 = 23 words shares a key: truncated
     abstracts, a thesis containing the paper's abstract, a shared opening paragraph);
   - band -2 (TITLE_BAND): the normalised title (retitled by case, punctuation, markup).
   At most BUCKET_CAP papers are read per key, and only the MAX_VERIFY candidates sharing
   the most keys are verified.
2. Verification on the real (normalised) text, see `similarity`: explicit rules, each
   with its threshold, produce a score in [0, 1]; a pair is a duplicate when the score
   is >= THRESHOLD and no veto applies.

Vetoes (the pair is reported with score 0.0 and the veto as reason):
- successor markers: the titles differ by a version marker (a number, "v2", "++",
  "plus", a roman numeral II..IX): "Uni-Perceiver" vs "Uni-Perceiver v2", "MMRL" vs
  "MMRL++", "Qwen-VL" vs "Qwen2-VL";
- different strong ids (two different arXiv ids, or two different DOIs) or disjoint
  author lists, unless the text evidence is overwhelming: a verbatim shared passage of
  >= STRONG_RUN words, or 3-gram containment >= STRONG_CONTAINMENT. A thesis posted on
  arXiv under its own id that reuses its paper's opening paragraph is still linked;
  two arXiv papers that merely share a topic or a boilerplate sentence are not.

Storage (tables created in the given database):
- `dedup_docs`: one row per indexed paper: `doc` (integer, first-seen order),
  `paper_id`, `canonical_id` (the root it duplicates, or NULL), strong ids, author last
  names (JSON), normalised title tokens, and the normalised abstract tokens
  (zlib-compressed UTF-8, for verification). Every key is recomputable from this row.
- `dedup_bands(band, bucket, doc)`: the LSH / anchor / title keys, WITHOUT ROWID, primary
  key (band, bucket, doc).
- `dedup_meta`: the parameter version the keys were computed with; a version change
  rebuilds `dedup_bands` from `dedup_docs`.
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
MAX_WORDS = 4000  # abstract words kept for indexing and verification (bounds cost)
BUCKET_CAP = 64  # papers read per key
MAX_VERIFY = 12  # candidates verified per lookup
PARAMS_VERSION = f"dedup-1:{SHINGLE}:{BANDS}x{ROWS}:{ANCHOR_K}/{ANCHOR_W}:seed=20240811"

# --- verification thresholds (see `similarity`; measured in tests/test_dedup.py) ---
THRESHOLD = 0.5  # a pair is a duplicate when its score is at least this
MIN_WORDS = 20  # an abstract shorter than this counts as missing
CONTAINMENT = 0.7  # share of the shorter abstract's 3-grams found in the longer one ...
CONTAINMENT_MIN_WORDS = 40  # ... for a shorter abstract of fewer words, titles must also
TITLE_OVERLAP = 0.5  # share this much of their content words
PASSAGE_RUN = 30  # a shared verbatim passage of this many words ...
PASSAGE_COVERAGE = 0.2  # ... with this share of the shorter abstract verbatim (8-grams) ...
# ... and TITLE_OVERLAP of the title content words
SAME_TITLE_TEXT = 0.2  # same normalised title: 3-gram containment of the abstracts
SAME_TITLE_MIN_WORDS = 5  # same title, an abstract missing: title content words needed
STRONG_RUN = 30  # verbatim run that overrides the id / author vetoes ...
STRONG_CONTAINMENT = 0.8  # ... or containment that does

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
    if text.isascii():
        text = text.lower().replace("++", " plusplus ")
        return _TOKEN_RE.findall(_PLUS_RE.sub(" plus ", text))
    text = unicodedata.normalize("NFKC", text).casefold().replace("++", " plusplus ")
    return _UNICODE_TOKEN_RE.findall(_PLUS_RE.sub(" plus ", text))


def abstract_tokens(abstract: str | None) -> list[str]:
    """`tokens` of an abstract without an "Abstract:" or arXiv "Announce Type" prefix."""
    text = _PREFIX_RE.sub("", abstract or "", count=1)
    return tokens(text)[:MAX_WORDS]


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
            title=tuple(tokens(paper.title)),
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
    return np.fromiter((_token_hash(w) for w in words), dtype=np.uint64, count=len(words))


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


def _title_bucket(title: Sequence[str]) -> int:
    digest = hashlib.blake2b(" ".join(title).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _keys(doc: _Doc) -> list[tuple[int, int]]:
    """(band, bucket) keys of a document: LSH bands, anchors, title."""
    keys: list[tuple[int, int]] = []
    title, words = _token_hashes(doc.title), _token_hashes(doc.words)
    if len(title) or len(words):
        keys += list(enumerate(_band_buckets(_minhash(np.concatenate([title, words])))))
    keys += [(ANCHOR_BAND, a) for a in _anchors(words)]
    if doc.title:
        keys.append((TITLE_BAND, _title_bucket(doc.title)))
    return keys


# --- verification -------------------------------------------------------------------
def _grams(words: Sequence[str], k: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def _stem(word: str) -> str:
    return word[:5]


def _content(title: Sequence[str]) -> set[str]:
    return {_stem(w) for w in title if w not in _STOPWORDS}


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


def _evidence(a: _Doc, b: _Doc) -> _Evidence:
    ta, tb = _content(a.title), _content(b.title)
    overlap = len(ta & tb) / min(len(ta), len(tb)) if ta and tb else 0.0
    title_equal = bool(a.title) and a.title == b.title
    short, long_ = sorted((a.words, b.words), key=len)
    if len(short) < MIN_WORDS:
        return _Evidence(title_equal, overlap, 0.0, 0.0, 0.0, 0, 0, len(short))
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
    opening = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        opening += 1
    return _Evidence(
        title_equal, overlap, resemblance, containment, coverage, run, opening, len(short)
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


def _markers(title: Iterable[str]) -> set[str]:
    return {w for w in title if _NUMBER_RE.fullmatch(w) or w in _ROMAN or w in ("plusplus", "plus")}


def _verdict(a: _Doc, b: _Doc) -> tuple[float, str]:
    ev = _evidence(a, b)
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
        passage = min(
            _grade_count(ev.run, PASSAGE_RUN), _grade(ev.coverage, PASSAGE_COVERAGE), title
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
    score, reason = max(rules, key=lambda rule: rule[0], default=(0.0, "nothing in common"))
    if score < THRESHOLD:
        return score, reason
    veto = _veto(a, b, ev)
    if veto:
        return 0.0, f"{veto}; otherwise {reason} ({score:.2f})"
    return score, reason


def _veto(a: _Doc, b: _Doc, ev: _Evidence) -> str | None:
    diff = _markers(a.title) ^ _markers(b.title)
    if diff:
        return f"not a duplicate: successor/version marker in title ({', '.join(sorted(diff))})"
    if ev.run >= STRONG_RUN or ev.containment >= STRONG_CONTAINMENT:
        return None
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
    - shared passage: a verbatim run >= PASSAGE_RUN words AND >= PASSAGE_COVERAGE of the
      shorter abstract's 8-grams in the longer AND title overlap >= TITLE_OVERLAP (a
      paper and the thesis built around it, sharing their opening paragraph).
    Vetoes then give 0.0: see the module docstring.
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
)
_DOC_COLUMNS = "doc, paper_id, canonical_id, arxiv_id, doi, authors, title, words"
# All keys of a document in one statement: for each (band, bucket), at most ? papers.
_LOOKUP = """
    SELECT json_extract(k.value, '$[0]') AS band,
        (SELECT group_concat(doc) FROM (
            SELECT doc FROM dedup_bands b
            WHERE b.band = json_extract(k.value, '$[0]')
              AND b.bucket = json_extract(k.value, '$[1]')
            LIMIT ?2))
    FROM json_each(?1) k
"""


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
        if self._ready():  # the common case: read-only, takes no write lock
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
            weight = BANDS if band == TITLE_BAND else 1
            for hit in (hits or "").split(","):
                if hit:
                    counts[int(hit)] += weight
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
                best, best_reason = (score, row), reason
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
                "('dedup_docs', 'dedup_docs_canonical', 'dedup_bands', 'dedup_meta')"
            )
        }
        if len(names) < 4:
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
