"""Side-by-side timing: two candidates interleaved, medians, a ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["block", "interleaved_medians"]


def block(result: Any) -> Any:
    """Wait for asynchronous backends (JAX) to finish computing ``result``."""
    ready = getattr(result, "block_until_ready", None)
    return ready() if callable(ready) else result


def interleaved_medians(
    candidates: list[Callable[[], Any]], repeats: int, warmup: int = 2
) -> list[float]:
    """Median seconds per call of each candidate, run alternately ``repeats`` times.

    Alternating the candidates spreads the noise of a shared machine over all of them,
    so their ratio is steadier than that of two separate timing loops.

    >>> a, b = interleaved_medians([lambda: sum(range(100)), lambda: None], repeats=5)
    >>> a >= 0.0 and b >= 0.0
    True
    """
    for fn in candidates:
        for _ in range(warmup):
            block(fn())
    samples: list[list[float]] = [[] for _ in candidates]
    for _ in range(repeats):
        for fn, bucket in zip(candidates, samples):
            start = time.perf_counter()
            block(fn())
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in samples]
