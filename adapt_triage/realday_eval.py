"""How the classifier does on real arXiv days it has not trained on.

The labeled real-day sample (`data/realday.jsonl`) carries the day each paper was first
listed on. Two views:

* **Grouped cross-validation over the development days**: the days outside `TEST_DAYS`
  are dealt into `folds` groups; each group is predicted by a model trained on the seed
  set plus the other groups, so no paper's own day is ever in its training data.
* **Held-out days** (`TEST_DAYS`, chosen before any label was used and never used to
  tune): predicted by a model trained on the seed set plus every development day. These
  figures are only reported.

Each view is scored twice: on the papers drawn at random (the share of an ordinary day)
and on every labeled paper of those days (random plus the draws aimed at rare categories).

Figures: on-topic precision, recall and F1 (a paper is on-topic when its labels are not
`off-topic`); primary accuracy, the share of papers both labeled and predicted on-topic
whose first predicted label equals the first true label (and, stricter, over every truly
on-topic paper, a miss counting as wrong); per-category precision/recall/F1 over the label
sets; a reliability table (of the papers whose first label was scored 0.9 or more, how many
had it right; likewise 0.7-0.9, 0.5-0.7 and below). The baselines of
`adapt_triage.evaluate` are trained and scored on the same folds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapt_triage.classify import Example, TriageClassifier, merge_examples
from adapt_triage.eval_parallel import run_all
from adapt_triage.evaluate import BASELINES, MODEL, Model, _prf, known_models, prepare
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC, category_order

__all__ = [
    "TEST_DAYS",
    "FullReport",
    "RealDayReport",
    "day_folds",
    "evaluate_all",
    "evaluate_real_days",
]

# Five of the 23 days with papers, drawn once (random.Random(31)) before labeling; final test.
TEST_DAYS = ("2026-03-01", "2026-03-05", "2026-03-06", "2026-03-18", "2026-03-23")
RELIABILITY_BINS = ((0.9, 1.01), (0.7, 0.9), (0.5, 0.7), (0.0, 0.5))
SUBSETS = ("random", "all")

Prediction = tuple[list[str], dict[str, float]]


def _on(labels: Sequence[str]) -> bool:
    return bool(labels) and list(labels) != [OFF_TOPIC]


def day_folds(examples: Sequence[Example], folds: int) -> list[list[int]]:
    """Indices grouped by day: days sorted by size, dealt in turn to the smallest fold."""
    by_day: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        by_day.setdefault(ex.group or "?", []).append(i)
    if len(by_day) < folds:
        raise ValueError(f"grouped cross-validation needs at least {folds} days")
    groups: list[list[int]] = [[] for _ in range(folds)]
    for day in sorted(by_day, key=lambda d: (-len(by_day[d]), d)):
        min(groups, key=len).extend(by_day[day])
    return [sorted(g) for g in groups]


def score(
    truth: Sequence[Sequence[str]],
    predicted: Sequence[Prediction],
    categories: Sequence[str],
) -> dict[str, Any]:
    """The figures of one method on one set of papers."""
    t_on = [_on(t) for t in truth]
    p_on = [_on(p[0]) for p in predicted]
    tp = sum(a and b for a, b in zip(t_on, p_on, strict=True))
    fp = sum(b and not a for a, b in zip(t_on, p_on, strict=True))
    fn = sum(a and not b for a, b in zip(t_on, p_on, strict=True))
    precision, recall, f1 = _prf(tp, fp, fn)
    both = [i for i in range(len(truth)) if t_on[i] and p_on[i]]
    right = sum(predicted[i][0][0] == truth[i][0] for i in both)
    per: dict[str, dict[str, float]] = {}
    for c in categories:
        ctp = sum(c in t and c in p[0] for t, p in zip(truth, predicted, strict=True))
        cfp = sum(c not in t and c in p[0] for t, p in zip(truth, predicted, strict=True))
        cfn = sum(c in t and c not in p[0] for t, p in zip(truth, predicted, strict=True))
        cp, cr, cf = _prf(ctp, cfp, cfn)
        per[c] = {"precision": cp, "recall": cr, "f1": cf, "support": ctp + cfn}
    reliability = []
    for lo, hi in RELIABILITY_BINS:
        rows = [
            i
            for i, (labels, scores) in enumerate(predicted)
            if lo <= scores.get(labels[0], 0.0) < hi
        ]
        correct = sum(predicted[i][0][0] in truth[i] for i in rows)
        reliability.append(
            {"bin": f"{lo:.1f}-{min(hi, 1.0):.1f}", "papers": len(rows), "right": correct}
        )
    return {
        "papers": len(truth),
        "on_topic": sum(t_on),
        "predicted_on_topic": sum(p_on),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "primary_accuracy": right / len(both) if both else 0.0,
        "primary_accuracy_strict": right / sum(t_on) if sum(t_on) else 0.0,
        "per_category": per,
        "reliability": reliability,
    }


@dataclass
class RealDayReport:
    n_dev: int
    n_test: int
    dev_days: list[str]
    test_days: list[str]
    folds: int
    categories: list[str]
    # view ("cv" | "test") -> subset ("random" | "all") -> method -> figures
    views: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    model_version: str = ""

    def figure(self, view: str, subset: str, method: str, name: str) -> float:
        return float(self.views[view][subset][method][name])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_dev": self.n_dev,
            "n_test": self.n_test,
            "dev_days": self.dev_days,
            "test_days": self.test_days,
            "folds": self.folds,
            "categories": self.categories,
            "model_version": self.model_version,
            "views": self.views,
        }

    def render(self) -> str:
        lines: list[str] = []
        titles = {
            "cv": f"Real days, grouped by day: {self.folds}-fold cross-validation over "
            f"{len(self.dev_days)} development days ({self.n_dev} papers)",
            "test": f"Real days held out: {', '.join(self.test_days)} ({self.n_test} papers; "
            "trained on the seed and every development day; reported, never tuned on)",
        }
        for view in ("cv", "test"):
            if view not in self.views:
                continue
            lines += [titles[view], ""]
            for subset in SUBSETS:
                methods = self.views[view][subset]
                first = next(iter(methods.values()))
                lines.append(
                    f"  {'papers drawn at random' if subset == 'random' else 'all labeled papers'}"
                    f" ({first['papers']}, {first['on_topic']} on-topic)"
                )
                lines.append(
                    f"  {'method':<10} {'on-P':>6} {'on-R':>6} {'on-F1':>6} "
                    f"{'primary':>8} {'strict':>7}"
                )
                for name, m in methods.items():
                    lines.append(
                        f"  {name:<10} {m['precision']:>6.2f} {m['recall']:>6.2f} "
                        f"{m['f1']:>6.2f} {m['primary_accuracy']:>8.2f} "
                        f"{m['primary_accuracy_strict']:>7.2f}"
                    )
                lines.append("")
            model = self.views[view]["all"][MODEL]
            width = max(len(c) for c in self.categories)
            lines.append("  model per category (all labeled papers of these days)")
            lines.append(f"  {'category':<{width}} {'support':>7} {'P':>5} {'R':>5} {'F1':>5}")
            for c in self.categories:
                row = model["per_category"][c]
                lines.append(
                    f"  {c:<{width}} {row['support']:>7} {row['precision']:>5.2f} "
                    f"{row['recall']:>5.2f} {row['f1']:>5.2f}"
                )
            lines += ["", "  reliability of the first label (all labeled papers)"]
            for row in model["reliability"]:
                share = row["right"] / row["papers"] if row["papers"] else 0.0
                lines.append(
                    f"  score {row['bin']:<8} {row['papers']:>5} papers  {share:>5.2f} right"
                )
            lines.append("")
        lines.append(
            "on-P/on-R/on-F1: on-topic (any adaptation label) precision/recall/F1; primary: "
            "first label right among papers labeled and predicted on-topic; strict: the "
            "same over every truly on-topic paper."
        )
        return "\n".join(lines)


def _predict(factory: Callable[[], Model], train, test) -> list[Prediction]:
    model = factory()
    model.fit(train)
    return [(list(labels), dict(scores)) for labels, scores in model.predict(test)]


def evaluate_real_days(
    seed: Sequence[Example],
    realday: Sequence[Example],
    drawn: Mapping[str, str],
    *,
    folds: int = 5,
    test_days: Sequence[str] = TEST_DAYS,
    model_factory: Callable[[], Model] = TriageClassifier,
    baselines: bool | Mapping[str, Callable[[], Model]] = True,
    include_test: bool = True,
) -> RealDayReport:
    """Grouped-by-day cross-validation on the development days and, when `include_test`,
    the held-out days. `drawn` maps a real-day paper id to how it was drawn ("random", ...).
    Every method trains on the seed set plus the training days."""
    realday = merge_examples(realday)
    dev = [ex for ex in realday if ex.group not in set(test_days)]
    test = [ex for ex in realday if ex.group in set(test_days)]
    factories: dict[str, Callable[[], Model]] = {MODEL: model_factory}
    if baselines is True:
        factories.update(BASELINES)
    elif baselines:
        factories.update(baselines)
    seen = {label for ex in realday for label in ex.labels}
    categories = [c for c in category_order(sorted(set(DEFAULT_SLUGS) | seen)) if c in seen]
    report = RealDayReport(
        n_dev=len(dev),
        n_test=len(test),
        dev_days=sorted({ex.group or "?" for ex in dev}),
        test_days=list(test_days),
        folds=folds,
        categories=categories,
    )

    def views_for(papers: Sequence[Example], preds: dict[str, list[Prediction]]):
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for subset in SUBSETS:
            rows = [
                i for i, ex in enumerate(papers) if subset == "all" or drawn.get(ex.id) == subset
            ]
            truth = [papers[i].labels for i in rows]
            out[subset] = {
                name: score(truth, [p[i] for i in rows], categories) for name, p in preds.items()
            }
        return out

    split = day_folds(dev, folds)
    # every (training part, method) on its own: the day folds, then the held-out days
    parts: list[tuple[list[Example], list[int] | None]] = []
    for held in split:
        held_set = set(held)
        parts.append((list(seed) + [ex for i, ex in enumerate(dev) if i not in held_set], held))
    if include_test and test:
        parts.append((list(seed) + dev, None))
    tasks = [(part, name) for part in range(len(parts)) for name in factories]

    def predictions(task: int) -> list[Prediction]:
        part, name = tasks[task]
        train, rows = parts[part]
        return _predict(factories[name], train, test if rows is None else [dev[i] for i in rows])

    parallel = known_models(factories)
    if parallel:
        prepare(factories, [*seed, *realday])
    done = run_all(predictions, len(tasks), parallel=parallel)
    cv: dict[str, list[Prediction]] = {name: [([], {})] * len(dev) for name in factories}
    final: dict[str, list[Prediction]] = {}
    for (part, name), predicted in zip(tasks, done, strict=True):
        rows = parts[part][1]
        if rows is None:
            final[name] = predicted
            continue
        for i, pred in zip(rows, predicted, strict=True):
            cv[name][i] = pred
    report.views["cv"] = views_for(dev, cv)
    if final:
        report.views["test"] = views_for(test, final)
    return report


def realday_drawn() -> dict[str, str]:
    """How each shipped real-day paper was drawn: "random" for the members of the uniform
    random sample, else the draw ("top-score", "uncertain", "keyword", "random-2")."""
    import json
    from importlib import resources

    from adapt_triage.classify import REALDAY_RESOURCE

    resource = resources.files("adapt_triage").joinpath(REALDAY_RESOURCE)
    if not resource.is_file():
        return {}
    out: dict[str, str] = {}
    for line in resource.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            uniform = record.get("random", record.get("drawn") == "random")
            out[str(record["id"])] = "random" if uniform else str(record.get("drawn") or "")
    return out


@dataclass
class FullReport:
    """The three views of `adapt-triage eval`: seed cross-validation, real days (grouped by
    day, then the held-out days), each with the baselines on the same folds."""

    seed_cv: Any = None  # evaluate.EvalReport
    real_days: RealDayReport | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.seed_cv is not None:
            out["seed_cv"] = self.seed_cv.to_dict()
        if self.real_days is not None:
            out["real_days"] = self.real_days.to_dict()
        return out

    def render(self) -> str:
        parts = []
        if self.seed_cv is not None:
            parts.append("(a) " + self.seed_cv.render())
        if self.real_days is not None:
            parts.append("(b, c) " + self.real_days.render())
        return "\n\n".join(parts)


def evaluate_all(
    user_examples: Sequence[Example] = (),
    *,
    seed_view: bool = True,
    real_view: bool = True,
    folds: int = 5,
    repeats: int = 3,
    seed: int = 0,
    day_folds: int = 5,
) -> FullReport:
    """Seed cross-validation (the seed set plus the user's labels) and the real-day views."""
    from adapt_triage.classify import load_realday, load_seed
    from adapt_triage.evaluate import cross_validate

    report = FullReport()
    seed_set = load_seed()
    realday = load_realday()
    if seed_view:
        report.seed_cv = cross_validate(
            list(seed_set) + list(user_examples),
            folds=folds,
            repeats=repeats,
            seed=seed,
            extra_training=realday,
        )
    if real_view and realday:
        report.real_days = evaluate_real_days(seed_set, realday, realday_drawn(), folds=day_folds)
    return report
