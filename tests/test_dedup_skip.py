"""The shortcuts of a dedup lookup change nothing it decides:

- `_may_link` (the pre-filter before a full verdict) says no only for pairs that
  `_verdict` would not link, and the bound before it (`_containment_bounds`, held to a
  pair-at-a-time version here) only for pairs `_may_link`
  says no to, over real pairs, their perturbations (truncated, edited,
  retitled, a version marker, a kind word, other ids or authors, two texts spliced) and
  unrelated real papers sharing title words;
- `_rank_many` (the chunk's candidates ranked in numpy) ranks as the per-paper ranking it
  replaced, `_key_pairs` builds the rows the set-based version built, and `_evidence`
  measures what the frozenset version measured."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from adapt_triage import dedup
from adapt_triage.dedup import THRESHOLD, _Doc, _may_link, _verdict
from adapt_triage.paper import Paper

ROOT = Path(__file__).resolve().parents[1]
DAYS = ROOT.parent / "shared" / "realworld" / "arxiv-days"
FIELDS = ("title", "abstract", "arxiv_id", "doi", "authors")


def fixture_pairs() -> list[tuple[Paper, Paper]]:
    pairs = []
    for name in ("real_pairs.jsonl", "pairs.jsonl"):
        for line in (ROOT / "fixtures" / "dedup" / name).open():
            pair = json.loads(line)
            a, b = (Paper(**{k: v for k, v in pair[s].items() if k in FIELDS}) for s in "ab")
            pairs += [(a, b), (b, a)]
    return pairs


def real_papers(limit: int) -> list[Paper]:
    if not DAYS.is_dir():
        pytest.skip("../shared/realworld is missing")
    papers = []
    for path in sorted(DAYS.glob("*.jsonl"))[:3]:
        for line in path.open(encoding="utf-8"):
            o = json.loads(line)
            if o.get("title") and o.get("summary"):
                papers.append(
                    Paper(
                        title=o["title"],
                        abstract=o["summary"],
                        authors=o.get("authors") or [],
                        arxiv_id=o.get("id"),
                    )
                )
    return papers[:limit]


def variants(paper: Paper, other: Paper, rng: random.Random) -> list[Paper]:
    """Copies of `paper` that sit on both sides of the rules' thresholds."""
    words = paper.abstract.split()
    sentences = paper.abstract.split(". ")
    title = paper.title
    name = title.split(":")[0] if ":" in title else "Foo"
    texts = [" ".join(words[: max(5, int(len(words) * share))]) for share in (0.1, 0.25, 0.5, 0.8)]
    texts.append(" ".join(w for w in words if rng.random() > 0.3))  # 30% of words dropped
    texts.append(" ".join(w if rng.random() > 0.15 else "zzq" for w in words))  # edited
    texts.append(". ".join(rng.sample(sentences, len(sentences))))  # sentences shuffled
    half = len(words) // 2
    texts.append(" ".join(words[:half] + other.abstract.split()[half:]))  # spliced
    texts.append(" ".join(words[:35] + other.abstract.split()[35:]))  # a shared opening
    texts.append(other.abstract)  # another text under this title
    titles = [
        title,
        title + " v2",
        title + "++",
        "Erratum: " + title,
        "A Survey of " + title,
        f"{name}Net: " + title.split(":")[-1],
        title + " for Large Language Models",
        "Efficient " + title,
        " ".join(title.split()[: max(3, len(title.split()) // 2)]),
        other.title,
    ]
    out = []
    for text in texts:
        for new_title in rng.sample(titles, 4):
            fields = {"title": new_title, "abstract": text, "authors": paper.authors}
            roll = rng.random()
            if roll < 0.2:
                fields["arxiv_id"] = "2999.00001"
            elif roll < 0.3:
                fields["authors"] = ["Nobody Else"]
            elif roll < 0.4:
                fields["arxiv_id"] = paper.arxiv_id
            out.append(Paper(**fields))
    return out


def may_link_bound(a: _Doc, b: _Doc) -> bool:
    """`dedup._may_link_given` with the bound of `_containment_bounds` worked out for one
    pair, the straightforward way (the reference the chunk version is held to)."""
    if a.kinds ^ b.kinds:
        return False
    small = a if a.size <= b.size else b
    if small.size < dedup.MIN_WORDS:
        return dedup._may_link_given(a, b, small, 0.0)
    present_in_a = np.zeros(1 << 16, dtype=bool)
    present_in_a[a.h16] = True
    tokens = b.h16
    present = present_in_a[tokens]
    windows = int(np.count_nonzero(present[:-2] & present[1:-1] & present[2:]))
    if small is a:
        bound = min(1.0, windows / len(a.grams3))
    else:
        missing = len(set(tokens[~present].tolist()))
        bound = windows / (windows + -(-missing // 3)) if windows else 0.0
    return dedup._may_link_given(a, b, small, bound)


def test_may_link_says_no_only_to_pairs_the_rules_do_not_link():
    rng = random.Random(12)
    papers = real_papers(160)
    pairs = fixture_pairs()
    for i, paper in enumerate(papers[:80]):
        other = papers[80 + i]
        pairs += [(paper, v) for v in variants(paper, other, rng)]
        pairs += [(v, paper) for v in variants(other, paper, rng)[:10]]
    # unrelated papers that share title words (what the title keys bring as candidates)
    by_word: dict[str, list[Paper]] = {}
    for paper in papers:
        for word in set(dedup._content(dedup.title_tokens(paper.title))):
            by_word.setdefault(word, []).append(paper)
    for group in by_word.values():
        pairs += [(a, b) for a in group[:6] for b in group[:6] if a is not b]
    tally: Counter[str] = Counter()
    fresh_pairs = []
    for a, b in pairs:
        da, db_ = _Doc.of(a), _Doc.of(b)
        linked = _verdict(da, db_)[0] >= THRESHOLD
        may = _may_link(_Doc.of(a), _Doc.of(b))
        assert may or not linked, (a.title, b.title, _verdict(da, db_))
        tally[f"{'may' if may else 'skip'}/{'linked' if linked else 'not'}"] += 1
        # the bound that runs before it, from the 3-grams of `a` only, is looser still
        fresh = _Doc.of(a)
        other = _Doc.of(b)
        bound = may_link_bound(fresh, other)
        assert bound or not may, (a.title, b.title)
        tally[f"bound-{'may' if bound else 'skip'}"] += 1
        fresh_pairs.append((fresh, other, bound))
    # the bounds worked out for all pairs at once (as a lookup does) decide the same
    limits = dedup._containment_bounds([(x, y) for x, y, _ in fresh_pairs])
    for (x, y, bound), limit in zip(fresh_pairs, limits, strict=True):
        small = x if x.size <= y.size else y
        assert dedup._may_link_given(x, y, small, limit) == bound
    # the set has teeth: many links, and pairs the filter lets through that do not link
    assert tally["may/linked"] >= 1000 and tally["may/not"] >= 100, tally
    assert tally["skip/not"] >= 3000, tally
    assert tally["bound-skip"] >= 2000 and tally["bound-may"] >= tally["may/linked"], tally


def _rank_reference(
    keys: list[int], hits: dict[int, list[int]], earlier: dict[int, list[int]]
) -> list[tuple[int, int]]:
    """The per-paper ranking `_rank_many` replaced (as it was)."""
    counts: Counter[int] = Counter()
    for key in keys:
        weight = dedup._WEIGHTS.get((key >> 32) - 8, 1)
        for number in hits.get(key, ()):
            counts[number] += weight
        for j in earlier.get(key, ()):
            counts[-1 - j] += weight
    order = sorted(counts, key=lambda n: (-counts[n], n < 0, abs(n)))
    return [(n, counts[n]) for n in order[: dedup.MAX_VERIFY]]


@pytest.mark.parametrize("seed", range(6))
def test_rank_many_ranks_as_the_per_paper_ranking(seed):
    rng = random.Random(seed)
    bands = [*range(dedup.BANDS), *range(-5, 0)]
    pool = [dedup._key(rng.choice(bands), rng.randrange(1 << 40)) for _ in range(300 + seed * 200)]
    keys = [list(dict.fromkeys(rng.sample(pool, rng.randrange(0, 30)))) for _ in range(200)]
    hits = {
        key: sorted(rng.sample(range(1, 5000), rng.randrange(1, 64)), reverse=True)
        for key in rng.sample(pool, len(pool) // 2)
    }
    earlier: dict[int, list[int]] = {}
    expected = []
    for i, ks in enumerate(keys):
        expected.append(_rank_reference(ks, hits, earlier))
        for key in ks:
            earlier.setdefault(key, []).append(i)
    assert dedup._rank_many(keys, hits) == expected
    assert dedup._rank_many([], {}) == []
    earlier = {}
    alone = []  # nothing stored: the chunk's own items only
    for i, ks in enumerate(keys[:40]):
        alone.append(_rank_reference(ks, {}, earlier))
        for key in ks:
            earlier.setdefault(key, []).append(i)
    assert dedup._rank_many(keys[:40], {}) == alone


def test_key_pairs_are_the_sorted_distinct_rows():
    rng = random.Random(3)
    keys = [
        [dedup._key(rng.randrange(-5, dedup.BANDS), rng.randrange(1 << 40)) for _ in range(20)]
        for _ in range(50)
    ]
    keys[7] = keys[3][:5] + keys[7]  # shared keys between docs
    numbers = list(range(100, 150))
    expected = sorted(
        {(dedup._stored(k), n) for ks, n in zip(keys, numbers, strict=True) for k in ks}
    )
    assert dedup._key_pairs(keys, numbers) == expected
    assert dedup._key_pairs([], []) == []


def test_evidence_measures_as_the_set_based_version():
    rng = random.Random(5)
    papers = real_papers(40)
    for i, paper in enumerate(papers[:20]):
        for variant in variants(paper, papers[20 + i], rng)[::3]:
            a, b = _Doc.of(paper), _Doc.of(variant)
            ev = dedup._evidence(a, b)
            small, large = (a, b) if a.size <= b.size else (b, a)
            if small.size < dedup.MIN_WORDS:
                continue
            s3 = set(dedup._gram_hashes(small.h16, 3, dedup._GRAM3_MUL).tolist())
            l3 = set(dedup._gram_hashes(large.h16, 3, dedup._GRAM3_MUL).tolist())
            l8 = set(dedup._gram_hashes(large.h16, 8, dedup._GRAM8_MUL).tolist())
            hits = [g in l8 for g in dedup._gram_hashes(small.h16, 8, dedup._GRAM8_MUL).tolist()]
            inter = len(s3 & l3)
            assert ev.resemblance == inter / (len(s3) + len(l3) - inter)
            assert ev.containment == inter / len(s3)
            assert ev.coverage == sum(hits) / len(hits)
            best = streak = 0
            for hit in hits:
                streak = streak + 1 if hit else 0
                best = max(best, streak)
            assert ev.run == (best + 7 if best else 0)
            quarter = max(1, len(hits) // 4)
            parts = [hits[q * quarter : (q + 1) * quarter if q < 3 else None] for q in range(4)]
            assert ev.spread == sum(1 for p in parts if p and 4 * sum(p) >= len(p))
    assert np.array_equal(dedup._hits(np.zeros(3, np.uint64), np.zeros(0, np.uint64)), [0, 0, 0])


def test_grams3_and_shared_counts_worked_out_for_many_docs_are_the_one_at_a_time_ones():
    rng = random.Random(8)
    papers = real_papers(60)
    texts = [
        Paper(title="t", abstract=" ".join(p.abstract.split()[: rng.randrange(0, 9)]))
        for p in papers[:8]
    ]
    docs = [_Doc.of(p) for p in papers + texts]  # with empty and short abstracts
    alone = [_Doc.of(p) for p in papers + texts]
    dedup._grams3_many(docs)
    for doc, one in zip(docs, alone, strict=True):
        assert "grams3" in doc.__dict__
        assert doc.grams3.dtype == one.grams3.dtype and np.array_equal(doc.grams3, one.grams3)
    others = [d.grams3 for d in docs]
    for doc in docs[:10]:
        assert dedup._shared_many(doc.grams3, others) == [
            dedup._shared(doc.grams3, other) for other in others
        ]
    assert dedup._shared_many(docs[0].grams3, []) == []
