"""Multi-label triage of abstracts into the adaptation taxonomy.

The model is trained at run time from labeled examples (the packaged seed set plus the
labels a user confirmed; never its own predictions) and is never pickled: training on a
few hundred abstracts takes a fraction of a second.

How it works. Every choice was measured by repeated cross-validation on the seed set
(`adapt_triage.evaluate`); the numbers are in the project README.

* Text: the cleaned title twice, then the abstract.
* Features: TF-IDF over word 1-2-grams (English stop words removed, sublinear term
  frequency), keeping terms that occur in at least two training documents.
* Descriptions as pseudo-examples: each category's description (what it covers and its
  typical words, from `adapt_triage.taxonomy`, or the text a user gave a custom category)
  is added as one training document labeled with that category alone, and so is each of
  its comma-separated phrases ("QLoRA", "soft prompts", "task arithmetic", ...). With three
  to thirteen labeled papers per category this is by far the largest gain. Pseudo-examples
  are not papers, so cross-validation keeps them in every training fold.
* One-vs-rest logistic regression per category with balanced class weights, so that a
  category with three positives is not drowned by the other sixty.
* Calibration: one Platt scaling shared by all categories, fit on inner cross-validated
  scores of the training papers, so that a score of 0.7 means "right about 70% of the
  time" whatever the regularisation; it also makes the 0.5 threshold below meaningful.
* Decision rule (`decide`): `off-topic` alone when it has the top score, or when no
  adaptation category reaches `min_score` (0.4: on a real feed most papers are about
  something else, and a weak best guess is worse than "off-topic"); otherwise the top
  category, plus every category whose score is at least `threshold` (0.5) and at least
  `relative` (off by default) times the top score, up to `max_labels` (3).

Custom categories: any slug outside the default taxonomy is accepted (in `categories`, in
`descriptions` and in the labels of the training examples). A category without any
labeled example still gets a score: learned from its description pseudo-examples when it
has a description, else 0.0. Until at least one labeled paper teaches it, such a category
is never a paper's only label: it is listed (in score order) only next to the best taught
category, and when that is `off-topic` it is dropped.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from adapt_triage.paper import Paper, clean_text, title_key
from adapt_triage.taxonomy import DEFAULT_CATEGORIES, DEFAULT_SLUGS, OFF_TOPIC, category_order

__all__ = [
    "Example",
    "TriageClassifier",
    "build_default",
    "default_descriptions",
    "examples_from_jsonl",
    "load_seed",
    "merge_examples",
    "paper_text",
]

SEED_RESOURCE = "data/seed.jsonl"
# Bumped whenever the algorithm changes, so that `model_version` changes with it.
_ALGORITHM = "tfidf-ovr-lr-platt/1"


@dataclass
class Example:
    """One labeled paper: the unit of training data."""

    title: str
    abstract: str
    labels: list[str] = field(default_factory=list)
    id: str = ""


PaperLike = Paper | Example | tuple[str, str] | Mapping[str, Any]


def paper_text(paper: PaperLike) -> tuple[str, str]:
    """(title, abstract) of a Paper, an Example, a mapping or a (title, abstract) pair."""
    if isinstance(paper, (Paper, Example)):
        return paper.title or "", paper.abstract or ""
    if isinstance(paper, Mapping):
        abstract = paper.get("abstract") or paper.get("summary") or ""
        return str(paper.get("title") or ""), str(abstract)
    if isinstance(paper, tuple) and len(paper) == 2:
        return str(paper[0] or ""), str(paper[1] or "")
    raise TypeError(f"cannot classify a {type(paper).__name__}; expected a Paper or a pair")


# ---------------------------------------------------------------------------------------------
# Labeled data


def examples_from_jsonl(text: str, source: str = "<jsonl>") -> list[Example]:
    """Parse JSON Lines of `{"id", "title", "abstract", "labels"}`. A bad line raises
    ValueError naming the source and the line number."""
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
        examples.append(Example(title, abstract, list(labels), str(record.get("id") or "")))
    return examples


def load_seed() -> list[Example]:
    """The labeled seed set shipped inside the package (adapt_triage/data/seed.jsonl)."""
    resource = resources.files("adapt_triage").joinpath(SEED_RESOURCE)
    return examples_from_jsonl(resource.read_text(encoding="utf-8"), "seed.jsonl")


def merge_examples(*groups: Iterable[Example]) -> list[Example]:
    """Concatenate groups of examples; a later example with the same normalised title as an
    earlier one replaces it in place (a user's labels for a seed paper win)."""
    merged: dict[str, Example] = {}
    for group in groups:
        for ex in group:
            key = title_key(ex.title) or f"#{len(merged)}"
            merged[key] = ex
    return list(merged.values())


def default_descriptions() -> dict[str, str]:
    """Each default category's description: what it covers, then its typical words."""
    return {
        c.slug: f"{c.covers}, {', '.join(c.typical_words)}".strip(" ,") for c in DEFAULT_CATEGORIES
    }


# ---------------------------------------------------------------------------------------------
# Text analysis

_TAG_RE = re.compile(r"<[^>]{0,500}>")
_TOKEN_RE = re.compile(r"(?u)\b[^\W\d_]\w*\b")
_STOP = frozenset(ENGLISH_STOP_WORDS)
_PHRASE_SPLIT = re.compile(r"[,;:.]")


def _clean(text: str) -> str:
    """`paper.clean_text` (HTML, LaTeX, accents), with a fast path for plain ASCII text:
    there, only entities and tags matter, as the tokenizer ignores LaTeX punctuation."""
    if not text.isascii():
        return clean_text(text)
    if "&" in text:
        text = html.unescape(text)
    return _TAG_RE.sub(" ", text) if "<" in text else text


def _words(text: str) -> list[str]:
    return [t for t in _TOKEN_RE.findall(text.lower()) if len(t) > 1 and t not in _STOP]


def _analyzer(ngram_max: int):
    def analyze(text: str) -> list[str]:
        words = _words(text)
        grams = list(words)
        for n in range(2, ngram_max + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams

    return analyze


# ---------------------------------------------------------------------------------------------
# The classifier


class TriageClassifier:
    """TF-IDF + calibrated one-vs-rest logistic regression, with the category descriptions
    as pseudo-examples and a decision rule that always yields at least one label.

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
        title_weight: int = 2,
        ngram_max: int = 2,
        min_df: int = 2,
        C: float = 10.0,
        class_weight: str | None = "balanced",
        calibrate: bool = True,
        calibration_folds: int = 3,
        threshold: float = 0.5,
        relative: float = 0.0,
        min_score: float = 0.4,
        max_labels: int = 3,
        random_state: int = 0,
    ) -> None:
        self.categories = list(categories) if categories is not None else None
        self.descriptions = dict(descriptions) if descriptions is not None else None
        self.use_descriptions = use_descriptions
        self.title_weight = title_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.C = C
        self.class_weight = class_weight
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.threshold = threshold
        self.relative = relative
        self.min_score = min_score
        self.max_labels = max_labels
        self.random_state = random_state
        # Set by fit().
        self.model_version = ""
        self.categories_: list[str] = []
        self.n_examples_: dict[str, int] = {}
        self._vectorizer: TfidfVectorizer | None = None
        self._coef = np.zeros((0, 0))
        self._intercept = np.zeros(0)
        self._constant: dict[int, float] = {}
        self._scale = (1.0, 0.0)

    # -- parameters -------------------------------------------------------------------------

    _HYPERPARAMETERS = (
        "use_descriptions",
        "title_weight",
        "ngram_max",
        "min_df",
        "C",
        "class_weight",
        "calibrate",
        "calibration_folds",
        "threshold",
        "relative",
        "min_score",
        "max_labels",
        "random_state",
    )

    def get_params(self) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in self._HYPERPARAMETERS}
        return {"categories": self.categories, "descriptions": self.descriptions, **params}

    def __repr__(self) -> str:
        defaults = TriageClassifier.__init__.__kwdefaults__ or {}
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name in self._HYPERPARAMETERS
            if getattr(self, name) != defaults.get(name)
        ]
        return f"TriageClassifier({', '.join(changed)})"

    # -- text -------------------------------------------------------------------------------

    def _text(self, paper: PaperLike) -> str:
        title, abstract = paper_text(paper)
        title, abstract = _clean(title), _clean(abstract)
        return " . ".join([title] * max(self.title_weight, 0) + [abstract])

    def _descriptions_for(self, categories: Sequence[str]) -> dict[str, str]:
        given = default_descriptions()
        given.update({k: v for k, v in (self.descriptions or {}).items() if v and v.strip()})
        return {slug: clean_text(given[slug]) for slug in categories if slug in given}

    def _pseudo_examples(self, categories: Sequence[str]) -> list[tuple[str, str]]:
        """(slug, text): each description whole, then each of its phrases."""
        docs: list[tuple[str, str]] = []
        for slug, text in self._descriptions_for(categories).items():
            name = slug.replace("-", " ")
            docs += [(slug, f"{name}: {text}"), (slug, name)]
            docs.extend((slug, p.strip()) for p in _PHRASE_SPLIT.split(text) if _words(p))
        return docs

    # -- training ---------------------------------------------------------------------------

    def fit(self, examples: Sequence[Example]) -> TriageClassifier:
        """Train on labeled examples plus the category descriptions. Returns self."""
        examples = list(examples)
        seen = {label for ex in examples for label in ex.labels}
        if self.categories is None:
            categories = category_order(sorted(set(DEFAULT_SLUGS) | seen))
        else:
            categories = list(dict.fromkeys(self.categories))
            unknown = sorted(seen - set(categories))
            if unknown:
                raise ValueError(f"labels not among the classifier's categories: {unknown}")
        if not categories:
            raise ValueError("a classifier needs at least one category")
        index = {c: i for i, c in enumerate(categories)}

        texts = [self._text(ex) for ex in examples]
        targets = np.zeros((len(texts), len(categories)), dtype=bool)
        for row, ex in enumerate(examples):
            for label in ex.labels:
                targets[row, index[label]] = True
        n_examples = {c: int(targets[:, index[c]].sum()) for c in categories}
        if self.use_descriptions:
            pseudo = self._pseudo_examples(categories)
            extra = np.zeros((len(pseudo), len(categories)), dtype=bool)
            for row, (slug, text) in enumerate(pseudo):
                texts.append(text)
                extra[row, index[slug]] = True
            targets = np.vstack([targets, extra])
        if not texts:
            raise ValueError("no training data: give at least one labeled example")

        vectorizer = TfidfVectorizer(
            analyzer=_analyzer(self.ngram_max), sublinear_tf=True, min_df=self.min_df
        )
        with threadpool_limits(limits=1):  # tiny problems: BLAS threads only add overhead
            try:
                X = vectorizer.fit_transform(texts)
            except ValueError:  # every term pruned by min_df: fall back to keeping all
                vectorizer.set_params(min_df=1)
                X = vectorizer.fit_transform(texts)
            coef, intercept, constant = self._train_ovr(X, targets)
            scale = self._platt(X, targets, len(examples)) if self.calibrate else (1.0, 0.0)

        self.categories_ = categories
        self.n_examples_ = n_examples
        self._vectorizer = vectorizer
        self._coef, self._intercept, self._constant, self._scale = coef, intercept, constant, scale
        self.model_version = self._version(examples, categories)
        return self

    def _train_ovr(self, X, targets: np.ndarray):
        """One logistic regression per category; a category whose targets are constant
        gets a constant score instead."""
        n_cat = targets.shape[1]
        coef = np.zeros((n_cat, X.shape[1]))
        intercept = np.zeros(n_cat)
        constant: dict[int, float] = {}
        for j in range(n_cat):
            y = targets[:, j]
            if y.all() or not y.any():
                constant[j] = 1.0 if y.all() else 0.0
                continue
            model = LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                solver="liblinear",
                random_state=self.random_state,
            )
            model.fit(X, y)
            coef[j] = model.coef_[0]
            intercept[j] = model.intercept_[0]
        return coef, intercept, constant

    def _platt(self, X, targets: np.ndarray, n_papers: int) -> tuple[float, float]:
        """One Platt scaling (a, b) for all categories, fit on inner cross-validated logits
        of the labeled papers (the description pseudo-examples always stay in training)."""
        k = self.calibration_folds
        if k < 2 or n_papers < 2 * k:
            return (1.0, 0.0)
        rng = np.random.default_rng(self.random_state)
        fold_of = rng.permutation(np.arange(n_papers) % k)
        logits, truth = [], []
        for f in range(k):
            held = np.flatnonzero(fold_of == f)
            train = np.setdiff1d(np.arange(X.shape[0]), held)
            coef, intercept, constant = self._train_ovr(X[train], targets[train])
            keep = [j for j in range(targets.shape[1]) if j not in constant]
            z = np.asarray(X[held] @ coef.T) + intercept
            logits.append(z[:, keep].ravel())
            truth.append(targets[np.ix_(held, keep)].ravel())
        z, y = np.concatenate(logits), np.concatenate(truth)
        if y.all() or not y.any():
            return (1.0, 0.0)
        platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), y)
        a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        return (a, b) if a > 0 else (1.0, 0.0)

    def _version(self, examples: Sequence[Example], categories: Sequence[str]) -> str:
        params = {name: getattr(self, name) for name in self._HYPERPARAMETERS}
        digest = hashlib.sha256(_ALGORITHM.encode())
        digest.update(json.dumps(params, sort_keys=True).encode())
        digest.update(json.dumps(list(categories)).encode())
        digest.update(json.dumps(self._descriptions_for(categories), sort_keys=True).encode())
        for ex in examples:
            digest.update(json.dumps([ex.title, ex.abstract, ex.labels]).encode())
        return digest.hexdigest()[:12]

    # -- prediction -------------------------------------------------------------------------

    def _check_fitted(self) -> TfidfVectorizer:
        if self._vectorizer is None:
            raise RuntimeError("TriageClassifier is not trained: call fit() first")
        return self._vectorizer

    def predict_scores(self, papers: Sequence[PaperLike]) -> list[dict[str, float]]:
        """A score in [0, 1] for every category, for each paper (input order)."""
        vectorizer = self._check_fitted()
        papers = list(papers)
        if not papers:
            return []
        with threadpool_limits(limits=1):
            X = vectorizer.transform([self._text(p) for p in papers])
            logits = np.asarray(X @ self._coef.T) + self._intercept
        logits = self._scale[0] * logits + self._scale[1]
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        for j, value in self._constant.items():
            probs[:, j] = value
        return [
            {slug: round(float(row[j]), 4) for j, slug in enumerate(self.categories_)}
            for row in probs
        ]

    def decide(self, scores: Mapping[str, float]) -> list[str]:
        """Labels from one paper's scores: never empty, most confident first. `off-topic`
        stands alone, when it wins or when no category reaches `min_score`. The best category
        that has labeled examples ("taught") is always in; an untaught category joins it when
        its score passes the thresholds, never alone."""
        if not scores:
            raise ValueError("no scores to decide from")
        order = {c: i for i, c in enumerate(self.categories_)}
        ranked = sorted(scores, key=lambda c: (-scores[c], order.get(c, len(order)), c))
        taught = [c for c in ranked if self.n_examples_.get(c, 0) > 0] or ranked
        top = taught[0]
        if top == OFF_TOPIC or (OFF_TOPIC in scores and scores[top] < self.min_score):
            return [OFF_TOPIC]
        floor = max(self.threshold, self.relative * scores[top])
        labels = [c for c in ranked if c != OFF_TOPIC and (c == top or scores[c] >= floor)]
        labels = labels[: max(self.max_labels, 1)]
        if top not in labels:
            labels[-1] = top
        return labels

    def predict(self, papers: Sequence[PaperLike]) -> list[tuple[list[str], dict[str, float]]]:
        """(labels, scores) for each paper, in input order."""
        return [(self.decide(s), s) for s in self.predict_scores(papers)]

    def explain(self, paper: PaperLike, label: str, k: int = 5) -> list[str]:
        """The terms (words or two-word phrases, stop words dropped) of this paper's text that
        pushed `label`'s score up most: TF-IDF weight times the model's coefficient."""
        vectorizer = self._check_fitted()
        if label not in self.categories_:
            raise ValueError(f"unknown category {label!r}")
        j = self.categories_.index(label)
        X = vectorizer.transform([self._text(paper)]).tocsr()
        contrib = X.data * self._coef[j, X.indices]
        names = vectorizer.get_feature_names_out()
        ranked = sorted(range(len(contrib)), key=lambda i: (-contrib[i], names[X.indices[i]]))
        return [str(names[X.indices[i]]) for i in ranked if contrib[i] > 0][: max(k, 0)]


def build_default(
    user_examples: Iterable[Example] = (),
    extra_categories: Mapping[str, str] | None = None,
) -> TriageClassifier:
    """The product's classifier: the seed set plus the user's confirmed labels (which win
    over the seed's for the same paper), over the default taxonomy plus any custom
    categories (slug -> description; an empty description is allowed)."""
    extra = dict(extra_categories or {})
    examples = merge_examples(load_seed(), user_examples)
    seen = {label for ex in examples for label in ex.labels}
    categories = category_order(sorted(set(DEFAULT_SLUGS) | set(extra) | seen))
    return TriageClassifier(categories, descriptions=extra).fit(examples)
