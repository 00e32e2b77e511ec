"""Measure classifier variants on the real-day development folds only (grouped by day).

Never touches the held-out days: `include_test=False`. Usage:
    python tools/tune_realday.py 'use_lexicon=False' 'C=3' ...
each argument one variant (comma-separated key=value pairs; empty for the defaults).
"""

from __future__ import annotations

import sys
import time

from adapt_triage.classify import TriageClassifier, load_realday, load_seed
from adapt_triage.realday_eval import evaluate_real_days, realday_drawn


def main(variants: list[str]) -> None:
    seed, realday = load_seed(), load_realday()
    drawn = realday_drawn()
    for variant in variants or [""]:
        params = {}
        for pair in filter(None, variant.split(",")):
            key, value = pair.split("=")
            params[key] = eval(value)  # noqa: S307 - a developer's own command line
        start = time.perf_counter()
        report = evaluate_real_days(
            seed,
            realday,
            drawn,
            model_factory=lambda p=params: TriageClassifier(**p),
            baselines=False,
            include_test=False,
        )
        out = []
        for subset in ("random", "all"):
            m = report.views["cv"][subset]["model"]
            out.append(
                f"{subset}: P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} "
                f"prim {m['primary_accuracy']:.3f} strict {m['primary_accuracy_strict']:.3f}"
            )
        took = time.perf_counter() - start
        print(f"[{variant or 'defaults'}] {' | '.join(out)} ({took:.0f}s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
