"""Cross-validated quality of the classifier, next to three baselines under the same folds.

`cross_validate(examples)` repeats a multi-label stratified k-fold split (iterative
stratification, Sechidis et al. 2011), trains a fresh model on each training part and
predicts each held-out paper exactly once per repeat. Precision, recall and F1 are computed
per category on the pooled held-out predictions of a repeat, then averaged over repeats
(mean and standard deviation). Macro averages run over the categories that occur in the
data (support > 0); micro averages pool every (paper, category) decision.

Baselines a user might otherwise pick, trained on the same folds:

* ``keywords``: the taxonomy's typical words as rules; a paper gets every category with a
  typical word in its title or abstract, `off-topic` when none matches.
* ``tfidf-nb``: ASReview v1 style: TF-IDF (English stop words) + multinomial naive Bayes,
  one-vs-rest, probability >= 0.5, else the top category. scikit-learn's default smoothing
  (alpha 1) and uniform class priors (the naive-Bayes form of class balancing; with the
  fitted priors nothing rare is ever predicted).
* ``tfidf-svm``: arxiv-sanity-lite / ASReview v2 style: TF-IDF (1-2-grams, sublinear tf,
  max_df 0.95) + LinearSVC (balanced class weights, scikit-learn's default C=1, which does
  better here than ASReview's ranking-tuned 0.11), one-vs-rest, positive decision value,
  else the top category.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from adapt_triage.classify import Example, TriageClassifier, merge_examples, paper_text
from adapt_triage.eval_parallel import run_all
from adapt_triage.eval_tfidf import CachedTfidf
from adapt_triage.paper import clean_text
from adapt_triage.taxonomy import DEFAULT_CATEGORIES, DEFAULT_SLUGS, OFF_TOPIC, category_order

__all__ = [
    "EvalReport",
    "KeywordRules",
    "NaiveBayesBaseline",
    "LinearSVMBaseline",
    "cross_validate",
    "iterative_stratified_folds",
]

MODEL = "model"


class Model(Protocol):
    def fit(self, examples: Sequence[Example]) -> Any: ...

    def predict(self, papers: Sequence[Any]) -> list[tuple[list[str], dict[str, float]]]: ...


# ---------------------------------------------------------------------------------------------
# Folds


def iterative_stratified_folds(
    label_sets: Sequence[Sequence[str]], n_folds: int, rng: np.random.Generator
) -> list[list[int]]:
    """Split item indices into `n_folds` folds so that each label is spread over the folds
    as evenly as possible, rarest labels first (iterative stratification)."""
    n = len(label_sets)
    if n_folds < 2 or n_folds > n:
        raise ValueError(f"cannot make {n_folds} folds from {n} examples")
    remaining = set(range(n))
    want_total = np.full(n_folds, n / n_folds)
    labels = sorted({label for labels in label_sets for label in labels})
    want = {
        label: np.full(n_folds, sum(label in s for s in label_sets) / n_folds) for label in labels
    }
    folds: list[list[int]] = [[] for _ in range(n_folds)]

    def assign(i: int, fold: int) -> None:
        folds[fold].append(i)
        remaining.discard(i)
        want_total[fold] -= 1
        for label in set(label_sets[i]):
            want[label][fold] -= 1

    while remaining:
        counts = {label: sum(1 for i in remaining if label in label_sets[i]) for label in labels}
        live = [label for label in labels if counts[label] > 0]
        if not live:  # unlabeled leftovers: fill the emptiest folds
            for i in sorted(remaining):
                assign(i, int(np.argmax(want_total)))
            break
        fewest = min(counts[label] for label in live)
        rarest = [label for label in live if counts[label] == fewest]
        label = rarest[int(rng.integers(len(rarest)))]
        members = [i for i in sorted(remaining) if label in label_sets[i]]
        for i in rng.permutation(members):
            best = want[label].max()
            tied = np.flatnonzero(want[label] == best)
            if len(tied) > 1:
                best_total = want_total[tied].max()
                tied = tied[want_total[tied] == best_total]
            assign(int(i), int(tied[int(rng.integers(0, len(tied)))]))
    return [sorted(f) for f in folds]


# ---------------------------------------------------------------------------------------------
# Baselines


def _keyword_parts(word: str) -> list[str]:
    parts = re.split(r"[\s-]+", word.lower().strip())
    if len(parts[-1]) > 4 and parts[-1].endswith("e"):
        parts[-1] = parts[-1][:-1]
    return parts


def _keyword_pattern(word: str) -> re.Pattern[str]:
    """`fine-tune` matches fine-tune, fine-tuned, fine-tuning, fine tuning; `adapter`
    matches adapters; hyphen and space are interchangeable."""
    parts = [re.escape(p) for p in _keyword_parts(word)]
    parts[-1] += r"\w*"
    return re.compile(r"\b" + r"[\s-]?".join(parts), re.IGNORECASE)


class KeywordRules:
    """Keyword rules from the taxonomy's typical words (no training)."""

    name = "keywords"

    def __init__(self, typical_words: Mapping[str, Sequence[str]] | None = None) -> None:
        words = typical_words or {c.slug: c.typical_words for c in DEFAULT_CATEGORIES}
        self.patterns = {
            slug: [_keyword_pattern(w) for w in ws] for slug, ws in words.items() if ws
        }
        # Every match starts with the word's first part: where both it and the text are
        # ASCII, a text without it in lower case has no match (a cheap test before the regex).
        self.first_parts = {
            slug: [_keyword_parts(w)[0] for w in ws] for slug, ws in words.items() if ws
        }
        self.categories = category_order(list(words))

    def _hits(self, text: str) -> dict[str, int]:
        if not text.isascii():
            return {
                slug: sum(len(p.findall(text)) for p in patterns)
                for slug, patterns in self.patterns.items()
            }
        lower = text.lower()
        return {
            slug: sum(
                len(p.findall(text))
                for p, first in zip(patterns, self.first_parts[slug], strict=True)
                if first in lower or not first.isascii()
            )
            for slug, patterns in self.patterns.items()
        }

    def fit(self, examples: Sequence[Example]) -> KeywordRules:
        return self

    def predict(self, papers: Sequence[Any]) -> list[tuple[list[str], dict[str, float]]]:
        out = []
        for paper in papers:
            title, abstract = paper_text(paper)
            text = clean_text(f"{title}. {abstract}")
            hits = self._hits(text)
            total = sum(hits.values())
            scores = {c: (hits.get(c, 0) / total if total else 0.0) for c in self.categories}
            if not total:
                scores[OFF_TOPIC] = 1.0
                out.append(([OFF_TOPIC], scores))
                continue
            order = {c: i for i, c in enumerate(self.categories)}
            labels = sorted((c for c, h in hits.items() if h), key=lambda c: (-hits[c], order[c]))
            out.append((labels, scores))
        return out


