"""`make bench-scale`: the figures of issue 12 (a million papers on a laptop), each next to its
target, from one run.

    python benchmarks/scale.py                         # 1M papers (the cached build is reused)
    python benchmarks/scale.py --papers 100000         # smaller, for development
    python benchmarks/scale.py --papers 20000 --only ingest,queries

Input: arXiv-shaped papers from benchmarks/scale_gen.py (real sentences and vocabulary of
the March 2026 listings recombined, deterministic from --seed), with planted duplicates: new
arXiv versions, the same work from another feed without an arXiv id, and near-misses that
must not be linked.

The history database is built once through the product's own ingest (`ingest_sources`, one
source per daily batch of 1,000 papers) and cached under build/bench-scale/, keyed by the
generator version (and its sentence cap, --max-sentences), the seed and the size. The build
is resumable: an interrupted build goes on from the last day stored (a day is one source,
all or nothing). Each day's papers get their day as first-seen date, so that the history
spans years and "one day" means one day.
Snapshots at 1k, 10k and 100k papers are kept for the daily-batch cost.

Parts (`--only a,b`): ingest (single sources against one TF-IDF pass and sqlite-utils),
batch (a 1k daily batch at 1k, 10k, 100k, 1M stored), size (bytes per paper, shares),
queries (digest, list, search, show at the largest size), dups (planted duplicates).
Every measured command is a fresh process (`python -m adapt_triage`); CPU and peak RSS come
from os.wait4. Figures to read, not assertions: the machine may be loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_gen as gen  # noqa: E402

PARTS = ("batch", "size", "queries", "dups", "ingest")  # in the order they run (ingest: longest)
CHECKPOINTS = (1_000, 10_000, 100_000, 1_000_000)
RATIO_SIZES = (10_000, 100_000)
BIG_SOURCE = 200_000
CLI = [sys.executable, "-m", "adapt_triage"]


@dataclass
class Measured:
    rc: int
    wall: float
    cpu: float
    rss_mib: float
    out: str
    err: str

    def first_error(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1][:160] if lines else f"exit {self.rc}"


def environment(build: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ADAPT_TRIAGE_CACHE", str(build / "model-cache"))
    env["ADAPT_TRIAGE_CONFIG"] = str(build / "no-config.toml")  # the user's defaults stay out
    return env


# A small process starts each measured one: a child forked straight from this (large)
# process would count this process's pages in its peak RSS until it execs.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump([os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime,
               usage.ru_maxrss], out)
"""


def run_measured(args: list[str], env: dict[str, str]) -> Measured:
    """Run one process; wall time, user+system CPU and peak RSS (os.wait4 in a launcher)."""
    with tempfile.TemporaryDirectory() as tmp:
        usage = Path(tmp) / "usage.json"
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            launcher = [sys.executable, "-S", "-c", LAUNCHER, str(usage), *args]
            subprocess.run(launcher, stdout=out, stderr=err, env=env, cwd=ROOT, check=False)
            out.seek(0)
            err.seek(0)
            text, errors = (f.read().decode("utf-8", "replace") for f in (out, err))
        if not usage.exists():
            return Measured(-1, 0.0, 0.0, 0.0, text, errors or "the launcher failed")
        rc, wall, cpu, rss_kib = json.loads(usage.read_text())
        return Measured(rc, wall, cpu, rss_kib / 1024, text, errors)


