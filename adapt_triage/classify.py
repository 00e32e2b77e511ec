"""Multi-label triage of abstracts into the adaptation taxonomy.

The model is derived from labeled data only: the packaged seed set, the packaged sample of
real arXiv days (`data/realday.jsonl`), and the labels a user confirmed (never its own
predictions). It is fitted with scikit-learn, exported to plain numpy arrays
(`LinearModel`), and cached in a safe format (`adapt_triage.modelcache`), so that a
command that only predicts imports neither scikit-learn nor scipy.

How it works (every choice measured on the real-day folds, see `adapt_triage.realday_eval`):

* Document: the cleaned title twice, then the abstract (`adapt_triage.textfeatures`),
  plus the arXiv primary category as one extra term when the source gave it.
* Features: TF-IDF over word 1-2-grams (English stop words removed, sublinear term
  frequency), keeping terms that occur in at least two training documents.
* Pseudo-examples: each category's description, its typical words and the domain lexicon
  (`adapt_triage.lexicon`) are added as short training documents of that category, for the
  category models.
* A relevance gate: one logistic regression, on-topic against off-topic, trained on the
  labeled papers only (pseudo-examples in the gate, `gate_pseudo=True`, cost 0.05 on-topic
  F1 on the real-day folds), calibrated by Platt scaling on inner cross-validated logits,
  folds grouped by day.
* Categories: one-vs-rest logistic regression per category, trained on the on-topic papers
  only (a paper's categories given that it is about adaptation), each with its own Platt
  scaling (rare categories share one).
* Scores: `off-topic` is 1 - P(on-topic); category c is P(on-topic) * P(c | on-topic). So an
  off-topic paper shows `off-topic 0.97`, a score that means what it says.
* Decision rule (`decide`): `off-topic` alone when P(on-topic) < `gate_threshold`;
  otherwise the best category, plus every category with P(c | on-topic) >= `threshold`, up
  to `max_labels`.

Custom categories: any slug outside the default taxonomy is accepted. A category without
any labeled example still gets a score, learned from its description when it has one,
else 0.0; until a labeled paper teaches it, it is never a paper's only label.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain, compress, repeat
from typing import TYPE_CHECKING, Any

from adapt_triage.lexicon import lexicon_phrases
from adapt_triage.paper import Paper, clean_text, title_key
from adapt_triage.stored import StoredPaper
from adapt_triage.taxonomy import DEFAULT_CATEGORIES, DEFAULT_SLUGS, OFF_TOPIC, category_order
from adapt_triage.textfeatures import Document, analyze, analyzer, document, words

if TYPE_CHECKING:
    import numpy as np
else:

    class _NumpyOnFirstUse:
        """numpy, imported where this module first uses it: the model's identity
        (`training_key`, `default_model_version`: the stale-score check of `list` and
        `digest`) is pure Python, and a cold numpy import is 20-60 ms of those commands."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, name)

    np = _NumpyOnFirstUse()

__all__ = [
    "ALGORITHM",
    "Example",
    "LinearModel",
    "TriageClassifier",
    "build_default",
    "default_descriptions",
    "default_model_version",
    "examples_from_jsonl",
    "load_realday",
    "load_seed",
    "merge_examples",
    "paper_text",
    "shipped_digest",
    "training_examples",
]

SEED_RESOURCE = "data/seed.jsonl"
REALDAY_RESOURCE = "data/realday.jsonl"
# Bumped whenever the algorithm or the features change: it is part of the cache key and of
# `model_version`.
ALGORITHM = "gate-ovr-lr/3"
# Fewest positives (and negatives) among the on-topic papers for a category's own Platt
# scaling; rarer categories share one.
_MIN_PLATT = 8


@dataclass
class Example:
    """One labeled paper: the unit of training data."""

    title: str
    abstract: str
    labels: list[str] = field(default_factory=list)
    id: str = ""
    arxiv_category: str | None = None  # the arXiv primary category, when known
    group: str | None = None  # the day it was listed on (real-day sample), for grouped CV


PaperLike = Paper | StoredPaper | Example | tuple[str, str] | Mapping[str, Any]


def paper_text(paper: PaperLike) -> tuple[str, str]:
    """(title, abstract) of a Paper, a StoredPaper, an Example, a mapping or a
    (title, abstract) pair."""
    if isinstance(paper, (Paper, StoredPaper, Example)):
        return paper.title or "", paper.abstract or ""
    if isinstance(paper, Mapping):
        abstract = paper.get("abstract") or paper.get("summary") or ""
        return str(paper.get("title") or ""), str(abstract)
    if isinstance(paper, tuple) and len(paper) == 2:
        return str(paper[0] or ""), str(paper[1] or "")
    raise TypeError(f"cannot classify a {type(paper).__name__}; expected a Paper or a pair")


def arxiv_category_of(paper: PaperLike) -> str | None:
    """The arXiv primary category of a paper, when its source carried one."""
    if isinstance(paper, Example):
        return paper.arxiv_category
    if isinstance(paper, (Paper, StoredPaper)):
        return paper.categories[0] if paper.categories else None
    if isinstance(paper, Mapping):
        cats = paper.get("categories")
        if isinstance(cats, list) and cats and isinstance(cats[0], str):
            return cats[0]
        value = paper.get("arxiv_category")
        return value if isinstance(value, str) and value else None
    return None


