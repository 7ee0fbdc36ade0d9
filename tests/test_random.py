"""lucid.random: one seeded NumPy generator behind every draw."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import lucid
from lucid import random


def test_manual_seed_is_deterministic():
    lucid.manual_seed(7)
    a = lucid.randn(100)
    lucid.manual_seed(7)
    b = lucid.randn(100)
    np.testing.assert_array_equal(a, b)
    lucid.manual_seed(8)
    assert not np.array_equal(a, lucid.randn(100))
    assert random.initial_seed() == 8


def test_stream_is_numpys_default_rng():
    lucid.manual_seed(2024)
    got = random.uniform(-1.0, 1.0, (10,))
    np.testing.assert_array_equal(got, np.random.default_rng(2024).uniform(-1.0, 1.0, 10))


@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)]
)
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed must be a non-negative int"):
        lucid.manual_seed(seed)


def test_rng_state_round_trip():
    lucid.manual_seed(3)
    state = random.get_rng_state()
    a = lucid.rand(5)
    random.set_rng_state(state)
    np.testing.assert_array_equal(lucid.rand(5), a)


def test_distributions():
    lucid.manual_seed(0)
    u = lucid.rand(200_000, dtype="float64")
    n = lucid.randn(200_000, dtype="float64")
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01


def test_concurrent_draws_lose_nothing():
    lucid.manual_seed(11)
    results: list[np.ndarray] = []

    def draw():
        for _ in range(50):
            results.append(random.uniform(0.0, 1.0, (4,)))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = np.sort(np.concatenate(results))
    expected = np.sort(np.random.default_rng(11).uniform(0.0, 1.0, 4 * 50 * 4))
    np.testing.assert_array_equal(got, expected)
