"""`make bench`: the speed and memory figures of DESIGN.md's quality bars, printed.

    python benchmarks/run.py [--quick]
    python benchmarks/run.py --ingest 10000,100000 [--profile] [--rss 200000]

1. start-up: `adapt-triage --help` wall time (median of 5 runs, a fresh process each).
2. ingest throughput: N realistic papers (JSON Lines, see `realistic`) through the real pipeline
   (parse, classify, deduplicate, store), against one TfidfVectorizer.fit_transform pass
   over the same titles and abstracts; the ratio is the figure to watch.
3. memory: peak RSS of `adapt-triage ingest` on N and 10 x N papers (fresh processes);
   flat means the ratio stays near 1 while the input grows tenfold.
4. classifier and dedup: their own benchmarks, in quick mode.

`--ingest` gives only the ingest figures of issue 12, on realistic text (a 30,000-word
Zipf vocabulary, about 1.5 KB a paper): ingest CPU against one TF-IDF (1,2)-gram pass over
the same text, bytes per paper, the split by stage (`--profile`) and the peak RSS of one
large source (`--rss N`).

Timings are figures to read, not assertions (the machine may be loaded).

The figures at a million papers (issue 12) are `make bench-scale` (benchmarks/scale.py):
a cached 1M-paper history, daily-batch cost, query latency and planted duplicates.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def realistic(path: Path, n: int, seed: int = 0) -> Path:
    """n papers of Zipf-distributed words over a 30,000-word vocabulary, arXiv ids."""
    import random

    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(30_000)]
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(vocab))]
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    names = ["".join(rng.choices(letters, k=7)).capitalize() for _ in range(5000)]
    with path.open("w") as out:
        for i in range(n):  # noqa: B007
            words = rng.choices(vocab, cum_weights=cum, k=rng.randint(130, 210))
            title = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(7, 12))).capitalize()
            rec = {
                "id": f"{2501 + i // 90000:04d}.{i % 90000 + 1:05d}",
                "title": title,
                "abstract": " ".join(words) + ".",
                "authors": [
                    f"{rng.choice(names)[0]}. {rng.choice(names)}" for _ in range(rng.randint(2, 5))
                ],
                "published": "2025-01-15",
            }
            out.write(json.dumps(rec) + "\n")
    return path


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adapt_triage", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def startup() -> None:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        cli("--help")
        times.append(time.perf_counter() - start)
    print(f"start-up   adapt-triage --help: median {statistics.median(times) * 1000:.0f} ms")


def throughput(tmp: Path, n: int) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from adapt_triage.classify import build_default
    from adapt_triage.ingest import ingest_sources
    from adapt_triage.store import Store

    source = realistic(tmp / f"tp{n}.jsonl", n, seed=1)
    texts = [
        json.loads(line)["title"] + " " + json.loads(line)["abstract"]
        for line in source.read_text().splitlines()
    ]
    start = time.perf_counter()
    TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit_transform(texts)
    tfidf = time.perf_counter() - start

    classifier = build_default()
    with Store(tmp / f"tp{n}.db") as store:
        start = time.perf_counter()
        (report,) = ingest_sources(store, [str(source)], classifier_factory=lambda: classifier)
        elapsed = time.perf_counter() - start
    assert report.new == n, report
    print(
        f"throughput {n} papers: ingest {elapsed:.2f} s ({n / elapsed:.0f} papers/s); "
        f"one TF-IDF pass {tfidf:.2f} s; ratio {elapsed / tfidf:.1f}x"
    )
    for stage, seconds in stage_costs(source, classifier, tmp / f"stages{n}.db").items():
        print(f"           {stage:<10} {seconds:.2f} s")


def stage_costs(source: Path, classifier, db: Path) -> dict[str, float]:
    """Where the time goes: parse, classify, store (with dedup), measured separately."""
    from adapt_triage.dedup import DedupIndex
    from adapt_triage.ingest import classify_papers
    from adapt_triage.sources import parse_bytes
    from adapt_triage.store import Store

    costs = {}
    start = time.perf_counter()
    papers = parse_bytes(source.read_bytes(), source=str(source)).papers
    costs["parse"] = time.perf_counter() - start
    start = time.perf_counter()
    classify_papers(papers, classifier)
    costs["classify"] = time.perf_counter() - start
    with Store(db) as store:
        start = time.perf_counter()
        store.ingest_source(str(source), papers, dedup=DedupIndex(store.db))
        costs["store+dedup"] = time.perf_counter() - start
    return costs


def peak_rss_kib(source: Path, db: Path) -> int:
    code = (
        "import resource, subprocess, sys\n"
        f"subprocess.run([sys.executable, '-m', 'adapt_triage', '--db', {str(db)!r}, "
        f"'ingest', '--quiet', '--max-size', '4000', {str(source)!r}], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return int(out.stdout.strip())


def memory(tmp: Path, n: int) -> None:
    small = peak_rss_kib(realistic(tmp / f"m{n}.jsonl", n, 2), tmp / f"m{n}.db")
    big = peak_rss_kib(realistic(tmp / f"m{n * 10}.jsonl", n * 10, 3), tmp / f"m{n * 10}.db")
    print(
        f"memory     peak RSS ingest {n} papers {small / 1024:.0f} MiB, {n * 10} papers "
        f"{big / 1024:.0f} MiB: ratio {big / small:.2f} for 10x the papers"
    )


def _ingest(db: Path, source: Path, classifier, profiler=None) -> float:
    """CPU seconds of one ingest of `source` through the real pipeline."""
    from adapt_triage.ingest import ingest_sources
    from adapt_triage.localread import limited_fetcher
    from adapt_triage.store import Store

    with Store(db) as store:
        start = time.process_time()
        if profiler:
            profiler.enable()
        (report,) = ingest_sources(
            store,
            [str(source)],
            classifier_factory=lambda: classifier,
            fetcher=limited_fetcher(max_size=4000),
        )
        if profiler:
            profiler.disable()
        cpu = time.process_time() - start
    assert report.status == "ok" and not report.errors, report
    return cpu


def ingest_cpu(tmp: Path, n: int, profile: bool = False) -> None:
    """Ingest CPU (process time) of n realistic papers through the real pipeline, against
    one `TfidfVectorizer(ngram_range=(1, 2)).fit_transform` over the same text, and the
    database's bytes per paper; with `profile`, a second ingest under cProfile gives the
    split by stage (the profiler's overhead inflates every stage)."""
    import cProfile
    import pstats

    from sklearn.feature_extraction.text import TfidfVectorizer

    from adapt_triage.classify import build_default

    source = realistic(tmp / f"cpu{n}.jsonl", n, seed=1)
    with source.open() as lines:
        texts = [f"{r['title']} {r['abstract']}" for r in map(json.loads, lines)]
    start = time.process_time()
    TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts)
    tfidf = time.process_time() - start
    del texts
    classifier = build_default()
    cpu = _ingest(tmp / f"cpu{n}.db", source, classifier)
    size = (tmp / f"cpu{n}.db").stat().st_size
    print(
        f"ingest CPU {n} papers: {cpu:.1f} s; one TF-IDF (1,2)-gram pass {tfidf:.1f} s; "
        f"ratio {cpu / tfidf:.2f}x; database {size / n:,.0f} bytes per paper"
    )
    if not profile:
        return
    profiler = cProfile.Profile(time.process_time)
    total = _ingest(tmp / f"profiled{n}.db", source, classifier, profiler)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def cumulative(*names: str) -> float:
        return sum(v[3] for k, v in stats.items() if k[2] in names)

    parts = {
        "parse": cumulative("parse_bytes", "_paper"),
        "classify": cumulative("classify_papers"),
        "dedup": cumulative("find_many", "add_many", "remove"),
    }
    parts["resolve+store"] = total - sum(parts.values())
    print(
        "           profiled "
        + ", ".join(f"{k} {v / total:.0%}" for k, v in parts.items())
        + f" of {total:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--ingest",
        metavar="N,N",
        help="only the ingest figures: CPU vs TF-IDF at each size (e.g. 10000,100000)",
    )
    parser.add_argument("--rss", type=int, metavar="N", help="with --ingest: peak RSS of N")
    parser.add_argument("--profile", action="store_true", help="with --ingest: split by stage")
    args = parser.parse_args()
    if args.ingest:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            for size in args.ingest.split(","):
                ingest_cpu(tmp, int(size), profile=args.profile)
            if args.rss:
                source = realistic(tmp / f"rss{args.rss}.jsonl", args.rss, seed=3)
                kib = peak_rss_kib(source, tmp / f"rss{args.rss}.db")
                print(f"memory     peak RSS of one {args.rss}-paper source: {kib / 1024:.0f} MiB")
        return
    n = 1000 if args.quick else 5000
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        startup()
        throughput(tmp, n)
        memory(tmp, n // 5)
    for script, extra in (
        ("bench_classify.py", []),
        ("bench_dedup.py", ["--sizes", "1000,10000", "--bulk", "100000"]),
    ):
        path = ROOT / "benchmarks" / script
        if path.exists():
            print(f"\n== {script}", flush=True)
            subprocess.run([sys.executable, str(path), *extra], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
