"""The user's labels (they replace the model's) and the user's own categories."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from adapt_triage.store.db import loads, stamp
from adapt_triage.store.errors import StoreError, UnknownLabelError
from adapt_triage.store.queries import PAPER_COLUMNS, QueriesMixin, decode_paper
from adapt_triage.stored import StoredPaper
from adapt_triage.taxonomy import DEFAULT_SLUGS, OFF_TOPIC, category_order

_SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class LabelsMixin(QueriesMixin):
    """Label sets a user gives papers, and user-defined categories."""

    def known_labels(self) -> list[str]:
        """Taxonomy categories and user-defined ones, in taxonomy order (off-topic last)."""
        custom = [r[0] for r in self.db.conn.execute("SELECT slug FROM categories")]
        return category_order(list(DEFAULT_SLUGS) + custom)

    def _check_labels(self, labels: Iterable[str]) -> None:
        known = set(self.known_labels())
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise UnknownLabelError(
                f"unknown category {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(self.known_labels())} (add one with `categories add`)"
            )

    def set_user_labels(
        self, ref: str, labels: Sequence[str], *, now: str | datetime | None = None
    ) -> list[str]:
        """Replace the user's label set for a paper. `off-topic` stands alone; the set may not
        be empty (use `clear_user_labels` to fall back to the model)."""
        wanted = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
        self._check_labels(wanted)
        return self._change_user_labels(ref, lambda current: wanted, now)

    def label_paper(
        self,
        ref: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        now: str | datetime | None = None,
    ) -> list[str]:
        """The user's correction: start from the paper's effective labels (the user's set, else
        the model's), remove `remove`, put `add` first (the user's explicit labels are the most
        confident). Adding `off-topic` replaces every other label; adding any other label drops
        `off-topic`. Returns the new label set."""
        added = list(dict.fromkeys(a.strip() for a in add if a.strip()))
        removed = {r.strip() for r in remove if r.strip()}
        self._check_labels(added)

        def compute(current: list[str]) -> list[str]:
            if OFF_TOPIC in added:
                return added
            base = [label for label in current if label not in removed]
            if added:
                base = [label for label in base if label != OFF_TOPIC]
            result = list(dict.fromkeys([*added, *base]))
            if not result:
                raise StoreError(
                    f"{ref}: removing {', '.join(sorted(removed))} would leave no label; "
                    f"add one or mark it {OFF_TOPIC}"
                )
            return result

        return self._change_user_labels(ref, compute, now)

    def _change_user_labels(
        self,
        ref: str,
        compute: Callable[[list[str]], list[str]],
        now: str | datetime | None,
    ) -> list[str]:
        """Read the effective labels and write the user's new set in one transaction."""
        pid = self._require_id(ref)
        when = stamp(now)
        with self.write() as conn:
            kept = dict(
                conn.execute(
                    "SELECT label, at FROM user_labels WHERE paper_id = ? ORDER BY position",
                    (pid,),
                )
            )
            if kept:
                current = list(kept)
            else:
                row = conn.execute("SELECT model_labels FROM papers WHERE id = ?", (pid,))
                current = loads(row.fetchone()[0], [])
            labels = compute(current)
            if not labels:
                raise StoreError(f"{pid}: a paper needs at least one label")
            if OFF_TOPIC in labels and len(labels) > 1:
                raise StoreError(f"{pid}: {OFF_TOPIC} stands alone; it cannot join other labels")
            conn.execute("DELETE FROM user_labels WHERE paper_id = ?", (pid,))
            conn.executemany(
                "INSERT INTO user_labels (paper_id, label, position, at) VALUES (?, ?, ?, ?)",
                [(pid, label, i, kept.get(label, when)) for i, label in enumerate(labels)],
            )
        return labels

    def clear_user_labels(self, ref: str) -> bool:
        """Forget the user's labels for a paper (the model's apply again)."""
        pid = self._require_id(ref)
        with self.write() as conn:
            return conn.execute("DELETE FROM user_labels WHERE paper_id = ?", (pid,)).rowcount > 0

    @staticmethod
    def effective_labels(paper: StoredPaper) -> list[str]:
        """The user's labels when they set any, else the model's."""
        return list(paper.user_labels or paper.model_labels)

    def user_labeled_examples(self) -> list[dict[str, Any]]:
        """Training examples from the user: [{id, title, abstract, labels}], in the order the
        user labelled them. Only the user's labels, never the model's predictions."""
        rows = self._rows(  # driven by user_labels: the history is never scanned
            f"""SELECT {PAPER_COLUMNS}, u._labelled_at
            FROM (SELECT paper_id, max(at) AS _labelled_at FROM user_labels
                  GROUP BY paper_id) u
            CROSS JOIN papers p ON p.id = u.paper_id
            ORDER BY u._labelled_at, p.rowid"""
        )
        return [
            {
                "id": r.id,
                "title": r.title,
                "abstract": r.abstract,
                "labels": r.labels,
                "categories": r.categories,
            }
            for r in map(decode_paper, rows)
        ]

    def add_category(
        self, slug: str, description: str = "", *, now: str | datetime | None = None
    ) -> dict[str, Any]:
        """Add a user-defined category, or re-describe one (an empty `description` keeps the
        one it has)."""
        slug = (slug or "").strip()
        if not _SLUG_RE.match(slug) or len(slug) > 63:
            raise StoreError(
                f"category {slug!r}: use lower-case letters, digits and single hyphens, "
                "starting with a letter (e.g. federated-tuning), at most 63 characters"
            )
        if slug in DEFAULT_SLUGS:
            raise StoreError(f"category {slug!r} is already in the taxonomy")
        when = stamp(now)
        with self.write() as conn:
            conn.execute(
                "INSERT INTO categories (slug, description, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET description = CASE "
                "WHEN excluded.description = '' THEN categories.description "
                "ELSE excluded.description END",
                (slug, description or "", when),
            )
        return self._rows("SELECT * FROM categories WHERE slug = ?", (slug,))[0]

    def list_categories(self) -> list[dict[str, Any]]:
        """User-defined categories, oldest first."""
        return self._rows("SELECT * FROM categories ORDER BY created_at, slug")