class _OneVsRest:
    """One-vs-rest over a TF-IDF matrix; `_positive` turns raw outputs into decisions."""

    name = ""

    def _vectorizer(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _estimator(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, examples: Sequence[Example]) -> _OneVsRest:
        seen = {label for ex in examples for label in ex.labels}
        self.categories = category_order(sorted(set(DEFAULT_SLUGS) | seen))
        texts = [" ".join(paper_text(ex)) for ex in examples]
        self.vectorizer = self._vectorizer()
        X = self.vectorizer.fit_transform(texts)
        self.models: dict[str, Any] = {}
        self.constant: dict[str, float] = {}
        for slug in self.categories:
            y = np.array([slug in ex.labels for ex in examples])
            if y.all() or not y.any():
                self.constant[slug] = self._constant_output(bool(y.all()))
                continue
            self.models[slug] = self._estimator().fit(X, y)
        return self

    def _raw(self, X) -> dict[str, np.ndarray]:
        raise NotImplementedError  # pragma: no cover

    def _constant_output(self, positive: bool) -> float:
        raise NotImplementedError  # pragma: no cover

    def _is_positive(self, value: float) -> bool:
        raise NotImplementedError  # pragma: no cover

    def predict(self, papers: Sequence[Any]) -> list[tuple[list[str], dict[str, float]]]:
        papers = list(papers)
        X = self.vectorizer.transform([" ".join(paper_text(p)) for p in papers])
        raw = self._raw(X)
        for slug, value in self.constant.items():
            raw[slug] = np.full(len(papers), value)
        out = []
        order = {c: i for i, c in enumerate(self.categories)}
        for row in range(len(papers)):
            scores = {c: float(raw[c][row]) for c in self.categories}
            ranked = sorted(self.categories, key=lambda c: (-scores[c], order[c]))
            labels = [c for c in ranked if self._is_positive(scores[c])] or ranked[:1]
            out.append((labels, scores))
        return out


class NaiveBayesBaseline(_OneVsRest):
    """TF-IDF + multinomial naive Bayes (ASReview v1 style)."""

    name = "tfidf-nb"

    def __init__(self, alpha: float = 1.0, fit_prior: bool = False) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior

    def _vectorizer(self):
        return CachedTfidf(stop_words="english")

    def _estimator(self):
        from sklearn.naive_bayes import MultinomialNB

        return MultinomialNB(alpha=self.alpha, fit_prior=self.fit_prior)

    def _raw(self, X) -> dict[str, np.ndarray]:
        return {slug: m.predict_proba(X)[:, 1] for slug, m in self.models.items()}

    def _constant_output(self, positive: bool) -> float:
        return 1.0 if positive else 0.0

    def _is_positive(self, value: float) -> bool:
        return value >= 0.5


class LinearSVMBaseline(_OneVsRest):
    """TF-IDF (1-2-grams, sublinear tf) + LinearSVC with balanced class weights, as in
    ASReview v2's default model and arxiv-sanity-lite."""

    name = "tfidf-svm"

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def _vectorizer(self):
        return CachedTfidf(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95)

    def _estimator(self):
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, class_weight="balanced", random_state=0)

    def _raw(self, X) -> dict[str, np.ndarray]:
        return {slug: m.decision_function(X) for slug, m in self.models.items()}

    def _constant_output(self, positive: bool) -> float:
        return 1.0 if positive else -1.0

    def _is_positive(self, value: float) -> bool:
        return value > 0


