"""Classifier speed: a cold one-abstract `classify` (a fresh process, model cached) against
a bare interpreter; training time on the shipped data; loading the cached model; prediction
time per 1000 abstracts; each against one bare `TfidfVectorizer().fit_transform` over the
same 1000 texts.

    .venv/bin/python benchmarks/bench_classify.py [--n 1000] [--rounds 5]

Prints the median of `rounds` runs of each step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(step: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_seconds(argv: list[str], rounds: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_classify(rounds: int) -> None:
    """A fresh process classifying one abstract, with the model in the cache, against a
    bare `python -c pass`; and whether scikit-learn or scipy got imported."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ADAPT_TRIAGE_CACHE": tmp, "ADAPT_TRIAGE_DB": f"{tmp}/none.db"}
        source = Path(tmp) / "one.jsonl"
        record = {"title": "Low-rank adaptation", "abstract": "We train LoRA updates."}
        source.write_text(json.dumps(record) + "\n")
        probe = (
            "import sys, json; from adapt_triage.cli import main; sys.argv=['adapt-triage',"
            f"'classify','--format','jsonl',{str(source)!r}]\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(json.dumps([m in sys.modules for m in ('sklearn','scipy')]),file=sys.stderr)"
        )
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, env=env)
        bare = process_seconds([sys.executable, "-c", "pass"], rounds, env)
        cold = process_seconds([sys.executable, "-c", probe], rounds, env)
        out = subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, env=env, text=True
        )
        heavy = json.loads(out.stderr.strip().splitlines()[-1])
    print(f"bare interpreter (python -c pass):  {bare * 1000:8.1f} ms")
    print(f"cold classify of one abstract:      {cold * 1000:8.1f} ms  (target <= 500 ms)")
    print(f"  beyond the bare interpreter:      {(cold - bare) * 1000:8.1f} ms")
    print(f"  imports scikit-learn / scipy:     {heavy[0]!s:>8} / {heavy[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="abstracts to classify")
    parser.add_argument("--rounds", type=int, default=5, help="runs per step (median)")
    args = parser.parse_args()

    cold_classify(args.rounds)
    start = time.perf_counter()
    from sklearn.feature_extraction.text import TfidfVectorizer

    from adapt_triage.classify import TriageClassifier, build_default, load_seed, training_examples

    import_s = time.perf_counter() - start
    seed = load_seed()
    papers = [(ex.title, ex.abstract) for ex in seed]
    papers = [papers[i % len(papers)] for i in range(args.n)]
    texts = [f"{t} {a}" for t, a in papers]

    examples = training_examples()
    train_s = median_seconds(lambda: TriageClassifier().fit(examples), 1)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ADAPT_TRIAGE_CACHE"] = tmp
        model = build_default()
        load_s = median_seconds(build_default, args.rounds)
    predict_s = median_seconds(lambda: model.predict(papers), args.rounds)
    tfidf_s = median_seconds(lambda: TfidfVectorizer().fit_transform(texts), args.rounds)
    explain_s = median_seconds(lambda: model.explain(papers[0], "lora"), args.rounds)

    per_1000 = predict_s * 1000 / args.n
    print(f"import classify + scikit-learn:     {import_s * 1000:8.1f} ms (first import)")
    print(f"training ({len(examples)} labeled papers):  {train_s * 1000:8.1f} ms (once per change)")
    print(f"loading the cached model:           {load_s * 1000:8.1f} ms")
    print(f"prediction, per 1000 abstracts:     {per_1000 * 1000:8.1f} ms")
    print(f"bare TfidfVectorizer, {args.n} texts:   {tfidf_s * 1000:8.1f} ms")
    print(f"explain, one paper and label:       {explain_s * 1000:8.1f} ms")
    print(f"prediction / bare TF-IDF:           {predict_s / tfidf_s:8.2f} x")
    print(f"training / bare TF-IDF:             {train_s / tfidf_s:8.2f} x")


if __name__ == "__main__":
    main()
