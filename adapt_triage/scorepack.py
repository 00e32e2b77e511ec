"""How `papers.model_scores` is stored: the model's score of every category, compactly.

A score list was a JSON object, every category's name repeated in every row (about 410
bytes a paper for 16 categories). It is now a JSON array: first the id of the category
list in `score_keys` (one row per list of categories, in the model's order, shared by
every paper a model of those categories scored), then each score times 10,000 as an
integer, in that order:

    score_keys:    (1, '["lora","adapters",...]')
    model_scores:  '[1,8123,407,...]'      ->  {"lora": 0.8123, "adapters": 0.0407, ...}

About 50 bytes a paper. The scores the classifier writes have four decimals, so the
integers give them back exactly (`n / 10000` is the same float); a score with more
decimals (or not a finite number) keeps its row in the old JSON object form, which is
still read. `_score_keys` in a row (see `SCORE_KEYS_SQL`) is the list its scores need.

The `browse_*` views and the digest read one category's score in SQL with `score_sql`.
Nothing here imports SQLite: the store passes its connection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

SCALE = 10_000  # four decimals, the classifier's rounding

# The category list of the row's scores, as a column of a query over `papers p` (NULL for
# the object form: the text after '[' starts with the list's id; CAST never fails).
SCORE_KEYS_SQL = (
    "(SELECT k.keys FROM score_keys k WHERE k.id = CAST(substr(p.model_scores, 2) AS INTEGER))"
)


def pack(scores: Mapping[str, Any], keys_id: int) -> str | None:
    """The compact text of `scores` under the category list `keys_id` (its keys, in
    order); None when a score would not come back exactly (keep the object form)."""
    values = [str(keys_id)]
    for value in scores.values():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value):
            return None
        scaled = round(value * SCALE)
        if scaled / SCALE != value:
            return None
        values.append(str(scaled))
    return "[" + ",".join(values) + "]"


def unpack(text: str | None, keys: str | None) -> dict[str, float]:
    """The scores of a stored row: `text` in either form, `keys` the category list of
    the compact form (the `_score_keys` column). {} for NULL, empty or unreadable text."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if isinstance(value, dict):
        return value
    if not isinstance(value, list) or not value:
        return {}
    names = _names(keys)
    if len(names) != len(value) - 1:
        return {}
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in value[1:]):
        return {}  # not what this module writes (a hand-edited row): no scores, no crash
    return {name: n / SCALE for name, n in zip(names, value[1:], strict=True)}


@lru_cache(maxsize=64)
def _names(keys: str | None) -> tuple[str, ...]:
    if not keys:
        return ()
    try:
        names = json.loads(keys)
    except ValueError:
        return ()
    return tuple(names) if isinstance(names, list) else ()


def keys_text(names: tuple[str, ...]) -> str:
    """A category list as `score_keys.keys` holds it."""
    return json.dumps(list(names), ensure_ascii=False, separators=(",", ":"))


def score_sql(scores: str, label: str) -> str:
    """An SQL expression: the score of category `label` (an SQL expression) in the
    `model_scores` text `scores` (an SQL expression), in either form; NULL when the
    category has no score or the text is not JSON."""
    return f"""(CASE WHEN NOT json_valid({scores}) THEN NULL
        WHEN json_type({scores}) = 'array' THEN json_extract({scores}, '$[' || (
            SELECT e.key + 1 FROM score_keys k, json_each(k.keys) e
            WHERE k.id = json_extract({scores}, '$[0]') AND e.value = {label}) || ']')
            / {SCALE:d}.0
        ELSE json_extract({scores}, '$."' || {label} || '"') END)"""


class ScoreKeys:
    """Packs score lists on one connection, inside the caller's write transaction: a
    category list not in `score_keys` yet is added. Known lists are remembered for the
    life of this object only (a transaction that rolls back takes its new lists with it,
    so an object must not outlive a failed write)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.known: dict[tuple[str, ...], int] = {}

    def id_of(self, names: tuple[str, ...]) -> int:
        known = self.known.get(names)
        if known is not None:
            return known
        text = keys_text(names)
        self.conn.execute("INSERT OR IGNORE INTO score_keys (keys) VALUES (?)", (text,))
        (found,) = self.conn.execute("SELECT id FROM score_keys WHERE keys = ?", (text,)).fetchone()
        self.known[names] = int(found)
        return int(found)

    def text(self, scores: Mapping[str, Any] | None) -> str:
        """The stored text of a paper's scores: compact when exact, else the JSON object."""
        if not scores:
            return "{}"
        packed = pack(scores, self.id_of(tuple(scores)))
        return packed if packed is not None else json.dumps(dict(scores), ensure_ascii=False)
