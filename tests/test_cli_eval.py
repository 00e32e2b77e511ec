"""`adapt-triage eval`: (a) the seed cross-validation, (b) real days grouped by day and the
held-out days, (c) the baselines on the same folds; model first.

The figures come from one run of `eval --format json --folds 5 --repeats 1` for the session
(conftest's `eval_run`, about a minute); the table test prints that same report again."""

from __future__ import annotations

import re

import pytest
from conftest import EVAL_ARGS
from helpers import run

from adapt_triage import realday_eval
from adapt_triage.realday_eval import TEST_DAYS
from adapt_triage.taxonomy import DEFAULT_SLUGS

BASELINES = ("keywords", "tfidf-nb", "tfidf-svm")


@pytest.fixture(scope="module")
def report(eval_run) -> dict:
    return eval_run.output


@pytest.fixture(scope="module")
def real_days(report) -> dict:
    return report["real_days"]


def test_eval_table_shows_the_three_views(eval_run, monkeypatch):
    """The table format of the same command: `evaluate_all` hands back the session run's
    report (after checking it is asked for the same thing) instead of computing it again."""

    def same_run(*args, **kwargs):
        assert (args, kwargs) == eval_run.call
        return eval_run.report

    monkeypatch.setattr(realday_eval, "evaluate_all", same_run)
    table_args = [a for a in EVAL_ARGS if a not in ("--format", "json")]
    assert table_args == ["eval", "--folds", "5", "--repeats", "1"]
    result = run(table_args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = out.splitlines()
    for slug in DEFAULT_SLUGS:
        assert any(line.startswith(slug + " ") for line in lines), slug
    methods = {line.split()[0] for line in lines if line.split()[:1]}
    assert {"model", *BASELINES} <= methods
    assert "(a) Cross-validation" in out and "(b, c) Real days, grouped by day" in out
    assert "Real days held out: " + ", ".join(TEST_DAYS) in out
    assert "papers drawn at random" in out and "reliability of the first label" in out
    assert "score 0.9-1.0" in out
    # the figures of the JSON output, in the table's rows
    macro = eval_run.output["seed_cv"]["methods"]["model"]["macro"]["f1"]
    (model_row,) = [line for line in lines if line.startswith("model ")]
    assert model_row.split()[6] == f"{macro['mean']:.2f}±{macro['sd']:.2f}"
    held_out = eval_run.output["real_days"]["views"]["test"]["all"]["model"]
    rows = [line.split() for line in lines if re.match(r"  model +\d", line)]
    assert len(rows) == 4  # (random, all) x (day folds, held-out days); the last is this
    assert rows[-1][1:4] == [f"{held_out[k]:.2f}" for k in ("precision", "recall", "f1")]


def test_eval_seed_json_shows_the_model_above_every_baseline_on_macro_f1(report):
    assert set(report) == {"seed_cv", "real_days"}
    report = report["seed_cv"]
    assert report["n_examples"] == 71 and report["n_extra_training"] >= 1200
    macro = {name: m["macro"]["f1"]["mean"] for name, m in report["methods"].items()}
    assert set(macro) == {"model", *BASELINES}
    for baseline in BASELINES:
        assert macro["model"] > macro[baseline], macro
    per = report["methods"]["model"]["per_category"]
    assert set(per) == set(DEFAULT_SLUGS)
    assert all(0 <= per[c]["f1"]["mean"] <= 1 for c in per)


def test_real_day_folds_never_train_on_a_papers_own_day(real_days):
    assert set(real_days["test_days"]) == set(TEST_DAYS)
    assert not set(real_days["dev_days"]) & set(TEST_DAYS)
    assert len(real_days["dev_days"]) >= 10
    assert real_days["n_dev"] + real_days["n_test"] >= 1200


def test_model_beats_every_baseline_on_the_real_day_folds(real_days):
    """On the development folds (grouped by day): on-topic F1 and primary accuracy, on the
    papers drawn at random and on all labeled papers."""
    for subset in ("random", "all"):
        methods = real_days["views"]["cv"][subset]
        model = methods["model"]
        for baseline in BASELINES:
            assert model["f1"] > methods[baseline]["f1"], (subset, baseline)
            assert model["primary_accuracy_strict"] > methods[baseline]["primary_accuracy_strict"]


def test_real_day_report_has_every_figure(real_days):
    for view in ("cv", "test"):
        for subset in ("random", "all"):
            figures = real_days["views"][view][subset]["model"]
            for name in ("precision", "recall", "f1", "primary_accuracy"):
                assert 0.0 <= figures[name] <= 1.0
            assert figures["papers"] >= figures["on_topic"] > 0
            bins = [row["bin"] for row in figures["reliability"]]
            assert bins == ["0.9-1.0", "0.7-0.9", "0.5-0.7", "0.0-0.5"]
            assert sum(row["papers"] for row in figures["reliability"]) == figures["papers"]
            assert set(figures["per_category"]) <= set(DEFAULT_SLUGS)


def test_eval_rejects_too_few_folds():
    result = run(["eval", "--folds", "1"])
    assert result.exit_code == 2
