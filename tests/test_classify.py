"""The classifier: scores for every category, the decision rule, determinism, explanations,
custom categories, and sanity on abstracts written for these tests (never in the seed set)."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from adapt_triage.classify import (
    Example,
    TriageClassifier,
    build_default,
    examples_from_jsonl,
    load_seed,
    merge_examples,
)
from adapt_triage.paper import Paper
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC

# Abstracts written for this test file: each is an unambiguous case of one category.
HELD_OUT = {
    "lora": (
        "Rank-Adaptive Low-Rank Updates for Parameter-Efficient Tuning of Large Language Models",
        "We freeze the weights of a pretrained language model and learn a low-rank "
        "decomposition of the weight update, as in LoRA, but allocate the rank of each layer "
        "adaptively from the singular values of the learned update matrices. With the same "
        "budget of trainable parameters as a rank-8 LoRA, our method improves accuracy on GLUE "
        "and on instruction benchmarks, and merges into the base weights so inference cost is "
        "unchanged.",
    ),
    OFF_TOPIC: (
        "Spike-timing adaptation in hippocampal place cells during spatial navigation in rats",
        "We recorded hippocampal CA1 neurons in freely moving rats and found that firing rates "
        "adapt over repeated traversals of a linear track. Using calcium imaging and a "
        "biophysical model of after-hyperpolarisation currents, we show that adaptation of "
        "single-neuron excitability shifts place fields backwards and sharpens theta phase "
        "precession. The results link cellular adaptation mechanisms to the formation of "
        "spatial memories in the rodent brain.",
    ),
    "test-time-adaptation": (
        "Entropy-Guided Test-Time Adaptation for Image Classifiers under Distribution Shift",
        "Deployed image classifiers degrade when test inputs come from a shifted distribution. "
        "We adapt the model online during inference, using only the unlabeled test batches: "
        "normalisation statistics are re-estimated and the affine parameters are updated by "
        "entropy minimisation on each incoming batch. On ImageNet-C and CIFAR-10-C our "
        "test-time adaptation reduces error by a third without any access to the source data.",
    ),
    "continual-learning": (
        "Prototype Replay for Class-Incremental Learning without Catastrophic Forgetting",
        "In class-incremental learning a model learns a sequence of tasks, each adding new "
        "classes, and must not forget the old ones. We store one prototype per class instead "
        "of raw exemplars and replay them while learning each new task. Across ten incremental "
        "steps on CIFAR-100 and ImageNet-subset, catastrophic forgetting is halved compared "
        "with continual learning baselines.",
    ),
    "model-composition": (
        "Merging Fine-Tuned Models by Task Arithmetic with Sign Consensus",
        "Task vectors, the difference between fine-tuned and pretrained weights, can be added "
        "to combine skills. We study model merging of many task vectors and show that "
        "interference comes from sign conflicts; keeping only parameters whose signs agree "
        "before the arithmetic sum yields a single merged model that retains most of the "
        "accuracy of the individual experts.",
    ),
    "in-context-learning": (
        "Which Demonstrations Help? Example Selection for In-Context Learning",
        "Large language models adapt to new tasks from a few demonstrations placed in the "
        "prompt, without any weight update. We study how to choose these in-context examples "
        "and propose a retrieval method that selects demonstrations by similarity and "
        "diversity. Across classification and reasoning tasks, few-shot prompting with the "
        "selected demonstrations beats random selection.",
    ),
}

PROTEIN = "protein-models"
PROTEIN_DESCRIPTION = (
    "adapting protein language models to new protein families, enzymes and antibodies, "
    "protein sequences, protein structure"
)
PROTEIN_EXAMPLES = [
    Example(
        "Adapting ESM to antibody sequences",
        "We adapt the ESM protein language model to antibody sequences with continued "
        "pre-training and evaluate binding affinity prediction on held-out antibodies.",
        [PROTEIN, "fine-tuning"],
    ),
    Example(
        "Family-specific protein language models for structure prediction",
        "A protein language model pretrained on UniRef is specialised to one protein family "
        "and predicts the structure of related enzymes more accurately than the general model.",
        [PROTEIN],
    ),
]
PROTEIN_PAPER = (
    "Protein language models for enzyme function prediction in a new protein family",
    "We specialise a pretrained protein language model to enzyme sequences of an unseen "
    "protein family and predict enzyme commission numbers and protein structure contacts.",
)


@pytest.fixture(scope="module")
def seed() -> list[Example]:
    return load_seed()


@pytest.fixture(scope="module")
def model() -> TriageClassifier:
    return build_default()


def test_seed_set_loads_from_package_data(seed):
    assert len(seed) == 71
    assert all(ex.title and ex.abstract and ex.labels for ex in seed)
    assert {label for ex in seed for label in ex.labels} <= set(DEFAULT_SLUGS)


def test_scores_cover_every_category_and_lie_in_unit_interval(model, seed):
    papers = [(title, abstract) for title, abstract in HELD_OUT.values()] + seed[:10]
    for scores in model.predict_scores(papers):
        assert list(scores) == list(DEFAULT_SLUGS)
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in scores.values())


def test_accepts_paper_example_pair_and_mapping(model):
    title, abstract = HELD_OUT["lora"]
    inputs = [
        Paper(title=title, abstract=abstract),
        Example(title, abstract),
        (title, abstract),
        {"title": title, "summary": abstract},
    ]
    results = model.predict(inputs)
    assert all(r == results[0] for r in results)
    assert model.predict([]) == []


@pytest.mark.parametrize("category", sorted(HELD_OUT))
def test_unambiguous_unseen_abstracts_get_their_category(model, category):
    ((labels, scores),) = model.predict([HELD_OUT[category]])
    assert labels[0] == category
    assert scores[category] == max(scores.values())


def test_decide_rule_on_many_score_vectors(model):
    rng = random.Random(7)
    slugs = list(DEFAULT_SLUGS)
    topics = [c for c in slugs if c != OFF_TOPIC]
    for _ in range(500):
        scores = {c: rng.choice([0.0, 0.2, 0.5, 0.51, 0.9, 1.0, rng.random()]) for c in slugs}
        labels = model.decide(scores)
        assert labels, scores
        assert len(labels) == len(set(labels)) <= model.max_labels
        assert OFF_TOPIC not in labels or labels == [OFF_TOPIC]
        values = [scores[c] for c in labels]
        assert values == sorted(values, reverse=True)
        relevance = 1.0 - scores[OFF_TOPIC]
        best = max(scores[c] for c in topics)
        assert (labels == [OFF_TOPIC]) == (relevance < model.gate_threshold or best <= 0), scores
        if labels != [OFF_TOPIC]:
            assert scores[labels[0]] == best
            floor = model.threshold * relevance
            assert all(scores[c] >= floor for c in labels[1:])
            # every category that passes the conditional threshold is in, up to max_labels
            passing = [c for c in topics if scores[c] >= floor]
            assert len(labels) >= min(len(passing), model.max_labels)


def test_decide_thresholds_and_off_topic(model):
    base = dict.fromkeys(DEFAULT_SLUGS, 0.01)
    assert model.decide({**base, "lora": 0.45}) == ["lora"]  # always one label
    assert model.decide({**base, OFF_TOPIC: 0.7, "lora": 0.3}) == [OFF_TOPIC]  # the gate
    assert model.decide({**base, OFF_TOPIC: 0.4, "lora": 0.6}) == ["lora"]
    assert model.decide({**base, "lora": 0.9, "adapters": 0.6}) == ["lora", "adapters"]
    assert model.decide({**base, "lora": 0.9, "adapters": 0.4}) == ["lora"]
    # the threshold is on P(c | on-topic) = score / P(on-topic): 0.3 / 0.5 passes 0.5
    half = {**base, OFF_TOPIC: 0.5, "lora": 0.45, "adapters": 0.3}
    assert model.decide(half) == ["lora", "adapters"]
    assert model.decide({**base, OFF_TOPIC: 0.51, "lora": 0.45}) == [OFF_TOPIC]
    many = {**base, "lora": 0.9, "adapters": 0.8, "compression": 0.7, "fine-tuning": 0.6}
    assert model.decide(many) == ["lora", "adapters", "compression"]
    with pytest.raises(ValueError):
        model.decide({})


def test_off_topic_papers_show_a_high_off_topic_score(model):
    """An off-topic paper's score says how sure the model is that it is off-topic."""
    ((labels, scores),) = model.predict([HELD_OUT[OFF_TOPIC]])
    assert labels == [OFF_TOPIC] and scores[OFF_TOPIC] > 0.5
    ((labels, scores),) = model.predict([HELD_OUT["lora"]])
    assert scores[OFF_TOPIC] < 0.5 and scores["lora"] <= 1.0 - scores[OFF_TOPIC] + 1e-4


