"""XLA's transposed convolution with torch's signature: what lucid is measured against on JAX.

Never used by lucid's ops; the self-check and the benchmarks time lucid against it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LAYOUTS", "jax_conv_transpose", "with_bias"]

LAYOUTS = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}


def with_bias(y: Any, b: Any) -> Any:
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
        dimension_numbers=LAYOUTS[nd],
    )
    return with_bias(y, b)
