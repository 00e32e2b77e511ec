from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

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
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ADAPT_TRIAGE_CACHE", str(model_cache_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("ADAPT_TRIAGE_DB", str(home / "default.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")


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
