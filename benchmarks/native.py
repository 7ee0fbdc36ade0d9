"""The native convolutions lucid is measured against (never used by lucid's ops).

Each reference takes the arguments of the lucid op of the same name and returns the
backend's own result.  NumPy and array-api-strict have no such ops, so torch's stand
in for them, as in the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lucid._backends._jax_native import LAYOUTS as _LAYOUTS
from lucid._backends._jax_native import jax_conv_transpose
from lucid._backends._jax_native import with_bias as _with_bias

__all__ = [
    "jax_conv",
    "jax_conv_transpose",
    "native_op",
]


def jax_conv(
    x: Any,
    w: Any,
    b: Any = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Any:
    """torch's ``conv{1,2,3}d`` as XLA's ``conv_general_dilated``."""
    import jax

    from lucid.ops._params import validate_conv_params

    nd = w.ndim - 2
    p = validate_conv_params(nd, w.shape[2:], stride, padding, dilation, groups)
    y = jax.lax.conv_general_dilated(
        x,
        w,
        window_strides=p.stride,
        padding=list(p.padding),
        rhs_dilation=p.dilation,
        feature_group_count=groups,
        dimension_numbers=_LAYOUTS[nd],
    )
    return _with_bias(y, b)


def native_op(backend: str, op: str) -> Callable[..., Any]:
    """The native function for lucid's ``op`` (e.g. ``'conv3d'``) on ``backend``.

    NumPy's stand-in is torch's; the caller converts arrays.
    """
    if backend == "jax":
        return jax_conv_transpose if op.startswith("conv_transpose") else jax_conv
    import torch

    return getattr(torch.nn.functional, op)