BASELINES: dict[str, Callable[[], Model]] = {
    KeywordRules.name: KeywordRules,
    NaiveBayesBaseline.name: NaiveBayesBaseline,
    LinearSVMBaseline.name: LinearSVMBaseline,
}


# ---------------------------------------------------------------------------------------------
# Metrics and the report


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _mean_sd(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": round(float(arr.mean()), 4), "sd": round(sd, 4)}


def _score_repeat(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], categories: Sequence[str]
) -> dict[str, Any]:
    per: dict[str, tuple[float, float, float]] = {}
    pairs = [(set(t), set(p)) for t, p in zip(truth, predicted, strict=True)]
    tp_all = fp_all = fn_all = 0
    for c in categories:
        tp = sum(1 for t, p in pairs if c in t and c in p)
        fp = sum(1 for t, p in pairs if c not in t and c in p)
        fn = sum(1 for t, p in pairs if c in t and c not in p)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        per[c] = _prf(tp, fp, fn)
    micro = _prf(tp_all, fp_all, fn_all)
    macro = tuple(float(np.mean([per[c][k] for c in categories])) for k in range(3))
    top1 = float(np.mean([bool(p) and p[0] in t for t, p in zip(truth, predicted, strict=True)]))
    cardinality = float(np.mean([len(p) for p in predicted]))
    return {
        "per": per,
        "micro": micro,
        "macro": macro,
        "top1": top1,
        "cardinality": cardinality,
    }


