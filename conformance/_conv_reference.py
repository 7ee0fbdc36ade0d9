"""torch's results for forward-convolution cases, and lucid's way of computing the same.

The data of a :class:`~conformance._conv_grid.ConvCase` come from
:func:`conformance._reference.case_data` (seeded by the case, float32-exact float64
values, shared by every backend and dtype); the reference is
``torch.nn.functional.conv{1,2,3}d`` in float64, and its gradients are those of
``sum(y * cotangent)`` by torch autograd.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import array_api_compat
import torch

from lucid.ops import conv1d, conv2d, conv3d

from ._conv_grid import ConvCase
from ._reference import Reference, case_data

__all__ = ["CONV_OPS", "lucid_conv", "lucid_conv_gradients", "torch_conv_reference"]

_TORCH = {
    1: torch.nn.functional.conv1d,
    2: torch.nn.functional.conv2d,
    3: torch.nn.functional.conv3d,
}
CONV_OPS = {1: conv1d, 2: conv2d, 3: conv3d}


@functools.cache
def torch_conv_reference(case: ConvCase, *, gradients: bool = False) -> Reference:
    """torch's float64 output (and, if asked, gradients) for ``case``'s data."""
    data = case_data(case)  # type: ignore[arg-type]
    x = torch.from_numpy(data.input).requires_grad_(gradients)
    w = torch.from_numpy(data.weight).requires_grad_(gradients)
    b = None if data.bias is None else torch.from_numpy(data.bias).requires_grad_(gradients)
    with warnings.catch_warnings():  # torch's note that even 'same' kernels copy the input
        warnings.simplefilter("ignore", UserWarning)
        y = _TORCH[case.ndim](x, w, b, **case.kwargs())
    if tuple(y.shape) != case.output_shape:
        msg = f"torch made shape {tuple(y.shape)}, the formula says {case.output_shape}: {case}"
        raise AssertionError(msg)
    if not gradients:
        return Reference(y.detach().numpy())
    (y * torch.from_numpy(data.cotangent)).sum().backward()
    return Reference(
        y.detach().numpy(),
        x.grad.numpy(),
        w.grad.numpy(),
        None if b is None else b.grad.numpy(),
    )


def lucid_conv(case: ConvCase, x: Any, w: Any, b: Any, g: Any = None) -> Any:
    """The lucid op of ``case``'s rank with ``case``'s hyper-parameters."""
    return CONV_OPS[case.ndim](x, w, b, **case.kwargs())


def lucid_conv_gradients(case: ConvCase, x: Any, w: Any, b: Any, g: Any) -> tuple[Any, ...]:
    """Gradients of ``sum(lucid_conv(x, w, b) * g)`` for x, w (and b) by the backend's autodiff."""
    if array_api_compat.is_jax_array(x):
        import jax
        import jax.numpy as jnp

        def loss(*args: Any) -> Any:
            return jnp.sum(lucid_conv(case, *args, *([None] if b is None else [])) * g)

        args = (x, w) if b is None else (x, w, b)
        return tuple(jax.grad(loss, argnums=tuple(range(len(args))))(*args))
    if array_api_compat.is_torch_array(x):
        leaves = [a.detach().requires_grad_() for a in (x, w, b) if a is not None]
        y = lucid_conv(case, *leaves, *([None] if b is None else []))
        return tuple(torch.autograd.grad((y * g).sum(), leaves))
    msg = f"no autodiff for {type(x).__module__}.{type(x).__name__}"
    raise TypeError(msg)
