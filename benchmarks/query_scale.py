"""The read commands at scale: `list --category`, `search`, `digest` and `show` on a big
history, each a fresh `adapt-triage` process, with wall time and the child's peak RSS.

    python benchmarks/query_scale.py build DB [--papers 1000000]
    python benchmarks/query_scale.py measure DB [--runs 3]

`build` makes a synthetic history quickly: the store's schema (whatever `adapt_triage` is
first on sys.path migrates to), then direct INSERTs into `papers`, `versions` and
`paper_sources` (the triggers fill the full-text index and, on a current schema, the label
table), ~300 papers a day ending now, 3% of them duplicates, every day but the last
already shown in a digest, scored by the current model version (so no command rescores).
It is a figure generator, not a product path: the data is random words.

`measure` prints, per command, the median wall time over `--runs` runs after one warm-up,
the time beyond start-up (the median wall time of `adapt-triage --help`), the peak RSS of
the child (wait4, the largest over the runs), and issue 12's bar where it sets one. The
`adapt-triage` next to the running Python is run, with the environment as given (so
`PYTHONPATH=$PWD` measures a checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapt_triage.taxonomy import DEFAULT_SLUGS

SLUGS = [s for s in DEFAULT_SLUGS if s != "off-topic"]
PER_DAY = 300
_DOMAIN_TEXT = (
    "adapter low rank prompt tuning frozen backbone domain shift continual learning "
    "instruction data selection distillation pruning quantization meta few shot "
    "personalization merging experts mixture sparse update gradient token vision language "
    "model large transformer encoder decoder retrieval benchmark robust efficient"
)
DOMAIN = _DOMAIN_TEXT.split()


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    made = {"".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(size)}
    return DOMAIN * 20 + sorted(made)


def _row(
    i: int, total: int, rng: random.Random, words: list[str], end: datetime, version: str
) -> tuple:
    seen = end - timedelta(minutes=(total - 1 - i) * 24 * 60 / PER_DAY)  # PER_DAY a day
    text = rng.choices(words, k=110)
    if rng.random() < 0.05:
        at = rng.randrange(100)
        text[at : at + 2] = ["low", "rank"]
    labels = rng.sample(SLUGS, k=rng.choice((1, 1, 2)))
    scores = {s: round(rng.random(), 3) for s in rng.sample(SLUGS, 4) + labels}
    title = " ".join(rng.choices(words, k=9)).capitalize()
    dup = f"arxiv:{9000000 + i - 5}" if i > 10 and rng.random() < 0.03 else None
    stamp = seen.replace(microsecond=0).isoformat(timespec="seconds")
    return (
        f"arxiv:{9000000 + i}",
        title,
        " ".join(text),
        json.dumps([f"A. Author{rng.randrange(50000)}", "B. Second"]),
        f"https://arxiv.org/abs/{9000000 + i}",
        (seen - timedelta(days=1)).date().isoformat(),
        str(9000000 + i),
        1,
        "feed",
        stamp,
        stamp,
        dup,
        "same title" if dup else None,
        0.97 if dup else None,
        json.dumps(labels),
        json.dumps(scores),
        version,
    )


COLUMNS = (
    "id, title, abstract, authors, url, published, arxiv_id, version, source, first_seen, "
    "last_seen, duplicate_of, dup_reason, dup_score, model_labels, model_scores, model_version"
)


def build(path: Path, papers: int, seed: int = 12) -> None:
    from adapt_triage.classify import default_model_version
    from adapt_triage.store import Store

    Store(path).close()  # the schema, by the code under test
    version = default_model_version()
    rng = random.Random(seed)
    words = _vocabulary(rng)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    began = time.monotonic()
    marks = ", ".join("?" * len(COLUMNS.split(",")))
    chunk = 20000
    for low in range(0, papers, chunk):
        rows = [
            _row(i, papers, rng, words, end, version) for i in range(low, min(papers, low + chunk))
        ]
        with conn:
            conn.executemany(f"INSERT INTO papers ({COLUMNS}) VALUES ({marks})", rows)
            conn.executemany(
                "INSERT INTO versions (paper_id, version, source, seen_at, title) "
                "VALUES (?, 1, 'feed', ?, ?)",
                [(r[0], r[9], r[1]) for r in rows],
            )
            conn.executemany(
                "INSERT INTO paper_sources (paper_id, source, first_seen) VALUES (?, 'feed', ?)",
                [(r[0], r[9]) for r in rows],
            )
        print(f"  {low + len(rows)} papers, {time.monotonic() - began:.0f} s", file=sys.stderr)
    last_day = (end - timedelta(hours=23)).isoformat(timespec="seconds")
    with conn:
        digest = conn.execute(
            "INSERT INTO digests (at, since, count) VALUES (?, NULL, 0)", (last_day,)
        ).lastrowid
        conn.execute(
            "UPDATE papers SET shown_in_digest = ? WHERE first_seen < ?", (digest, last_day)
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    Store(path).close()  # the integrity check once, so the measured runs skip it
    print(f"built {papers} papers in {time.monotonic() - began:.0f} s: {path}", file=sys.stderr)


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one fresh process."""
    began = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        print(f"  {' '.join(args[-4:])}: exit {proc.returncode}: {err.strip()[:300]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


# Issue 12's bars: seconds beyond start-up, and every command's peak RSS.
TARGETS = {
    "list --category lora --limit 20": 0.3,
    "search 'low rank' --limit 20": 0.3,
    "digest --since 1d --no-mark": 0.5,
}
RSS_TARGET_MIB = 200


def measure(path: Path, runs: int) -> None:
    exe = str(Path(sys.executable).with_name("adapt-triage"))
    env = {**os.environ, "ADAPT_TRIAGE_DB": str(path)}
    one = sqlite3.connect(path).execute("SELECT max(id) FROM papers").fetchone()[0]
    commands = {
        "start-up (--help)": ["--help"],
        "list --limit 0 (start-up, store open)": ["list", "--limit", "0"],
        "list --category lora --limit 20": ["list", "--category", "lora", "--limit", "20"],
        "search 'low rank' --limit 20": ["search", "low rank", "--limit", "20"],
        "search 'low rank' (default page)": ["search", "low rank"],
        "search 'low rank' --limit 20 --rank-all": [
            "search",
            "low rank",
            "--limit",
            "20",
            "--rank-all",
        ],
        "search 'low rank' --limit 20 --order newest": [
            "search",
            "low rank",
            "--limit",
            "20",
            "--order",
            "newest",
        ],
        "digest --since 1d --no-mark": ["digest", "--since", "1d", "--no-mark"],
        "digest --no-mark": ["digest", "--no-mark"],
        "digest --all --since 1d --no-mark": ["digest", "--all", "--since", "1d", "--no-mark"],
        "list --category lora --since 1w": ["list", "--category", "lora", "--since", "1w"],
        f"show {one}": ["show", one],
    }
    base = None
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(f"{'command':44} {'wall s':>7} {'beyond':>7} {'RSS MiB':>8}  target")
    for name, args in commands.items():
        _run([exe, *args], env)  # warm-up: page cache, model cache
        results = [_run([exe, *args], env) for _ in range(runs)]
        wall = statistics.median(r[0] for r in results)
        rss = max(r[1] for r in results)
        base = wall if base is None else base
        beyond = wall - base
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = beyond <= target and rss < RSS_TARGET_MIB
            verdict = f"<= {target} s, < {RSS_TARGET_MIB} MiB: {'PASS' if ok else 'FAIL'}"
        print(f"{name:44} {wall:7.2f} {beyond:7.2f} {rss:8.0f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("build", "measure"))
    parser.add_argument("db", type=Path)
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.action == "build":
        build(args.db, args.papers)
    else:
        measure(args.db, args.runs)


if __name__ == "__main__":
    main()
