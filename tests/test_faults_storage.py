"""Storage faults through the real CLI: a full disk, a write limit, a read-only database,
damaged pages, planted lock files, SIGKILL at random points, four overlapping ingests."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO

from adapt_triage import cli
from adapt_triage.sources import parse_bytes

NOBODY = 65534


def write_jsonl(path: Path, first: int, count: int, abstract_chars: int = 0) -> Path:
    with path.open("w") as out:
        for i in range(first, first + count):
            abstract = f"Item {i} studies bottleneck adapters of width {i % 97} on task {i % 13}."
            if abstract_chars:
                abstract += " " + " ".join(f"w{i}x{j}" for j in range(abstract_chars // 8))
            out.write(
                json.dumps(
                    {
                        "id": f"arXiv:2402.{i:05d}",
                        "title": f"Paper {i}: a study of adapter number {i * 7919 % 10007}",
                        "abstract": abstract[:99_000],
                    }
                )
                + "\n"
            )
    return path


def ids_in(path: Path) -> set[str]:
    return {p.id for p in parse_bytes(path.read_bytes(), source=str(path)).papers}


def query(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def stored_ids(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT id FROM papers")}


def cli_process(
    *args: str, preexec_fn: Callable[[], None] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adapt_triage", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def error_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("adapt-triage: ") and not line.startswith("adapt-triage: warning")
    ]


def assert_no_crash(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "unexpected error" not in stderr


# --------------------------------------------------------------------------- disk full


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs, where this process may mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tiny tmpfs needs root; the write-limit test covers the rest")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_mid_run_is_that_sources_error_and_the_others_are_stored(tmp_path, tiny_disk):
    db = tiny_disk / "t.db"
    good1 = write_jsonl(tmp_path / "good1.jsonl", 0, 5)
    big = write_jsonl(tmp_path / "big.jsonl", 100, 60, abstract_chars=60_000)  # ~3.6 MB
    good2 = write_jsonl(tmp_path / "good2.jsonl", 200, 5)
    done = cli_process("--db", str(db), "ingest", str(good1), str(big), str(good2))
    assert done.returncode == 1, done.stderr
    assert_no_crash(done.stderr)
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"adapt-triage: {big}: not stored: ")
    assert "the disk is full" in errors[0]
    assert stored_ids(db) == ids_in(good1) | ids_in(good2)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_write_failure_is_that_sources_error_and_the_others_are_stored(tmp_path):
    """A limit on file size (RLIMIT_FSIZE, no root needed) fails the big source's writes,
    at COMMIT or before: the same path as a full disk."""
    db = tmp_path / "t.db"
    good1 = write_jsonl(tmp_path / "good1.jsonl", 0, 5)
    assert cli_process("--db", str(db), "ingest", str(good1)).returncode == 0
    big = write_jsonl(tmp_path / "big.jsonl", 100, 40, abstract_chars=60_000)
    good2 = write_jsonl(tmp_path / "good2.jsonl", 200, 5)
    limit = db.stat().st_size + 1024 * 1024

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = cli_process("--db", str(db), "ingest", str(big), str(good2), preexec_fn=limited)
    assert done.returncode == 1, done.stderr
    assert_no_crash(done.stderr)
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"adapt-triage: {big}: not stored: {db}: ")
    assert stored_ids(db) == ids_in(good1) | ids_in(good2)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


# --------------------------------------------------------------------------- read-only


def test_a_read_only_database_fails_every_source_with_a_line_and_exits_1(tmp_path, read_only):
    db = tmp_path / "t.db"
    first = write_jsonl(tmp_path / "first.jsonl", 0, 3)
    assert cli_process("--db", str(db), "ingest", str(first)).returncode == 0
    a = write_jsonl(tmp_path / "a.jsonl", 10, 3)
    b = write_jsonl(tmp_path / "b.jsonl", 20, 3)
    read_only(db)
    done = cli_process("--db", str(db), "ingest", str(a), str(b))
    assert done.returncode == 1, done.stderr
    assert_no_crash(done.stderr)
    errors = error_lines(done.stderr)
    assert [e.split(": not stored: ")[0] for e in errors] == [
        f"adapt-triage: {a}",
        f"adapt-triage: {b}",
    ]
    assert all("the database is read-only" in e for e in errors), errors
    assert stored_ids(db) == ids_in(first)
    # Reading still works.
    listed = cli_process("--db", str(db), "list", "--format", "jsonl")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 3


# --------------------------------------------------------------------------- damaged pages


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("template")
    db = base / "t.db"
    source = write_jsonl(base / "s.jsonl", 0, 150)
    assert cli_process("--db", str(db), "ingest", str(source)).returncode == 0
    return db


def run_main(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["adapt-triage", *argv])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    return int(caught.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("seed", range(6))
def test_a_damaged_page_is_refused_with_a_named_error_never_exit_0(
    tmp_path, template_db, monkeypatch, capsys, seed
):
    db = tmp_path / "t.db"
    shutil.copy(template_db, db)
    page_size = query(db, "PRAGMA page_size")[0][0]
    pages = query(db, "PRAGMA page_count")[0][0]
    page = random.Random(seed).randrange(2, pages + 1)
    with db.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * 16)
    try:
        damaged = query(db, "PRAGMA integrity_check") != [("ok",)]
    except sqlite3.DatabaseError:
        damaged = True
    good = write_jsonl(tmp_path / "good.jsonl", 500, 3)
    for argv in (["list", "--format", "jsonl"], ["ingest", str(good)]):
        code, err = run_main(monkeypatch, capsys, "--db", str(db), *argv)
        assert_no_crash(err)
        if damaged:
            assert code == 1, (page, argv, err)
            (line,) = error_lines(err)
            assert line.startswith(f"adapt-triage: {db}: the database is damaged (")
            assert ".recover" in line
        else:
            assert code == 0, (page, argv, err)


def test_damage_that_keeps_the_files_time_is_still_named_and_checked_next_time(
    tmp_path, template_db, monkeypatch, capsys
):
    db = tmp_path / "t.db"
    shutil.copy(template_db, db)
    code, _ = run_main(monkeypatch, capsys, "--db", str(db), "list", "--format", "jsonl")
    assert code == 0
    stamp = db.with_name("t.db.checked")
    assert stamp.exists()  # unchanged since this clean close: the next open skips the check
    info = db.stat()
    page_size = query(db, "PRAGMA page_size")[0][0]
    with db.open("r+b") as handle:  # every page but the schema's
        for page in range(2, info.st_size // page_size + 1):
            handle.seek((page - 1) * page_size)
            handle.write(b"\xff" * 16)
    os.utime(db, ns=(info.st_atime_ns, info.st_mtime_ns))
    for _ in range(2):
        code, err = run_main(monkeypatch, capsys, "--db", str(db), "list", "--format", "jsonl")
        assert code == 1
        assert_no_crash(err)
        (line,) = error_lines(err)
        assert "the database is damaged" in line
        assert not stamp.exists()


def test_a_damaged_header_is_refused_with_a_named_error(tmp_path, monkeypatch, capsys):
    db = tmp_path / "t.db"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(4096 * 3))
    code, err = run_main(monkeypatch, capsys, "--db", str(db), "list")
    assert code == 1
    assert_no_crash(err)
    assert len(error_lines(err)) == 1


# --------------------------------------------------------------------------- planted locks


def test_a_symlinked_lock_is_refused_and_its_target_left_alone(tmp_path):
    db = tmp_path / "t.db"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "t.db.lock").symlink_to(victim)
    good = write_jsonl(tmp_path / "good.jsonl", 0, 3)
    done = cli_process("--db", str(db), "ingest", str(good))
    assert done.returncode == 1
    assert_no_crash(done.stderr)
    assert error_lines(done.stderr) == [
        f"adapt-triage: {tmp_path / 't.db.lock'} is a symbolic link; adapt-triage will not "
        "follow it (remove it if you did not make it)"
    ]
    assert victim.read_text() == "precious\n"


def test_a_hard_linked_lock_is_refused_and_its_other_name_left_alone(tmp_path):
    db = tmp_path / "t.db"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.link(victim, tmp_path / "t.db.lock")
    good = write_jsonl(tmp_path / "good.jsonl", 0, 3)
    done = cli_process("--db", str(db), "ingest", str(good))
    assert done.returncode == 1
    assert "has 2 hard links" in done.stderr
    assert victim.read_text() == "precious\n"


def test_a_lock_owned_by_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("making a file owned by another user needs root")
    db = tmp_path / "t.db"
    lock = tmp_path / "t.db.lock"
    lock.write_text("someone else's\n")
    os.chown(lock, NOBODY, NOBODY)
    good = write_jsonl(tmp_path / "good.jsonl", 0, 3)
    done = cli_process("--db", str(db), "ingest", str(good))
    assert done.returncode == 1
    assert f"{lock} is owned by another user (uid {NOBODY})" in done.stderr
    assert lock.read_text() == "someone else's\n"


def test_a_new_lock_is_private_to_its_user(tmp_path):
    db = tmp_path / "t.db"
    good = write_jsonl(tmp_path / "good.jsonl", 0, 3)
    assert cli_process("--db", str(db), "ingest", str(good)).returncode == 0
    assert (tmp_path / "t.db.lock").stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- SIGKILL


@pytest.fixture(scope="module")
def kill_db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("kill")
    db = base / "t.db"
    seed = write_jsonl(base / "seed.jsonl", 0, 50)
    assert cli_process("--db", str(db), "ingest", str(seed)).returncode == 0
    return db


@pytest.mark.parametrize("trial", range(10))
def test_sigkill_at_a_random_point_keeps_the_database_whole(kill_db, trial):
    """Ten trials on one database, each killing an ingest at a random moment (start-up,
    classification, the open transaction or the commit): the database stays intact, and
    the source is stored completely or not at all.

    The even trials count their moment from the start of the process. On a loaded machine
    (two xdist workers on two cores) start-up alone can outlast it, so the odd trials count
    theirs from the moment the run has taken the run lock (start-up over): half the kills
    fall inside the run whatever the load."""
    db = kill_db
    source = write_jsonl(db.parent / f"trial{trial}.jsonl", 40 + trial * 60, 300)
    before = stored_ids(db)
    links_before = query(db, "SELECT count(*) FROM paper_sources")[0][0]
    rng = random.Random(trial)
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", str(source)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if trial % 2:
            lock, holder = db.with_name(db.name + ".lock"), f"pid {proc.pid} "
            while proc.poll() is None and holder not in _text_or_empty(lock):
                time.sleep(0.005)
            delay = rng.uniform(0.0, 1.0)
        else:
            delay = rng.uniform(0.6, 2.0)
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    after = stored_ids(db)
    links = query(db, "SELECT count(*) FROM paper_sources")[0][0]
    if after == before:
        assert links == links_before
        assert query(db, f"SELECT count(*) FROM paper_sources WHERE source = '{source}'") == [(0,)]
    else:
        assert after == before | ids_in(source)
        assert links == links_before + 300
    count, distinct = query(db, "SELECT count(*), count(DISTINCT id) FROM papers")[0]
    assert count == distinct == len(after)


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_after_the_kills_the_lock_is_free_and_every_source_stores_whole(kill_db):
    db = kill_db
    sources = [
        write_jsonl(db.parent / f"trial{trial}.jsonl", 40 + trial * 60, 300) for trial in range(10)
    ]
    before = stored_ids(db)
    # The locks died with the processes: this run is not blocked (--wait 0).
    again = cli_process("--db", str(db), "ingest", *map(str, sources), "--wait", "0")
    assert again.returncode == 0, again.stderr
    expected = before.union(*(ids_in(path) for path in sources))
    assert stored_ids(db) == expected
    count, distinct = query(db, "SELECT count(*), count(DISTINCT id) FROM papers")[0]
    assert count == distinct == len(expected)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


# --------------------------------------------------------------------------- concurrency


def test_four_concurrent_overlapping_ingests_store_each_paper_once(tmp_path):
    db = tmp_path / "t.db"
    files = [write_jsonl(tmp_path / f"s{i}.jsonl", i * 50, 100) for i in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", str(path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    deadline = time.monotonic() + 120
    outputs = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    expected = set().union(*(ids_in(path) for path in files))
    assert len(expected) == 250
    assert stored_ids(db) == expected
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM papers") == [(250, 250)]
    assert query(db, "SELECT count(*) FROM paper_sources") == [(400,)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
