"""`classify` without storing: the ingest pipeline's read → parse → classify steps
(`ingest.read_and_parse`, `ingest.classified`), one source at a time, as JSON records.

Nothing here prints; the CLI renders each `ClassifiedSource` as it comes, so JSON Lines
stream one paper a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapt_triage.classify import TriageClassifier
    from adapt_triage.fetch import Fetcher


@dataclass
class ClassifiedSource:
    """One source read and classified: its errors and warnings (one line each), and its
    papers as JSON records, made (and classified) while they are iterated."""

    source: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records: Iterable[dict[str, Any]] = ()


def classify_sources(
    sources: Iterable[str],
    classifier: TriageClassifier,
    *,
    fetcher: Fetcher | Any | None = None,
    explain: bool = False,
) -> Iterator[ClassifiedSource]:
    """Each source read, parsed and classified in turn; `explain` adds the terms behind
    each label to the records."""
    from adapt_triage.ingest import read_and_parse

    for source in sources:
        outcome = read_and_parse(source, fetcher=fetcher)
        result = ClassifiedSource(source, errors=[outcome.error] if outcome.error else [])
        if outcome.parsed is not None:
            result.errors += outcome.parsed.errors
            result.warnings = list(outcome.parsed.warnings)
            result.records = _records(outcome.parsed.papers, classifier, explain)
        yield result


def _records(
    papers: Iterable[Any], classifier: TriageClassifier, explain: bool
) -> Iterator[dict[str, Any]]:
    from adapt_triage.ingest import classified
    from adapt_triage.render import paper_record

    for paper in classified(papers, classifier):
        record = paper_record(paper)
        if explain:
            record["explain"] = {label: classifier.explain(paper, label) for label in paper.labels}
        yield record
