"""Data parallelism on simulated CPU devices: lazy layers from sharded batches, jitted steps.

The jax session starts JAX with ``--xla_force_host_platform_device_count=4`` (see
conftest.py); where JAX started earlier with one device these tests skip.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid.testing import assert_close, load_backend

pytestmark = pytest.mark.only_backend("jax", reason="sharding runs in the jax session")


@pytest.fixture(autouse=True)
def jax() -> Any:
    load_backend("jax")
    import jax

    if len(jax.devices("cpu")) < 4:
        pytest.skip("JAX started with one CPU device; run with XLA_FLAGS (see conftest.py)")
    return jax


def _mesh(jax: Any) -> tuple[Any, Any, Any]:
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices("cpu")[:4]), ("data",))
    return mesh, NamedSharding(mesh, PartitionSpec("data")), NamedSharding(mesh, PartitionSpec())


def _decoder() -> nn.Sequential:
    return nn.Sequential(
        nn.LazyConvTranspose2d(8, 4, stride=2, padding=1), nn.ReLU(),
        nn.LazyConvTranspose2d(3, 3, padding=1), nn.Tanh(),
    )  # fmt: skip


def test_lazy_layer_from_a_sharded_batch_gets_replicated_parameters(jax) -> None:
    _, batch, replicated = _mesh(jax)
    x = jax.device_put(jax.numpy.ones((8, 6, 4, 4)), batch)
    m = nn.LazyConvTranspose2d(4, 3, stride=2)
    y = m(x)
    for p in (m.weight, m.bias):
        assert p.sharding.is_equivalent_to(replicated, p.ndim), p.sharding
    assert y.shape == (8, 4, 9, 9)
    again = m(jax.device_put(jax.numpy.ones((8, 6, 4, 4)), replicated))  # other layouts too
    assert_close(again, np.asarray(y))


def test_jitted_data_parallel_step_matches_one_device(jax) -> None:
    jnp = jax.numpy
    _, batch, replicated = _mesh(jax)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((8, 6, 4, 4)), dtype=jnp.float32)
    target = jnp.asarray(rng.uniform(-0.5, 0.5, (8, 3, 8, 8)), dtype=jnp.float32)
    lucid.manual_seed(0)
    model = _decoder()
    model(x[:1])  # materialised on one device

    @jax.jit
    def grads(m: Any, x: Any, target: Any) -> Any:
        return jax.grad(lambda m: jnp.mean((m(x) - target) ** 2))(m)

    single = grads(model, x, target)
    spread = jax.device_put(model, replicated)
    sharded = grads(spread, jax.device_put(x, batch), jax.device_put(target, batch))
    for (name, g), (_, want) in zip(sharded.named_parameters(), single.named_parameters()):
        assert g.sharding.is_equivalent_to(replicated, g.ndim), name
        assert_close(g, np.asarray(want), rtol=1e-5)