# ---------------------------------------------------------------------------------------------
# Labeled data


def examples_from_jsonl(text: str, source: str = "<jsonl>") -> list[Example]:
    """Parse JSON Lines of `{"id", "title", "abstract", "labels"}` (optionally
    `arxiv_category` and `day`). A bad line raises ValueError naming the source and line."""
    examples: list[Example] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{source}:{number}: expected a JSON object")
        title, labels = record.get("title"), record.get("labels")
        abstract = record.get("abstract") or record.get("summary") or ""
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"{source}:{number}: missing 'title'")
        if not isinstance(abstract, str):
            raise ValueError(f"{source}:{number}: 'abstract' must be a string")
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) and x for x in labels)
        ):
            raise ValueError(f"{source}:{number}: 'labels' must be a non-empty list of strings")
        category = record.get("arxiv_category")
        day = record.get("day")
        examples.append(
            Example(
                title,
                abstract,
                list(labels),
                str(record.get("id") or ""),
                category if isinstance(category, str) and category else None,
                day if isinstance(day, str) and day else None,
            )
        )
    return examples


def _load_resource(name: str) -> list[Example]:
    resource = resources.files("adapt_triage").joinpath(name)
    return examples_from_jsonl(resource.read_text(encoding="utf-8"), name.rsplit("/", 1)[-1])


def load_seed() -> list[Example]:
    """The labeled seed set shipped inside the package (adapt_triage/data/seed.jsonl)."""
    return _load_resource(SEED_RESOURCE)


def load_realday() -> list[Example]:
    """The labeled sample of real arXiv days shipped inside the package
    (adapt_triage/data/realday.jsonl); `group` is the day each paper was listed on."""
    resource = resources.files("adapt_triage").joinpath(REALDAY_RESOURCE)
    if not resource.is_file():
        return []
    return _load_resource(REALDAY_RESOURCE)


def merge_examples(*groups: Iterable[Example]) -> list[Example]:
    """Concatenate groups of examples; a later example with the same normalised title as an
    earlier one replaces it in place (a user's labels for a shipped paper win)."""
    merged: dict[str, Example] = {}
    for group in groups:
        for ex in group:
            key = title_key(ex.title) or f"#{len(merged)}"
            merged[key] = ex
    return list(merged.values())


def training_examples(user_examples: Iterable[Example] = ()) -> list[Example]:
    """The product's training data: seed, real-day sample, then the user's labels."""
    return merge_examples(load_seed(), load_realday(), user_examples)


def default_descriptions() -> dict[str, str]:
    """Each default category's description: what it covers, then its typical words."""
    return {
        c.slug: f"{c.covers}, {', '.join(c.typical_words)}".strip(" ,") for c in DEFAULT_CATEGORIES
    }


# ---------------------------------------------------------------------------------------------
# The fitted model, as plain arrays (what the cache holds)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


# Fewer documents than this are vectorised the straightforward way (`_vectorize_terms`)
# until a larger batch has made the model's `_TermLookup`: a command that classifies a few
# papers does not pay for it.
_FEW_DOCUMENTS = 64
# Documents vectorised together (their words, as strings and ids, are held at once).
_BATCH_DOCUMENTS = 256


@dataclass(frozen=True)
class _TermLookup:
    """A vocabulary as integers, for `LinearModel._rows`: an id for every word of a word or
    two-word term, the term index of each word, and the sorted codes of the two-word terms."""

    vocabulary: dict[str, int]  # the vocabulary this was built from
    word_id: dict[str, int]  # word -> id
    n_words: int
    unigram: np.ndarray  # (n_words,): term index of the word, or -1
    codes: np.ndarray  # sorted id1 * n_words + id2 of every two-word term
    bigram: np.ndarray  # term index of each code

    @classmethod
    def of(cls, vocabulary: dict[str, int]) -> _TermLookup:
        # All in C (one pass of map/join/split each): this runs once per model, in every
        # command that predicts.
        terms = list(vocabulary)
        index = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        spaces = np.fromiter(map(str.count, terms, repeat(" ")), dtype=np.int64, count=len(terms))
        single, pair = spaces == 0, spaces == 1
        names = list(compress(terms, single.tolist()))
        n_single = len(names)
        # the words of the two-word terms, first and second alternating
        names += " ".join(compress(terms, pair.tolist())).split(" ") if pair.any() else []
        word_id = dict(zip(dict.fromkeys(names), range(len(names)), strict=False))
        n_words = len(word_id)
        ids = np.fromiter(map(word_id.__getitem__, names), dtype=np.int64, count=len(names))
        unigram = np.full(n_words, -1, dtype=np.int64)
        unigram[ids[:n_single]] = index[single]
        codes = ids[n_single::2] * n_words + ids[n_single + 1 :: 2]
        bigram = index[pair]
        order = np.argsort(codes, kind="stable")
        return cls(vocabulary, word_id, n_words, unigram, codes[order], bigram[order])


