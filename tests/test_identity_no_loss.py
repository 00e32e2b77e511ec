"""Identity without loss: N distinct inputs give N papers, or N - k with k reported merges.

Title keys keep the letters of every script, a key too short to name a work falls back to
a hash of the title and the text, and a fold by title id is named on stderr."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from conftest import FIXTURES
from helpers import run

from adapt_triage.paper import Paper, clean_text, stable_id, title_key

IDENTITY = FIXTURES / "identity"


def stored(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, title FROM papers ORDER BY rowid").fetchall()


def test_title_keys_keep_every_script():
    titles = [json.loads(line)["title"] for line in (IDENTITY / "non_latin.jsonl").open()]
    keys = [title_key(t) for t in titles]
    assert all(keys) and len(set(keys)) == 4
    assert title_key("Адаптация БОЛЬШИХ моделей") == "адаптация больших моделей"
    assert title_key("Ｌｏｒａ：ｆｕｌｌ-ｗｉｄｔｈ") == "lora full width"  # NFKC
    assert title_key("Straße") == title_key("STRASSE")  # casefold
    # accents of Latin letters fold, marks of other scripts are part of the letter
    assert title_key("Adaptación rápida") == "adaptacion rapida"
    assert title_key("हिंदी किताब") == "हिंदी किताब" != title_key("हद कतब")
    assert title_key("かき") != title_key("がぎ")
    # a lone Greek letter is a symbol read by name; a Greek word stays Greek
    assert title_key("$\\alpha$-LoRA") == title_key("α-LoRA") == "alpha lora"
    assert title_key("Μηχανική μάθηση") == "μηχανική μάθηση"
    assert clean_text("ήλιος") == "ήλιος" and clean_text("ή") == "eta"


def test_ascii_title_keys_are_unchanged():
    """Stored `title:` ids of Latin titles stay what they were."""
    assert title_key("MMRL++: Vision-Language <i>Models</i>") == (
        "mmrl plus plus vision language models"
    )
    digest = hashlib.sha1(b"low rank adaptation").hexdigest()[:16]
    assert stable_id(Paper("Low-Rank <b>Adaptation</b>.")) == f"title:{digest}"


def test_a_key_too_short_hashes_title_and_text():
    a = Paper("TTA", abstract="A study of adapters for speech.")
    b = Paper("TTA", abstract="A study of prompts for vision.")
    c = Paper("🙂", abstract="A study of adapters for speech.")
    d = Paper("🚀", abstract="A study of adapters for speech.")
    e = Paper("", abstract="A study of adapters for speech.")
    assert len({a.id, b.id, c.id, d.id, e.id}) == 5
    assert a.id == Paper("TTA", abstract="A  study of adapters for speech.").id
    assert Paper("LoRA").id == Paper("lora").id  # four letters name a work


def test_two_works_with_one_generic_title_are_both_stored(tmp_path):
    db = tmp_path / "t.db"
    source = tmp_path / "untitled.jsonl"
    texts = [
        "We adapt a frozen speech recogniser to accented speech with sparse adapters.",
        "A benchmark of prompt tuning methods for image classification under label noise.",
    ]
    lines = [json.dumps({"title": "Untitled", "abstract": t}) for t in texts]
    source.write_text("\n".join(lines) + "\n")
    result = run(["ingest", source], db=db)
    assert "new 2" in result.stderr and len(stored(db)) == 2


def test_four_non_latin_papers_give_four_papers(tmp_path):
    db = tmp_path / "t.db"
    result = run(["ingest", IDENTITY / "non_latin.jsonl"], db=db)
    assert result.exit_code == 0, result.output
    assert "items 4, new 4, updated 0, duplicates 0, errors 0" in result.stderr
    assert len(stored(db)) == 4


def test_four_non_latin_titles_without_abstracts_give_four_papers(tmp_path):
    db = tmp_path / "t.db"
    result = run(["ingest", IDENTITY / "non_latin_titles_only.jsonl"], db=db)
    assert result.exit_code == 0, result.output
    assert "new 4" in result.stderr
    titles = [t for _, t in stored(db)]
    assert len(titles) == 4 and len(set(titles)) == 4
    # re-reading the same file folds nothing new and warns about nothing
    again = run(["ingest", IDENTITY / "non_latin_titles_only.jsonl"], db=db)
    assert "new 0" in again.stderr and "merged" not in again.stderr
    assert len(stored(db)) == 4


def test_a_fold_by_title_id_is_reported(tmp_path):
    """A title-only listing and the full entry from another source are one paper, and the
    summary says so: 2 inputs, 1 paper, 1 reported merge."""
    db = tmp_path / "t.db"
    listing = tmp_path / "listing.jsonl"
    listing.write_text(json.dumps({"title": "Sparse Adapters for Speech Recognition"}) + "\n")
    full = tmp_path / "full.jsonl"
    full.write_text(
        json.dumps(
            {
                "title": "Sparse adapters for speech recognition",
                "abstract": "We insert sparse adapters into a frozen speech recogniser and "
                "train them on a few hours of accented speech.",
            }
        )
        + "\n"
    )
    assert run(["ingest", listing], db=db).exit_code == 0
    result = run(["ingest", full], db=db)
    assert result.exit_code == 0, result.output
    assert "merged 1" in result.stderr
    warning = next(line for line in result.stderr.splitlines() if "warning" in line)
    assert "item 1" in warning and "merged into title:" in warning
    assert len(stored(db)) == 1
    # the same file again: nothing new to report
    assert "merged" not in run(["ingest", full], db=db).stderr
