"""Every command example in the README runs (so the README stays true).

The examples run in order, in one shell session per code block, against one database, in a
scratch directory that sees the repository's fixtures. `adapt-triage` there is the real CLI
with only the network replaced (tests/readme_cli.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

README = REPO / "README.md"
BLOCK_RE = re.compile(r"```(sh|crontab)\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(kind, command) for every command line in the README's sh and crontab blocks."""
    found = []
    for kind, body in BLOCK_RE.findall(README.read_text()):
        for line in body.splitlines():
            command = line.split("  #", 1)[0].strip()
            if kind == "crontab" and command:
                command = command.split(None, 5)[5]  # drop the five schedule fields
            if command:
                found.append((kind, command))
    return found


def test_the_readme_has_the_two_setup_commands_on_its_first_screen():
    first_screen = README.read_text().splitlines()[:24]
    assert "make demo" in "\n".join(first_screen)
    assert "make test" in "\n".join(first_screen)


def test_every_readme_example_runs(tmp_path, shared):  # the arXiv API answers come from shared
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    work = tmp_path / "work"
    work.mkdir()
    (work / "fixtures").symlink_to(REPO / "fixtures")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "adapt-triage").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "readme_cli.py"}" "$@"\n'
    )
    (shim / "adapt-triage").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "ADAPT_TRIAGE_DB": str(tmp_path / "readme.db"),
        "HOME": str(tmp_path),
    }
    commands = [c for _, c in examples() if "adapt-triage" in c]
    runnable = [
        c for c in commands if not c.startswith(("pip ", "make ", "pipx ")) and "--help" not in c
    ]
    assert len(runnable) >= 20
    for command in runnable:
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command
        if "| jq" in command or "classify" in command:
            assert result.stdout.strip(), command
    assert (work / "papers.csv").read_text().startswith("id,title,authors")
    assert (work / "digest.html").read_text().startswith("<!DOCTYPE html>")
    assert (work / "lora.bib").read_text().startswith("@misc{")
    assert "ID  - arxiv:2501.00001" in (work / "starred.ris").read_text()
    assert (work / "trends.svg").read_text().lstrip().startswith("<?xml")


def test_help_examples_in_the_readme_work():
    for _, command in examples():
        if command.startswith("adapt-triage --help"):
            out = subprocess.run(
                [sys.executable, "-m", "adapt_triage", "--help"],
                capture_output=True,
                text=True,
                cwd=REPO,
            )
            assert out.returncode == 0 and "digest" in out.stdout
