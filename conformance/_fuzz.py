"""One differential-fuzz case: a convolution configuration, its data, lucid against torch.

A :class:`FuzzCase` is plain data (JSON-able), so every failure prints as a one-line
reproducer that runs this module::

    python -m conformance._fuzz '{"transposed": true, "ndim": 2, ...}' --backend torch

The data are seeded normals with, by the case's ``values``, non-finite entries
(NaN, +inf, -inf) or huge positive ones whose products overflow, laid out as the case's
``layout`` says (contiguous, a permuted view, a strided slice, or broadcast over the
batch) on the backend under test.  torch computes the reference in the same dtype.

The comparison: NaN, +inf and -inf exactly where torch has them; every finite value
within the rigorous error bound of a sum of ``n`` products, ``n * eps * (|x| * |w|)``
(the convolution of the magnitudes, plus ``|b|``), so a case never fails by rounding.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lucid import ops
from lucid.ops._ct_forward import use_formulation
from lucid.testing import Backend, load_backend

from ._grid import output_spatial

__all__ = ["FuzzCase", "NotApplicableError", "check", "reproducer"]

VALUES = ("normal", "nonfinite", "overflow")
LAYOUTS = ("contiguous", "permuted", "strided", "broadcast")


class NotApplicableError(Exception):
    """The forced formulation does not apply to this configuration."""


@dataclass(frozen=True)
class FuzzCase:
    """A convolution call: ``transposed`` or forward, ``ndim``-d, and its data's recipe."""

    transposed: bool
    ndim: int
    batch: int | None  # None: unbatched input
    groups: int
    in_per_group: int
    out_per_group: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    bias: bool
    dtype: str
    formulation: str | None
    values: str
    layout: str
    seed: int

    def hyper(self) -> dict[str, Any]:
        common = {
            "stride": self.stride,
            "padding": self.padding,
            "groups": self.groups,
            "dilation": self.dilation,
        }
        if self.transposed:
            return {**common, "output_padding": self.output_padding}
        return common

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...] | None]:
        c_in, c_out = self.groups * self.in_per_group, self.groups * self.out_per_group
        lead = (c_in, self.out_per_group) if self.transposed else (c_out, self.in_per_group)
        batch = () if self.batch is None else (self.batch,)
        return (*batch, c_in, *self.size), (*lead, *self.kernel), (c_out,) if self.bias else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FuzzCase:
        fields = json.loads(text)
        for name in ("size", "kernel", "stride", "padding", "output_padding", "dilation"):
            fields[name] = tuple(fields[name])
        return cls(**fields)


def reproducer(case: FuzzCase, backend: str) -> str:
    """The one shell line that re-runs ``case`` on ``backend``."""
    return f"python -m conformance._fuzz '{case.to_json()}' --backend {backend}"


