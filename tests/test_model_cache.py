"""The fitted-model cache: keyed on the training data, safe to load, rebuilt when bad, shared
safely by concurrent processes; and the numpy predict path equals the fitted model."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from adapt_triage import modelcache
from adapt_triage.classify import (
    Example,
    TriageClassifier,
    build_default,
    load_realday,
    load_seed,
    training_examples,
)
from adapt_triage.textfeatures import STOP_WORDS

LORA = (
    "Rank-adaptive low-rank adapters for language models",
    "We freeze a pretrained language model and learn a low-rank update of its weights, as in "
    "LoRA, allocating the rank of each layer from the singular values of the update.",
)


def model_files(directory):
    return sorted(directory.glob("model-*.npz"))


@pytest.fixture(scope="module")
def fitted() -> TriageClassifier:
    """The product model, fitted in this process (scikit-learn objects kept)."""
    return TriageClassifier().fit(training_examples())


def small(directory, examples=None, **params) -> TriageClassifier:
    """The cache path with a small training set (the seed page), which fits in a blink."""
    examples = load_seed() if examples is None else examples
    return modelcache.load_or_fit(TriageClassifier(**params), examples, directory)


def test_a_second_build_loads_the_cached_model(tmp_path):
    first = small(tmp_path)
    (path,) = model_files(tmp_path)
    again = small(tmp_path)
    assert not hasattr(again, "vectorizer_")  # loaded, not fitted
    assert again.model_version == first.model_version
    assert again.predict([LORA]) == first.predict([LORA])
    assert model_files(tmp_path) == [path]


def test_the_product_model_is_cached_in_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv(modelcache.CACHE_ENV, str(tmp_path / "models"))
    model = build_default()
    assert len(model_files(tmp_path / "models")) == 1
    assert build_default().model_version == model.model_version


def test_a_changed_label_gives_a_new_model(tmp_path):
    seed = load_seed()
    base = small(tmp_path, seed)
    relabeled = [Example(seed[3].title, seed[3].abstract, ["compression"]), *seed[:3], *seed[4:]]
    changed = small(tmp_path, relabeled)
    assert changed.model_version != base.model_version
    assert len(model_files(tmp_path)) == 2
    # a new category (with its description) or another parameter changes the model too
    other = small(tmp_path, seed, categories=[*base.categories_[:-1], "protein", "off-topic"])
    assert other.model_version not in {base.model_version, changed.model_version}
    assert small(tmp_path, seed, C=1.0).model_version != base.model_version
    # and the same data again finds its file
    assert small(tmp_path, relabeled).model_version == changed.model_version
    assert not hasattr(small(tmp_path, relabeled), "vectorizer_")


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "empty", "foreign-format", "wrong-shape", "pickled-object"],
)
def test_a_bad_cache_file_is_rebuilt_silently(tmp_path, damage, capsys):
    good = small(tmp_path)
    (path,) = model_files(tmp_path)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00not a model\xff" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.array(npz[k]) for k in npz.files}
        meta = json.loads(arrays["meta"].tobytes())
        if damage == "foreign-format":
            meta["format"] = "someone-else/9"
        elif damage == "wrong-shape":
            arrays["coef"] = arrays["coef"][:, :-1]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        if damage == "pickled-object":
            arrays["coef"] = np.array([{"payload": 1}], dtype=object)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    key = TriageClassifier().training_key(load_seed())
    assert modelcache.load(key, tmp_path) is None
    rebuilt = small(tmp_path)  # no error, nothing printed: the model is fitted again
    assert hasattr(rebuilt, "vectorizer_")
    assert rebuilt.model_version == good.model_version
    assert rebuilt.predict([LORA]) == good.predict([LORA])
    assert modelcache.load(key, tmp_path) is not None
    assert capsys.readouterr() == ("", "")


def test_the_cache_holds_no_pickle(tmp_path):
    small(tmp_path)
    (path,) = model_files(tmp_path)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            header = archive.read(name)[:128]
            assert b"'descr': '|O'" not in header and b"'descr': 'O'" not in header, name
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"meta", "terms", "idf", "gate_coef", "coef", "intercept"}


BUILD = """
import sys
from pathlib import Path
from adapt_triage import modelcache
from adapt_triage.classify import TriageClassifier, load_seed
model = modelcache.load_or_fit(TriageClassifier(), load_seed(), Path(sys.argv[1]))
print(model.model_version, model.predict([("LoRA", "low-rank adaptation of a model")])[0][0])
"""


def test_two_processes_building_at_once_both_succeed(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BUILD, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert outputs[0][0] == outputs[1][0] and outputs[0][0].strip()
    (path,) = model_files(tmp_path)  # one whole file, no temporary left behind
    assert not list(tmp_path.glob(".model-*"))
    version = outputs[0][0].split()[0]
    cached = modelcache.load(TriageClassifier().training_key(load_seed()), tmp_path)
    assert cached is not None and cached[1] == version


def test_numpy_predictions_equal_the_fitted_model(fitted, tmp_path):
    """The cached, numpy-only path gives the labels of the fitted scikit-learn model on the
    seed and real-day papers, and scores equal to rounding."""
    key = fitted.training_key(training_examples())
    modelcache.save(fitted.model_, key, fitted.model_version, tmp_path)
    model, version = modelcache.load(key, tmp_path)
    cached = TriageClassifier.from_model(model, version)
    papers = load_seed() + load_realday()
    by_sklearn = fitted.predict_scores(papers, engine="sklearn")
    by_numpy = cached.predict_scores(papers)
    assert len(by_numpy) == len(papers) > 1300
    worst = max(abs(a[c] - b[c]) for a, b in zip(by_sklearn, by_numpy, strict=True) for c in a)
    assert worst <= 1e-4
    assert [fitted.decide(s) for s in by_sklearn] == [cached.decide(s) for s in by_numpy]


def test_the_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert frozenset(ENGLISH_STOP_WORDS) == STOP_WORDS


def test_estimator_conventions(fitted):
    from sklearn.base import clone

    params = TriageClassifier(C=3.0).get_params()
    assert params["C"] == 3.0 and "random_state" in params
    copy = clone(TriageClassifier(C=3.0, gate_threshold=0.4))
    assert copy.get_params()["gate_threshold"] == 0.4 and not hasattr(copy, "model_")
    assert TriageClassifier().set_params(C=2.0).C == 2.0
    with pytest.raises(ValueError, match="invalid parameter"):
        TriageClassifier().set_params(nope=1)
    assert not hasattr(TriageClassifier(), "model_version")  # fitted attributes only in fit
    assert hasattr(fitted, "model_version") and hasattr(fitted, "model_")


def test_a_cache_hit_parses_no_training_data(tmp_path, monkeypatch):
    """The product model's key hashes the shipped files as bytes, so loading it from the
    cache reads no labeled example; a user's label still gives another model."""
    from adapt_triage import classify

    monkeypatch.setenv(modelcache.CACHE_ENV, str(tmp_path))
    first = build_default()

    def forbidden(*_args, **_kwargs):
        raise AssertionError("training data parsed on a cache hit")

    monkeypatch.setattr(classify, "training_examples", forbidden)
    again = build_default()
    assert again.model_version == first.model_version
    assert again.predict([LORA]) == first.predict([LORA])
    with pytest.raises(AssertionError, match="parsed"):  # a new label: a miss, data needed
        build_default([Example(LORA[0], LORA[1], ["lora"])])


def test_shipped_labels_are_default_categories():
    """build_default derives its categories without parsing the shipped data."""
    from adapt_triage.taxonomy import DEFAULT_SLUGS

    assert {label for ex in training_examples() for label in ex.labels} <= set(DEFAULT_SLUGS)


def test_the_model_version_is_known_without_loading_the_model(tmp_path, monkeypatch):
    """`list` and `digest` tell stale scores from the version alone; it must be the one the
    loaded or fitted model carries."""
    from adapt_triage.classify import default_model_version

    monkeypatch.setenv(modelcache.CACHE_ENV, str(tmp_path))
    user = [Example(LORA[0], LORA[1], ["lora"])]
    extra = {"protein-models": "protein language models"}
    for args in [(), (user,), (user, extra)]:
        version = default_model_version(*args)
        assert build_default(*args).model_version == version  # fitted now
        assert build_default(*args).model_version == version  # loaded from the cache
    assert len({default_model_version(*a) for a in [(), (user,), (user, extra)]}) == 3
