"""The error boundary: each known condition is one named line on stderr and a non-zero
exit status, never "unexpected error", never a traceback, through the real CLI in a
subprocess. (Already covered in tests/test_faults_*.py: a full disk during `ingest`, a
read-only database during `ingest`, damaged pages, `ingest -` with stdin closed, a lock
file owned by another user.)"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO

from adapt_triage.exitstatus import ExitStatus

NOBODY = 65534


def cli(
    *args: str,
    preexec_fn: Callable[[], None] | None = None,
    stdout: int | None = subprocess.PIPE,
    stdin: int | None = None,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adapt_triage", *args],
        cwd=REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=stdin,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def the_error_line(done: subprocess.CompletedProcess) -> str:
    """The one line on stderr, checked to be a named error."""
    assert done.returncode == ExitStatus.FAILED, done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("adapt-triage: ")
    return line


def papers_file(path: Path, count: int, abstract_words: int = 20) -> Path:
    with path.open("w") as out:
        for i in range(count):
            words = " ".join(f"w{i}x{j}" for j in range(abstract_words))
            abstract = f"Item {i} studies low-rank adapters for fine-tuning. {words}"
            record = {
                "id": f"arXiv:2402.{i:05d}",
                "title": f"Paper {i} on adapters",
                "abstract": abstract,
            }
            out.write(json.dumps(record) + "\n")
    return path


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A database of 150 papers, made once: copy it before changing it."""
    db = tmp_path_factory.mktemp("faults") / "t.db"
    source = papers_file(db.parent / "s.jsonl", 150, abstract_words=200)
    assert cli("--db", str(db), "ingest", str(source)).returncode == 0
    return db


@pytest.fixture
def db(stored, tmp_path) -> Path:
    copy = tmp_path / "t.db"
    copy.write_bytes(stored.read_bytes())
    return copy


def test_a_full_disk_is_named_for_the_database_and_for_an_export_file(db, tmp_path):
    """A limit on file size (RLIMIT_FSIZE) is a full disk to the process: the database's
    write-ahead log cannot grow, nor can the export file."""
    limit = 64 * 1024  # room for the shared-memory index (32 KiB), not for the rewrite

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    assert db.stat().st_size > 2 * limit
    line = the_error_line(cli("--db", str(db), "reclassify", "--all", preexec_fn=limited))
    assert line.startswith(f"adapt-triage: {db}: ")
    # SQLite names ENOSPC "disk is full"; a write past the size limit (EFBIG) it reports as
    # an I/O error of the write: either way the cause is named, and nothing was kept.
    assert "nothing was saved" in line or "cannot write" in line, line
    assert "the disk is full" in line or "a disk I/O error" in line, line
    out = tmp_path / "papers.csv"
    done = cli("--db", str(db), "export", "-f", "csv", "-o", str(out), preexec_fn=limited)
    assert the_error_line(done) == f"adapt-triage: {out}: the file-size limit is reached"


def test_a_read_only_database_is_named_for_every_write_and_exits_1(db, read_only):
    """Not a usage error (2): `categories add` and `feeds add` refuse bad input with 2,
    but a database they cannot write is a failure like any other."""
    read_only(db)
    for command in (
        ["categories", "add", "federated-tuning"],
        ["feeds", "add", "cs.LG"],
        ["label", "2402.00001", "--add", "lora"],
    ):
        line = the_error_line(cli("--db", str(db), *command))
        assert "the database is read-only" in line, (command, line)
    listed = cli("--db", str(db), "list", "--format", "jsonl")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 150


def test_a_read_only_directory_is_named(db, tmp_path, read_only):
    folder = db.parent
    read_only(folder)
    line = the_error_line(cli("--db", str(db), "list", "--format", "jsonl"))
    assert line.startswith(f"adapt-triage: {db}: the directory {folder} is read-only")
    new = folder / "new.db"
    line = the_error_line(cli("--db", str(new), "feeds", "add", "cs.LG"))
    assert f"the directory {folder} is read-only" in line
    assert not new.exists()


def test_a_full_stdout_is_named_and_exits_1(db):
    with open("/dev/full", "w") as full:
        for command in (["list", "--format", "jsonl"], ["show", "2402.00001", "-f", "json"]):
            done = cli("--db", str(db), *command, stdout=full.fileno())
            assert the_error_line(done) == "adapt-triage: cannot write to stdout: the disk is full"


def test_a_closed_stdout_is_named_and_exits_1(db):
    def close_stdout() -> None:
        os.close(1)

    for command in (["list", "--format", "jsonl"], ["show", "2402.00001"], ["path"]):
        done = cli("--db", str(db), *command, stdout=None, preexec_fn=close_stdout)
        assert the_error_line(done) == "adapt-triage: cannot write to stdout: it is closed"
    # A command that writes nothing to stdout does its work.
    quiet = cli(
        "--db", str(db), "-q", "label", "2402.00001", "--add", "lora", preexec_fn=close_stdout
    )
    assert quiet.returncode == 0, quiet.stderr


def test_a_closed_stdin_is_named_and_exits_1(db, tmp_path):
    def close_stdin() -> None:
        os.close(0)

    line = the_error_line(cli("--db", str(db), "feeds", "import", "-", preexec_fn=close_stdin))
    assert line.startswith("adapt-triage: cannot read stdin: it is closed")
    line = the_error_line(cli("--db", str(db), "review", preexec_fn=close_stdin))
    assert line.startswith("adapt-triage: cannot read stdin: it is closed")
    done = cli("classify", "-", preexec_fn=close_stdin)
    assert done.returncode == ExitStatus.SOURCE_FAILED
    assert "adapt-triage: -: cannot read stdin: it is closed" in done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr


def others_may_enter(path: Path) -> bool:
    """Whether a user other than the owner may reach `path` (x on every directory)."""
    import stat

    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.exists())


def test_a_lock_file_owned_by_another_user_is_named(tmp_path):
    """The planted lock of tests/test_faults_storage.py seen from the other side: a user
    who is not root meets a lock file that root (another user) owns."""
    if os.geteuid() != 0:
        pytest.skip("making a file owned by another user needs root")
    folder = tmp_path / "shared"
    folder.mkdir()
    source = papers_file(folder / "s.jsonl", 3)
    lock = folder / "t.db.lock"
    lock.write_text("root's\n")  # owned by root
    for path in (folder, source):
        os.chown(path, NOBODY, NOBODY)

    def as_nobody() -> None:
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    for needed in (Path(sys.executable).resolve(), REPO, folder):
        if not others_may_enter(needed):
            pytest.skip(f"another user cannot reach {needed} here")
    done = cli("--db", str(folder / "t.db"), "ingest", str(source), preexec_fn=as_nobody)
    line = the_error_line(done)
    assert f"{lock} is owned by another user (uid 0)" in line
    assert lock.read_text() == "root's\n"
