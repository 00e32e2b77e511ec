"""Text features for the classifier, with no scikit-learn: the same code turns a paper into
terms when the model is trained and when a cached model predicts, so both see the same
features.

A paper's document is its cleaned title (counted `title_weight` times) and abstract; its
terms are the words (letters first, stop words and one-letter words dropped, lower case)
and the runs of 2..`ngram_max` consecutive kept words, plus one `arxiv:<category>` term for
the arXiv primary category when the source gave one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import filterfalse

from adapt_triage.paper import clean_text

__all__ = ["STOP_WORDS", "Document", "analyze", "clean", "document", "words"]

# scikit-learn's English stop-word list (the Glasgow list), copied so that prediction needs
# no scikit-learn import.
STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already
    also although always am among amongst amoungst amount an and another any anyhow
    anyone anything anyway anywhere are around as at back be became because become
    becomes becoming been before beforehand behind being below beside besides between
    beyond bill both bottom but by call can cannot cant co con could couldnt cry de
    describe detail do done down due during each eg eight either eleven else elsewhere
    empty enough etc even ever every everyone everything everywhere except few fifteen
    fifty fill find fire first five for former formerly forty found four from front full
    further get give go had has hasnt have he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if in inc indeed
    interest into is it its itself keep last latter latterly least less ltd made many
    may me meanwhile might mill mine more moreover most mostly move much must my myself
    name namely neither never nevertheless next nine no nobody none noone nor not
    nothing now nowhere of off often on once one only onto or other others otherwise our
    ours ourselves out over own part per perhaps please put rather re same see seem
    seemed seeming seems serious several she should show side since sincere six sixty so
    some somehow someone something sometime sometimes somewhere still such system take
    ten than that the their them themselves then thence there thereafter thereby
    therefore therein thereupon these they thick thin third this those though three
    through throughout thru thus to together too top toward towards twelve twenty two un
    under until up upon us very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while
    whither who whoever whole whom whose why will with within without would yet you your
    yours yourself yourselves
    """.split()  # noqa: SIM905 - a word list is easier to read as text
)

_TAG_RE = re.compile(r"<[^>]{0,500}>")
# Words of two characters or more, letter first (one-letter words are dropped: a run of
# word characters shorter than two never matches, the rest match as with \w*).
_TOKEN_RE = re.compile(r"(?u)\b[^\W\d_]\w+\b")
# One spelling for the field's compounds, so "finetuning", "fine-tuning" and "fine tuning"
# are one feature.
_COMPOUNDS = re.compile(r"\b(fine|pre|post)[- ]?(tun|train)", re.IGNORECASE)
# What a match of _COMPOUNDS contains, in lower case: ASCII text with none of these has
# no match (the substitution, a slow pass over every text, is skipped).
_COMPOUND_SPELLINGS = tuple(
    f"{first}{sep}{second}"
    for first in ("fine", "pre", "post")
    for sep in ("", "-", " ")
    for second in ("tun", "train")
)

# A document: (text, extra terms). Extra terms are added as they are (never split or joined).
Document = tuple[str, tuple[str, ...]]


def clean(text: str) -> str:
    """`paper.clean_text` (HTML, LaTeX, accents), with a fast path for plain ASCII text:
    there, only entities and tags matter, as the tokenizer ignores LaTeX punctuation."""
    if not text.isascii():
        text = clean_text(text)
    else:
        if "&" in text:
            text = html.unescape(text)
        if "<" in text:
            text = _TAG_RE.sub(" ", text)
        low = text.lower()
        if not any(spelling in low for spelling in _COMPOUND_SPELLINGS):
            return text
    return _COMPOUNDS.sub(r"\1\2", text)


def words(text: str) -> list[str]:
    return list(filterfalse(STOP_WORDS.__contains__, _TOKEN_RE.findall(text.lower())))


def document(
    title: str, abstract: str, *, title_weight: int = 2, arxiv_category: str | None = None
) -> Document:
    """The document of one paper: the title `title_weight` times, then the abstract."""
    title, abstract = clean(title), clean(abstract)
    text = " . ".join([title] * max(title_weight, 0) + [abstract])
    extra = (f"arxiv:{arxiv_category.lower()}",) if arxiv_category else ()
    return text, extra


def analyze(doc: Document | str, ngram_max: int = 2) -> list[str]:
    """The terms of a document: words, then word n-grams up to `ngram_max`, then extras."""
    text, extra = (doc, ()) if isinstance(doc, str) else doc
    kept = words(text)
    grams = list(kept)
    for n in range(2, ngram_max + 1):
        # the n-grams: zip of the word list shifted 0..n-1 (stops at the shortest)
        grams.extend(map(" ".join, zip(*(kept[k:] for k in range(n)), strict=False)))
    grams.extend(extra)
    return grams


# Training sees the same documents again and again (cross-validation folds, calibration):
# their terms are memoised there, bounded to about one training set (results are shared:
# callers must not change them). Prediction calls `analyze` directly and keeps nothing.
_analyze_training = lru_cache(maxsize=4096)(analyze)


def analyzer(ngram_max: int):
    """Memoised `analyze` with a fixed `ngram_max`, for TfidfVectorizer(analyzer=...)."""

    def run(doc: Document | str) -> list[str]:
        return _analyze_training(doc, ngram_max)

    return run


def documents(papers: Sequence[tuple[str, str, str | None]], title_weight: int) -> list[Document]:
    return [document(t, a, title_weight=title_weight, arxiv_category=c) for t, a, c in papers]
