"""Interleaved timing: candidates alternate call by call, so drift hits them alike.

The machine these run on is shared and noisy.  Timing lucid for ten seconds and then
the native op for ten seconds would let a neighbour's job land on one of them only;
alternating them (A B B A ...) and taking medians makes the *ratio* trustworthy even
when the absolute numbers move.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["interleaved_medians"]

# One sample is at least this long: below it perf_counter jitter and Python's loop
# overhead blur microsecond-scale calls, so short calls are repeated within a sample.
_MIN_SAMPLE_S = 2e-3


def _calibrate(fn: Callable[[], Any]) -> float:
    """Seconds per call after warm-up (JIT compilation, caches, lazy imports)."""
    fn()
    fn()
    start = time.perf_counter()
    fn()
    return max(time.perf_counter() - start, 1e-7)


def interleaved_medians(
    candidates: dict[str, Callable[[], Any]],
    *,
    budget_s: float = 2.0,
    min_repeats: int = 5,
    max_repeats: int = 200,
    repeats: int | None = None,
    paced_by: tuple[str, ...] | None = None,
) -> dict[str, dict[str, float]]:
    """Median seconds per call of each candidate, timed alternately.

    Parameters
    ----------
    candidates : dict of str to callable
        Zero-argument callables that return when their work is done.
    budget_s : float
        Rough wall-clock budget for the timed repetitions of all candidates together.
    min_repeats, max_repeats : int
        Bounds on the number of interleaved rounds the budget buys.
    repeats : int, optional
        Exactly this many rounds, overriding the budget (``1`` for smoke tests).
    paced_by : tuple of str, optional
        The candidates whose calls the budget is spent on (default: all).  The others
        run along in every round, so adding one does not thin these ones' samples.

    Returns
    -------
    dict
        Per candidate: ``median``, ``min``, ``p25`` and ``p75`` seconds per call and the
        ``repeats`` run.
    """
    per_call = {name: _calibrate(fn) for name, fn in candidates.items()}
    inner = {name: max(1, math.ceil(_MIN_SAMPLE_S / t)) for name, t in per_call.items()}
    if repeats is None:
        round_s = sum(per_call[n] * inner[n] for n in paced_by or candidates)
        repeats = min(max_repeats, max(min_repeats, int(budget_s / round_s)))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(repeats):
        # A B, B A, A B, ...: neither candidate always runs first after the other.
        for name in names if r % 2 == 0 else reversed(names):
            fn, k = candidates[name], inner[name]
            start = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - start) / k)
    return {name: _summary(s) for name, s in samples.items()}


def _summary(samples: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(samples, n=4) if len(samples) > 1 else samples * 3
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "p25": quartiles[0],
        "p75": quartiles[2],
        "repeats": float(len(samples)),
    }
