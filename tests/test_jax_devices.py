"""JAX across devices: sharded transposed convolutions on 4 simulated CPU devices.

Batch-sharded and spatially sharded inputs under ``jax.jit`` (XLA partitions the
computation and exchanges the halos) and under ``shard_map`` (each device convolves
its rows plus a halo from its neighbours, the recipe of the README's "Beyond one
machine"), each equal to the one-device result and sharded as the input.  The compiled
per-device memory falls with the number of devices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from lucid import ops
from lucid.testing import load_backend

KERNEL, STRIDE, PADDING = 4, 2, 1  # the decoders' k4 s2 p1: output rows = 2 * input rows


pytestmark = pytest.mark.only_backend("jax", reason="JAX devices: the jax session")


@pytest.fixture(autouse=True)
def jax(request: pytest.FixtureRequest) -> Any:
    load_backend("jax")
    import jax

    if len(jax.devices("cpu")) < 4:
        pytest.skip("JAX started with one CPU device; run with XLA_FLAGS (see conftest.py)")
    return jax


def _mesh(jax: Any, devices: int = 4) -> Any:
    from jax.sharding import Mesh

    return Mesh(np.array(jax.devices("cpu")[:devices]), ("d",))


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6, 16, 12)).astype(np.float32)
    w = rng.standard_normal((6, 5, KERNEL, KERNEL)).astype(np.float32)
    return x, w, rng.standard_normal(5).astype(np.float32)


def _layer(x: Any, w: Any, b: Any) -> Any:
    return ops.conv_transpose2d(x, w, b, stride=STRIDE, padding=PADDING)


@pytest.mark.parametrize("axis", [0, 2], ids=["batch", "rows"])
def test_jit_of_a_sharded_input_equals_one_device(jax: Any, axis: int) -> None:
    from jax.sharding import NamedSharding, PartitionSpec

    x, w, b = _data()
    mesh = _mesh(jax)
    spec = PartitionSpec(*([None] * axis), "d")
    xs = jax.device_put(x, NamedSharding(mesh, spec))
    # XLA's propagation keeps a batch sharding but replicates a convolution sharded
    # along rows: out_shardings asks for the input's.
    y = jax.jit(_layer, out_shardings=NamedSharding(mesh, spec))(xs, w, b)
    np.testing.assert_allclose(np.asarray(y), np.asarray(_layer(x, w, b)), rtol=1e-5, atol=1e-5)
    assert y.sharding.is_equivalent_to(NamedSharding(mesh, spec), y.ndim), y.sharding


def halo_conv_transpose2d(x: Any, w: Any, b: Any, axis_name: str, devices: int) -> Any:
    """Inside ``shard_map``: this device's output rows from its input rows (H sharded).

    Output rows ``[r0 * s, r1 * s)`` read input rows ``r0 - left .. r1 - 1 + right``;
    the neighbours send them with ``ppermute`` (the edges receive zeros, the padding).
    """
    import jax

    k, s, p = KERNEL, STRIDE, PADDING
    left, right = -(-(k - 1 - p) // s), (p - 1) // s + 1 if p else 0
    rows = x.shape[2]
    to_next = [(i, i + 1) for i in range(devices - 1)]
    to_previous = [(i + 1, i) for i in range(devices - 1)]
    parts = [x]
    if left:
        parts.insert(0, jax.lax.ppermute(x[:, :, rows - left :], axis_name, to_next))
    if right:
        parts.append(jax.lax.ppermute(x[:, :, :right], axis_name, to_previous))
    window = jax.numpy.concatenate(parts, axis=2)
    y = ops.conv_transpose2d(window, w, b, stride=s, padding=(0, p))  # rows cropped below
    start = left * s + p
    return y[:, :, start : start + rows * s]


@pytest.mark.parametrize("axis", [0, 2], ids=["batch", "rows"])
def test_shard_map_equals_one_device(jax: Any, axis: int) -> None:
    from jax.sharding import NamedSharding, PartitionSpec

    x, w, b = _data()
    mesh = _mesh(jax)
    spec = PartitionSpec(*([None] * axis), "d")
    local = _layer if axis == 0 else (lambda x, w, b: halo_conv_transpose2d(x, w, b, "d", 4))
    mapped = jax.jit(
        jax.shard_map(
            local, mesh=mesh, in_specs=(spec, PartitionSpec(), PartitionSpec()), out_specs=spec
        )
    )
    xs = jax.device_put(x, NamedSharding(mesh, spec))
    y = mapped(xs, w, b)
    np.testing.assert_allclose(np.asarray(y), np.asarray(_layer(x, w, b)), rtol=1e-5, atol=1e-5)
    assert y.sharding.is_equivalent_to(NamedSharding(mesh, spec), y.ndim), y.sharding


def per_device_bytes(jax: Any, devices: int) -> int:
    """Compiled argument, output and temporary bytes of one device, batch sharded."""
    from jax.sharding import NamedSharding, PartitionSpec

    x, w, b = _data()
    x = np.concatenate([x] * 4)  # 32 images
    sharding = NamedSharding(_mesh(jax, devices), PartitionSpec("d"))
    shapes = (
        jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
        jax.ShapeDtypeStruct(w.shape, w.dtype),
        jax.ShapeDtypeStruct(b.shape, b.dtype),
    )
    memory = jax.jit(_layer).lower(*shapes).compile().memory_analysis()
    return int(
        memory.argument_size_in_bytes + memory.output_size_in_bytes + memory.temp_size_in_bytes
    )


def test_compiled_memory_per_device_falls_with_devices(jax: Any) -> None:
    sizes = {n: per_device_bytes(jax, n) for n in (1, 2, 4)}
    print("compiled bytes per device:", sizes)
    assert sizes[1] > sizes[2] > sizes[4]
    # the batch-sized buffers divide; only the weights are replicated
    assert sizes[4] < 0.4 * sizes[1], sizes
    assert math.isclose(sizes[2] / sizes[1], 0.5, rel_tol=0.15), sizes
