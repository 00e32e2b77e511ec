"""Command-line values coerced without pydantic (`cliparams`): the same value typer's own
coercion gives wherever the plain rules answer, typer's own error everywhere else, and no
pydantic import for a command given plain values."""

from __future__ import annotations

import json
import subprocess
import sys
from enum import Enum
from pathlib import Path

import typer.main
from helpers import run
from typer._coercion import build_runtime_param

from adapt_triage import cliparams
from adapt_triage.cli import app


def _params():
    return _params_of(typer.main.get_command(app))


def _samples(annotation, tmp_path: Path) -> list:
    if annotation is str:
        return ["x", "low rank", ""]
    if annotation is int:
        return ["0", "20", "007", "-1", "abc", "1.5", " 3"]
    if annotation is float:
        return ["0.5", "5", "0", "-1", "x", "1e3"]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        return [m.value for m in members] + [members[0], members[0].value.upper(), "nope"]
    if annotation == list[str]:
        return [("a", "b,c"), ()]
    if annotation is Path:
        existing = tmp_path / "here.db"
        existing.write_text("")
        return [str(existing), str(tmp_path / "missing.db"), str(tmp_path)]
    return []


def test_plain_values_are_exactly_what_typer_gives(tmp_path):
    answered = 0
    for command, param in _params():
        descriptor = param.type_descriptor
        for value in _samples(descriptor.annotation, tmp_path):
            plain = cliparams.plain_value(
                value, descriptor.annotation, descriptor.parameter_info, param, None
            )
            if plain is cliparams._UNSURE:
                continue
            answered += 1
            own = build_runtime_param(descriptor)._coerce_value(value, param=param, ctx=None)
            assert plain == own and type(plain) is type(own), (command, param.name, value)
    assert answered > 100  # the plain rules do answer the common values


def test_values_the_plain_rules_do_not_answer_get_typers_own_errors(tmp_path):
    db = tmp_path / "none.db"
    for args, message in (
        (["list", "--limit", "-1"], "Input should be greater than or equal to 0"),
        (["list", "--limit", "many"], "unable to parse string as an integer"),
        (["list", "--format", "nope"], "'nope' is not one of 'table', 'jsonl'"),
        (["digest", "--min-score", "x"], "Invalid value for '--min-score'"),
    ):
        result = run(args, db=db)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)


def test_a_read_command_with_plain_values_does_not_import_pydantic(tmp_path, seed_page):
    db = tmp_path / "t.db"
    assert run(["ingest", "--quiet", seed_page], db=db).exit_code == 0
    probe = (
        "import json, sys\n"
        "from adapt_triage.cli import main\n"
        "sys.argv = ['adapt-triage', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps('pydantic' in sys.modules), file=sys.stderr)\n"
    )
    for args in (
        ["list", "--category", "lora", "--limit", "20", "--format", "jsonl"],
        ["digest", "--since", "1d", "--no-mark", "--min-score", "0.1"],
        ["search", "low rank", "--limit", "20", "--order", "rank"],
        ["list", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", probe, "--db", str(db), *args],
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip(), args
        assert json.loads(result.stderr.strip().splitlines()[-1]) is False, args


def test_a_typer_shaped_otherwise_keeps_its_own_coercion(monkeypatch):
    """If typer's RuntimeParam cannot be made as expected, nothing is installed (no half
    of the parameters) and typer coerces as before."""

    def unexpected(**_fields):
        raise TypeError("RuntimeParam takes other fields")

    monkeypatch.setattr(cliparams, "PlainRuntimeParam", unexpected)
    group = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="adapt-triage")
    cliparams.install(group, ctx)
    assert all(p._runtime_param is None for _, p in _params_of(group))
    result = run(["list", "--limit", "-1"])
    assert result.exit_code == 2 and "greater than or equal to 0" in result.stderr


def _params_of(group):
    stack = [group]
    while stack:
        command = stack.pop()
        stack.extend(getattr(command, "commands", {}).values())
        for param in command.params:
            if getattr(param, "type_descriptor", None) is not None:
                yield command.name, param
