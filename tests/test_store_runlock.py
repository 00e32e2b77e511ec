"""The whole-run lock."""

from __future__ import annotations

import pytest

from adapt_triage.store import (
    RunLockedError,
    Store,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data" / "history.db") as s:
        yield s


def test_run_lock_excludes_a_second_holder(store, tmp_path):
    with (
        store.run_lock(command="ingest"),
        Store(store.path) as other,
        pytest.raises(RunLockedError, match="ingest"),
        other.run_lock(timeout=0.2),
    ):
        pass
    with Store(store.path) as other, other.run_lock(timeout=0):
        pass
