"""StoredPaper: the one record a stored paper is read as, and its JSON contract."""

from __future__ import annotations

import json

import pytest
from store_support import T0, arxiv

from adapt_triage.paper import CONTRACT_FIELDS
from adapt_triage.store import Store, StoredPaper
from adapt_triage.stored import STORED_EXTRAS


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "history.db") as s:
        yield s


def test_the_contract_record_is_the_contract_fields_in_order_then_the_extras(store):
    store.ingest_source("feed.xml", [arxiv(7)], model_version="m1", now=T0)
    record = store.get_paper("2401.00007").to_contract()
    keys = list(record)
    assert keys[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
    assert keys[len(CONTRACT_FIELDS) :] == ["primary", "primary_score", *STORED_EXTRAS]
    assert record["primary"] == "lora" and record["primary_score"] == 0.8
    assert json.loads(json.dumps(record)) == record  # plain JSON values only


def test_the_users_labels_win_and_count_as_certain(store):
    store.ingest_source("feed.xml", [arxiv(1)], model_version="m1", now=T0)
    store.label_paper("2401.00001", add=["prompt-tuning"], remove=["lora", "adapters"])
    paper = store.get_paper("2401.00001")
    assert paper.labels == paper.user_labels == ["prompt-tuning"]
    assert paper.model_labels == ["lora", "adapters"]  # kept apart
    assert paper.primary == "prompt-tuning" and paper.primary_score == 1.0
    assert paper.score_for("lora") == 1.0
    assert paper.scores == paper.model_scores  # the model's, whoever labelled


def test_a_partial_row_and_bad_json_columns_still_make_a_paper():
    paper = StoredPaper.from_row(
        {"id": "arxiv:1", "title": "T", "authors": "not json", "model_scores": None}
    )
    assert (paper.authors, paper.scores, paper.labels, paper.user_labels) == ([], {}, [], None)
    assert paper.primary is None and paper.primary_score is None
    assert paper.to_paper().title == "T" and paper.duplicates == []
