"""Seeding: every random number lucid draws comes from one NumPy generator.

Initializers and :func:`lucid.randn` / :func:`lucid.rand` draw float64 values from a
single :class:`numpy.random.Generator` and only then convert them to the target
backend, device and dtype.  That is why one seed gives the same weights on NumPy, JAX
and PyTorch.  (The stream is NumPy's PCG64, so the values are not those of
``torch.manual_seed``; the *distributions* are torch's.)

Examples
--------
>>> import lucid
>>> lucid.manual_seed(0)
>>> a = lucid.rand(3)
>>> lucid.manual_seed(0)
>>> bool((lucid.rand(3) == a).all())
True
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "normal",
    "set_rng_state",
    "uniform",
]

_lock = threading.Lock()
_seed: int = int(np.random.SeedSequence().entropy) % (1 << 63)  # type: ignore[arg-type]
_generator = np.random.default_rng(_seed)


def manual_seed(seed: int) -> None:
    """Reset lucid's generator to ``seed`` (a non-negative int).

    Parameters
    ----------
    seed : int
        Any non-negative integer.

    Raises
    ------
    TypeError, ValueError
        ``seed`` is not an int, or is negative.

    Examples
    --------
    >>> import lucid
    >>> lucid.manual_seed(42)
    >>> lucid.random.initial_seed()
    42
    """
    global _generator, _seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        msg = f"seed must be a non-negative int, got {type(seed).__name__} {seed!r}"
        raise TypeError(msg)
    if seed < 0:
        msg = f"seed must be a non-negative int, got {seed}"
        raise ValueError(msg)
    with _lock:
        _seed = int(seed)
        _generator = np.random.default_rng(_seed)


def initial_seed() -> int:
    """The seed the generator was last reset to (random at import time)."""
    return _seed


def default_generator() -> np.random.Generator:
    """The NumPy generator lucid draws from (shared; do not hold on to it across seeds)."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """A copy of the generator's state, for :func:`set_rng_state`."""
    with _lock:
        return dict(_generator.bit_generator.state)


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    with _lock:
        _generator.bit_generator.state = state


def uniform(
    low: float, high: float, shape: Sequence[int], generator: np.random.Generator | None = None
) -> np.ndarray:
    """Float64 samples from ``U(low, high)`` (NumPy), thread-safe on the shared generator."""
    if generator is not None:
        return generator.uniform(low, high, size=tuple(shape))
    with _lock:
        return _generator.uniform(low, high, size=tuple(shape))


def normal(shape: Sequence[int], generator: np.random.Generator | None = None) -> np.ndarray:
    """Float64 samples from the standard normal distribution (NumPy)."""
    if generator is not None:
        return generator.standard_normal(size=tuple(shape))
    with _lock:
        return _generator.standard_normal(size=tuple(shape))
