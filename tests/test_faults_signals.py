"""Signals and pipes, through the real CLI in real processes: Ctrl-C during a fetch, and a
reader that goes away (`| head -1`)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from faultserver import FaultServer


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_during_a_fetch_prints_one_interrupted_line_and_exits_130(tmp_path):
    db = tmp_path / "t.db"
    with FaultServer() as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest"]
            + [server.url("/silent"), "--timeout", "30"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell starts a background job with SIGINT ignored, and the child would
            # inherit that (Python then installs no Ctrl-C handler): the CLI gets SIGINT as
            # from a terminal, however pytest was started.
            preexec_fn=_default_sigint,
        )
        try:
            waited = time.monotonic() + 30
            while not server.hits["/silent"] and time.monotonic() < waited:
                time.sleep(0.05)
            assert server.hits["/silent"], "the CLI never reached the server"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130
    assert err == "adapt-triage: interrupted\n"
    assert out == ""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.fixture(scope="module")
def full_db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("pipe")
    source = base / "many.jsonl"
    with source.open("w") as out:
        for i in range(400):
            record = {
                "id": f"arXiv:2404.{i:05d}",
                "title": f"Pipe paper {i} on adapters",
                "abstract": "Adapters for transfer. " * 20,
            }
            out.write(json.dumps(record) + "\n")
    db = base / "t.db"
    done = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "--db", str(db), "ingest", str(source)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return db


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--format", "jsonl"],
        ["export", "--format", "csv"],
        ["list", "--format", "table"],
        ["list", "--format", "jsonl"],
    ],
)
def test_a_reader_that_goes_away_ends_the_run_quietly_with_0(full_db, command):
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapt_triage", "--db", str(full_db), *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert first
    assert proc.returncode == 0
    assert err == b""
