"""lucid inside JAX's transforms, by default: forward and reverse mode, and their mixes.

The transposed convolutions carry a custom derivative (``jax.custom_jvp`` whose
tangent is the transpose of the GEMM backward); these tests check that every transform
sees the same derivative as differentiating the forward itself, on every op.
Run in the jax session only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lucid.nn as nn
import lucid.ops as ops
from lucid.ops import use_custom_grad
from lucid.testing import assert_close, load_backend

pytestmark = pytest.mark.only_backend("jax", reason="JAX transforms run in the jax session")


@pytest.fixture(autouse=True)
def jax() -> Any:
    load_backend("jax")  # float64 enabled, as in every backend test
    import jax

    return jax


OPS = {
    "conv_transpose1d": (ops.conv_transpose1d, (2, 3, 5), (3, 2, 4), {"stride": 2, "padding": 1}),
    "conv_transpose2d": (
        ops.conv_transpose2d,
        (2, 2, 3, 4),
        (2, 3, 3, 3),
        {"stride": 2, "output_padding": 1},
    ),
    "conv_transpose2d_groups": (
        ops.conv_transpose2d,
        (1, 4, 3, 3),
        (4, 1, 2, 2),
        {"stride": 3, "groups": 2},
    ),
    "conv_transpose3d": (ops.conv_transpose3d, (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), {"stride": 2}),
    "conv1d": (ops.conv1d, (2, 3, 7), (2, 3, 3), {"stride": 2}),
    "conv2d": (ops.conv2d, (2, 2, 5, 4), (3, 2, 3, 3), {"padding": "same"}),
    "conv3d": (ops.conv3d, (1, 2, 3, 4, 3), (2, 2, 2, 2, 2), {"padding": 1}),
}


# The custom rule's Jacobians both ways, on a grouped and a 3-d layer (the session's
# time is short; jvp and linearize above run on every op).
JACOBIANS = ("conv_transpose2d_groups", "conv_transpose3d")


def _case(name: str, seed: int = 0) -> tuple[Any, ...]:
    import jax.numpy as jnp

    op, x_shape, w_shape, kw = OPS[name]
    groups = kw.get("groups", 1)
    out_channels = w_shape[1] * groups if name.startswith("conv_transpose") else w_shape[0]
    rng = np.random.default_rng(seed)
    x, dx = (jnp.asarray(rng.standard_normal(x_shape)) for _ in range(2))
    w, dw = (jnp.asarray(rng.standard_normal(w_shape)) for _ in range(2))
    b, db = (jnp.asarray(rng.standard_normal(out_channels)) for _ in range(2))
    return op, kw, (x, w, b), (dx, dw, db)


@pytest.mark.parametrize("name", OPS)
def test_jvp_linearize_and_jacobians_by_default(jax, name: str) -> None:
    op, kw, primals, tangents = _case(name)
    (x, w, b), (dx, dw, db) = primals, tangents

    def f(x, w, b):
        return op(x, w, b, **kw)

    y, dy = jax.jvp(f, primals, tangents)
    # Bilinear in (x, w) and linear in b: the exact tangent needs no autodiff.
    expected = f(dx, w, db) + f(x, dw, None)
    assert_close(dy, np.asarray(expected))
    assert_close(y, np.asarray(f(x, w, b)))
    _, linear = jax.linearize(f, *primals)
    assert_close(linear(*tangents), np.asarray(expected))

    if name not in JACOBIANS:  # jvp covers forward mode; these two cover jacfwd/jacrev
        return

    def g(w):
        return jax.numpy.sum(jax.numpy.sin(f(x, w, b)))

    forward, reverse = jax.jacfwd(g)(w), jax.jacrev(g)(w)
    assert_close(forward, np.asarray(reverse))
    with use_custom_grad(False):
        assert_close(reverse, np.asarray(jax.grad(g)(w)))


def test_hessian_and_checkpoint_of_a_tiny_layer(jax) -> None:
    op, kw, (x, w, b), _ = _case("conv_transpose2d", seed=1)

    def loss(w):
        return jax.numpy.sum(jax.numpy.tanh(op(x, w, b, **kw)) ** 2)

    hessian = jax.jit(jax.hessian(loss))(w)
    with use_custom_grad(False):  # read while tracing: this jit differentiates the forward
        reference = jax.jit(jax.hessian(loss))(w)
    assert hessian.shape == 2 * w.shape
    assert_close(hessian, np.asarray(reference))
    assert_close(jax.grad(jax.checkpoint(loss))(w), np.asarray(jax.grad(loss)(w)))


def test_vmap_of_grad_and_jit_of_jvp_on_a_module(jax) -> None:
    jnp = jax.numpy
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype="float64").to("jax")
    x = jnp.asarray(np.random.default_rng(2).standard_normal((4, 2, 3, 3)))

    def per_sample(m, xi):
        return jnp.sum(m(xi[None]) ** 2)

    grads = jax.vmap(jax.grad(per_sample), in_axes=(None, 0))(layer, x)
    assert grads.weight.shape == (4, *layer.weight.shape)
    summed = jax.grad(lambda m: jnp.sum(m(x) ** 2))(layer)  # the per-sample losses' sum
    assert_close(jnp.sum(grads.weight, axis=0), np.asarray(summed.weight))
    tangent = jax.tree_util.tree_map(jnp.ones_like, layer)
    _, dy = jax.jit(lambda m, t: jax.jvp(lambda m: m(x), (m,), (t,)))(layer, tangent)
    ones = jnp.ones_like(layer.weight)
    assert_close(dy, np.asarray(ops.conv_transpose2d(x, ones, jnp.ones(3), 2, 1)))
