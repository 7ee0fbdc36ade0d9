"""Reference results from PyTorch, the semantics lucid promises to reproduce.

For a :class:`~conformance._grid.Case` this module makes the test data (seeded by the
case, float64 values that are exactly representable in float32, so float32 and
float64 runs share one reference) and computes with torch in float64:

* the forward result, with ``torch.nn.functional.conv_transpose{1,2,3}d`` or, when
  the case has an ``output_size``, with ``torch.nn.ConvTranspose{1,2,3}d.forward``
  (torch's own resolution of ``output_size`` into ``output_padding``);
* the gradients of ``sum(y * cotangent)`` with respect to input, weight and bias.

torch is required here: it is the reference, and every nox session installs it.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._grid import Case

__all__ = ["CaseData", "Reference", "assert_all", "case_data", "torch_reference"]

_FUNCTIONAL = {
    1: torch.nn.functional.conv_transpose1d,
    2: torch.nn.functional.conv_transpose2d,
    3: torch.nn.functional.conv_transpose3d,
}
_MODULES = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}


@dataclass(frozen=True)
class CaseData:
    """NumPy float64 test data of one case (float32-exact values)."""

    input: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    cotangent: np.ndarray  # the ``g`` in d(sum(y * g)), shaped like the output

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return self.input, self.weight, self.bias


@dataclass(frozen=True)
class Reference:
    """torch's float64 results for one case."""

    output: np.ndarray
    grad_input: np.ndarray | None = None
    grad_weight: np.ndarray | None = None
    grad_bias: np.ndarray | None = None


def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32).astype(np.float64)


@functools.cache
def case_data(case: Case) -> CaseData:
    """Deterministic data for ``case``: the same arrays in every process and run."""
    rng = np.random.default_rng(zlib.crc32(f"{case!s} seed={case.seed}".encode()))
    return CaseData(
        input=_normal(rng, case.input_shape),
        weight=_normal(rng, case.weight_shape),
        bias=None if case.bias_shape is None else _normal(rng, case.bias_shape),
        cotangent=_normal(rng, case.output_shape),
    )


def _torch_forward(case: Case, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None):
    if case.output_size is None:
        return _FUNCTIONAL[case.ndim](x, w, b, **case.kwargs())
    kwargs = case.kwargs()
    module = _MODULES[case.ndim](
        case.in_channels,
        case.out_channels,
        case.kernel_size,
        stride=kwargs["stride"],
        padding=kwargs["padding"],
        output_padding=kwargs["output_padding"],
        groups=case.groups,
        bias=case.bias,
        dilation=kwargs["dilation"],
        dtype=torch.float64,
    )
    with torch.no_grad():
        module.weight.copy_(w)
        if b is not None:
            module.bias.copy_(b)
    module.weight.requires_grad_(w.requires_grad)
    if b is not None:
        module.bias.requires_grad_(b.requires_grad)
    # Use the module's own parameters so autograd reaches them; copy grads back below.
    return module(x, output_size=list(case.output_size)), module


@functools.cache
def torch_reference(case: Case, *, gradients: bool = False) -> Reference:
    """torch's float64 output (and, if asked, gradients) for ``case``'s data."""
    data = case_data(case)
    x = torch.from_numpy(data.input).requires_grad_(gradients)
    w = torch.from_numpy(data.weight).requires_grad_(gradients)
    b = None if data.bias is None else torch.from_numpy(data.bias).requires_grad_(gradients)
    result = _torch_forward(case, x, w, b)
    y, module = result if isinstance(result, tuple) else (result, None)
    if tuple(y.shape) != case.output_shape:
        msg = f"torch made shape {tuple(y.shape)}, the formula says {case.output_shape}: {case}"
        raise AssertionError(msg)
    if not gradients:
        return Reference(y.detach().numpy())
    (y * torch.from_numpy(data.cotangent)).sum().backward()
    if module is not None:
        w, b = module.weight, module.bias
    return Reference(
        y.detach().numpy(),
        x.grad.numpy(),
        w.grad.numpy(),
        None if b is None else b.grad.numpy(),
    )


def assert_all(
    cases: Iterable[Case], results: Iterable[Any], check: Callable[[Case, Any], None]
) -> None:
    """``check(case, result)`` for every case; fail once, listing every failing case.

    A result that is an exception (the computation raised) counts as a failure.
    """
    failures = []
    count = 0
    for case, result in zip(cases, results, strict=True):
        count += 1
        try:
            if isinstance(result, Exception):
                raise result
            check(case, result)
        except Exception as error:  # report every failing case, not just the first
            failures.append(f"  {case}\n    -> {type(error).__name__}: {error}")
    if failures:
        msg = f"{len(failures)} of {count} cases differ from torch:\n" + "\n".join(failures)
        raise AssertionError(msg)
