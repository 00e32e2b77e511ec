"""Classifier speed: training time, prediction time per 1000 abstracts, and both against the
cost of one bare `TfidfVectorizer().fit_transform` over the same 1000 texts.

    .venv/bin/python benchmarks/bench_classify.py [--n 1000] [--rounds 5]

Prints the median of `rounds` runs of each step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def median_seconds(step: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="abstracts to classify")
    parser.add_argument("--rounds", type=int, default=5, help="runs per step (median)")
    args = parser.parse_args()

    start = time.perf_counter()
    from sklearn.feature_extraction.text import TfidfVectorizer

    from adapt_triage.classify import build_default, load_seed

    import_s = time.perf_counter() - start
    seed = load_seed()
    papers = [(ex.title, ex.abstract) for ex in seed]
    papers = [papers[i % len(papers)] for i in range(args.n)]
    texts = [f"{t} {a}" for t, a in papers]

    train_s = median_seconds(build_default, args.rounds)
    model = build_default()
    predict_s = median_seconds(lambda: model.predict(papers), args.rounds)
    tfidf_s = median_seconds(lambda: TfidfVectorizer().fit_transform(texts), args.rounds)
    explain_s = median_seconds(lambda: model.explain(papers[0], "lora"), args.rounds)

    per_1000 = predict_s * 1000 / args.n
    print(f"import classify + scikit-learn:     {import_s * 1000:8.1f} ms (first import)")
    print(f"training (seed set, {len(seed)} papers):     {train_s * 1000:8.1f} ms")
    print(f"prediction, per 1000 abstracts:     {per_1000 * 1000:8.1f} ms")
    print(f"bare TfidfVectorizer, {args.n} texts:   {tfidf_s * 1000:8.1f} ms")
    print(f"explain, one paper and label:       {explain_s * 1000:8.1f} ms")
    print(f"prediction / bare TF-IDF:           {predict_s / tfidf_s:8.2f} x")
    print(f"training / bare TF-IDF:             {train_s / tfidf_s:8.2f} x")


if __name__ == "__main__":
    main()
