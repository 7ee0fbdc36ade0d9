"""float16 and bfloat16 on every backend that has them, against torch in float64.

Contract: on the same (rounded) inputs, lucid's convolutions return the input's dtype
within ``max|y - ref| / max|ref|`` of ``RTOL`` of torch's float64 result, values on
every backend and gradients on torch and JAX; torch's own op in that dtype is held to
the same bound, so the tolerance is what the dtype allows, not a lucid allowance.
NumPy has float16 but no bfloat16; array-api-strict has neither.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

import lucid.ops as ops
from lucid.testing import Backend, assert_close

#: The bound per dtype, twice its machine epsilon (2**-10, 2**-7); the README's backend
#: matrix states the same numbers.  Measured worst on these cases: float16 6.4e-4
#: (torch's own op 3.5e-4), bfloat16 4.6e-3 (torch's 2.8e-3).
RTOL = {"float16": 2e-3, "bfloat16": 1.6e-2}

CASES = {
    "conv_transpose2d": ((2, 8, 5, 6), (8, 4, 4, 4), {"stride": 2, "padding": 1}),
    "conv_transpose2d_grouped": (
        (1, 8, 4, 4),
        (8, 3, 3, 3),
        {"stride": 2, "groups": 2, "dilation": 2},
    ),
    "conv_transpose1d": ((2, 6, 9), (6, 4, 5), {"stride": 3, "padding": 1}),
    "conv2d": ((2, 8, 7, 6), (4, 8, 3, 3), {"padding": 1}),
    "conv3d": ((1, 4, 4, 5, 4), (3, 4, 3, 3, 3), {"stride": 2}),
}


def _op(name: str) -> str:
    return name.removesuffix("_grouped")


def _native_dtype(backend: Backend, dtype: str) -> Any:
    native = getattr(backend.xp, dtype, None)
    if native is None:
        pytest.skip(f"{backend.name} has no {dtype}")
    return native


def _inputs(name: str, dtype: str) -> list[torch.Tensor]:
    x_shape, w_shape, kw = CASES[name]
    groups = kw.get("groups", 1)
    out_channels = w_shape[1] * groups if "transpose" in name else w_shape[0]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in (x_shape, w_shape, (out_channels,))]
    # Rounded to the low dtype once: lucid, torch in that dtype and the float64
    # reference all see the same values.
    return [torch.tensor(a).to(getattr(torch, dtype)) for a in arrays]


def _to_backend(backend: Backend, t: torch.Tensor, dtype: Any) -> Any:
    if backend.name == "torch":
        return t.clone()
    as64 = backend.asarray(t.double().numpy())
    return backend.xp.astype(as64, dtype)


def _as_numpy(backend: Backend, y: Any) -> np.ndarray:
    if backend.name == "torch":
        return y.detach().double().numpy()
    return backend.to_numpy(backend.xp.astype(y, backend.xp.float64))


@pytest.mark.parametrize("dtype", list(RTOL))
@pytest.mark.parametrize("name", CASES)
def test_values_in_low_precision(backend: Backend, name: str, dtype: str) -> None:
    native = _native_dtype(backend, dtype)
    tensors = _inputs(name, dtype)
    kw = CASES[name][2]
    reference = getattr(functional, _op(name))(*(t.double() for t in tensors), **kw).numpy()
    theirs = getattr(functional, _op(name))(*tensors, **kw)
    assert_close(theirs.double(), reference, rtol=RTOL[dtype])  # the bound is the dtype's
    y = getattr(ops, _op(name))(*(_to_backend(backend, t, native) for t in tensors), **kw)
    assert y.dtype == native
    assert_close(_as_numpy(backend, y), reference, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", list(RTOL))
def test_gradients_in_low_precision(backend: Backend, dtype: str) -> None:
    if not backend.differentiable:
        pytest.skip("no autodiff")
    native = _native_dtype(backend, dtype)
    name = "conv_transpose2d"
    tensors, kw = _inputs(name, dtype), CASES[name][2]
    leaves = [t.double().requires_grad_() for t in tensors]
    y = functional.conv_transpose2d(*leaves, **kw)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    g = g.to(getattr(torch, dtype)).double()
    want = torch.autograd.grad(y, leaves, g)
    args = [_to_backend(backend, t, native) for t in tensors]
    if backend.name == "torch":
        args = [a.requires_grad_() for a in args]
        got = torch.autograd.grad(ops.conv_transpose2d(*args, **kw), args, g.to(native))
    else:
        import jax

        gy = backend.xp.astype(backend.asarray(g.numpy()), native)
        got = jax.grad(
            lambda *a: backend.xp.sum(ops.conv_transpose2d(*a, **kw) * gy), argnums=(0, 1, 2)
        )(*args)
    for mine, theirs in zip(got, want):
        assert mine.dtype == native
        assert_close(_as_numpy(backend, mine), theirs.numpy(), rtol=RTOL[dtype])
