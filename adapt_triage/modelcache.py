"""The fitted-model cache: one `.npz` file per training key, safe to load and to share.

* Format: a numpy `.npz` archive read with `allow_pickle=False` (nothing in it can run
  code on load), holding the arrays of a `LinearModel` plus one `meta` member, a JSON
  document (UTF-8 bytes) with the format tag, the training key, the categories and the
  vocabulary.
* Key: `TriageClassifier.training_key` hashes the algorithm version, the parameters, the
  categories and their descriptions, the lexicon and every training example (shipped data
  and the user's labels). A change to any of them gives another file name, so a stale
  model is never read.
* Place: `$ADAPT_TRIAGE_CACHE` if set, else `models/` in the user cache directory.
* Concurrency: a model is written to a temporary file in the same directory and renamed
  over the final name (atomic on POSIX), so two processes building at once both end with a
  whole file; a reader never sees half of one.
* Trust: a file that cannot be read, is truncated, comes from another format or key, or
  holds arrays of the wrong shape or non-finite values is ignored and rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adapt_triage.classify import ALGORITHM, Example, LinearModel, TriageClassifier

__all__ = ["CACHE_ENV", "cache_dir", "load", "load_or_fit", "save"]

CACHE_ENV = "ADAPT_TRIAGE_CACHE"
FORMAT = "adapt-triage-model/2"
KEEP = 4  # model files kept in the directory (the newest)
_ARRAYS = ("idf", "gate_coef", "coef", "intercept")


def cache_dir() -> Path:
    """`$ADAPT_TRIAGE_CACHE`, else `models` in the user cache directory."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("adapt-triage") / "models"


def _path(directory: Path, key: str) -> Path:
    return directory / f"model-{key[:32]}.npz"


def save(model: LinearModel, key: str, model_version: str, directory: Path) -> Path:
    """Write the model atomically; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "key": key,
        "model_version": model_version,
        "categories": model.categories,
        "n_examples": model.n_examples,
        "gate_intercept": model.gate_intercept,
        "gate_scale": list(model.gate_scale),
        "scale": np.asarray(model.scale, dtype=np.float64).tolist(),
        "constant": {str(k): v for k, v in model.constant.items()},
        "title_weight": model.title_weight,
        "ngram_max": model.ngram_max,
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        terms=np.frombuffer("\n".join(model.terms).encode("utf-8"), dtype=np.uint8),
        idf=model.idf.astype(np.float64),
        gate_coef=model.gate_coef.astype(np.float64),
        coef=model.coef.astype(np.float64),
        intercept=model.intercept.astype(np.float64),
    )
    final = _path(directory, key)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _prune(directory, keep=final)
    return final


def _prune(directory: Path, keep: Path) -> None:
    """Remove all but the KEEP newest model files (and stale temporary files)."""
    with contextlib.suppress(OSError):
        files = sorted(directory.glob("model-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in files if p != keep][KEEP - 1 :]:
            old.unlink(missing_ok=True)


def load(key: str, directory: Path) -> tuple[LinearModel, str] | None:
    """The cached model for `key` and its model_version, or None when there is no valid
    file (missing, unreadable, truncated, foreign, or inconsistent)."""
    path = _path(directory, key)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.array(data[name]) for name in (*_ARRAYS, "meta", "terms")}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        return _model_from(meta, arrays, key)
    except Exception:  # noqa: BLE001 - any defect of the file means: rebuild, never trust
        return None


def _model_from(meta: dict[str, Any], arrays: dict[str, np.ndarray], key: str):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
        return None
    if meta.get("algorithm") != ALGORITHM:
        return None
    categories = [str(c) for c in meta["categories"]]
    text = arrays["terms"].tobytes().decode("utf-8")
    terms = text.split("\n") if text else []
    n_terms = len(terms)
    n_topics = sum(1 for c in categories if c != "off-topic")
    idf, gate_coef = arrays["idf"], arrays["gate_coef"]
    coef, intercept = arrays["coef"], arrays["intercept"]
    if (
        idf.shape != (n_terms,)
        or gate_coef.shape != (n_terms,)
        or coef.shape != (n_topics, n_terms)
        or intercept.shape != (n_topics,)
        or len(set(terms)) != n_terms
    ):
        return None
    if not all(np.isfinite(a).all() for a in (idf, gate_coef, coef, intercept)):
        return None
    constant = {int(k): float(v) for k, v in meta["constant"].items()}
    scale = np.asarray(meta["scale"], dtype=np.float64)
    if scale.shape != (n_topics, 2) or not np.isfinite(scale).all():
        return None
    if any(not 0 <= k < n_topics for k in constant):
        return None
    model = LinearModel(
        categories=categories,
        n_examples={str(k): int(v) for k, v in meta["n_examples"].items()},
        terms=terms,
        idf=idf.astype(np.float64),
        gate_coef=gate_coef.astype(np.float64),
        gate_intercept=float(meta["gate_intercept"]),
        gate_scale=(float(meta["gate_scale"][0]), float(meta["gate_scale"][1])),
        coef=coef.astype(np.float64),
        intercept=intercept.astype(np.float64),
        scale=scale,
        constant=constant,
        title_weight=int(meta["title_weight"]),
        ngram_max=int(meta["ngram_max"]),
    )
    return model, str(meta["model_version"])


def load_or_fit(
    classifier: TriageClassifier,
    examples: Sequence[Example] | Callable[[], Sequence[Example]],
    directory: Path | None = None,
    *,
    key: str | None = None,
) -> TriageClassifier:
    """The classifier fitted on `examples` (a sequence, or a function giving it, called only
    on a cache miss when `key` is given): from the cache when a valid file for the training
    key exists, else fitted now and cached (a cache that cannot be written is skipped: the
    fitted model is still returned). With `key`, `model_version` is its first 12 digits,
    whether the model was loaded or fitted."""
    directory = directory if directory is not None else cache_dir()

    def training_data() -> Sequence[Example]:
        return list(examples()) if callable(examples) else examples

    data: Sequence[Example] | None = None
    if key is None:
        data = training_data()
        key = classifier.training_key(data)
    cached = load(key, directory)
    if cached is not None:
        model, version = cached
        return TriageClassifier.from_model(model, version, **classifier.get_params())
    data = data if data is not None else training_data()
    classifier.fit(data)
    classifier.model_version = key[:12]
    with contextlib.suppress(OSError):
        save(classifier.model_, key, classifier.model_version, directory)
    return classifier