@dataclass
class LinearModel:
    """A fitted triage model as numpy arrays: vocabulary, idf, the gate and the category
    weights with their calibration. Predicts with numpy alone."""

    categories: list[str]  # every category, off-topic last when present
    n_examples: dict[str, int]
    terms: list[str]
    idf: np.ndarray  # (n_terms,)
    gate_coef: np.ndarray  # (n_terms,); all zero and gate_bias +30 when there is no gate
    gate_intercept: float
    gate_scale: tuple[float, float]
    coef: np.ndarray  # (n_topics, n_terms): the categories other than off-topic
    intercept: np.ndarray  # (n_topics,)
    scale: np.ndarray  # (n_topics, 2): Platt (a, b) per category
    constant: dict[int, float]  # topic index -> constant conditional probability
    title_weight: int = 2
    ngram_max: int = 2
    vocabulary: dict[str, int] = field(default_factory=dict, repr=False)
    # built from `vocabulary` when the model first vectorises (see `_rows`)
    _term_lookup: _TermLookup | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.vocabulary:
            self.vocabulary = {t: i for i, t in enumerate(self.terms)}

    @property
    def topics(self) -> list[str]:
        return [c for c in self.categories if c != OFF_TOPIC]

    @property
    def has_gate(self) -> bool:
        return OFF_TOPIC in self.categories

    def document(self, paper: PaperLike) -> Document:
        title, abstract = paper_text(paper)
        return document(
            title, abstract, title_weight=self.title_weight, arxiv_category=arxiv_category_of(paper)
        )

    def vectorize(self, doc: Document) -> tuple[np.ndarray, np.ndarray]:
        """(term indices, L2-normalised sublinear TF-IDF weights) of one document: its
        distinct known terms in the order of their first occurrence (words, then two-word
        phrases, then extras, as `analyze` yields them)."""
        idx, values, _ = self._rows([doc])
        return idx, values

    def _vectorize_terms(self, doc: Document) -> tuple[np.ndarray, np.ndarray]:
        """`vectorize` the straightforward way: count the strings of `analyze`, then look up
        each distinct term once. Used when the integer path does not apply (`ngram_max` other
        than 2, or an extra term that could read as a word or a phrase)."""
        counts = Counter(analyze(doc, self.ngram_max))
        found = np.fromiter(
            map(self.vocabulary.get, counts, repeat(-1)), dtype=np.int64, count=len(counts)
        )
        known = found >= 0
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = found[known]
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
        values = (1.0 + np.log(tf)) * self.idf[idx]
        norm = math.sqrt(float(values @ values))
        return idx, values / norm if norm else values

    def _rows(self, docs: Sequence[Document]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of `vectorize` for many documents, concatenated: (term indices, weights,
        row lengths), made `_BATCH_DOCUMENTS` at a time (a row depends on its document
        alone), so that memory stays small whatever the number of documents."""
        if len(docs) <= _BATCH_DOCUMENTS:
            return self._rows_batch(docs)
        parts = [
            self._rows_batch(docs[start : start + _BATCH_DOCUMENTS])
            for start in range(0, len(docs), _BATCH_DOCUMENTS)
        ]
        idx, values, lengths = zip(*parts, strict=True)
        return np.concatenate(idx), np.concatenate(values), np.concatenate(lengths)

    def _rows_batch(self, docs: Sequence[Document]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows of `vectorize` for a batch of documents, concatenated: (term indices,
        weights, row lengths). Equal to calling `_vectorize_terms` on each, to the bit.

        No n-gram string is built: every word gets an integer id once per document batch
        (a dict lookup; stop words and words of no vocabulary term are marked), a two-word
        phrase is the code id1 * n_words + id2, looked up in the sorted codes of the
        vocabulary's phrases, and the distinct terms are counted in numpy, ordered by their
        first occurrence (words before phrases before extras, as `analyze` lists them)."""
        lookup = self._term_lookup
        if lookup is None or lookup.vocabulary is not self.vocabulary:
            # building the lookup costs about as much as the strings of ~100 documents
            lookup = self._lookup() if len(docs) >= _FEW_DOCUMENTS else None
        if (
            lookup is None
            or self.ngram_max != 2
            or any(":" not in e for _, extra in docs for e in extra)
        ):
            rows = [self._vectorize_terms(doc) for doc in docs]
            lengths = np.array([len(r[0]) for r in rows], dtype=np.int64)
            if not rows:
                return np.zeros(0, dtype=np.int64), np.zeros(0), lengths
            return (
                np.concatenate([r[0] for r in rows]),
                np.concatenate([r[1] for r in rows]),
                lengths,
            )
        n_docs = len(docs)
        # -- words (`textfeatures.words`: stop words removed): ids, or -1 for a word of no term
        tokens = [words(text) for text, _ in docs]
        n_kept = np.fromiter(map(len, tokens), dtype=np.int64, count=n_docs)
        ids = np.fromiter(
            map(lookup.word_id.get, chain.from_iterable(tokens), repeat(-1)),
            dtype=np.int64,
            count=int(n_kept.sum()),
        )
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), n_kept)
        first = np.cumsum(n_kept) - n_kept  # each document's first kept word
        local = np.arange(len(ids), dtype=np.int64) - np.repeat(first, n_kept)
        width = 2 * int(n_kept.max(initial=0)) + max((len(e) for _, e in docs), default=0) + 1
        # -- unigrams: at their position; bigrams: after every word of their document
        known = ids >= 0
        uni = np.full(len(ids), -1, dtype=np.int64)
        uni[known] = lookup.unigram[ids[known]]
        parts = [(uni, doc_of, local)]
        if len(ids) > 1 and len(lookup.codes):
            pair = (doc_of[1:] == doc_of[:-1]) & known[1:] & known[:-1]
            code = ids[:-1][pair] * lookup.n_words + ids[1:][pair]
            at = np.minimum(np.searchsorted(lookup.codes, code), len(lookup.codes) - 1)
            hit = lookup.codes[at] == code
            bi_doc = doc_of[:-1][pair][hit]
            parts.append((lookup.bigram[at[hit]], bi_doc, local[:-1][pair][hit] + n_kept[bi_doc]))
        # -- extras: after the bigrams, looked up by name
        kept_counts = n_kept.tolist()
        extras = [
            (self.vocabulary.get(term, -1), d, 2 * kept_counts[d] + j)
            for d, (_, extra) in enumerate(docs)
            if extra
            for j, term in enumerate(extra)
        ]
        if extras:
            columns = np.array(extras, dtype=np.int64).T
            parts.append((columns[0], columns[1], columns[2]))
        term = np.concatenate([p[0] for p in parts])
        doc = np.concatenate([p[1] for p in parts])
        rank = doc * width + np.concatenate([p[2] for p in parts])
        found = term >= 0
        term, doc, rank = term[found], doc[found], rank[found]
        # -- distinct (document, term): count, and order by first occurrence. A term index
        # comes from one part only (words, phrases and extras are different terms), where
        # its entries are in the order of their position: a stable sort by (document, term)
        # leaves each group's first occurrence first.
        key = doc * len(self.idf) + term
        order = np.argsort(key, kind="stable")
        key = key[order]
        starts = np.flatnonzero(np.diff(key, prepend=-1))
        tf = np.diff(np.append(starts, len(key))).astype(np.float64)
        first_at = order[starts]
        by_first = np.argsort(rank[first_at], kind="stable")
        idx = term[first_at][by_first]
        tf = tf[by_first]
        lengths = np.bincount(doc[first_at], minlength=n_docs)
        values = (1.0 + np.log(tf)) * self.idf[idx]
        # the norm of each row as `vectorize` computes it (a dot product per row)
        norms = np.ones(n_docs)
        end = 0
        for d, length in enumerate(lengths.tolist()):
            if length:
                row = values[end : end + length]
                end += length
                norm = math.sqrt(float(row @ row))
                if norm:
                    norms[d] = norm
        return idx, values / np.repeat(norms, lengths), lengths

    def _lookup(self) -> _TermLookup:
        lookup = self._term_lookup
        if lookup is None or lookup.vocabulary is not self.vocabulary:
            lookup = self._term_lookup = _TermLookup.of(self.vocabulary)
        return lookup

    def logits(self, papers: Sequence[PaperLike]) -> tuple[np.ndarray, np.ndarray]:
        """Raw gate logits (n,) and category logits (n, n_topics), for all papers at once:
        the documents' sparse rows are concatenated and summed per row (`np.add.reduceat`)."""
        n = len(papers)
        gate = np.zeros(n)
        cats = np.zeros((n, self.coef.shape[0]))
        idx, values, lengths = self._rows([self.document(paper) for paper in papers])
        filled = np.flatnonzero(lengths)
        if len(filled):
            starts = (np.cumsum(lengths) - lengths)[filled]
            gate[filled] = np.add.reduceat(self.gate_coef[idx] * values, starts)
            cats[filled] = np.add.reduceat(self.coef[:, idx] * values, starts, axis=1).T
        return gate + self.gate_intercept, cats + self.intercept

    def probabilities(self, gate_logits: np.ndarray, cat_logits: np.ndarray) -> np.ndarray:
        """Scores (n, n_categories): P(on) * P(c | on) per topic, 1 - P(on) for off-topic."""
        if self.has_gate:
            relevance = _sigmoid(self.gate_scale[0] * gate_logits + self.gate_scale[1])
        else:
            relevance = np.ones(len(gate_logits))
        conditional = _sigmoid(self.scale[:, 0] * cat_logits + self.scale[:, 1])
        for j, value in self.constant.items():
            conditional[:, j] = value
        out = np.zeros((len(gate_logits), len(self.categories)))
        topic_cols = [i for i, c in enumerate(self.categories) if c != OFF_TOPIC]
        out[:, topic_cols] = relevance[:, None] * conditional
        if self.has_gate:
            out[:, self.categories.index(OFF_TOPIC)] = 1.0 - relevance
        return out

    def scores(self, papers: Sequence[PaperLike]) -> np.ndarray:
        return self.probabilities(*self.logits(papers))

    def contributions(self, paper: PaperLike, label: str) -> list[tuple[str, float]]:
        """(term, contribution) of the paper's terms to `label`'s logit (the gate's, negated,
        for off-topic), largest first, positive ones only."""
        idx, values = self.vectorize(self.document(paper))
        if label == OFF_TOPIC:
            contrib = -self.gate_coef[idx] * values
        else:
            contrib = self.coef[self.topics.index(label), idx] * values
        ranked = sorted(range(len(idx)), key=lambda k: (-contrib[k], self.terms[idx[k]]))
        return [(self.terms[idx[k]], float(contrib[k])) for k in ranked if contrib[k] > 0]


