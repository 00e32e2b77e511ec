"""The model's labels and scores of stored papers, and which of them a model must redo."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from adapt_triage.scorepack import ScoreKeys
from adapt_triage.store.db import StoreBase, dumps
from adapt_triage.store.queries import PAPER_COLUMNS, decode_paper
from adapt_triage.stored import StoredPaper


class ScoresMixin(StoreBase):
    """Rescoring: the papers a model did not score, and their new scores."""

    def update_scores_many(
        self,
        items: Iterable[tuple[str, Sequence[str], Mapping[str, float]]],
        model_version: str | None,
    ) -> int:
        """Replace the model's labels and scores of many papers in one transaction.
        Returns how many papers were found."""
        count = 0
        with self.write() as conn:
            packed = ScoreKeys(conn)
            for paper_id, labels, scores in items:
                count += conn.execute(
                    "UPDATE papers SET model_labels = ?, model_scores = ?, model_version = ? "
                    "WHERE id = ?",
                    (dumps(list(labels)), packed.text(scores), model_version, paper_id),
                ).rowcount
        return count

    def count_stale_scores(self, model_version: str | None) -> int:
        """How many papers were scored by another model than `model_version` (or never).
        Range scans of `papers_model_version` (NULL, below, above), never a table scan:
        when every score is fresh it reads no row at all."""
        if model_version is None:
            sql = "SELECT count(*) FROM papers WHERE model_version IS NOT NULL"
            params: tuple[Any, ...] = ()
        else:
            sql = (
                "SELECT (SELECT count(*) FROM papers WHERE model_version IS NULL)"
                " + (SELECT count(*) FROM papers WHERE model_version < ?)"
                " + (SELECT count(*) FROM papers WHERE model_version > ?)"
            )
            params = (model_version, model_version)
        return int(self.db.conn.execute(sql, params).fetchone()[0])

    def forget_model_version(self) -> None:
        """Mark every paper's scores as stale, so that the next rescore redoes them all."""
        with self.write() as conn:
            conn.execute("UPDATE papers SET model_version = NULL")

    def papers_needing_scores(
        self, model_version: str | None, *, batch: int = 500
    ) -> Iterator[StoredPaper]:
        """Papers whose scores did not come from `model_version`, in batches by rowid (safe to
        call `update_scores_many` between batches)."""
        last = 0
        while True:
            rows = self._rows(
                f"SELECT {PAPER_COLUMNS}, p.rowid AS _rowid FROM papers p "
                "WHERE p.rowid > ? AND p.model_version IS NOT ? ORDER BY p.rowid LIMIT ?",
                (last, model_version, batch),
            )
            if not rows:
                return
            last = rows[-1]["_rowid"]
            for row in rows:
                yield decode_paper(row)
