from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = REPO / "fixtures"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Tests on the real samples skip where ../shared is missing (a clone on its own), but
    in CI, which lays shared/ beside the clone, a missing shared/ is an error, not a skip."""
    if os.environ.get("CI") and not SHARED.is_dir():
        raise pytest.UsageError(f"CI: {SHARED} is missing; the real-sample tests cannot run")


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory) -> Path:
    """One model cache for the whole session (fitting the product model takes seconds; the
    cache tests use their own directories)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch, model_cache_dir):
    """Never touch the real user data directory: every test gets its own default database."""
    _isolate(monkeypatch, tmp_path_factory.mktemp("home"), model_cache_dir)


def _isolate(mp: pytest.MonkeyPatch, home: Path, model_cache_dir: Path) -> None:
    """Point the user directories (data, cache, config, the default database) into `home`,
    the model cache at the session's, and fix the terminal's colour and width."""
    mp.setenv("ADAPT_TRIAGE_CACHE", str(model_cache_dir))
    mp.setenv("XDG_CACHE_HOME", str(home / "cache"))
    mp.setenv("ADAPT_TRIAGE_DB", str(home / "default.db"))
    mp.setenv("XDG_DATA_HOME", str(home / "data"))
    mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
    mp.setenv("NO_COLOR", "1")
    mp.setenv("COLUMNS", "120")


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository")
    return SHARED


@pytest.fixture
def seed_page() -> Path:
    return FIXTURES / "seed_page.txt"


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:  # shared by the fault tests
    """Make a file or a directory read-only for this user: a mode for a normal user, the
    immutable flag for root (who ignores modes)."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555 if path.is_dir() else 0o444)
            return
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"root ignores file modes and chattr +i failed: {done.stderr.strip()}")
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@dataclass
class EvalRun:
    """One `adapt-triage eval` run: the JSON it printed, the report object the command
    rendered it from, and what the command passed to `evaluate_all`."""

    output: dict[str, Any]
    report: Any  # adapt_triage.realday_eval.FullReport
    call: tuple[tuple[Any, ...], dict[str, Any]]


EVAL_ARGS = ("eval", "--format", "json", "--folds", "5", "--repeats", "1")


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory, model_cache_dir) -> EvalRun:
    """`adapt-triage eval --format json --folds 5 --repeats 1` (every view, the shipped
    data), run once for the session through the real CLI in-process, which takes about a
    minute. The report object is recorded on its way out, so that test_evaluate checks the
    very report the command printed, and test_cli_eval's table test prints it again instead
    of computing it a second time.

    Under pytest-xdist each worker is its own session, and test_cli_eval and test_evaluate
    may run on different workers: the first worker to need it computes it and leaves it
    (pickled) for the others of the same run, which wait for it behind a file lock."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id is None:  # not under xdist
        return _compute_eval_run(tmp_path_factory, model_cache_dir)
    import fcntl
    import pickle

    shared = tmp_path_factory.getbasetemp().parent  # the run's, beside every worker's own
    path = shared / f"eval-run-{run_id}.pickle"
    with (shared / f"eval-run-{run_id}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        made = _compute_eval_run(tmp_path_factory, model_cache_dir)
        path.with_suffix(".tmp").write_bytes(pickle.dumps(made))
        path.with_suffix(".tmp").replace(path)
        return made


def _compute_eval_run(tmp_path_factory, model_cache_dir) -> EvalRun:
    from helpers import run

    from adapt_triage import realday_eval

    home = tmp_path_factory.mktemp("eval-home")
    calls: list[tuple[tuple[Any, ...], dict[str, Any], Any]] = []
    evaluate_all = realday_eval.evaluate_all

    def recording(*args: Any, **kwargs: Any) -> Any:
        report = evaluate_all(*args, **kwargs)
        calls.append((args, kwargs, report))
        return report

    with pytest.MonkeyPatch.context() as mp:  # the user directories, as for every test
        _isolate(mp, home, model_cache_dir)
        mp.setattr(realday_eval, "evaluate_all", recording)
        result = run(list(EVAL_ARGS))
    assert result.exit_code == 0, result.output
    ((args, kwargs, report),) = calls
    return EvalRun(json.loads(result.stdout), report, (args, kwargs))