# ---------------------------------------------------------------------------------------------
# The classifier


_PARAMETERS = (
    "categories",
    "descriptions",
    "use_descriptions",
    "use_lexicon",
    "use_arxiv_category",
    "title_weight",
    "ngram_max",
    "min_df",
    "C",
    "gate_C",
    "class_weight",
    "calibrate",
    "calibration_folds",
    "gate_pseudo",
    "gate_threshold",
    "threshold",
    "max_labels",
    "random_state",
)


def _targets(
    examples: Sequence[Example], pseudo: Sequence[tuple[str, str]], topics: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """For each training document (the examples, then the pseudo-examples): whether it is
    on topic, and a row of booleans, one per topic category it carries."""
    on = np.array(
        [ex.labels != [OFF_TOPIC] for ex in examples] + [s != OFF_TOPIC for s, _ in pseudo]
    )
    topic_index = {c: j for j, c in enumerate(topics)}
    targets = np.zeros((len(examples) + len(pseudo), len(topics)), dtype=bool)
    for row, labels in enumerate([ex.labels for ex in examples] + [[s] for s, _ in pseudo]):
        for label in labels:
            if label in topic_index:
                targets[row, topic_index[label]] = True
    return on, targets


class TriageClassifier:
    """A relevance gate and per-category TF-IDF logistic regressions, with the category
    descriptions and the domain lexicon as pseudo-examples, and a decision rule that always
    yields at least one label. Follows scikit-learn's estimator conventions: parameters in
    `__init__`, fitted attributes (trailing underscore) set only by `fit`.

    `categories=None` means the default taxonomy plus any label found in the training
    examples; an explicit list is strict (an unknown label in `fit` is a ValueError).
    `descriptions` adds or overrides category descriptions (slug -> text).
    """

    def __init__(
        self,
        categories: Sequence[str] | None = None,
        *,
        descriptions: Mapping[str, str] | None = None,
        use_descriptions: bool = True,
        use_lexicon: bool = True,
        use_arxiv_category: bool = True,
        title_weight: int = 2,
        ngram_max: int = 2,
        min_df: int = 2,
        C: float = 10.0,
        gate_C: float = 10.0,
        class_weight: str | None = "balanced",
        calibrate: bool = True,
        calibration_folds: int = 3,
        gate_pseudo: bool = False,
        gate_threshold: float = 0.5,
        threshold: float = 0.5,
        max_labels: int = 3,
        random_state: int = 0,
    ) -> None:
        self.categories = categories
        self.descriptions = descriptions
        self.use_descriptions = use_descriptions
        self.use_lexicon = use_lexicon
        self.use_arxiv_category = use_arxiv_category
        self.title_weight = title_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.C = C
        self.gate_C = gate_C
        self.class_weight = class_weight
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.gate_pseudo = gate_pseudo
        self.gate_threshold = gate_threshold
        self.threshold = threshold
        self.max_labels = max_labels
        self.random_state = random_state

    # -- parameters (scikit-learn conventions) ------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in _PARAMETERS}
        if deep:
            params["categories"] = list(self.categories) if self.categories is not None else None
            params["descriptions"] = dict(self.descriptions) if self.descriptions else None
        return params

    def set_params(self, **params: Any) -> TriageClassifier:
        for name, value in params.items():
            if name not in _PARAMETERS:
                raise ValueError(f"invalid parameter {name!r} for TriageClassifier")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = TriageClassifier.__init__.__kwdefaults__ or {}
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name in _PARAMETERS
            if name not in ("categories", "descriptions")
            and getattr(self, name) != defaults.get(name)
        ]
        return f"TriageClassifier({', '.join(changed)})"

    def _hyperparameters(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in _PARAMETERS if n not in ("categories", "descriptions")}

    # -- training data ----------------------------------------------------------------------

    def _categories_for(self, examples: Sequence[Example]) -> list[str]:
        seen = {label for ex in examples for label in ex.labels}
        if self.categories is None:
            return category_order(sorted(set(DEFAULT_SLUGS) | seen))
        categories = list(dict.fromkeys(self.categories))
        unknown = sorted(seen - set(categories))
        if unknown:
            raise ValueError(f"labels not among the classifier's categories: {unknown}")
        return categories

    def _descriptions_for(self, categories: Sequence[str]) -> dict[str, str]:
        given = default_descriptions()
        given.update({k: v for k, v in (self.descriptions or {}).items() if v and v.strip()})
        return {slug: clean_text(given[slug]) for slug in categories if slug in given}

    def _pseudo_examples(self, categories: Sequence[str]) -> list[tuple[str, str]]:
        """(slug, text): each description whole, each of its phrases, the lexicon phrases."""
        docs: list[tuple[str, str]] = []
        if self.use_descriptions:
            for slug, text in self._descriptions_for(categories).items():
                if slug == OFF_TOPIC:
                    continue
                name = slug.replace("-", " ")
                docs += [(slug, f"{name}: {text}"), (slug, name)]
                docs.extend(
                    (slug, p.strip()) for p in text.replace(";", ",").split(",") if words(p)
                )
        if self.use_lexicon:
            for slug in categories:
                docs.extend((slug, phrase) for phrase in lexicon_phrases(slug) if words(phrase))
        return docs

    def _document(self, paper: PaperLike) -> Document:
        title, abstract = paper_text(paper)
        category = arxiv_category_of(paper) if self.use_arxiv_category else None
        return document(title, abstract, title_weight=self.title_weight, arxiv_category=category)

    def training_key(self, examples: Sequence[Example], *, shipped: str = "") -> str:
        """A hash of everything the fitted model depends on: the algorithm, the parameters,
        the categories with their descriptions, and the training data (`examples`, plus
        `shipped`, a digest standing for data not passed as examples)."""
        categories = self._categories_for(examples)
        digest = hashlib.sha256(ALGORITHM.encode())
        digest.update(shipped.encode())
        digest.update(json.dumps(self._hyperparameters(), sort_keys=True).encode())
        digest.update(json.dumps(list(categories)).encode())
        digest.update(json.dumps(self._descriptions_for(categories), sort_keys=True).encode())
        for slug in categories:
            digest.update(json.dumps(lexicon_phrases(slug) if self.use_lexicon else ()).encode())
        for ex in examples:
            record = [ex.title, ex.abstract, ex.labels, ex.arxiv_category]
            digest.update(json.dumps(record).encode())
        return digest.hexdigest()

    # -- training ---------------------------------------------------------------------------

    def fit(self, examples: Sequence[Example]) -> TriageClassifier:
        """Train on labeled examples plus the pseudo-examples. Returns self."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from threadpoolctl import threadpool_limits

        examples = list(examples)
        categories = self._categories_for(examples)
        if not categories:
            raise ValueError("a classifier needs at least one category")
        topics = [c for c in categories if c != OFF_TOPIC]
        pseudo = self._pseudo_examples(categories)
        docs = [self._document(ex) for ex in examples] + [(text, ()) for _, text in pseudo]
        if not docs:
            raise ValueError("no training data: give at least one labeled example")
        n = len(examples)
        on, targets = _targets(examples, pseudo, topics)
        n_examples = {c: sum(c in ex.labels for ex in examples) for c in categories}

        vectorizer = TfidfVectorizer(
            analyzer=analyzer(self.ngram_max), sublinear_tf=True, min_df=self.min_df
        )
        with threadpool_limits(limits=1):  # small problems: BLAS threads only add overhead
            try:
                X = vectorizer.fit_transform(docs)
            except ValueError:  # every term pruned by min_df: keep them all
                vectorizer.set_params(min_df=1)
                X = vectorizer.fit_transform(docs)
            X = X.tocsr()
            gate_coef, gate_intercept, gate_scale = self._gate(
                X, on, examples, has_gate=OFF_TOPIC in categories
            )
            rows = np.flatnonzero(on)
            coef, intercept, constant = self._fit_topics(X[rows], targets[rows])
            on_papers = np.flatnonzero(on[:n])
            if self.calibrate:
                scale = self._platt_topics(X, targets, on_papers, rows)
            else:
                scale = np.tile([1.0, 0.0], (len(topics), 1))

        terms = [str(t) for t in vectorizer.get_feature_names_out()]
        self.model_ = LinearModel(
            categories=categories,
            n_examples=n_examples,
            terms=terms,
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
            gate_coef=gate_coef,
            gate_intercept=float(gate_intercept),
            gate_scale=gate_scale,
            coef=coef,
            intercept=intercept,
            scale=scale,
            constant=constant,
            title_weight=self.title_weight,
            ngram_max=self.ngram_max,
            vocabulary=dict(vectorizer.vocabulary_),
        )
        self.vectorizer_ = vectorizer
        self.model_version = self.training_key(examples)[:12]
        return self

    def _gate(
        self, X: Any, on: np.ndarray, examples: Sequence[Example], *, has_gate: bool
    ) -> tuple[np.ndarray, float, tuple[float, float]]:
        """The off-topic gate: coefficients, intercept and Platt scale (a gate that is
        always open when there is no off-topic category)."""
        n = len(examples)
        if has_gate and on[:n].any() and not on[:n].all():
            gate_rows = np.arange(len(on)) if self.gate_pseudo else np.arange(n)
            Xg, yg = X[gate_rows], on[gate_rows]
            gate_coef, gate_intercept = self._fit_gate(Xg, yg)
            gate_scale = self._platt_gate(Xg, yg, examples) if self.calibrate else (1.0, 0.0)
            return gate_coef, gate_intercept, gate_scale
        if has_gate:
            gate_coef, gate_intercept = self._fit_gate(X, on)
            return gate_coef, gate_intercept, (1.0, 0.0)
        return np.zeros(X.shape[1]), 30.0, (1.0, 0.0)

    def _logistic(self, C: float) -> Any:
        """The logistic regression every score of the model is fitted with."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=C, class_weight=self.class_weight, solver="liblinear", random_state=self.random_state
        )

    def _fit_gate(self, X, on: np.ndarray) -> tuple[np.ndarray, float]:
        if on.all() or not on.any():
            return np.zeros(X.shape[1]), (30.0 if on.all() else -30.0)
        model = self._logistic(self.gate_C).fit(X, on)
        return model.coef_[0].astype(np.float64), float(model.intercept_[0])

    def _fit_topics(self, X, targets: np.ndarray):
        """One logistic regression per category; a category whose targets are constant gets
        a constant score instead."""
        n_cat = targets.shape[1]
        coef = np.zeros((n_cat, X.shape[1]))
        intercept = np.zeros(n_cat)
        constant: dict[int, float] = {}
        for j in range(n_cat):
            y = targets[:, j]
            if y.all() or not y.any():
                constant[j] = 1.0 if y.all() else 0.0
                continue
            model = self._logistic(self.C).fit(X, y)
            coef[j] = model.coef_[0]
            intercept[j] = model.intercept_[0]
        return coef, intercept, constant

    def _inner_folds(self, items: np.ndarray, groups: Sequence[str | None]) -> list[np.ndarray]:
        """Inner folds over `items`: by group (day) where groups are known, else random."""
        k = self.calibration_folds
        rng = np.random.default_rng(self.random_state)
        fold_of = rng.permutation(np.arange(len(items)) % k)
        named = sorted({g for g in groups if g})
        if len(named) >= k:
            order = rng.permutation(len(named))
            group_fold = {named[i]: rank % k for rank, i in enumerate(order)}
            fold_of = np.array(
                [group_fold[g] if g else fold_of[i] for i, g in enumerate(groups)], dtype=int
            )
        return [items[fold_of == f] for f in range(k)]

    @staticmethod
    def _platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        from sklearn.linear_model import LogisticRegression

        if len(y) == 0 or y.all() or not y.any():
            return (1.0, 0.0)
        platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
        a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        return (a, b) if a > 0 else (1.0, 0.0)

    def _platt_gate(self, X, on: np.ndarray, examples: Sequence[Example]) -> tuple[float, float]:
        n = len(examples)
        k = self.calibration_folds
        if k < 2 or n < 2 * k:
            return (1.0, 0.0)
        papers = np.arange(n)
        z, y = [], []
        for held in self._inner_folds(papers, [ex.group for ex in examples]):
            train = np.setdiff1d(np.arange(X.shape[0]), held)
            coef, intercept = self._fit_gate(X[train], on[train])
            z.append(np.asarray(X[held] @ coef).ravel() + intercept)
            y.append(on[held])
        return self._platt(np.concatenate(z), np.concatenate(y))

    def _platt_topics(
        self, X, targets: np.ndarray, on_papers: np.ndarray, on_rows: np.ndarray
    ) -> np.ndarray:
        """Platt scaling (a, b) per category, fit on inner cross-validated logits of the
        on-topic papers; a category with fewer than `_MIN_PLATT` positives among them shares
        the scaling fitted on all categories' logits."""
        from sklearn.linear_model import LogisticRegression

        n_cat = targets.shape[1]
        identity = np.tile([1.0, 0.0], (n_cat, 1))
        k = self.calibration_folds
        if k < 2 or len(on_papers) < 2 * k:
            return identity
        rng = np.random.default_rng(self.random_state)
        fold_of = rng.permutation(np.arange(len(on_papers)) % k)
        logits = np.zeros((len(on_papers), n_cat))
        fitted = np.ones(n_cat, dtype=bool)
        for f in range(k):
            held = on_papers[fold_of == f]
            train = np.setdiff1d(on_rows, held)
            coef, intercept, constant = self._fit_topics(X[train], targets[train])
            logits[fold_of == f] = np.asarray(X[held] @ coef.T) + intercept
            fitted[list(constant)] = False
        truth = targets[on_papers]
        shared = self._platt(logits[:, fitted].ravel(), truth[:, fitted].ravel())
        scale = np.tile(shared, (n_cat, 1))
        for j in np.flatnonzero(fitted):
            y = truth[:, j]
            if y.sum() >= _MIN_PLATT and (~y).sum() >= _MIN_PLATT:
                platt = LogisticRegression(C=1.0).fit(logits[:, j : j + 1], y)
                a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
                if a > 0:
                    scale[j] = (a, b)
        return scale

    # -- fitted state -----------------------------------------------------------------------

    @classmethod
    def from_model(cls, model: LinearModel, model_version: str, **params: Any) -> TriageClassifier:
        """A fitted classifier from a `LinearModel` (as loaded from the cache)."""
        clf = cls(**params)
        clf.model_ = model
        clf.model_version = model_version
        return clf

    def _fitted(self) -> LinearModel:
        model = getattr(self, "model_", None)
        if model is None:
            raise RuntimeError("TriageClassifier is not trained: call fit() first")
        return model

    @property
    def categories_(self) -> list[str]:
        return self._fitted().categories

    @property
    def n_examples_(self) -> dict[str, int]:
        return self._fitted().n_examples

    # -- prediction -------------------------------------------------------------------------

    def predict_scores(
        self, papers: Sequence[PaperLike], *, engine: str = "numpy"
    ) -> list[dict[str, float]]:
        """A score in [0, 1] for every category, for each paper (input order). `engine`
        "sklearn" vectorises with the fitted TfidfVectorizer (only right after `fit`); the
        default "numpy" needs nothing but the exported arrays."""
        model = self._fitted()
        papers = list(papers)
        if not papers:
            return []
        if engine == "sklearn":
            X = self.vectorizer_.transform([model.document(p) for p in papers])
            gate = np.asarray(X @ model.gate_coef).ravel() + model.gate_intercept
            cats = np.asarray(X @ model.coef.T) + model.intercept
            probs = model.probabilities(gate, cats)
        else:
            probs = model.scores(papers)
        return [
            {slug: round(float(row[j]), 4) for j, slug in enumerate(model.categories)}
            for row in probs
        ]

    def decide(self, scores: Mapping[str, float]) -> list[str]:
        """Labels from one paper's scores: never empty, most confident first. `off-topic`
        stands alone, when P(on-topic) = 1 - score(off-topic) is below `gate_threshold`. Else
        the best category that has labeled examples ("taught") is always in, and any other
        whose conditional score P(c | on-topic) reaches `threshold` joins it, up to
        `max_labels`; an untaught category never stands alone."""
        if not scores:
            raise ValueError("no scores to decide from")
        relevance = 1.0 - scores[OFF_TOPIC] if OFF_TOPIC in scores else 1.0
        topics = {c: v for c, v in scores.items() if c != OFF_TOPIC}
        if OFF_TOPIC in scores and (relevance < self.gate_threshold or not topics):
            return [OFF_TOPIC]
        if not topics:
            return [OFF_TOPIC]
        model = getattr(self, "model_", None)
        n_examples = model.n_examples if model is not None else {}
        order = {c: i for i, c in enumerate(model.categories if model is not None else ())}
        ranked = sorted(topics, key=lambda c: (-topics[c], order.get(c, len(order)), c))
        taught = [c for c in ranked if n_examples.get(c, 0) > 0] or ranked
        top = taught[0]
        if OFF_TOPIC in scores and topics[top] <= 0.0:
            return [OFF_TOPIC]
        floor = self.threshold * max(relevance, 1e-9)
        labels = [c for c in ranked if c == top or topics[c] >= floor]
        labels = labels[: max(self.max_labels, 1)]
        if top not in labels:
            labels[-1] = top
        return labels

    def predict(self, papers: Sequence[PaperLike]) -> list[tuple[list[str], dict[str, float]]]:
        """(labels, scores) for each paper, in input order."""
        return [(self.decide(s), s) for s in self.predict_scores(papers)]

    def explain(self, paper: PaperLike, label: str, k: int = 5) -> list[str]:
        """The terms (words or two-word phrases, stop words dropped) of this paper's text that
        pushed `label`'s score up most: TF-IDF weight times the model's coefficient (for
        off-topic: the terms that pulled the relevance gate down)."""
        model = self._fitted()
        if label not in model.categories:
            raise ValueError(f"unknown category {label!r}")
        return [term for term, _ in model.contributions(paper, label)][: max(k, 0)]


