"""scikit-learn's TfidfVectorizer for the evaluation's baselines, with each text's term counts
computed once per process instead of once per fold.

A cross-validation fits a fresh TF-IDF vectorizer on every training part; tokenising and
counting the same ~1,300 texts again for each of them was most of the baselines' cost. Here
the analysis of a text (scikit-learn's own analyzer for the same settings) is cached, and
`fit_transform` / `transform` build the count matrix from the cached counts exactly as
scikit-learn's CountVectorizer does (vocabulary in order of first appearance, pruned by
document frequency, columns renumbered alphabetically, the rows' entries in the same order),
then apply scikit-learn's TfidfTransformer. The matrices are the same entry for entry
(tests/test_evaluate.py compares them), so the baselines' figures do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from numbers import Integral
from typing import Any

import numpy as np

__all__ = ["CachedTfidf"]

Config = tuple[tuple[str, Any], ...]


@lru_cache(maxsize=8)
def _analyzer(config: Config) -> Callable[[str], list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**dict(config)).build_analyzer()


class _Terms:
    """Every term seen under one analysis setting, numbered as first seen; and their
    alphabetical ranks (recomputed when terms were added)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self._ranks = np.zeros(0, dtype=np.int64)

    def id(self, term: str) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.names)
            self.names.append(term)
        return found

    def ranks(self) -> np.ndarray:
        if len(self._ranks) != len(self.names):
            order = sorted(range(len(self.names)), key=self.names.__getitem__)
            self._ranks = np.empty(len(order), dtype=np.int64)
            self._ranks[order] = np.arange(len(order))
        return self._ranks


@lru_cache(maxsize=8)
def _terms(config: Config) -> _Terms:
    return _Terms()


@lru_cache(maxsize=1 << 15)
def _counts(config: Config, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A text's distinct terms (their ids in `_terms(config)`) in order of first occurrence,
    and how often each occurs."""
    counter: dict[str, int] = {}
    for term in _analyzer(config)(text):
        counter[term] = counter.get(term, 0) + 1
    table = _terms(config)
    ids = np.fromiter((table.id(t) for t in counter), dtype=np.int64, count=len(counter))
    return ids, np.fromiter(counter.values(), dtype=np.float64, count=len(counter))


def _stack(rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Every row's (ids, counts) end to end, with each entry's row number."""
    lengths = np.array([len(ids) for ids, _ in rows], dtype=np.int64)
    row_of = np.repeat(np.arange(len(rows)), lengths)
    ids = np.concatenate([ids for ids, _ in rows]) if rows else np.zeros(0, np.int64)
    counts = np.concatenate([c for _, c in rows]) if rows else np.zeros(0)
    return ids, counts, row_of


def _csr(data: np.ndarray, indices: np.ndarray, row_of: np.ndarray, shape: tuple[int, int]):
    import scipy.sparse as sp  # type: ignore[import-untyped]  # scikit-learn brings scipy

    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)), shape=shape)


class CachedTfidf:
    """`TfidfVectorizer(**analysis, min_df=, max_df=, sublinear_tf=)`'s fit_transform and
    transform (l2 norm, smooth idf) over cached term counts."""

    def __init__(
        self,
        *,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        sublinear_tf: bool = False,
        **analysis: Any,
    ) -> None:
        self.config: Config = tuple(sorted(analysis.items()))
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf

    def _rows(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [_counts(self.config, text) for text in texts]

    def count(self, texts: Sequence[str]) -> None:
        """Count the terms of `texts` now (before forking workers, which inherit them)."""
        self._rows(texts)

    def fit_transform(self, texts: Sequence[str]) -> Any:
        from sklearn.feature_extraction.text import TfidfTransformer

        rows = self._rows(texts)
        n_doc = len(rows)
        ids, counts, row_of = _stack(rows)
        if not len(ids):
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        # scikit-learn numbers the terms as it first meets them, row by row ...
        seen, first = np.unique(ids, return_index=True)
        found = seen[np.argsort(first)]  # global id of each term, in order of first meeting
        local = np.empty(int(seen[-1]) + 1, dtype=np.int64)
        local[found] = np.arange(len(found))
        index = local[ids]
        order = np.lexsort((index, row_of))  # ... and sorts each row's entries by that number
        index, counts, row_of = index[order], counts[order], row_of[order]

        high = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_doc
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_doc
        if high < low:
            raise ValueError("max_df corresponds to < documents than min_df")
        df = np.bincount(index, minlength=len(found))
        keep = (df <= high) & (df >= low)
        if not keep.any():
            raise ValueError(
                "After pruning, no terms remain. Try a lower min_df or a higher max_df."
            )
        # then keeps the terms within the document-frequency bounds, numbered alphabetically
        kept = found[keep]
        alphabetical = kept[np.argsort(_terms(self.config).ranks()[kept])]
        column = np.full(len(local), -1, dtype=np.int64)  # global id -> column
        column[alphabetical] = np.arange(len(alphabetical))
        self._column = column
        entry = keep[index]
        X = _csr(counts[entry], column[found[index[entry]]], row_of[entry], (n_doc, len(kept)))
        self._tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        self._tfidf.fit(X)
        return self._tfidf.transform(X, copy=False)

    @property
    def vocabulary_(self) -> dict[str, int]:
        names = _terms(self.config).names
        return {names[i]: int(c) for i, c in enumerate(self._column) if c >= 0}

    def transform(self, texts: Sequence[str]) -> Any:
        rows = self._rows(texts)
        ids, counts, row_of = _stack(rows)
        known = ids < len(self._column)
        column = np.full(len(ids), -1, dtype=np.int64)
        column[known] = self._column[ids[known]]
        entry = column >= 0
        column, counts, row_of = column[entry], counts[entry], row_of[entry]
        order = np.lexsort((column, row_of))  # each row's entries by column
        n_terms = int((self._column >= 0).sum())
        X = _csr(counts[order], column[order], row_of[order], (len(rows), n_terms))
        return self._tfidf.transform(X, copy=False)
