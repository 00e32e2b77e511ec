"""Draw the real-day labeling sample from ../shared/realworld/arxiv-days (run once; frozen).

Every distinct arXiv id is assigned to the first day it was listed on. Then:

* `random`: 850 papers drawn uniformly at random from all distinct papers of all 31 days
  (so the sample has a real day's off-topic share);
* `top-score`: the 150 papers, among the rest, that the previous model (seed-only,
  algorithm tfidf-ovr-lr-platt/1) scored highest for any adaptation category;
* `uncertain`: the 100 papers whose best adaptation score lay closest to that model's
  decision boundary (0.4);
* `keyword`: 150 papers drawn at random among the rest whose title or abstract matches an
  adaptation keyword (LoRA, adapter, fine-tuning, prompt tuning, test-time, continual, ...).

The output lists id, day, how drawn, primary arXiv category, title and abstract; the
labelers see title and abstract only, shuffled, never how a paper was drawn.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

DAYS = Path(__file__).resolve().parents[1] / ".." / "shared" / "realworld" / "arxiv-days"
KEYWORDS = re.compile(
    r"\b(lora|qlora|low-rank adapt|adapter|fine-?tun|finetun|prompt (tuning|learning)|"
    r"soft prompt|prefix[- ]tuning|test-time (adaptation|training)|continual|incremental|"
    r"catastrophic forgetting|domain (adaptation|generali[sz]ation|shift)|model merging|"
    r"task (vector|arithmetic)|distill|quantiz|pruning|few-shot|meta-learn|personaliz|"
    r"in-context|instruction[- ]tun|data selection|parameter-efficient|peft)",
    re.IGNORECASE,
)


def load_papers() -> list[dict]:
    seen: dict[str, dict] = {}
    for path in sorted(DAYS.glob("2026-03-*.jsonl")):
        day = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec["id"] in seen:
                continue
            seen[rec["id"]] = {
                "id": rec["id"],
                "day": day,
                "arxiv_primary": (rec.get("categories") or [""])[0],
                "title": " ".join(rec["title"].split()),
                "abstract": " ".join(rec["summary"].split()),
            }
    return list(seen.values())


def main(out: str) -> None:
    from adapt_triage.classify import build_default
    from adapt_triage.taxonomy import OFF_TOPIC

    papers = load_papers()
    rng = random.Random(20260301)
    order = list(range(len(papers)))
    rng.shuffle(order)
    chosen: dict[int, str] = {i: "random" for i in order[:850]}
    rest = [i for i in range(len(papers)) if i not in chosen]

    model = build_default()
    scores = model.predict_scores([(papers[i]["title"], papers[i]["abstract"]) for i in rest])
    best = {
        i: max(v for k, v in s.items() if k != OFF_TOPIC) for i, s in zip(rest, scores, strict=True)
    }
    for i in sorted(rest, key=lambda i: (-best[i], papers[i]["id"]))[:150]:
        chosen[i] = "top-score"
    left = [i for i in rest if i not in chosen]
    for i in sorted(left, key=lambda i: (abs(best[i] - 0.4), papers[i]["id"]))[:100]:
        chosen[i] = "uncertain"
    left = [i for i in rest if i not in chosen]
    hits = [i for i in left if KEYWORDS.search(papers[i]["title"] + " " + papers[i]["abstract"])]
    for i in rng.sample(hits, 150):
        chosen[i] = "keyword"

    with open(out, "w", encoding="utf-8") as fh:
        for i in sorted(chosen, key=lambda i: (papers[i]["day"], papers[i]["id"])):
            fh.write(json.dumps({**papers[i], "drawn": chosen[i]}, ensure_ascii=False) + "\n")
    print(f"{len(papers)} distinct papers, {len(chosen)} drawn -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "realday_sample.jsonl")
