"""`LinearModel.vectorize` and `logits` (integer word ids, numpy) against the straightforward
code they replaced: a Counter over the strings of `analyze`, a dict lookup per distinct term.
Equal to the bit, in the same order, since the logits are summed in that order and stored
scores must not move."""

from __future__ import annotations

import math
from collections import Counter
from itertools import repeat
from pathlib import Path

import numpy as np
import pytest

from adapt_triage.classify import (
    Example,
    LinearModel,
    TriageClassifier,
    build_default,
    load_realday,
    load_seed,
)
from adapt_triage.modelcache import load_or_fit
from adapt_triage.paper import Paper
from adapt_triage.sources import parse_bytes
from adapt_triage.textfeatures import Document, analyze


def reference_vectorize(model: LinearModel, doc: Document) -> tuple[np.ndarray, np.ndarray]:
    """`LinearModel.vectorize` as it was before the integer path (kept here on purpose)."""
    counts = Counter(analyze(doc, model.ngram_max))
    found = np.fromiter(
        map(model.vocabulary.get, counts, repeat(-1)), dtype=np.int64, count=len(counts)
    )
    known = found >= 0
    if not known.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    idx = found[known]
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
    values = (1.0 + np.log(tf)) * model.idf[idx]
    norm = math.sqrt(float(values @ values))
    return idx, values / norm if norm else values


def reference_logits(model: LinearModel, papers) -> tuple[np.ndarray, np.ndarray]:
    rows = [reference_vectorize(model, model.document(p)) for p in papers]
    gate = np.zeros(len(papers))
    cats = np.zeros((len(papers), model.coef.shape[0]))
    filled = [r for r, (idx, _) in enumerate(rows) if len(idx)]
    if filled:
        idx = np.concatenate([rows[r][0] for r in filled])
        values = np.concatenate([rows[r][1] for r in filled])
        starts = np.cumsum([0] + [len(rows[r][0]) for r in filled[:-1]])
        gate[filled] = np.add.reduceat(model.gate_coef[idx] * values, starts)
        cats[filled] = np.add.reduceat(model.coef[:, idx] * values, starts, axis=1).T
    return gate + model.gate_intercept, cats + model.intercept


def assert_same_rows(model: LinearModel, docs: list[Document]) -> None:
    model._lookup()  # the integer path, for any number of documents from now on
    idx, values, lengths = model._rows(docs)
    assert len(lengths) == len(docs)
    end = 0
    for doc, length in zip(docs, lengths.tolist(), strict=True):
        want_idx, want_values = reference_vectorize(model, doc)
        got_idx, got_values = idx[end : end + length], values[end : end + length]
        end += length
        assert got_idx.tolist() == want_idx.tolist(), doc  # same terms, same order
        assert got_values.tobytes() == want_values.tobytes(), doc  # same bits
        one_idx, one_values = model.vectorize(doc)
        assert one_idx.dtype == np.int64 and one_values.dtype == np.float64
        assert one_idx.tolist() == want_idx.tolist()
        assert one_values.tobytes() == want_values.tobytes()
    assert end == len(idx) == len(values)


def _papers(shared_days: Path | None = None) -> list[Paper | Example]:
    seed_page = Path(__file__).resolve().parents[1] / "fixtures" / "seed_page.txt"
    papers: list[Paper | Example] = list(parse_bytes(seed_page.read_bytes(), source="page").papers)
    assert papers
    papers += load_seed() + load_realday()  # the real-day sample has arXiv categories
    assert any(isinstance(p, Example) and p.arxiv_category for p in papers)
    if shared_days is not None:
        for day in sorted(shared_days.glob("*.jsonl"))[:6]:
            papers += parse_bytes(day.read_bytes(), source=day.name).papers
    return papers


@pytest.fixture(scope="module")
def product_model() -> LinearModel:
    return build_default().model_