def test_predictions_on_seed_obey_the_rule(model, seed):
    for labels, scores in model.predict(seed):
        assert labels and (OFF_TOPIC not in labels or labels == [OFF_TOPIC])
        assert [scores[c] for c in labels] == sorted((scores[c] for c in labels), reverse=True)


def test_training_is_deterministic_and_versioned(seed):
    a, b = TriageClassifier().fit(seed), TriageClassifier().fit(seed)
    papers = list(HELD_OUT.values())
    assert a.predict(papers) == b.predict(papers)
    assert a.model_version == b.model_version and len(a.model_version) == 12
    relabeled = [Example(seed[0].title, seed[0].abstract, ["compression"]), *seed[1:]]
    assert TriageClassifier().fit(relabeled).model_version != a.model_version
    assert TriageClassifier(C=1.0).fit(seed).model_version != a.model_version


def test_explain_returns_terms_from_the_text(model):
    for category, (title, abstract) in HELD_OUT.items():
        terms = model.explain((title, abstract), category, k=5)
        assert 1 <= len(terms) <= 5
        text = f"{title} {abstract}".lower()
        for term in terms:
            assert all(word in text for word in term.split()), term
    assert "lora" in model.explain(HELD_OUT["lora"], "lora")
    assert model.explain(HELD_OUT["lora"], "lora", k=0) == []
    with pytest.raises(ValueError, match="unknown category"):
        model.explain(HELD_OUT["lora"], "no-such-category")


