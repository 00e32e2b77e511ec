"""What the store tests share: fixed times, a fake duplicate index, papers, a table dump."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from adapt_triage.paper import Paper, title_key
from adapt_triage.store import Store

T0 = "2026-11-01T08:00:00+00:00"
T1 = "2026-11-02T08:00:00+00:00"
T2 = "2026-11-03T08:00:00+00:00"


@dataclass
class Match:
    canonical_id: str
    reason: str
    score: float


class FakeDedup:
    """Links papers whose normalised titles are equal; records every call."""

    def __init__(self) -> None:
        self.by_title: dict[str, str] = {}
        self.found: list[str] = []
        self.added: list[tuple[str, str | None]] = []
        self.fail_on: str | None = None
        self.force: dict[str, str] = {}  # paper id -> canonical id to answer

    def find(self, paper: Paper, paper_id: str) -> Match | None:
        self.found.append(paper_id)
        if paper_id == self.fail_on:
            raise RuntimeError("index exploded")
        if paper_id in self.force:
            return Match(self.force[paper_id], "forced", 0.5)
        other = self.by_title.get(title_key(paper.title))
        if other and other != paper_id:
            return Match(other, "same title", 0.97)
        return None

    def add(self, paper_id: str, paper: Paper, canonical_id: str | None = None) -> None:
        self.added.append((paper_id, canonical_id))
        self.by_title.setdefault(title_key(paper.title), paper_id)


def query(db, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows of one statement on the file `db`, through a plain sqlite3 connection."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def arxiv(n: int, version: int | None = 1, **kw) -> Paper:
    data = {
        "title": f"Paper {n}: low-rank adaptation of frozen models",
        "abstract": f"We study adapters number {n} for parameter-efficient fine-tuning.",
        "authors": [f"A. Author{n}", "B. Second"],
        "url": f"https://arxiv.org/abs/2401.{n:05d}",
        "published": "2026-10-30",
        "arxiv_id": f"2401.{n:05d}",
        "version": version,
        "labels": ["lora", "adapters"],
        "scores": {"lora": 0.8, "adapters": 0.6, "fine-tuning": 0.1},
    }
    data.update(kw)
    return Paper(**data)


def dump(store: Store, *, skip: tuple[str, ...] = ("sources",)) -> list[str]:
    """Every row of every table (FTS index included), to compare states exactly."""
    return [
        line
        for line in store.db.conn.iterdump()
        if not any(line.startswith(f'INSERT INTO "{t}"') for t in skip)
    ]
