"""conv1d/2d/3d agree with torch on deterministic grids: values on every backend, gradients
on the differentiable ones.

Contract: for every case of :mod:`conformance._conv_grid` (about 290 2-d, 66 1-d and 60
3-d cases), ``lucid.ops.conv{1,2,3}d`` returns an array of the input's namespace and
dtype, of torch's shape, within ``max|y - ref| / max|ref| <= 1e-5`` (float32) or
``1e-12`` (float64) of ``torch.nn.functional.conv{1,2,3}d`` in float64; and on torch
and JAX the gradients of ``sum(y * g)`` with respect to input, weight and bias are
within the same tolerances of torch autograd's.  Cases run in chunks; a failing chunk
lists every failing case.  Every backend runs every case in both dtypes.
"""

from __future__ import annotations

import collections

import pytest

from lucid.testing import Backend, assert_close

from ._conv_grid import (
    AXES_2D,
    ConvCase,
    axis_value,
    conv_gradient_grid,
    conv_grid_1d,
    conv_grid_2d,
    conv_grid_3d,
)
from ._conv_reference import lucid_conv, lucid_conv_gradients, torch_conv_reference
from ._grid import chunks
from ._lucid import evaluate
from ._reference import assert_all

CHUNK = 30


def _chunked(name: str, cases: tuple[ConvCase, ...]) -> list:
    return [
        pytest.param(chunk, id=f"{name}-cases{i * CHUNK}-{i * CHUNK + len(chunk) - 1}")
        for i, chunk in enumerate(chunks(cases, CHUNK))
    ]


VALUE_CHUNKS = (
    _chunked("conv1d", conv_grid_1d())
    + _chunked("conv2d", conv_grid_2d())
    + _chunked("conv3d", conv_grid_3d())
)
GRADIENT_CHUNKS = _chunked("mixed", conv_gradient_grid())


def test_the_2d_grid_covers_every_axis_value() -> None:
    grid = conv_grid_2d()
    assert 250 <= len(grid) <= 400
    for axis, values in AXES_2D.items():
        seen = collections.Counter(v for case in grid for v in axis_value(case, axis))
        missing = [v for v in values if not seen[v]]
        assert not missing, f"the 2-d grid never has {axis} in {missing}"
    # every (stride, dilation) pair of both dimensions jointly, with numeric padding
    joint = {(c.stride, c.dilation) for c in grid if not isinstance(c.padding, str)}
    assert len(joint) == 81


def test_the_1d_and_3d_grids_cover_stride_dilation_and_string_padding() -> None:
    for grid in (conv_grid_1d(), conv_grid_3d()):
        assert 55 <= len(grid) <= 80
        for dim in range(grid[0].ndim):
            assert {c.stride[dim] for c in grid} == {1, 2, 3}
            assert {c.dilation[dim] for c in grid} == {1, 2, 3}
        assert {c.padding for c in grid if isinstance(c.padding, str)} == {"same", "valid"}
        assert {c.batch for c in grid} == {None, 0, 1, 3}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", VALUE_CHUNKS)
def test_grid_matches_torch(backend: Backend, dtype: str, cases: tuple[ConvCase, ...]) -> None:
    def check(case: ConvCase, y: object) -> None:
        assert_close(y, torch_conv_reference(case).output, backend=backend, dtype=dtype)

    assert_all(cases, evaluate(cases, backend, dtype, lucid_conv), check)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", GRADIENT_CHUNKS)
def test_gradients_match_torch_autograd(
    backend: Backend, dtype: str, cases: tuple[ConvCase, ...]
) -> None:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")

    def check(case: ConvCase, grads: tuple) -> None:
        ref = torch_conv_reference(case, gradients=True)
        expected = [ref.grad_input, ref.grad_weight] + ([ref.grad_bias] if case.bias else [])
        assert len(grads) == len(expected)
        for name, got, want in zip(("input", "weight", "bias"), grads, expected):
            try:
                assert_close(got, want, backend=backend, dtype=dtype)
            except AssertionError as error:
                raise AssertionError(f"grad of {name}: {error}") from None

    results = evaluate(cases, backend, dtype, lucid_conv_gradients)  # type: ignore[arg-type]
    assert_all(cases, results, check)  # type: ignore[arg-type]


@pytest.mark.parametrize("products", [True, False], ids=["products-first", "windows"])
def test_each_formulation_has_torchs_gradients(
    backend: Backend, products: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule picks the products on few of the grid's cases: force each formulation."""
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")
    from lucid.ops import _plans
    from lucid.ops import conv as conv_module

    monkeypatch.setattr(conv_module, "products_first", lambda *_: products)
    monkeypatch.setattr(_plans, "_PLANS", {})  # plans made before ran the real rule
    (cases,) = GRADIENT_CHUNKS[0].values
    test_gradients_match_torch_autograd(backend, "float64", cases)