def test_unfitted_classifier_says_so():
    with pytest.raises(RuntimeError, match="fit"):
        TriageClassifier().predict_scores([("a title", "an abstract")])


def test_explicit_categories_are_strict(seed):
    with pytest.raises(ValueError, match="not among"):
        TriageClassifier(["lora", OFF_TOPIC]).fit(seed)


def test_custom_category_with_examples_is_predicted(seed):
    model = build_default(PROTEIN_EXAMPLES, {PROTEIN: PROTEIN_DESCRIPTION})
    assert model.categories_[-2:] == [PROTEIN, OFF_TOPIC]
    assert model.n_examples_[PROTEIN] == 2
    (labels, scores), (lora_labels, _) = model.predict([PROTEIN_PAPER, HELD_OUT["lora"]])
    assert PROTEIN in labels and scores[PROTEIN] >= 0.5
    assert PROTEIN not in lora_labels
    assert set(scores) == {*DEFAULT_SLUGS, PROTEIN}


def test_custom_category_without_description_learns_from_examples():
    model = build_default(PROTEIN_EXAMPLES, {PROTEIN: ""})
    ((labels, _),) = model.predict([PROTEIN_PAPER])
    assert PROTEIN in labels


def test_untaught_custom_category_is_scored_but_never_alone():
    model = build_default((), {PROTEIN: PROTEIN_DESCRIPTION})
    assert model.n_examples_[PROTEIN] == 0
    ((labels, scores),) = model.predict([PROTEIN_PAPER])
    # learned from its description alone: P(protein | on-topic) passes the threshold
    assert scores[PROTEIN] / (1.0 - scores[OFF_TOPIC]) > 0.5
    assert any(model.n_examples_[c] > 0 for c in labels)
    # forced: the untaught category has the best score, and no taught one passes
    forced = {**dict.fromkeys(DEFAULT_SLUGS, 0.1), PROTEIN: 0.99, "lora": 0.45}
    assert model.decide(forced) == [PROTEIN, "lora"]
    assert model.decide({**forced, OFF_TOPIC: 0.6}) == [OFF_TOPIC]
    # the best taught category always joins it, however low its score
    assert model.decide({**forced, "lora": 0.2}) == [PROTEIN, "lora"]
    # no description and no example: a constant score of 0
    bare = build_default((), {"empty-category": ""})
    assert {s["empty-category"] for s in bare.predict_scores([PROTEIN_PAPER])} == {0.0}


def test_user_labels_win_over_seed_labels(seed):
    target = seed[0]
    user = Example(target.title.upper(), target.abstract, ["compression"])
    merged = merge_examples(seed, [user])
    assert len(merged) == len(seed)
    assert merged[0].labels == ["compression"]
    assert build_default([user]).model_version != build_default().model_version


def test_jsonl_errors_name_source_and_line():
    good = json.dumps({"id": "x", "title": "T", "abstract": "A", "labels": ["lora"]})
    assert examples_from_jsonl(good + "\n\n")[0].labels == ["lora"]
    bad_lines = [
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"abstract": "A", "labels": ["lora"]}),
        json.dumps({"title": "T", "labels": []}),
        json.dumps({"title": "T", "abstract": 3, "labels": ["lora"]}),
    ]
    for bad in bad_lines:
        with pytest.raises(ValueError, match=r"^labels\.jsonl:2: "):
            examples_from_jsonl(f"{good}\n{bad}\n", "labels.jsonl")


def test_hyperparameters_show_in_repr():
    assert repr(TriageClassifier()) == "TriageClassifier()"
    assert repr(TriageClassifier(C=1.0, max_labels=2)) == "TriageClassifier(C=1.0, max_labels=2)"


def test_labels_are_taken_from_training_when_categories_not_given():
    examples = [
        Example(f"paper {i} about {topic}", f"an abstract on {topic} methods", [label])
        for i, (topic, label) in enumerate(
            itertools.islice(itertools.cycle([("graphs", "graph-models"), ("lora", "lora")]), 8)
        )
    ]
    model = TriageClassifier().fit(examples)
    assert "graph-models" in model.categories_ and model.categories_[-1] == OFF_TOPIC