def shipped_digest() -> str:
    """A hash of the labeled data shipped in the package (seed and real-day files, as
    bytes): part of the product model's cache key, known without parsing the files."""
    digest = hashlib.sha256()
    for name in (SEED_RESOURCE, REALDAY_RESOURCE):
        resource = resources.files("adapt_triage").joinpath(name)
        digest.update(name.encode())
        digest.update(resource.read_bytes() if resource.is_file() else b"")
    return digest.hexdigest()


def _product_classifier(user: list[Example], extra: dict[str, str]) -> tuple[TriageClassifier, str]:
    """The product's (unfitted) classifier and its cache key. The shipped labels are
    default categories (a test pins it), so the categories follow from the taxonomy, the
    custom categories and the user's labels alone, and the key hashes the shipped files as
    bytes: neither needs the training data parsed."""
    seen = {label for ex in user for label in ex.labels}
    categories = category_order(sorted(set(DEFAULT_SLUGS) | set(extra) | seen))
    classifier = TriageClassifier(categories, descriptions=extra or None)
    return classifier, classifier.training_key(user, shipped=shipped_digest())


def default_model_version(
    user_examples: Iterable[Example] = (),
    extra_categories: Mapping[str, str] | None = None,
) -> str:
    """The `model_version` that `build_default` gives for this data, without loading or
    fitting a model (to tell whether stored scores are stale)."""
    _, key = _product_classifier(list(user_examples), dict(extra_categories or {}))
    return key[:12]


def build_default(
    user_examples: Iterable[Example] = (),
    extra_categories: Mapping[str, str] | None = None,
    *,
    cache: bool = True,
) -> TriageClassifier:
    """The product's classifier: the seed set, the real-day sample and the user's confirmed
    labels (which win over a shipped paper's), over the default taxonomy plus any custom
    categories (slug -> description; an empty description is allowed). Loaded from the
    model cache when one was fitted on the same data by the same algorithm: a cache hit
    parses no training data."""
    user = list(user_examples)
    classifier, key = _product_classifier(user, dict(extra_categories or {}))
    if not cache:
        return classifier.fit(training_examples(user))
    from adapt_triage import modelcache

    return modelcache.load_or_fit(classifier, lambda: training_examples(user), key=key)
