"""The native transposed convolutions lucid is measured against (never used by lucid's ops).

Each reference takes the arguments of :func:`lucid.ops.conv_transpose2d` (with tuple
hyper-parameters) and returns the backend's own result.  NumPy and array-api-strict
have no such op, so torch's stands in for them, as in the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["jax_conv_transpose2d", "native_conv_transpose2d", "torch_conv_transpose2d"]


def torch_conv_transpose2d(
    x: Any,
    w: Any,
    b: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Any:
    """``torch.nn.functional.conv_transpose2d``."""
    import torch

    return torch.nn.functional.conv_transpose2d(
        x, w, b, stride, padding, output_padding, groups, dilation
    )


def jax_conv_transpose2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> Any:
    """torch's ``conv_transpose2d`` as XLA's input-dilated ``conv_general_dilated``.

    The kernel is flipped and its in/out axes swapped per group; each side is padded
    by ``dilation*(kernel-1) - padding``, plus ``output_padding`` on the high side.
    """
    import jax

    from lucid.ops._params import validate_conv_transpose_params

    c_in, c_out_g, *kernel = w.shape
    p = validate_conv_transpose_params(2, kernel, stride, padding, output_padding, groups, dilation)
    flipped = w[:, :, ::-1, ::-1].reshape(groups, c_in // groups, c_out_g, *kernel)
    rhs = flipped.transpose(0, 2, 1, 3, 4).reshape(groups * c_out_g, c_in // groups, *kernel)
    pads = [
        (d * (k - 1) - pad, d * (k - 1) - pad + op)
        for k, pad, op, d in zip(kernel, p.padding, p.output_padding, p.dilation)
    ]
    y = jax.lax.conv_general_dilated(
        x,
        rhs,
        window_strides=(1, 1),
        padding=pads,
        lhs_dilation=p.stride,
        rhs_dilation=p.dilation,
        feature_group_count=groups,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def native_conv_transpose2d(backend: str) -> tuple[str, Callable[..., Any]]:
    """The reference for ``backend`` and the name it is reported under."""
    if backend == "jax":
        return "jax.lax.conv_general_dilated", jax_conv_transpose2d
    return "torch.nn.functional.conv_transpose2d", torch_conv_transpose2d
