"""Runs the real CLI in a separate process, with one test-only change: after the N-th paper
has been written inside the ingest transaction it prints PAUSED and sleeps, so that a test
can kill it right there (not a test module itself).

    python cli_worker.py PAUSE_AFTER adapt-triage-arguments...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapt_triage import cli, dedup  # noqa: E402

pause_after = int(sys.argv[1])
original_add_many = dedup.DedupIndex.add_many
count = 0


def add_then_pause(self, items):
    """The store indexes a chunk's papers at once (`add` too goes through here)."""
    global count
    original_add_many(self, items)
    before, count = count, count + len(items)
    if before < pause_after <= count:
        print("PAUSED", flush=True)
        time.sleep(600)


dedup.DedupIndex.add_many = add_then_pause
sys.argv = ["adapt-triage", *sys.argv[2:]]
cli.main()
