"""`--help` and `--version` are fast: they import neither scikit-learn nor the feed stack;
the read commands (`list`, `digest`, `search`) import neither sqlite-utils nor numpy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import run

from adapt_triage import __version__

PROBE = """
import json, sys
from adapt_triage.cli import main
sys.argv = ["adapt-triage", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ["sklearn", "scipy", "feedparser", "httpx", "sqlite_utils", "numpy"]
print(json.dumps({name: name in sys.modules for name in heavy}), file=sys.stderr)
"""


def _imported(*args: str) -> tuple[str, dict[str, bool]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


def test_help_does_not_import_scikit_learn():
    out, imported = _imported("--help")
    assert "ingest" in out and "classify" in out and "digest" in out
    assert imported == {
        "sklearn": False,
        "scipy": False,
        "feedparser": False,
        "httpx": False,
        "sqlite_utils": False,
        "numpy": False,
    }


def test_subcommand_help_does_not_import_scikit_learn():
    out, imported = _imported("classify", "--help")
    assert "--format" in out
    assert not imported["sklearn"]


def test_version_prints_the_package_version():
    out, _ = _imported("--version")
    assert out.strip() == f"adapt-triage {__version__}"


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"adapt-triage {__version__}"


def test_no_arguments_prints_usage_with_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "adapt_triage", "no-such-command"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_a_cold_one_abstract_classify_imports_no_scikit_learn(tmp_path):
    """With the model cached, classifying an abstract in a new process predicts with numpy
    alone: neither scikit-learn nor scipy is imported."""
    from adapt_triage.classify import build_default

    build_default()  # warm this session's cache
    source = tmp_path / "one.jsonl"
    source.write_text(
        json.dumps(
            {
                "title": "Low-rank adaptation of language models",
                "abstract": "We freeze a pretrained model and train low-rank updates (LoRA).",
            }
        )
        + "\n"
    )
    out, imported = _imported("classify", "--format", "jsonl", str(source))
    assert json.loads(out)["labels"][0] == "lora"
    assert not imported["sklearn"] and not imported["scipy"]


def _fresh(code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_model_version_is_known_without_numpy():
    """The stale-score check of `list` and `digest` hashes the training data: no numpy."""
    from adapt_triage.classify import default_model_version

    code = (
        "import sys\n"
        "from adapt_triage.classify import default_model_version\n"
        "print(default_model_version(), 'numpy' in sys.modules)\n"
    )
    assert _fresh(code).split() == [default_model_version(), "False"]


def _migrations_need_sqlite_utils() -> bool:
    code = (
        "import sys, adapt_triage.store.migrations, adapt_triage.dedup_migrations\n"
        "print('sqlite_utils' in sys.modules)\n"
    )
    return _fresh(code) == "True"


@pytest.mark.skipif(
    _migrations_need_sqlite_utils(),
    reason="store/migrations.py or dedup_migrations.py imports sqlite-utils at import time",
)
def test_the_read_commands_import_neither_sqlite_utils_nor_numpy(tmp_path, seed_page):
    """`list`, `digest`, `search` on a current database with fresh scores: the plain sqlite3
    connection and the model's version, no sqlite-utils (and so no numpy)."""
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    for args in (
        ["list", "--category", "lora", "--limit", "20"],
        ["digest", "--since", "1d", "--no-mark"],
        ["search", "low rank", "--limit", "20"],
    ):
        out, imported = _imported("--db", str(db), *args, "--format", "jsonl")
        assert out.strip(), args
        assert not imported["sqlite_utils"] and not imported["numpy"], args
