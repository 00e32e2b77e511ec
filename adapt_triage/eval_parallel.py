"""The evaluation's independent fits spread over the machine's cores.

Each (fold, method) of a cross-validation trains and predicts on its own, deterministically,
so forked worker processes give the same predictions as one fit after the other; `run_all`
returns them in task order. Where there is one core, where forking is not safe (anywhere
but Linux: macOS's system libraries do not survive it), or for a model the evaluation does
not know to be free of side effects (a test's spy that records its calls), the tasks run in
this process, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["cores", "run_all"]

T = TypeVar("T")

_work: Callable[[int], Any] | None = None  # set before the workers fork, which inherit it


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _call(task: int) -> Any:
    assert _work is not None
    return _work(task)


def run_all(work: Callable[[int], T], n: int, *, parallel: bool = True) -> list[T]:
    """`[work(0), ..., work(n - 1)]`, computed by up to `cores()` forked processes when
    `parallel`."""
    global _work
    jobs = min(cores(), n) if parallel else 1
    if jobs < 2 or not sys.platform.startswith("linux"):  # fork is not safe on macOS
        return [work(i) for i in range(n)]
    _work = work
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    try:
        results = list(pool.map(_call, range(n)))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        _work = None
    pool.shutdown()
    return results