# Hand-made documents for the corners: repeats, stop words between known words (the phrase
# skips them, as `words` drops them first), unknown words breaking a phrase, no known word,
# an empty text, one word, and extras (known, unknown, repeated).
CORNERS: list[Document] = [
    ("", ()),
    ("a", ()),
    ("the of and", ()),
    ("zzqx wwvy", ()),
    ("adaptation", ()),
    ("domain adaptation domain adaptation domain", ()),
    ("domain of the adaptation", ("arxiv:cs.cl",)),
    ("domain zzqx adaptation", ("arxiv:cs.cl", "arxiv:cs.cl")),
    ("low rank adaptation . low rank adaptation", ("arxiv:nosuch.cat",)),
    ("Fine-tuning of LoRA adapters, 2 x LoRA; test-time adaptation", ("arxiv:cs.cv",)),
    ("", ("arxiv:cs.cl",)),
]


def test_rows_equal_the_counter_reference_on_real_abstracts(product_model, shared):
    papers = _papers(shared / "realworld" / "arxiv-days")
    docs = [product_model.document(p) for p in papers]
    assert sum(1 for _, extra in docs if extra) > 100
    assert_same_rows(product_model, docs)
    # in chunks too (ingest classifies a chunk at a time)
    for start in range(0, 600, 97):
        assert_same_rows(product_model, docs[start : start + 97])


def test_rows_equal_the_reference_on_corner_cases(product_model):
    assert "arxiv:cs.cl" in product_model.vocabulary  # the extras are really looked up
    assert "arxiv:nosuch.cat" not in product_model.vocabulary
    assert_same_rows(product_model, CORNERS)
    assert_same_rows(product_model, [])
    for doc in CORNERS:
        assert_same_rows(product_model, [doc])


def test_an_extra_that_reads_as_a_word_is_counted_with_it(product_model):
    # Not what `document` makes, but vectorize takes any Document: such an extra merges
    # with the word of the same spelling, as the Counter over `analyze` merged them.
    doc = ("domain adaptation", ("adaptation", "domain adaptation"))
    assert_same_rows(product_model, [doc, *CORNERS])
    idx, _ = product_model.vectorize(doc)
    assert len(idx) == 3


def test_logits_and_scores_equal_the_reference(product_model):
    papers = _papers()
    gate, cats = product_model.logits(papers)
    want_gate, want_cats = reference_logits(product_model, papers)
    assert gate.tobytes() == want_gate.tobytes()
    assert cats.tobytes() == want_cats.tobytes()
    empty = [Paper(title="zzqx"), *papers[:5], Paper(title="the of")]
    gate, cats = product_model.logits(empty)
    want_gate, want_cats = reference_logits(product_model, empty)
    assert gate.tobytes() == want_gate.tobytes() and cats.tobytes() == want_cats.tobytes()


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
def test_fresh_and_cached_models_of_any_ngram_max(tmp_path, ngram_max):
    examples = load_seed()[:120]
    fresh = TriageClassifier(ngram_max=ngram_max, calibrate=False).fit(examples)
    cached = load_or_fit(TriageClassifier(ngram_max=ngram_max, calibrate=False), examples, tmp_path)
    reloaded = load_or_fit(
        TriageClassifier(ngram_max=ngram_max, calibrate=False), examples, tmp_path
    )
    docs = [fresh.model_.document(p) for p in _papers()[:400]] + CORNERS
    for model in (fresh.model_, cached.model_, reloaded.model_):
        assert model.ngram_max == ngram_max
        assert_same_rows(model, docs)
    if ngram_max == 3:
        assert any(t.count(" ") == 2 for t in fresh.model_.terms)  # the old path is used


def test_a_few_documents_do_not_build_the_lookup_a_batch_does(tmp_path):
    examples = load_seed()[:80]
    model = TriageClassifier(calibrate=False).fit(examples).model_
    papers = _papers()[:200]
    few = model.logits(papers[:3])
    assert model._term_lookup is None
    many = model.logits(papers)
    assert model._term_lookup is not None
    assert few[0].tobytes() == many[0][:3].tobytes() and few[1].tobytes() == many[1][:3].tobytes()
    want = reference_logits(model, papers)
    assert many[0].tobytes() == want[0].tobytes() and many[1].tobytes() == want[1].tobytes()
