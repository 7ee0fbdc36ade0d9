"""The native convolutions lucid is measured against (never used by lucid's ops).

Each reference takes the arguments of the lucid op of the same name and returns the
backend's own result.  NumPy and array-api-strict have no such ops, so torch's stand
in for them, as in the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "jax_conv",
    "jax_conv_transpose",
    "jax_conv_transpose2d",
    "native_conv_transpose2d",
    "native_op",
    "torch_conv_transpose2d",
]

_LAYOUTS = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}


def torch_conv_transpose2d(x: Any, w: Any, b: Any = None, *args: Any, **kwargs: Any) -> Any:
    """``torch.nn.functional.conv_transpose2d``, imported on first use."""
    import torch

    return torch.nn.functional.conv_transpose2d(x, w, b, *args, **kwargs)


def _with_bias(y: Any, b: Any) -> Any:
    return y if b is None else y + b.reshape(1, -1, *(1,) * (y.ndim - 2))


def jax_conv_transpose(
    x: Any,
    w: Any,
    b: Any = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> Any:
    """torch's ``conv_transpose{1,2,3}d`` as XLA's input-dilated ``conv_general_dilated``.

    The kernel is flipped and its in/out axes swapped per group; each side is padded
    by ``dilation*(kernel-1) - padding``, plus ``output_padding`` on the high side.
    """
    import jax

    from lucid.ops._params import validate_conv_transpose_params

    c_in, c_out_g, *kernel = w.shape
    nd = len(kernel)
    p = validate_conv_transpose_params(
        nd, kernel, stride, padding, output_padding, groups, dilation
    )
    reverse_kernel = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
    flipped = w[reverse_kernel]
    rhs = flipped.reshape(groups, c_in // groups, c_out_g, *kernel).swapaxes(1, 2)
    pads = [
        (d * (k - 1) - pad, d * (k - 1) - pad + op)
        for k, pad, op, d in zip(kernel, p.padding, p.output_padding, p.dilation)
    ]
    y = jax.lax.conv_general_dilated(
        x,
        rhs.reshape(groups * c_out_g, c_in // groups, *kernel),
        window_strides=(1,) * nd,
        padding=pads,
        lhs_dilation=p.stride,
        rhs_dilation=p.dilation,
        feature_group_count=groups,
        dimension_numbers=_LAYOUTS[nd],
    )
    return _with_bias(y, b)


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


#: ``jax_conv_transpose`` in 2-D, the self-check's and the benchmarks' main reference.
jax_conv_transpose2d = jax_conv_transpose


def native_op(backend: str, op: str) -> Callable[..., Any]:
    """The native function for lucid's ``op`` (e.g. ``'conv3d'``) on ``backend``.

    NumPy's stand-in is torch's; the caller converts arrays.
    """
    if backend == "jax":
        return jax_conv_transpose if op.startswith("conv_transpose") else jax_conv
    import torch

    return getattr(torch.nn.functional, op)


def native_conv_transpose2d(backend: str) -> tuple[str, Callable[..., Any]]:
    """The reference for ``backend`` and the name it is reported under."""
    if backend == "jax":
        return "jax.lax.conv_general_dilated", jax_conv_transpose2d
    return "torch.nn.functional.conv_transpose2d", torch_conv_transpose2d
