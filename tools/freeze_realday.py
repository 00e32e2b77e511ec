"""Freeze the real-day labels: the two independent passes, adjudicated, into package data.

Inputs (a labeling work directory): `sample.jsonl` and `sample2.jsonl`
(tools/draw_realday_sample.py: the first draw, then 750 more drawn at random among the rest),
`passA/*.jsonl` and `passB/*.jsonl` (two independent labeling passes: each pass saw the
taxonomy and the rules only), `adjudication/out_*.jsonl` (a decision and its reason for every
paper on which the passes' label lists differ).

Outputs: `adapt_triage/data/realday.jsonl` (id, day, drawn, arxiv_category, title,
abstract, labels), `adapt_triage/data/realday-adjudication.jsonl` (id, pass_1, pass_2,
labels, chose, reason) and the agreement figures on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "adapt_triage" / "data"


def _load(paths) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(paths):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["id"]] = rec
    return out


def agreement(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, float]:
    ids = sorted(a)
    n = len(ids)

    def on(labels: list[str]) -> bool:
        return labels != ["off-topic"]

    pa = sum(on(a[i]) for i in ids) / n
    pb = sum(on(b[i]) for i in ids) / n
    po = sum(on(a[i]) == on(b[i]) for i in ids) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    both_on = [i for i in ids if on(a[i]) and on(b[i])]
    return {
        "papers": n,
        "on_topic_share_pass_1": round(pa, 3),
        "on_topic_share_pass_2": round(pb, 3),
        "on_off_agreement": round(po, 3),
        "cohen_kappa_on_off": round((po - pe) / (1 - pe), 3),
        "primary_agreement": round(sum(a[i][0] == b[i][0] for i in ids) / n, 3),
        "primary_agreement_both_on_topic": round(
            sum(a[i][0] == b[i][0] for i in both_on) / len(both_on), 3
        ),
        "papers_both_on_topic": len(both_on),
        "identical_label_lists": round(sum(a[i] == b[i] for i in ids) / n, 3),
    }


def _uniform_members(work: Path) -> set[str]:
    """The ids forming one uniform random sample of all distinct papers.

    The first draw's 850 `random` papers are uniform over all papers. The second draw took
    750 at random from the papers not in the first sample at all (so never one of the 400
    targeted ones), which would under-represent the targeted kind. To keep the union
    uniform, a fresh uniform draw S of 750 from every paper outside the first 850 random
    ones is made; S's targeted papers (already labeled) join the uniform sample, and S's
    other papers are stood for by the first |S - targeted| papers of the second draw in its
    random order (a uniform draw of the same pool). The second draw's remaining papers are
    labeled and trained on, but are not part of the uniform sample."""
    import random

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from draw_realday_sample import load_papers

    first = _load([work / "sample.jsonl"])
    random_1 = {p for p, r in first.items() if r["drawn"] == "random"}
    targeted = set(first) - random_1
    papers = load_papers()
    rest = [p for p in papers if p["id"] not in first]
    second_order = [p["id"] for p in random.Random(20260302).sample(rest, 750)]
    pool = [p["id"] for p in papers if p["id"] not in random_1]
    fresh = random.Random(20260303).sample(pool, 750)
    hit = [p for p in fresh if p in targeted]
    return random_1 | set(hit) | set(second_order[: 750 - len(hit)])


def main(workdir: str) -> None:
    work = Path(workdir)
    sample = _load([work / "sample.jsonl", work / "sample2.jsonl"])
    uniform = _uniform_members(work)
    first_ids = set(_load([work / "sample.jsonl"]))
    pass_1 = {k: v["labels"] for k, v in _load(work.glob("passA/*.jsonl")).items()}
    pass_2 = {k: v["labels"] for k, v in _load(work.glob("passB/*.jsonl")).items()}
    decided = _load(work.glob("adjudication/out_*.jsonl"))
    assert set(pass_1) == set(pass_2) == set(sample), "every paper needs both passes"
    final: dict[str, list[str]] = {}
    log = []
    for pid in sorted(sample):
        if pass_1[pid] == pass_2[pid]:
            final[pid] = pass_1[pid]
            continue
        d = decided[pid]
        final[pid] = d["labels"]
        log.append(
            {
                "id": pid,
                "pass_1": pass_1[pid],
                "pass_2": pass_2[pid],
                "labels": d["labels"],
                "chose": d.get("chose"),
                "reason": d.get("reason", ""),
            }
        )
    with open(DATA / "realday.jsonl", "w", encoding="utf-8") as fh:
        for pid in sorted(sample, key=lambda p: (sample[p]["day"], p)):
            s = sample[pid]
            rec = {
                "id": pid,
                "day": s["day"],
                "drawn": s["drawn"] if pid in first_ids else "random-2",
                "random": pid in uniform,
                "arxiv_category": s["arxiv_primary"],
                "labels": final[pid],
                "title": s["title"],
                "abstract": s["abstract"],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with open(DATA / "realday-adjudication.jsonl", "w", encoding="utf-8") as fh:
        for rec in log:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(json.dumps({"agreement": agreement(pass_1, pass_2), "adjudicated": len(log)}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
