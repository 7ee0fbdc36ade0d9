"""Every layer op of :mod:`lucid.ops` agrees with ``torch.nn.functional``, values and gradients.

Contract: for each case of :mod:`conformance._layer_cases` (activations, linear, batch,
group and layer normalization, interpolate, the pixel shuffles, the running-statistics
update), on every backend in float32 and float64, lucid's result matches torch's float64
result within 1e-5 / 1e-12 of its largest entry, with the input's namespace and dtype;
on torch (autograd) and JAX (``jax.grad`` under ``jax.jit``) the gradients of
``sum(y * g)`` with respect to every array argument match torch's autograd in float64.
Every bad value of every parameter is a ``ValueError``/``TypeError`` naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from lucid import ops
from lucid.testing import Backend, assert_close

from ._layer_cases import OP_CASES, OpCase, case_arrays

IDS = [f"{i}-{case}" for i, case in enumerate(OP_CASES)]


def _torch_reference(case: OpCase, cotangent: bool = False) -> tuple[Any, ...]:
    arrays = [None if a is None else torch.from_numpy(a) for a in case_arrays(case)]
    for i in case.grad_args():
        arrays[i].requires_grad_(True)  # type: ignore[union-attr]
    out = case.torch(*arrays, **case.kwargs)
    outputs = out if isinstance(out, tuple) else (out,)
    if not case.grad_args():
        return tuple(o.detach().numpy() for o in outputs), None, ()
    g = np.random.default_rng(3).standard_normal(tuple(outputs[0].shape))
    grads = torch.autograd.grad(
        (outputs[0] * torch.from_numpy(g)).sum(), [arrays[i] for i in case.grad_args()]
    )
    return tuple(o.detach().numpy() for o in outputs), g, tuple(x.numpy() for x in grads)


def _backend_args(case: OpCase, backend: Backend, dtype: str) -> list[Any]:
    return [None if a is None else backend.asarray(a, dtype) for a in case_arrays(case)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", OP_CASES, ids=IDS)
def test_op_matches_torch(backend: Backend, case: OpCase, dtype: str) -> None:
    expected, _, _ = _torch_reference(case)
    args = _backend_args(case, backend, dtype)
    if backend.name == "jax":
        import jax

        out = jax.jit(lambda *a: case.lucid(*a, **case.kwargs))(*args)
    else:
        out = case.lucid(*args, **case.kwargs)
    outputs = out if isinstance(out, tuple) else (out,)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert_close(got, want, backend=backend, dtype=dtype)


@pytest.mark.parametrize(
    "case",
    [c for c in OP_CASES if c.grad_args()],
    ids=[i for i, c in zip(IDS, OP_CASES) if c.grad_args()],
)
def test_op_gradients_match_torch(backend: Backend, case: OpCase) -> None:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} arrays have no automatic differentiation")
    _, g, expected = _torch_reference(case)
    args = _backend_args(case, backend, "float64")
    wrt = case.grad_args()
    if backend.name == "torch":
        for i in wrt:
            args[i].requires_grad_(True)
        y = case.lucid(*args, **case.kwargs)
        grads = torch.autograd.grad((y * torch.from_numpy(g)).sum(), [args[i] for i in wrt])
    else:
        import jax
        import jax.numpy as jnp

        def loss(*chosen: Any) -> Any:
            full = list(args)
            for i, value in zip(wrt, chosen):
                full[i] = value
            return jnp.sum(case.lucid(*full, **case.kwargs) * g)

        grads = jax.jit(jax.grad(loss, argnums=tuple(range(len(wrt)))))(*[args[i] for i in wrt])
    for i, got, want in zip(wrt, grads, expected):
        try:
            assert_close(got, want, backend=backend, dtype="float64")
        except AssertionError as error:
            raise AssertionError(f"d/d(argument {i}): {error}") from None


# --- bad input: one row per parameter ------------------------------------------------

X4 = np.ones((2, 4, 3, 3))
BAD = [
    # (call, exception, words the message must contain)
    (lambda xp: ops.relu([1.0]), TypeError, "array"),
    (lambda xp: ops.relu(xp.asarray([1, 2])), TypeError, "floating"),
    (lambda xp: ops.leaky_relu(xp.ones(2), "0.1"), TypeError, "negative_slope"),
    (lambda xp: ops.gelu(xp.ones(2), approximate="fast"), ValueError, "approximate"),
    (lambda xp: ops.elu(xp.ones(2), alpha=None), TypeError, "alpha"),
    (lambda xp: ops.softplus(xp.ones(2), beta=0), ValueError, "beta"),
    (lambda xp: ops.softplus(xp.ones(2), threshold="20"), TypeError, "threshold"),
    (lambda xp: ops.hardtanh(xp.ones(2), 1.0, -1.0), ValueError, "max_val"),
    (lambda xp: ops.hardtanh(xp.ones(2), min_val=float("nan")), ValueError, "min_val"),
    (lambda xp: ops.linear(xp.ones((2, 3)), xp.ones((4, 5))), ValueError, "in_features"),
    (lambda xp: ops.linear(xp.ones((2, 3)), xp.ones((4, 3, 1))), ValueError, "weight"),
    (lambda xp: ops.linear(xp.ones((2, 3)), xp.ones((4, 3)), xp.ones(5)), ValueError, "bias"),
    (lambda xp: ops.linear(xp.ones((2, 3)), [[1.0] * 3] * 4), TypeError, "weight"),
    (
        lambda xp: ops.batch_norm(xp.ones((2, 4)), xp.ones(3), xp.ones(4)),
        ValueError,
        "running_mean",
    ),
    (
        lambda xp: ops.batch_norm(xp.ones((2, 4)), xp.ones(4), xp.ones(3)),
        ValueError,
        "running_var",
    ),
    (lambda xp: ops.batch_norm(xp.ones((2, 4)), None, None, xp.ones(3)), ValueError, "weight"),
    (
        lambda xp: ops.batch_norm(xp.ones((2, 4)), None, None, None, xp.ones(2)),
        ValueError,
        "bias",
    ),
    (
        lambda xp: ops.batch_norm(xp.ones((1, 4)), None, None, training=True),
        ValueError,
        "more than 1 value",
    ),
    (lambda xp: ops.batch_norm(xp.ones(4), None, None), ValueError, "2 dimensions"),
    (lambda xp: ops.batch_norm(xp.ones((2, 4)), None, None), ValueError, "evaluation mode"),
    (
        lambda xp: ops.batch_norm(xp.ones((2, 4)), None, None, training=True, eps=-1.0),
        ValueError,
        "eps",
    ),
    (
        lambda xp: ops.batch_norm_stats(xp.ones((2, 4)), xp.ones(4), xp.ones(4), "a"),
        TypeError,
        "momentum",
    ),
    (lambda xp: ops.group_norm(xp.ones((2, 6, 3)), 4), ValueError, "num_groups"),
    (lambda xp: ops.group_norm(xp.ones((2, 6, 3)), 0), ValueError, "num_groups"),
    (lambda xp: ops.group_norm(xp.ones((2, 6, 3)), 3, xp.ones(5)), ValueError, "weight"),
    (lambda xp: ops.group_norm(xp.ones((2, 6, 3)), 3, None, xp.ones(5)), ValueError, "bias"),
    (lambda xp: ops.group_norm(xp.ones((2, 6, 3)), 3, eps="x"), TypeError, "eps"),
    (lambda xp: ops.layer_norm(xp.ones((2, 6)), (5,)), ValueError, "normalized_shape"),
    (lambda xp: ops.layer_norm(xp.ones((2, 6)), (0,)), ValueError, "normalized_shape"),
    (lambda xp: ops.layer_norm(xp.ones((2, 6)), 6, xp.ones(5)), ValueError, "weight"),
    (lambda xp: ops.layer_norm(xp.ones((2, 6)), 6, None, xp.ones(5)), ValueError, "bias"),
    (lambda xp: ops.interpolate(xp.ones((1, 1, 4)), mode="cubic", size=2), ValueError, "mode"),
    (lambda xp: ops.interpolate(xp.ones((1, 1, 4))), ValueError, "size"),
    (lambda xp: ops.interpolate(xp.ones((1, 1, 4)), 2, 2.0), ValueError, "scale_factor"),
    (lambda xp: ops.interpolate(xp.ones((1, 1, 4)), size=(2, 2)), ValueError, "size"),
    (
        lambda xp: ops.interpolate(xp.ones((1, 1, 4)), scale_factor=-1.0),
        ValueError,
        "scale_factor",
    ),
    (lambda xp: ops.interpolate(xp.ones((1, 1, 4)), size=2, mode="bilinear"), ValueError, "4-D"),
    (
        lambda xp: ops.interpolate(xp.ones((1, 1, 4)), size=2, align_corners=True),
        ValueError,
        "align_corners",
    ),
    (
        lambda xp: ops.interpolate(xp.ones((1, 1, 4)), size=2, mode="linear", align_corners=1),
        TypeError,
        "align_corners",
    ),
    (
        lambda xp: ops.interpolate(xp.ones((1, 1, 4)), scale_factor=2, recompute_scale_factor=1),
        TypeError,
        "recompute_scale_factor",
    ),
    (lambda xp: ops.pixel_shuffle(xp.ones((1, 3, 2, 2)), 2), ValueError, "divisible"),
    (lambda xp: ops.pixel_shuffle(xp.ones((1, 4, 2, 2)), 0), ValueError, "upscale_factor"),
    (lambda xp: ops.pixel_unshuffle(xp.ones((1, 1, 3, 2)), 2), ValueError, "divisible"),
    (lambda xp: ops.pixel_unshuffle(xp.ones((1, 1, 2, 2)), 1.5), ValueError, "downscale_factor"),
    (lambda xp: ops.dropout(xp.ones(3), 1.5), ValueError, "p=1.5"),
    (lambda xp: ops.dropout(xp.ones(3), 0.5, training="yes"), TypeError, "training"),
]


@pytest.mark.parametrize("row", range(len(BAD)))
def test_bad_input_is_named(backend: Backend, row: int) -> None:
    call, error, words = BAD[row]
    with pytest.raises(error, match=words):
        call(backend.xp)
