"""Cross-validation: honest folds, the report's structure, the baselines, and the product's
model beating every baseline on macro-F1 on the seed set."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

import numpy as np
import pytest

from adapt_triage.classify import Example, TriageClassifier, load_realday, load_seed, paper_text
from adapt_triage.eval_tfidf import CachedTfidf
from adapt_triage.evaluate import (
    EvalReport,
    KeywordRules,
    LinearSVMBaseline,
    NaiveBayesBaseline,
    cross_validate,
    iterative_stratified_folds,
)
from adapt_triage.realday_eval import evaluate_real_days, realday_drawn
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC


@pytest.fixture(scope="module")
def seed() -> list[Example]:
    return load_seed()


@pytest.fixture(scope="module")
def report(eval_run):
    """The seed view of the session's `adapt-triage eval --folds 5 --repeats 1` (conftest):
    `cross_validate` of the seed set, the real-day sample in every training fold."""
    report = eval_run.report.seed_cv
    assert isinstance(report, EvalReport)
    return report


def test_folds_partition_and_spread_every_label(seed):
    label_sets = [ex.labels for ex in seed]
    folds = iterative_stratified_folds(label_sets, 5, np.random.default_rng(0))
    assert sorted(i for f in folds for i in f) == list(range(len(seed)))
    assert max(map(len, folds)) - min(map(len, folds)) <= 3
    for label in Counter(x for s in label_sets for x in s):
        per_fold = [sum(label in label_sets[i] for i in f) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, (label, per_fold)
    again = iterative_stratified_folds(label_sets, 5, np.random.default_rng(0))
    other = iterative_stratified_folds(label_sets, 5, np.random.default_rng(1))
    assert again == folds and other != folds
    with pytest.raises(ValueError):
        iterative_stratified_folds(label_sets[:3], 5, np.random.default_rng(0))


class Spy:
    """Records what every model instance was trained on and asked to predict."""

    calls: list[tuple[set[str], list[str]]] = []

    def fit(self, examples):
        self.train = {ex.title for ex in examples}
        return self

    def predict(self, papers):
        titles = [p.title for p in papers]
        Spy.calls.append((self.train, titles))
        return [([OFF_TOPIC], {}) for _ in papers]


def test_held_out_papers_are_never_trained_on(seed):
    Spy.calls = []
    cross_validate(seed, folds=4, repeats=2, model_factory=Spy, baselines=False)
    assert len(Spy.calls) == 8
    for repeat in (Spy.calls[:4], Spy.calls[4:]):
        predicted = [t for _, titles in repeat for t in titles]
        assert sorted(predicted) == sorted(ex.title for ex in seed)  # each once per repeat
        for train, titles in repeat:
            assert not train & set(titles)
            assert len(train) + len(titles) == len(seed)
    assert Spy.calls[0][1] != Spy.calls[4][1]  # repeats reshuffle


def test_report_structure_and_json(report, seed):
    assert set(report.methods) == {"model", "keywords", "tfidf-nb", "tfidf-svm"}
    assert report.categories == list(DEFAULT_SLUGS)
    assert sum(report.support.values()) == sum(len(ex.labels) for ex in seed)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_examples"] == 71 and data["folds"] == 5 and data["repeats"] == 1
    assert data["n_extra_training"] == len(load_realday())
    assert len(data["model_version"]) == 12
    model = data["methods"]["model"]
    assert set(model["per_category"]) == set(DEFAULT_SLUGS)
    for stats in [*model["per_category"].values(), model["micro"], model["macro"]]:
        for metric in ("precision", "recall", "f1"):
            assert 0.0 <= stats[metric]["mean"] <= 1.0 and stats[metric]["sd"] >= 0.0
    text = report.render()
    assert "lora" in text and "off-topic" in text and "macro-F1" in text
    for name in report.methods:
        assert f"\n{name} " in text


def test_model_beats_every_baseline_on_macro_f1(report):
    model = report.macro_f1("model")
    for baseline in ("keywords", "tfidf-nb", "tfidf-svm"):
        assert model > report.macro_f1(baseline) + 0.05, (baseline, report.render())


def test_macro_average_is_over_categories_in_the_data():
    examples = [
        Example(f"low-rank adapters {i}", "LoRA low-rank decomposition update", ["lora"])
        for i in range(4)
    ] + [
        Example(f"neurons {i}", "cortical neurons adapt their firing rates", [OFF_TOPIC])
        for i in range(4)
    ]
    result = cross_validate(examples, folds=2, repeats=2, baselines=False)
    assert result.categories == ["lora", OFF_TOPIC]
    per = result.model.per_category
    expected = np.mean([per[c]["f1"]["mean"] for c in result.categories])
    assert result.macro_f1() == pytest.approx(expected, abs=1e-3)


def test_duplicate_papers_are_merged_with_the_later_labels_winning(seed):
    Spy.calls = []
    relabel = Example(seed[0].title, seed[0].abstract, ["compression"])
    report = cross_validate(
        [*seed, relabel], folds=3, repeats=1, model_factory=Spy, baselines=False
    )
    assert report.n_examples == 71
    assert report.support["compression"] == sum("compression" in e.labels for e in seed) + 1


def test_too_few_examples_is_a_clear_error(seed):
    with pytest.raises(ValueError, match="at least 5"):
        cross_validate(seed[:3])


def test_keyword_rules_baseline():
    rules = KeywordRules()
    (labels, scores), (none, _) = rules.predict(
        [
            (
                "Fine-tuning with adapters",
                "We fine-tuned bottleneck adapters on a frozen backbone.",
            ),
            ("Cortical gain control", "Neurons in V1 change their gain with stimulus contrast."),
        ]
    )
    assert labels[0] == "adapters" and "fine-tuning" in labels
    assert none == [OFF_TOPIC]
    assert set(scores) == set(DEFAULT_SLUGS)


def test_keyword_rules_find_words_in_text_that_stays_non_ascii():
    rules = KeywordRules({"lora": ["low-rank"], "adapters": ["adapter"], OFF_TOPIC: []})
    (first, _), (second, _) = rules.predict(
        [
            ("Идея: LOW RANK updates", "Low-rank factors cost 5 €."),  # Cyrillic stays
            ("Адаптеры", "Adapters, and one low-rank update."),  # and both of a tie
        ]
    )
    assert first == ["lora"] and second == ["lora", "adapters"]  # a tie: taxonomy order


@pytest.mark.parametrize(
    "settings",
    [
        {"stop_words": "english"},  # the naive-Bayes baseline's
        {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1, "max_df": 0.95},  # the SVM's
        {"min_df": 2, "max_df": 0.5},  # pruning at both ends
    ],
)
def test_cached_tfidf_gives_scikit_learns_matrices_entry_for_entry(seed, settings):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [" ".join(paper_text(ex)) for ex in seed]
    for train, test in ((texts[20:], texts[:20]), (texts[:50], texts[40:])):  # cached again
        expected, ours = TfidfVectorizer(**settings), CachedTfidf(**settings)
        pairs = [
            (expected.fit_transform(train), ours.fit_transform(train)),
            (expected.transform(test), ours.transform(test)),
        ]
        assert ours.vocabulary_ == expected.vocabulary_
        for want, got in pairs:
            assert want.shape == got.shape
            assert np.array_equal(want.indptr, got.indptr)
            assert np.array_equal(want.indices, got.indices)  # the same order in each row
            assert np.array_equal(want.data, got.data)
    with pytest.raises(ValueError, match="empty vocabulary"):
        CachedTfidf(stop_words="english").fit_transform(["the and of", "a"])


@pytest.mark.parametrize("baseline", [NaiveBayesBaseline, LinearSVMBaseline])
def test_trained_baselines_label_every_paper(seed, baseline):
    model = baseline().fit(seed[10:])
    for labels, scores in model.predict(seed[:10]):
        assert labels and set(labels) <= set(DEFAULT_SLUGS)
        assert set(scores) == set(DEFAULT_SLUGS)


def test_custom_labels_in_user_examples_are_evaluated(seed):
    extra = [
        Example(
            f"Protein language model {i}",
            f"We adapt a protein language model {i}.",
            ["protein-models"],
        )
        for i in range(5)
    ]
    report = cross_validate(
        [*seed, *extra], folds=5, repeats=1, baselines=False, model_factory=TriageClassifier
    )
    assert "protein-models" in report.categories
    assert report.support["protein-models"] == 5
    assert report.model.per_category["protein-models"]["f1"]["mean"] > 0.5


def test_run_all_keeps_task_order_and_raises_a_workers_error(monkeypatch):
    from adapt_triage import eval_parallel

    monkeypatch.setattr(eval_parallel, "cores", lambda: 2)
    assert eval_parallel.run_all(lambda i: (i, os.getpid()), 0) == []
    results = eval_parallel.run_all(lambda i: (i * i, os.getpid()), 7)
    assert [r for r, _ in results] == [i * i for i in range(7)]
    if sys.platform.startswith("linux"):
        assert os.getpid() not in {pid for _, pid in results}  # computed by the workers
    serial = eval_parallel.run_all(lambda i: (i, os.getpid()), 3, parallel=False)
    assert serial == [(i, os.getpid()) for i in range(3)]

    def fails(i: int) -> int:
        if i == 2:
            raise ValueError("fold 2 cannot be fitted")
        return i

    with pytest.raises(ValueError, match="fold 2"):
        eval_parallel.run_all(fails, 4)


def test_the_report_is_the_same_with_one_core_or_two(seed, monkeypatch):
    from adapt_triage import eval_parallel

    realday = load_realday()[::40]  # fifty real-day papers: both views, quickly
    reports = []
    for n in (1, 2):
        monkeypatch.setattr(eval_parallel, "cores", lambda n=n: n)
        seed_cv = cross_validate(seed, folds=2, repeats=1, extra_training=realday)
        days = evaluate_real_days(seed, realday, realday_drawn(), folds=2)
        reports.append((seed_cv.to_dict(), days.to_dict()))
    assert reports[0] == reports[1]
    assert "test" in reports[0][1]["views"] and reports[0][0]["n_extra_training"] == 50