def verdict(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("PASS" if ok else "FAIL")
    print(f"  {label:<50} {value:>22}  {('target ' + target) if target else '':<18} {mark}")
    sys.stdout.flush()


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GB"


# -- the cached history build


class History:
    """The cached database of `papers` slots, built day by day through ingest_sources."""

    def __init__(self, build: Path, papers: int, seed: int) -> None:
        self.papers = max(gen.DAY, -(-papers // gen.DAY) * gen.DAY)
        self.seed = seed
        self.dir = build / f"{gen.variant()}-seed{seed}-n{self.papers}"
        self.db = self.dir / "papers.db"
        self.progress = self.dir / "progress.json"

    @property
    def days(self) -> int:
        return self.papers // gen.DAY

    def checkpoints(self) -> list[int]:
        return sorted({k for k in CHECKPOINTS if k < self.papers} | {self.papers})

    def snapshot(self, stored: int) -> Path:
        return self.db if stored == self.papers else self.dir / f"snapshot-{stored}.db"

    def state(self) -> dict[str, Any]:
        if self.progress.exists():
            return json.loads(self.progress.read_text())
        return {"days_done": 0, "complete": False}

    def _save(self, **state: Any) -> None:
        tmp = self.progress.with_suffix(".part")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.progress)

    def ensure(self) -> None:
        state = self.state()
        product = product_tree()
        if state.get("complete") and self.db.exists():
            print(f"history: cached {self.db} ({self.papers:,} papers)")
            if state.get("product") != product:
                print(
                    f"history: note: built by adapt_triage {state.get('product')}, the code is "
                    f"now {product}; --rebuild builds it again with this code"
                )
            return
        done = int(state.get("days_done", 0)) if self.db.exists() else 0
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "days").mkdir(exist_ok=True)
        verb = "resuming at" if done else "building from"
        print(f"history: {verb} day {done} of {self.days} into {self.db}", flush=True)
        self._ingest_days(done, product)
        with sqlite3.connect(self.db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._save(days_done=self.days, complete=True, product=product)

    def _ingest_days(self, done: int, product: str) -> None:
        from adapt_triage.ingest import ingest_sources
        from adapt_triage.store import Store

        today = datetime.now(timezone.utc).date().isoformat()
        started = time.perf_counter()
        dates = Backdater(self.db, today)

        def sources():
            for day in range(done, self.days):
                path = self.dir / "days" / f"day-{day:05d}.jsonl"
                yield str(gen.write_jsonl(path, gen.day_records(self.seed, day)))

        def on_done(report: Any) -> None:
            path = Path(report.source)
            day = int(path.stem.split("-")[1])
            if report.status == "error":
                raise SystemExit(f"history: day {day} failed: {report.errors[:1]}")
            dates.apply(gen.day_date(day))
            stored = (day + 1) * gen.DAY
            if stored in CHECKPOINTS and stored < self.papers:
                backup(self.db, self.snapshot(stored))
            self._save(days_done=day + 1, complete=False, product=product)
            path.unlink(missing_ok=True)
            if (day + 1) % 10 == 0 or day + 1 == self.days:
                rate = (day + 1 - done) * gen.DAY / (time.perf_counter() - started)
                left = (self.days - day - 1) * gen.DAY / rate
                print(
                    f"history: {stored:>9,} papers stored ({rate:.0f} papers/s, "
                    f"about {left / 60:.0f} min left)",
                    flush=True,
                )

        with Store(self.db) as store:
            ingest_sources(
                store, sources(), classifier_factory=classifier_factory(store), on_done=on_done
            )
        dates.close()


def product_tree() -> str:
    """The git tree id of adapt_triage/ (which code built a cached history), or '?'."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD:adapt_triage"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "adapt_triage"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return (done.stdout.strip() or "?") + ("+changes" if dirty else "")


def classifier_factory(store: Any) -> Any:
    """The CLI's own model (seed set + the user's labels, from the model cache)."""
    from adapt_triage.model import build_classifier

    return lambda: build_classifier(store)


class Backdater:
    """Gives the papers first seen today (the build's real date) their generated day."""

    def __init__(self, db: Path, today: str) -> None:
        self.db, self.today, self.conn, self.warned = db, today, None, False

    def apply(self, day: date) -> None:
        try:
            if self.conn is None:
                self.conn = sqlite3.connect(self.db, timeout=60)
            with self.conn:
                self.conn.execute(
                    "UPDATE papers SET first_seen = ? || substr(first_seen, 11), "
                    "last_seen = ? || substr(last_seen, 11) WHERE first_seen >= ?",
                    (day.isoformat(), day.isoformat(), self.today),
                )
        except sqlite3.Error as exc:
            if not self.warned:
                print(f"history: cannot date the papers by day ({exc}); left as stored")
            self.warned = True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def backup(src: Path, dst: Path) -> Path:
    """A consistent single-file copy (no WAL) of a database."""
    tmp = dst.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(src, timeout=60) as source, sqlite3.connect(tmp) as target:
        source.backup(target)
    source.close()
    target.close()
    tmp.replace(dst)
    return dst


# -- measured parts


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.build = Path(args.build_dir).resolve()
        self.tmp = self.build / "tmp"
        self.env = environment(self.build)
        self.history = History(self.build, args.papers, args.seed)
        self.day_db: Path | None = None  # the largest history plus one day (for queries)
        self.startup: float | None = None
        self.flags: dict[tuple[str, str], bool] = {}

    def cli(self, *args: str) -> Measured:
        return run_measured([*CLI, *args], self.env)

    def source_file(self, n: int) -> Path:
        path = self.build / f"{gen.variant()}-seed{self.args.seed + 7}-source-{n}.jsonl"
        if not path.exists():
            print(f"generating a single source of {n:,} papers: {path.name}", flush=True)
            gen.write_slots(path, self.args.seed + 7, 0, n)
        return path

    def warm_up(self) -> None:
        """Build the model cache once, so no measured run pays for training."""
        db = self.tmp / "warm.db"
        src = gen.write_jsonl(self.tmp / "warm.jsonl", [gen.primary(self.args.seed + 99, 0)])
        done = self.cli("--db", str(db), "ingest", "--quiet", str(src))
        if done.rc != 0:
            print(f"warning: warm-up ingest failed: {done.first_error()}")
        for path in self.tmp.glob("warm.db*"):
            path.unlink()

    # ingest: CPU against one TF-IDF pass and sqlite-utils insert; RSS of a big source
    def part_ingest(self) -> None:
        print("\n== ingest: one source into an empty database (CPU of the whole process)")
        sizes = sorted({min(s, self.history.papers) for s in RATIO_SIZES})
        big = min(BIG_SOURCE, self.history.papers)
        rss: dict[int, float] = {}
        for n in sizes:
            source = self.source_file(n)
            ingest = self.ingest_fresh(source)
            if ingest is None:
                continue
            rss[n] = ingest.rss_mib
            tfidf = self.tfidf_cpu(source)
            lite = self.sqlite_utils_cpu(source)
            verdict(
                f"ingest {n:,}: CPU / wall / RSS",
                f"{ingest.cpu:.1f} s / {ingest.wall:.1f} s / {ingest.rss_mib:.0f} MiB",
            )
            verdict(f"  {n / ingest.wall:.0f} papers/s; one TF-IDF pass CPU", f"{tfidf:.2f} s")
            verdict(
                f"ingest {n:,} / one TF-IDF pass (CPU)",
                f"{ingest.cpu / tfidf:.2f}x",
                "<= 2.0x",
                ingest.cpu / tfidf <= 2.0,
            )
            if lite is None:
                verdict(f"ingest {n:,} / sqlite-utils insert (CPU)", "n/a (no sqlite-utils)")
            else:
                verdict(f"ingest {n:,} / sqlite-utils insert (CPU)", f"{ingest.cpu / lite:.1f}x")
        if big not in rss:
            ingest = self.ingest_fresh(self.source_file(big))
            if ingest is not None:
                rss[big] = ingest.rss_mib
        if big in rss:
            verdict(
                f"peak RSS, one source of {big:,} papers",
                f"{rss[big]:.0f} MiB",
                "<= 300 MB",
                rss[big] * 1.048576 <= 300,
            )

    def ingest(self, db: Path, source: Path) -> Measured:
        """`ingest --quiet SOURCE`, with --max-size raised past the source when it exists."""
        args = ["--db", str(db), "ingest", "--quiet", str(source)]
        if self.has_flag("ingest", "--max-size"):
            args += ["--max-size", str(int(source.stat().st_size / 1e6) * 2 + 20)]
        return self.cli(*args)

    def ingest_fresh(self, source: Path) -> Measured | None:
        db = self.tmp / "fresh.db"
        done = self.ingest(db, source)
        for path in self.tmp.glob("fresh.db*"):
            path.unlink()
        if done.rc != 0:
            print(f"  ingest of {source.name} failed: {done.first_error()}")
            return None
        return done

    def tfidf_cpu(self, source: Path) -> float:
        code = (
            "import json, sys, time\n"
            "from sklearn.feature_extraction.text import TfidfVectorizer\n"
            "texts = []\n"
            "for line in open(sys.argv[1], encoding='utf-8'):\n"
            "    o = json.loads(line)\n"
            "    texts.append(o['title'] + ' ' + o.get('abstract', ''))\n"
            "start = time.process_time()\n"
            "TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts)\n"
            "print(time.process_time() - start)\n"
        )
        done = run_measured([sys.executable, "-c", code, str(source)], self.env)
        return float(done.out.strip())

    def sqlite_utils_cpu(self, source: Path) -> float | None:
        exe = Path(sys.executable).parent / "sqlite-utils"
        if not exe.exists():
            found = shutil.which("sqlite-utils")
            if not found:
                return None
            exe = Path(found)
        db = self.tmp / "lite.db"
        args = [str(exe), "insert", str(db), "papers", str(source), "--nl", "--alter"]
        done = run_measured(args, self.env)
        db.unlink(missing_ok=True)
        if done.rc != 0:
            print(f"  sqlite-utils insert failed: {done.first_error()}")
            return None
        return done.cpu

    # batch: the cost per new paper of one more day at each checkpoint
    def part_batch(self) -> None:
        print("\n== daily batch: 1,000 more papers (the next day) into a copy of the history")
        costs: dict[int, float] = {}
        for stored in self.history.checkpoints():
            result = self.one_more_day(stored, keep=stored == self.history.papers)
            if result is None:
                continue
            one, batch = result
            marginal = (batch.cpu - one.cpu) / (gen.DAY - 1)
            costs[stored] = marginal
            verdict(
                f"at {stored:>9,} stored: CPU per paper (marginal)",
                f"{batch.cpu / gen.DAY * 1000:.2f} ms ({marginal * 1000:.2f} ms)",
            )
            verdict(
                f"at {stored:>9,} stored: batch wall / RSS",
                f"{batch.wall:.1f} s / {batch.rss_mib:.0f} MiB",
            )
        if len(costs) > 1 and min(costs) == 1_000:
            top = max(costs)
            ratio = costs[top] / costs[1_000] if costs[1_000] > 0 else float("inf")
            ratio = ratio if costs[top] > 0 else float("nan")  # a negative marginal: no figure
            note = "" if top == 1_000_000 else " (target is at 1M)"
            verdict(
                f"dedup cost per paper, {top:,} / 1k stored{note}",
                f"{ratio:.2f}x",
                "<= 1.5x",
                ratio <= 1.5,
            )

    def one_more_day(self, stored: int, keep: bool = False) -> tuple[Measured, Measured] | None:
        """Copy the snapshot, ingest one fresh paper (the fixed cost) then the next day."""
        snapshot = self.history.snapshot(stored)
        if not snapshot.exists():
            print(f"  no snapshot at {stored:,} (the history was built without it)")
            return None
        db = self.tmp / f"day-{stored}.db"
        backup(snapshot, db)
        # A file the store has not seen gets an integrity check on its first open (O(size));
        # a user's history has had it long ago, so it is not part of a day's cost.
        self.cli("--db", str(db), "list", "--limit", "0")
        fresh = dict(gen.primary(self.args.seed + 99, 0), id="2912.99999")
        fresh["url"] = "https://arxiv.org/abs/2912.99999"
        one_src = gen.write_jsonl(self.tmp / "one.jsonl", [fresh])
        day_src = gen.write_jsonl(
            self.tmp / f"day-{stored}.jsonl", gen.day_records(self.args.seed, stored // gen.DAY)
        )
        one = self.ingest(db, one_src)
        batch = self.ingest(db, day_src)
        day_src.unlink()
        if batch.rc != 0 or one.rc != 0:
            print(f"  at {stored:,}: ingest failed: {batch.first_error()}")
            return None
        if keep:
            self.day_db = db
        else:
            for path in self.tmp.glob(f"day-{stored}.db*"):
                path.unlink()
        return one, batch

    # size: bytes per paper and the share of each part
    def part_size(self) -> None:
        from adapt_triage.store import Store

        print(f"\n== size of the history at {self.history.papers:,} papers")
        db = self.history.db
        total = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
        with Store(db) as store:
            count = store.count_papers()
        source = self.source_file(min(RATIO_SIZES[0], self.history.papers))
        lines = sum(1 for _ in source.open(encoding="utf-8"))
        verdict("stored papers (rows, duplicates included)", f"{count:,}")
        verdict("input JSONL per paper", fmt_bytes(source.stat().st_size / lines))
        per = total / max(count, 1)
        verdict("database per paper", fmt_bytes(per), "<= 3 KB", per <= 3 * 1024)
        shares = table_shares(db)
        if not shares:
            verdict("shares by table", "n/a (no dbstat)")
            return
        whole = sum(shares.values())
        small = [g for g, size in shares.items() if size < whole / 100]
        shares["other tables (each < 1%)"] = sum(shares.pop(g) for g in small)
        for group, size in sorted(shares.items(), key=lambda kv: -kv[1]):
            verdict(f"  {group}", f"{size / whole:5.1%}  {fmt_bytes(size / max(count, 1))}/paper")

    # queries at the largest size, beyond start-up
    def part_queries(self) -> None:
        stored = self.history.papers
        print(f"\n== queries at {stored:,} stored (+ one day), wall beyond start-up")
        if self.day_db is None and self.one_more_day(stored, keep=True) is None:
            return
        db = str(self.day_db)
        repeat = self.args.repeat
        helps = [self.cli("--help").wall for _ in range(max(5, repeat))]
        self.startup = statistics.median(helps)
        verdict("start-up, adapt-triage --help (median)", f"{self.startup * 1000:.0f} ms")
        slot = stored - gen.DAY // 2 - 1
        while gen.kind(self.args.seed, slot) != "primary":
            slot -= 1
        show_id = gen.arxiv_id(slot)
        queries = [
            ("digest of one day", ["digest", "--since", "1d", "--no-mark"], "digest", 0.5),
            ("list --category lora --limit 20", ["list", "--category", "lora"], "list", 0.3),
            ("search 'low rank' --limit 20", ["search", "low rank"], "search", 0.3),
            (f"show {show_id}", ["show", show_id], "show", None),
        ]
        for label, args, command, target in queries:
            if command in ("list", "search"):
                if not self.has_flag(command, "--limit"):
                    verdict(label, "n/a (flag missing)")
                    continue
                args = [*args, "--limit", "20"]
            runs = [self.cli("--db", db, *args, "--format", "jsonl") for _ in range(repeat)]
            if any(r.rc != 0 for r in runs):
                bad = next(r for r in runs if r.rc != 0)
                verdict(label, f"error: {bad.first_error()}"[:60])
                continue
            beyond = statistics.median(r.wall for r in runs) - self.startup
            rss = max(r.rss_mib for r in runs)
            rows = len([line for line in runs[0].out.splitlines() if line.strip()])
            ok = None if target is None else beyond <= target and rss * 1.048576 < 200
            aim = "" if target is None else f"<= {target} s, <200 MB"
            verdict(f"{label} ({rows} lines)", f"{beyond:.2f} s, {rss:.0f} MiB", aim, ok)

    def has_flag(self, command: str, flag: str) -> bool:
        if (command, flag) not in self.flags:
            self.flags[(command, flag)] = flag in self.cli(command, "--help").out
        return self.flags[(command, flag)]

    # dups: the planted duplicates against the generator's ground truth
    def part_dups(self) -> None:
        from adapt_triage.store import Store, StoreError

        stored = self.history.papers
        print(f"\n== planted duplicates at {stored:,} stored")
        truth = gen.planted(self.args.seed, stored)
        with Store(self.history.db) as store:
            clusters = store.duplicate_clusters()
            found_versions = 0
            for aid in truth["version"]:
                try:
                    versions = store.versions(aid)
                except StoreError:
                    continue
                found_versions += any((v.get("version") or 0) >= 2 for v in versions)
        cluster_of: dict[str, int] = {}
        links: list[tuple[str, str]] = []
        for n, cluster in enumerate(clusters):
            root = cluster["canonical"].url or ""
            cluster_of[root] = n
            for dup in cluster["duplicates"]:
                cluster_of[dup.url or ""] = n
                links.append((root, dup.url or ""))
        cross = sum(
            1
            for url, aid in truth["crossfeed"]
            if cluster_of.get(url, -1) == cluster_of.get(abs_url(aid), -2)
        )
        wrong = sum(
            1
            for own, other in truth["nearmiss"]
            if cluster_of.get(abs_url(own), -1) == cluster_of.get(abs_url(other), -2)
        )
        planted = len(truth["version"]) + len(truth["crossfeed"])
        found = found_versions + cross
        verdict("new arXiv versions recorded", f"{found_versions:,} / {len(truth['version']):,}")
        verdict("other-feed copies linked", f"{cross:,} / {len(truth['crossfeed']):,}")
        verdict("planted duplicates found", f"{found:,} / {planted:,}", "all", found == planted)
        verdict(
            "near-misses linked (must not be)",
            f"{wrong:,} / {len(truth['nearmiss']):,}",
            "0",
            wrong == 0,
        )
        false_all = [link for link in links if not same_work(*link)]
        sample = random.Random(self.args.seed).sample(links, min(50, len(links)))
        false_sample = sum(1 for link in sample if not same_work(*link))
        verdict(
            f"false links in a sample of {len(sample)}", f"{false_sample}", "0", false_sample == 0
        )
        verdict("false links among all stored links", f"{len(false_all):,} / {len(links):,}")
        for root, dup in false_all[:3]:
            print(f"    e.g. {dup} linked to {root}")


def abs_url(aid: str) -> str:
    return f"https://arxiv.org/abs/{aid}"


def same_work(a: str, b: str) -> bool:
    work = gen.work_of(a)
    return work is not None and work == gen.work_of(b)


def table_shares(db: Path) -> dict[str, int]:
    """Bytes per group of tables (dedup index, FTS, papers, versions, ...) from dbstat."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        try:
            rows = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE aggregate = 1 GROUP BY name"
            ).fetchall()
        except sqlite3.Error:
            try:
                rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            except sqlite3.Error:
                return {}
    finally:
        conn.close()
    groups: dict[str, int] = {}
    for name, size in rows:
        table = owner.get(name, name)
        if table.startswith("dedup"):
            group = "dedup index (dedup_*)"
        elif "_fts" in table:
            group = "full-text search (*_fts*)"
        elif table == "papers":
            group = "papers (rows and indexes)"
        else:
            group = table
        groups[group] = groups.get(group, 0) + int(size)
    return groups


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1_000_000, help="history size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma list of {PARTS}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (median)")
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "bench-scale"))
    parser.add_argument(
        "--max-sentences",
        type=int,
        default=gen.MAX_SENTENCES,
        help="sentences an abstract has at most (14: ~1.6 KB of JSONL a paper; 4: ~1.0 KB)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="drop the cached history of this size first"
    )
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    gen.MAX_SENTENCES = args.max_sentences
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up tmp/ when killed
    bench = Bench(args)
    bench.tmp.mkdir(parents=True, exist_ok=True)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    print(
        f"bench-scale: {bench.history.papers:,} papers, seed {args.seed}, generator "
        f"{gen.variant()}, commit {rev or '?'}, {os.cpu_count()} CPUs, parts {args.parts}"
    )
    if not any(gen.REAL_DAYS.glob("*.jsonl")):
        print(
            f"bench-scale: no real arXiv days at {gen.REAL_DAYS}: the generator falls back to "
            "one built-in abstract, so these figures are not comparable with the cached ones",
            file=sys.stderr,
        )
    started = time.perf_counter()
    try:
        if args.rebuild:
            shutil.rmtree(bench.history.dir, ignore_errors=True)
        bench.warm_up()
        if set(args.parts) & {"batch", "size", "queries", "dups"}:
            bench.history.ensure()
        for part in PARTS:
            if part in args.parts:
                getattr(bench, f"part_{part}")()
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    print(f"\nbench-scale done in {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
