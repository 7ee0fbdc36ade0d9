"""The gradients of the transposed convolution as two GEMMs, in standard ops only.

Tap ``t`` sends input pixel ``h`` to output row ``o = h*stride + t*dilation - padding``,
so the output gradient seen by that tap is a *strided window* of ``gy``.  Stacking the
windows of all taps gives one column matrix ``cols`` of shape
``(G, C_out/G * T, N * P)``; then

* ``dx = W @ cols`` (the weight, viewed ``(G, C_in/G, C_out/G * T)``, is a free reshape),
* ``dW = x @ cols.T``,
* ``db = sum(gy)``.

Autodiff through the forward instead transposes every slice into a zero-filled,
input-sized buffer, which costs far more than these two products.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_extra as xpx

from ._ct_geometry import channels_first, layer_dims, tap_windows
from ._params import ConvTransposeParams
from ._traits import Traits

__all__ = ["conv_transpose_grads", "pixel_major_grads"]


# Pixel-major columns are built and consumed this many elements at a time (8 MiB of
# float32): on the `large` layer chunks of 4 taps cut PyTorch's backward from 34 to
# 25 ms against one stack of all 16 (fresh multi-MiB buffers page-fault on every call).
_COLUMN_CHUNK = 1 << 21


def _output_grad_windows(
    xp: Any, gy: Any, p: ConvTransposeParams, spatial: tuple[int, ...], channels_last: bool
) -> list[Any]:
    """For every tap, the window of ``gy`` it wrote to (views of a padded copy).

    Each is ``(G, N, *S, C_out/G)`` with ``channels_last``, else ``(G, C_out/G, N, *S)``.
    """
    n = gy.shape[0]
    out_spatial = tuple(gy.shape[2:])
    g = p.groups
    c_out_g = gy.shape[1] // g
    nd = p.ndim
    # Rows the forward cropped away (padding) or never reached are zeros here.
    lows = tuple(p.padding)
    highs = tuple(
        max(0, (h - 1) * s + (k - 1) * d - pad - (o - 1))
        for h, s, k, d, pad, o in zip(
            spatial, p.stride, p.kernel_size, p.dilation, p.padding, out_spatial
        )
    )
    if channels_last:
        gs = xp.reshape(gy, (n, g, c_out_g, *out_spatial))
        gs = xp.permute_dims(gs, (1, 0, *range(3, 3 + nd), 2))
        lead, trail = 2, 1
    else:
        gs = channels_first(xp, gy, g)
        lead, trail = 3, 0
    if any(lows) or any(highs):
        gs = xpx.pad(gs, [(0, 0)] * lead + list(zip(lows, highs)) + [(0, 0)] * trail, xp=xp)
    windows = tap_windows(p.kernel_size, p.dilation, p.stride, spatial, lead, trail)
    return [gs[index] for index in windows]


#: Pixel-major gradients pay where the input has at least this many pixels (batch
#: included) per input channel; below, the transposed copy of the weight they need
#: costs more than they save (BENCHMARKS.md, "The gradients' GEMM layout").
_PIXELS_PER_CHANNEL = 8


def pixel_major_grads(x_shape: tuple[int, ...], p: ConvTransposeParams, traits: Traits) -> bool:
    """Whether the gradients' GEMMs put the pixels in their rows (``channels_last`` of
    :func:`conv_transpose_grads`).

    Where the library runs pixel-major GEMMs faster (``traits``), for ungrouped layers
    whose input has at least 8 pixels per input channel.  Pixel-major GEMMs read the
    weight transposed, as a copy (35 ms for a 512x256x4x4 weight on PyTorch); on an
    input of few pixels that copy outweighs the whole channels-first backward.

    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> from lucid.ops._traits import traits
    >>> p = validate_conv_transpose_params(2, 4, stride=2, padding=1)
    >>> pixel_major_grads((1, 512, 4, 4), p, traits("torch"))  # DCGAN's second layer
    False
    >>> pixel_major_grads((8, 64, 64, 64), p, traits("torch"))
    True
    """
    pixels = x_shape[0] * math.prod(x_shape[2:])
    return traits.pixel_major_gemms and p.groups == 1 and pixels >= _PIXELS_PER_CHANNEL * x_shape[1]


def conv_transpose_grads(
    xp: Any,
    x: Any,
    weight: Any,
    gy: Any,
    p: ConvTransposeParams,
    needs: tuple[bool, bool, bool],
    channels_last: bool = False,
) -> tuple[Any | None, Any | None, Any | None]:
    """``(dx, dweight, dbias)`` for batched ``x``; ``None`` where ``needs`` is false.

    ``channels_last`` puts the pixels in the GEMMs' rows, as the forward's
    ``phase_channels_last`` does, a chunk of taps at a time: faster on PyTorch
    (measured), slower under XLA and on groups of few channels.
    """
    n, c_in, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    nd = p.ndim
    pixels = n * math.prod(spatial)
    dx = dw = db = None
    if needs[0] or needs[1]:
        windows = _output_grad_windows(xp, gy, p, spatial, channels_last)
        taps = len(windows)
        w = xp.reshape(weight, (g, c_in_g, c_out_g, taps))
        xs = xp.reshape(channels_first(xp, x, g), (g, c_in_g, pixels)) if needs[1] else None
        if channels_last:
            dx, dw = _pixel_major_grads(xp, windows, w, xs, needs, pixels)
            if dx is not None:  # (G, N*P, C_in/G) -> (N, C_in, *S)
                dx = xp.reshape(dx, (g, n, *spatial, c_in_g))
                dx = xp.permute_dims(dx, (1, 0, 2 + nd, *range(2, 2 + nd)))
        else:
            cols = windows[0] if taps == 1 else xp.stack(windows, axis=2)
            cols = xp.reshape(cols, (g, c_out_g * taps, pixels))
            if needs[0]:  # (G, C_in/G, T*C_out/G) @ (G, T*C_out/G, N*P)
                dx = xp.reshape(w, (g, c_in_g, taps * c_out_g)) @ cols
                dx = xp.reshape(dx, (g, c_in_g, n, *spatial))
                dx = xp.permute_dims(dx, (2, 0, 1, *range(3, 3 + nd)))
            if xs is not None:
                dw = xs @ xp.matrix_transpose(cols)
        if dx is not None:
            dx = xp.reshape(dx, (n, c_in, *spatial))
        if dw is not None:
            dw = xp.reshape(dw, tuple(weight.shape))
    if needs[2]:
        db = xp.sum(gy, axis=(0, *range(2, gy.ndim)))
    return dx, dw, db


def _pixel_major_grads(
    xp: Any,
    windows: list[Any],
    w: Any,
    xs: Any | None,
    needs: tuple[bool, bool, bool],
    pixels: int,
) -> tuple[Any | None, Any | None]:
    """``dx`` as ``(G, N*P, C_in/G)`` and ``dW`` as ``(G, C_in/G, C_out/G, T)``.

    ``w`` is the weight viewed ``(G, C_in/G, C_out/G, T)``; ``xs`` the input viewed
    ``(G, C_in/G, N*P)`` (``None`` when ``dW`` is not needed).
    """
    g, c_in_g, c_out_g, taps = w.shape
    w_t = xp.permute_dims(w, (0, 3, 2, 1))  # (G, T, C_out/G, C_in/G)
    chunk = max(1, _COLUMN_CHUNK // max(1, g * pixels * c_out_g))
    dx, dw_parts = None, []
    for start in range(0, taps, chunk):
        stop = min(start + chunk, taps)
        part = windows[start] if stop - start == 1 else xp.stack(windows[start:stop], axis=-2)
        cols = xp.reshape(part, (g, pixels, (stop - start) * c_out_g))
        if needs[0]:
            product = cols @ xp.reshape(w_t[:, start:stop, ...], (g, -1, c_in_g))
            if dx is None:
                dx = product
            else:  # in place on NumPy and PyTorch; JAX rebinds
                dx += product
        if xs is not None:
            dw_parts.append(xs @ cols)  # (G, C_in/G, chunk*C_out/G)
    if xs is None:
        return dx, None
    dw = dw_parts[0] if len(dw_parts) == 1 else xp.concat(dw_parts, axis=2)
    dw = xp.permute_dims(xp.reshape(dw, (g, c_in_g, taps, c_out_g)), (0, 1, 3, 2))
    return dx, dw