@dataclass
class MethodResult:
    name: str
    per_category: dict[str, dict[str, dict[str, float]]]  # cat -> metric -> {mean, sd}
    micro: dict[str, dict[str, float]]
    macro: dict[str, dict[str, float]]
    top1: dict[str, float]
    labels_per_paper: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_category": self.per_category,
            "micro": self.micro,
            "macro": self.macro,
            "top1_accuracy": self.top1,
            "labels_per_paper": self.labels_per_paper,
        }


@dataclass
class EvalReport:
    """Cross-validated precision/recall/F1 of the model and the baselines."""

    n_examples: int
    folds: int
    repeats: int
    seed: int
    categories: list[str]
    support: dict[str, int]
    methods: dict[str, MethodResult] = field(default_factory=dict)
    model_version: str = ""
    model_description: str = ""
    n_extra: int = 0  # papers in every training fold, never scored (the real-day sample)

    @property
    def model(self) -> MethodResult:
        return self.methods[MODEL]

    def macro_f1(self, method: str = MODEL) -> float:
        return self.methods[method].macro["f1"]["mean"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_examples": self.n_examples,
            "n_extra_training": self.n_extra,
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "model_version": self.model_version,
            "model": self.model_description,
            "categories": list(self.categories),
            "support": dict(self.support),
            "methods": {name: m.to_dict() for name, m in self.methods.items()},
        }

    def render(self) -> str:
        """A plain-text report: per-category rows for the model, then a summary of the
        model and each baseline (mean ± sd over repeats)."""

        def pm(stat: Mapping[str, float]) -> str:
            return f"{stat['mean']:.2f}±{stat['sd']:.2f}"

        width = max([len("category"), *(len(c) for c in self.categories)])
        lines = [
            f"Cross-validation: {self.n_examples} labeled papers, {self.folds}-fold x "
            f"{self.repeats} repeats (seed {self.seed}); mean±sd over repeats"
            + (
                f"; every training fold also holds the {self.n_extra} real-day papers"
                if self.n_extra
                else ""
            ),
            "",
            f"{'category':<{width}}  {'support':>7}  {'precision':>9}  {'recall':>9}  {'F1':>9}",
        ]
        model = self.model
        for c in self.categories:
            row = model.per_category[c]
            lines.append(
                f"{c:<{width}}  {self.support[c]:>7}  {pm(row['precision']):>9}  "
                f"{pm(row['recall']):>9}  {pm(row['f1']):>9}"
            )
        lines += [
            "",
            f"{'method':<10}  {'micro-P':>9}  {'micro-R':>9}  {'micro-F1':>9}  {'macro-P':>9}  "
            f"{'macro-R':>9}  {'macro-F1':>9}  {'top-1':>9}",
        ]
        for name, m in self.methods.items():
            lines.append(
                f"{name:<10}  {pm(m.micro['precision']):>9}  {pm(m.micro['recall']):>9}  "
                f"{pm(m.micro['f1']):>9}  {pm(m.macro['precision']):>9}  "
                f"{pm(m.macro['recall']):>9}  {pm(m.macro['f1']):>9}  {pm(m.top1):>9}"
            )
        lines += [
            "",
            "macro = unweighted mean over the categories with support > 0; "
            "top-1 = first label is correct.",
        ]
        if self.model_description:
            lines.append(f"model: {self.model_description}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _summarise(name: str, repeats: list[dict[str, Any]], categories: Sequence[str]) -> MethodResult:
    metrics = ("precision", "recall", "f1")
    per = {
        c: {m: _mean_sd([r["per"][c][k] for r in repeats]) for k, m in enumerate(metrics)}
        for c in categories
    }
    micro = {m: _mean_sd([r["micro"][k] for r in repeats]) for k, m in enumerate(metrics)}
    macro = {m: _mean_sd([r["macro"][k] for r in repeats]) for k, m in enumerate(metrics)}
    return MethodResult(
        name,
        per,
        micro,
        macro,
        _mean_sd([r["top1"] for r in repeats]),
        _mean_sd([r["cardinality"] for r in repeats]),
    )


def known_models(factories: Mapping[str, Callable[[], Model]]) -> bool:
    """Whether every factory is one of the product's models (no side effects, so their fits
    may run in other processes)."""
    return all(f in (TriageClassifier, *BASELINES.values()) for f in factories.values())


def prepare(factories: Mapping[str, Callable[[], Model]], papers: Sequence[Any]) -> None:
    """What every fit would do again, done once before the fits (forked workers inherit
    it): import scikit-learn's models, count the TF-IDF baselines' terms of every paper."""
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.naive_bayes  # noqa: F401
    import sklearn.svm  # noqa: F401

    texts = [" ".join(paper_text(p)) for p in papers]
    for factory in factories.values():
        if isinstance(factory, type) and issubclass(factory, _OneVsRest):
            factory()._vectorizer().count(texts)


def _predict_folds(
    examples: Sequence[Example],
    split: Sequence[Sequence[int]],
    factories: Mapping[str, Callable[[], Model]],
    extra_training: Sequence[Example],
) -> dict[str, list[list[str]]]:
    """Each method's predicted labels for every example, from the model trained on the
    other folds (plus `extra_training`)."""
    tasks = [(fold, name) for fold in range(len(split)) for name in factories]

    def predicted_labels(task: int) -> list[list[str]]:
        fold, name = tasks[task]
        test_set = set(split[fold])
        train = [ex for i, ex in enumerate(examples) if i not in test_set]
        train += list(extra_training)
        model = factories[name]()
        model.fit(train)
        return [list(found) for found, _ in model.predict([examples[i] for i in split[fold]])]

    predictions: dict[str, list[list[str]]] = {name: [[] for _ in examples] for name in factories}
    done = run_all(predicted_labels, len(tasks), parallel=known_models(factories))
    for (fold, name), predicted in zip(tasks, done, strict=True):
        for i, label_list in zip(split[fold], predicted, strict=True):
            predictions[name][i] = label_list
    return predictions


def cross_validate(
    examples: Sequence[Example],
    *,
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    model_factory: Callable[[], Model] = TriageClassifier,
    baselines: bool | Mapping[str, Callable[[], Model]] = True,
    extra_training: Sequence[Example] = (),
) -> EvalReport:
    """Repeated multi-label stratified k-fold cross-validation of `model_factory()` and,
    under the same folds, of the baselines (`True` for the three standard ones, a mapping
    name -> factory for others, `False` for none). `extra_training` papers (the real-day
    sample) are in every training fold and never scored."""
    examples = merge_examples(examples)  # one record per paper: a user's labels win
    if len(examples) < folds:
        raise ValueError(f"cross-validation needs at least {folds} labeled papers")
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    label_sets = [list(ex.labels) for ex in examples]
    seen = {label for s in label_sets for label in s}
    categories = [c for c in category_order(sorted(seen)) if c in seen]  # support > 0
    support = {c: sum(c in s for s in label_sets) for c in categories}
    if baselines is True:
        factories: dict[str, Callable[[], Model]] = dict(BASELINES)
    elif baselines:
        factories = dict(baselines)
    else:
        factories = {}
    factories = {MODEL: model_factory, **factories}

    if known_models(factories):
        prepare(factories, [*examples, *extra_training])
    rng = np.random.default_rng(seed)
    per_method: dict[str, list[dict[str, Any]]] = {name: [] for name in factories}
    for _ in range(repeats):
        split = iterative_stratified_folds(label_sets, folds, rng)
        predictions = _predict_folds(examples, split, factories, extra_training)
        for name in factories:
            per_method[name].append(_score_repeat(label_sets, predictions[name], categories))

    final = model_factory()
    version = ""
    if isinstance(final, TriageClassifier):  # the version `fit` would give, without fitting
        version = final.training_key(list(examples) + list(extra_training))[:12]
    report = EvalReport(
        n_examples=len(examples),
        folds=folds,
        repeats=repeats,
        seed=seed,
        categories=categories,
        support=support,
        model_version=version,
        model_description=repr(final),
        n_extra=len(extra_training),
    )
    for name, results in per_method.items():
        report.methods[name] = _summarise(name, results, categories)
    return report
