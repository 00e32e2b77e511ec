"""`adapt-triage eval`: the per-category table and the baselines, model first."""

from __future__ import annotations

import json

from helpers import run

from adapt_triage.taxonomy import DEFAULT_SLUGS


def test_eval_table_has_every_category_and_the_three_baselines():
    result = run(["eval", "--folds", "3", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for slug in DEFAULT_SLUGS:
        assert any(line.startswith(slug + " ") for line in lines), slug
    methods = {line.split()[0] for line in lines if line.split()[:1]}
    assert {"model", "keywords", "tfidf-nb", "tfidf-svm"} <= methods


def test_eval_json_shows_the_model_above_every_baseline_on_macro_f1():
    result = run(["eval", "--format", "json", "--folds", "5", "--repeats", "1"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["n_examples"] == 71
    macro = {name: m["macro"]["f1"]["mean"] for name, m in report["methods"].items()}
    assert set(macro) == {"model", "keywords", "tfidf-nb", "tfidf-svm"}
    for baseline in ("keywords", "tfidf-nb", "tfidf-svm"):
        assert macro["model"] > macro[baseline], macro
    per = report["methods"]["model"]["per_category"]
    assert set(per) == set(DEFAULT_SLUGS)
    assert all(0 <= per[c]["f1"]["mean"] <= 1 for c in per)


def test_eval_rejects_too_few_folds():
    result = run(["eval", "--folds", "1"])
    assert result.exit_code == 2
