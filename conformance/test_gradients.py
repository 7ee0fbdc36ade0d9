"""Gradients of conv_transpose2d agree with torch's autograd.

Contract: on the differentiable backends (torch: autograd through the lucid op on
``requires_grad`` tensors; JAX: ``jax.grad``), the gradients of ``sum(y * g)`` with
respect to input, weight and bias match those of ``torch.nn.functional.
conv_transpose2d`` in float64, within 1e-5 (float32) / 1e-12 (float64) relative to
the largest reference entry, for the ~70 cases of
:func:`conformance._grid.gradient_grid_2d` (groups, dilation, output_padding,
output_size, unbatched and empty batches included).  On JAX the chunked test runs
``jax.jit(jax.grad(...))``; ``test_eager_gradients_match_torch`` runs a few cases
without ``jit``.  Backends without autodiff are skipped, and only for that reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from lucid.testing import Backend, assert_close

from ._grid import Case, chunks, gradient_grid_2d
from ._lucid import Compute, evaluate, lucid_forward
from ._reference import assert_all, torch_reference

CHUNK = 10
CASES = gradient_grid_2d()
CHUNKS = list(chunks(CASES, CHUNK))
CHUNK_IDS = [f"cases{i * CHUNK}-{i * CHUNK + len(c) - 1}" for i, c in enumerate(CHUNKS)]


def _eager_cases() -> tuple[Case, ...]:
    """Three cases for the un-jitted run (eager JAX costs ~2 s a case to compile)."""
    wanted = [
        lambda c: c.groups == 4 and max(c.dilation) > 1 and c.bias,
        lambda c: c.batch is None and any(op >= s for op, s in zip(c.output_padding, c.stride)),
        lambda c: c.output_size_mode == "full" and c.groups == 2,
    ]
    return tuple(next(c for c in CASES if want(c)) for want in wanted)


EAGER_CASES = _eager_cases()


def _torch_gradients(case: Case, x: Any, w: Any, b: Any, g: Any) -> tuple[Any, ...]:
    import torch

    leaves = [x, w] if b is None else [x, w, b]
    for leaf in leaves:
        leaf.requires_grad_(True)
    y = lucid_forward(case, x, w, b)
    return torch.autograd.grad((y * g).sum(), leaves, materialize_grads=True)


def _jax_gradients(case: Case, x: Any, w: Any, b: Any, g: Any) -> tuple[Any, ...]:
    import jax
    import jax.numpy as jnp

    def loss(*args: Any) -> Any:
        return jnp.sum(lucid_forward(case, *args) * g)

    argnums = (0, 1) if b is None else (0, 1, 2)
    return jax.grad(loss, argnums=argnums)(x, w, b)  # type: ignore[no-any-return]


def _gradient_function(backend: Backend) -> Compute:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} arrays have no automatic differentiation")
    return {"torch": _torch_gradients, "jax": _jax_gradients}[backend.name]


def _check_against_torch(backend: Backend, dtype: str):
    def check(case: Case, grads: tuple[Any, ...]) -> None:
        ref = torch_reference(case, gradients=True)
        expected = [ref.grad_input, ref.grad_weight, ref.grad_bias][: len(grads)]
        assert len(grads) == (3 if case.bias else 2)
        for name, got, want in zip(("input", "weight", "bias"), grads, expected):
            try:
                assert_close(got, want, backend=backend, dtype=dtype)
            except AssertionError as error:
                raise AssertionError(f"d/d{name}: {error}") from None

    return check


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", CHUNKS, ids=CHUNK_IDS)
def test_gradients_match_torch(backend: Backend, dtype: str, cases: tuple[Case, ...]) -> None:
    gradients = _gradient_function(backend)
    results = evaluate(cases, backend, dtype, gradients)
    assert_all(cases, results, _check_against_torch(backend, dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eager_gradients_match_torch(backend: Backend, dtype: str) -> None:
    gradients = _gradient_function(backend)
    results = evaluate(EAGER_CASES, backend, dtype, gradients, jit=False)
    assert_all(EAGER_CASES, results, _check_against_torch(backend, dtype))
