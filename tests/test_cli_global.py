"""Global options anywhere, the database precedence, read-only commands never create a
database, `adapt-triage path`, and the config file's digest defaults."""

from __future__ import annotations

import json

from helpers import jsonl, run

from adapt_triage.cli import hoist_global_options
from adapt_triage.taxonomy import OFF_TOPIC


def test_db_and_quiet_are_accepted_after_the_subcommand(tmp_path, seed_page):
    db = tmp_path / "after.db"
    result = run(["ingest", seed_page, "--db", db, "-q"])
    assert result.exit_code == 0 and result.stderr == ""
    assert db.exists()
    assert len(jsonl(run(["list", f"--db={db}"]).stdout)) == 70
    assert run(["feeds", "add", "cs.LG", "--db", db, "--quiet"]).stdout == ""
    assert [f["url"] for f in jsonl(run(["feeds", "list", "--db", db]).stdout)] == [
        "https://rss.arxiv.org/rss/cs.LG"
    ]


def test_hoisting_stops_at_a_double_dash():
    assert hoist_global_options(["search", "--db", "x", "--", "--db", "-q"]) == [
        "--db",
        "x",
        "search",
        "--",
        "--db",
        "-q",
    ]


def test_db_option_wins_over_the_environment_which_wins_over_the_default(tmp_path, monkeypatch):
    env_db, cli_db = tmp_path / "env.db", tmp_path / "cli.db"
    monkeypatch.setenv("ADAPT_TRIAGE_DB", str(env_db))
    paths = json.loads(run(["path", "-f", "json"]).stdout)
    assert paths["database"] == str(env_db)
    paths = json.loads(run(["path", "-f", "json", "--db", cli_db]).stdout)
    assert paths["database"] == str(cli_db)
    monkeypatch.delenv("ADAPT_TRIAGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    paths = json.loads(run(["path", "-f", "json"]).stdout)
    assert paths["database"] == str(tmp_path / "data" / "adapt-triage" / "adapt-triage.db")
    monkeypatch.setenv("ADAPT_TRIAGE_CONFIG", str(tmp_path / "my.toml"))
    text = run(["path"]).stdout.splitlines()
    assert text[2] == f"config    {tmp_path / 'my.toml'}" and text[1].startswith("cache ")


def test_read_only_commands_never_create_a_database(tmp_path):
    typo = tmp_path / "tpyo.db"
    for args in (
        ["list"],
        ["search", "lora"],
        ["show", "x"],
        ["dedup"],
        ["export"],
        ["digest"],
        ["feeds", "list"],
        ["sources", "list"],
        ["trends"],
        ["categories", "list"],
    ):
        result = run([*args, "--db", typo])
        if args == ["categories", "list"]:
            assert result.exit_code == 0  # the taxonomy needs no database
        else:
            assert result.exit_code == 1, args
            (line,) = result.stderr.splitlines()
            assert str(typo) in line and "no database" in line
        assert not typo.exists(), args


def test_config_file_sets_digest_defaults_and_options_win(tmp_path, monkeypatch, seed_page):
    db = tmp_path / "t.db"
    run(["ingest", "--quiet", seed_page], db=db)
    config = tmp_path / "config.toml"
    config.write_text(f'[digest]\nhide = ["{OFF_TOPIC}"]\nlimit = 4\nmin-score = 0.0\n')
    monkeypatch.setenv("ADAPT_TRIAGE_CONFIG", str(config))
    papers = jsonl(run(["digest", "--no-mark", "--json"], db=db).stdout)
    assert len(papers) == 4 and all(p["category"] != OFF_TOPIC for p in papers)
    wider = jsonl(run(["digest", "--no-mark", "--json", "--limit", "9"], db=db).stdout)
    assert len(wider) == 9
    args = ["digest", "--no-mark", "--json", "--hide", "lora", "--limit", "100"]
    shown = jsonl(run(args, db=db).stdout)  # --hide replaces the file's hide list
    assert any(p["category"] == OFF_TOPIC for p in shown)
    assert all(p["category"] != "lora" for p in shown)
    for bad, problem in (
        ("[digest]\nlimit = -1\n", "digest.limit"),
        ("[digest]\nhid = []\n", "unknown digest key hid"),
        ("[digest\n", "config.toml"),
        ('[digest]\nhide = ["nosuch"]\n', "unknown category 'nosuch'"),
    ):
        config.write_text(bad)
        result = run(["digest", "--no-mark"], db=db)
        assert result.exit_code == 2, bad
        (line,) = result.stderr.splitlines()
        assert problem in line, line


def test_ingest_dash_on_a_terminal_says_what_it_waits_for(tmp_path, monkeypatch, seed_page):
    import sys

    from adapt_triage import cli

    class TerminalStdin:
        buffer = open(seed_page, "rb")  # noqa: SIM115

        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", TerminalStdin())
    try:
        hinted = []
        monkeypatch.setattr(cli.typer, "echo", lambda text="", **kw: hinted.append(text))
        cli.stdin_hint(["-"], quiet=False)
        cli.stdin_hint(["-"], quiet=True)
        cli.stdin_hint(["file.xml"], quiet=False)
    finally:
        TerminalStdin.buffer.close()
    assert len(hinted) == 1 and "Ctrl-D" in hinted[0]