def _data(case: FuzzCase) -> list[np.ndarray | None]:
    """The case's input, weight and bias as NumPy arrays of its dtype."""
    rng = np.random.default_rng(case.seed)
    huge = 1e20 if case.dtype == "float32" else 1e200  # squared, it overflows
    arrays: list[np.ndarray | None] = []
    for which, shape in enumerate(case.shapes()):
        if shape is None:
            arrays.append(None)
            continue
        a = rng.standard_normal(shape)
        # torch's own forward convolutions disagree on a non-finite weight meeting the
        # zero padding (NaN on most paths, nothing on some strided ones): no contract.
        finite_weight = which == 1 and not case.transposed and case.values == "nonfinite"
        if a.size and case.values != "normal" and not finite_weight:
            chosen = rng.integers(0, a.size, size=max(1, a.size // 16))
            if case.values == "nonfinite":
                a.flat[chosen] = rng.choice([np.nan, np.inf, -np.inf], size=chosen.size)
            else:  # all positive: no two overflowing products can cancel (with FMA or not)
                a.flat[chosen] = np.abs(a.flat[chosen]) * huge
        arrays.append(a.astype(case.dtype))
    x = arrays[0]
    if case.layout == "broadcast" and case.batch and x is not None:
        x[1:] = x[:1]  # the data a zero-stride batch axis shows
    return arrays


def _laid_out(backend: Backend, a: np.ndarray, layout: str, batched: bool) -> Any:
    """``a`` on ``backend``, as a view with ``layout``'s strides where the library has them."""
    xp = backend.xp
    if layout == "permuted" and a.ndim > 1:
        order = tuple(reversed(range(a.ndim)))
        return xp.permute_dims(backend.asarray(np.ascontiguousarray(a.transpose(order))), order)
    if layout == "strided":
        spread = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
        spread[..., ::2] = a
        return backend.asarray(spread)[..., ::2]
    if layout == "broadcast" and batched and a.shape[0] > 0:
        return xp.broadcast_to(backend.asarray(a[:1]), a.shape)
    return backend.asarray(a)


def _reference(case: FuzzCase, x: Any, w: Any, b: Any) -> np.ndarray:
    name = f"conv{'_transpose' if case.transposed else ''}{case.ndim}d"
    op = getattr(torch.nn.functional, name)
    tensors = [None if a is None else torch.from_numpy(a) for a in (x, w, b)]
    with torch.no_grad():
        return op(*tensors, **case.hyper()).numpy()


def _lucid(case: FuzzCase, backend: Backend, x: Any, w: Any, b: Any) -> np.ndarray:
    name = f"conv{'_transpose' if case.transposed else ''}{case.ndim}d"
    op = getattr(ops, name)
    if case.formulation is None:
        return backend.to_numpy(op(x, w, b, **case.hyper()))
    with use_formulation(case.formulation):
        try:
            y = op(x, w, b, **case.hyper())
        except ValueError as error:
            if "formulation needs" in str(error):
                raise NotApplicableError(str(error)) from None
            raise
    return backend.to_numpy(y)


def check(case: FuzzCase, backend: Backend) -> None:
    """Run ``case`` on ``backend`` and on torch; ``AssertionError`` naming what differs."""
    x, w, b = _data(case)
    batched = case.batch is not None
    arrays = [
        None if a is None else _laid_out(backend, a, case.layout, batched and i == 0)
        for i, a in enumerate((x, w, b))
    ]
    got = _lucid(case, backend, *arrays)
    want = _reference(case, x, w, b)
    if case.transposed and case.values == "nonfinite":
        # Some of torch's paths let a non-finite weight meet their own zero padding, which
        # makes NaN where no non-finite product lands (fuzz seed 20261201: k 1x4, s 1x3).
        # There the sum of the products that land is the contract.
        exact = _landed_products(case, x, w, b)
        want = np.where(np.isnan(want) & ~np.isnan(exact), exact.astype(want.dtype), want)
    assert got.shape == want.shape, f"shape {got.shape}, torch {want.shape}"
    assert got.dtype == want.dtype, f"dtype {got.dtype}, torch {want.dtype}"
    for name, mark in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        differ = mark(got) != mark(want)
        assert not differ.any(), (
            f"{name} at {int(differ.sum())} outputs where torch differs "
            f"(lucid {int(mark(got).sum())}, torch {int(mark(want).sum())})"
        )
    finite = np.isfinite(want)
    bound = _error_bound(case, x, w, b)
    excess = np.abs(got[finite].astype(np.float64) - want[finite]) - bound[finite]
    assert not (excess > 0).any(), (
        f"{int((excess > 0).sum())} finite outputs beyond the rounding bound "
        f"(worst by {float(excess.max()):.3e})"
    )


def _landed_products(case: FuzzCase, x: Any, w: Any, b: Any) -> np.ndarray:
    """The transposed convolution as the sum of the products that land, in float64: each
    tap's products added at its strided output positions (no padding is multiplied)."""
    batched = case.batch is not None
    xs = x.astype(np.float64) if batched else x.astype(np.float64)[None]
    n, g, c_in, c_out = xs.shape[0], case.groups, case.in_per_group, case.out_per_group
    unpadded = (0,) * case.ndim
    full = output_spatial(
        case.size, case.kernel, case.stride, unpadded, case.output_padding, case.dilation
    )
    y = np.zeros((n, g * c_out, *full))
    grouped = xs.reshape(n, g, c_in, *case.size)
    kernels = w.astype(np.float64).reshape(g, c_in, c_out, *case.kernel)
    for tap in itertools.product(*(range(k) for k in case.kernel)):
        products = np.einsum("ngc...,gco->ngo...", grouped, kernels[(Ellipsis, *tap)])
        at = tuple(
            slice(t * d, t * d + (size - 1) * s + 1, s)
            for t, d, size, s in zip(tap, case.dilation, case.size, case.stride)
        )
        y[(slice(None), slice(None), *at)] += products.reshape(n, g * c_out, *case.size)
    y = y[(Ellipsis, *(slice(p, m - p) for p, m in zip(case.padding, full)))]
    if b is not None:
        y = y + b.astype(np.float64).reshape(1, -1, *(1,) * case.ndim)
    return y if batched else y[0]


def _error_bound(case: FuzzCase, x: Any, w: Any, b: Any) -> np.ndarray:
    """``n * eps * (conv(|x|, |w|) + |b|)`` in float64, twice for lucid's and torch's error."""
    magnitude = [
        None if a is None else np.abs(np.nan_to_num(a.astype(np.float64))) for a in (x, w, b)
    ]
    total = _reference(case, *magnitude)
    terms = case.in_per_group * math.prod(case.kernel) + 1
    eps = float(np.finfo(case.dtype).eps)
    return 2 * terms * eps * total + float(np.finfo(case.dtype).tiny)


def main() -> None:
    parser = argparse.ArgumentParser(description="re-run one differential-fuzz case")
    parser.add_argument("case", help="the case as JSON, as the failing test printed it")
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args()
    case = FuzzCase.from_json(args.case)
    check(case, load_backend(args.backend))
    print(f"{args.backend}: lucid matches torch on {case}")


if __name__ == "__main__":
    main()
