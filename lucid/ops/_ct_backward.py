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

import itertools
import math
from typing import Any

import array_api_extra as xpx

from ._ct_geometry import channels_first, layer_dims
from ._params import ConvTransposeParams

__all__ = ["conv_transpose_grads"]


def _output_grad_columns(
    xp: Any, gy: Any, p: ConvTransposeParams, spatial: tuple[int, ...], channels_last: bool
) -> Any:
    """For every tap, the ``gy`` window it wrote to, stacked.

    ``(G, C_out/G * T, N * P)``, or ``(G, N * P, T * C_out/G)`` with ``channels_last``.
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
    if channels_last:  # (G, N, *out, C_out/G)
        gs = xp.reshape(gy, (n, g, c_out_g, *out_spatial))
        gs = xp.permute_dims(gs, (1, 0, *range(3, 3 + nd), 2))
        lead, trail = 2, 1
    else:  # (G, C_out/G, N, *out)
        gs = channels_first(xp, gy, g)
        lead, trail = 3, 0
    if any(lows) or any(highs):
        gs = xpx.pad(gs, [(0, 0)] * lead + list(zip(lows, highs)) + [(0, 0)] * trail, xp=xp)
    windows = []
    for tap in itertools.product(*(range(k) for k in p.kernel_size)):
        index = (
            (slice(None),) * lead
            + tuple(
                slice(t * d, t * d + (h - 1) * s + 1, s)
                for t, d, h, s in zip(tap, p.dilation, spatial, p.stride)
            )
            + (slice(None),) * trail
        )
        windows.append(gs[index])
    taps, pixels = len(windows), n * math.prod(spatial)
    if channels_last:
        cols = windows[0] if taps == 1 else xp.stack(windows, axis=-2)
        return xp.reshape(cols, (g, pixels, taps * c_out_g))
    cols = windows[0] if taps == 1 else xp.stack(windows, axis=2)
    return xp.reshape(cols, (g, c_out_g * taps, pixels))


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
    ``phase_channels_last`` does: faster on PyTorch (measured), slower under XLA.
    """
    n, c_in, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    nd = p.ndim
    taps = math.prod(p.kernel_size)
    pixels = n * math.prod(spatial)
    dx = dw = db = None
    if needs[0] or needs[1]:
        cols = _output_grad_columns(xp, gy, p, spatial, channels_last)
        w = xp.reshape(weight, (g, c_in_g, c_out_g, taps))
        if channels_last:
            if needs[0]:
                # (G, N*P, T*C_out/G) @ (G, T*C_out/G, C_in/G) -> (N, C_in, *S)
                w_t = xp.reshape(xp.permute_dims(w, (0, 3, 2, 1)), (g, taps * c_out_g, c_in_g))
                dx = xp.reshape(cols @ w_t, (g, n, *spatial, c_in_g))
                dx = xp.permute_dims(dx, (1, 0, 2 + nd, *range(2, 2 + nd)))
                dx = xp.reshape(dx, (n, c_in, *spatial))
            if needs[1]:
                # (G, C_in/G, N*P) @ (G, N*P, T*C_out/G) -> (C_in, C_out/G, *K)
                xs = xp.reshape(channels_first(xp, x, g), (g, c_in_g, pixels))
                dw = xp.reshape(xs @ cols, (g, c_in_g, taps, c_out_g))
                dw = xp.reshape(xp.permute_dims(dw, (0, 1, 3, 2)), tuple(weight.shape))
        else:
            if needs[0]:
                dx = xp.reshape(
                    xp.reshape(w, (g, c_in_g, taps * c_out_g)) @ cols, (g, c_in_g, n, *spatial)
                )
                dx = xp.permute_dims(dx, (2, 0, 1, *range(3, 3 + nd)))
                dx = xp.reshape(dx, (n, c_in, *spatial))
            if needs[1]:
                xs = xp.reshape(channels_first(xp, x, g), (g, c_in_g, pixels))
                dw = xp.reshape(xs @ xp.matrix_transpose(cols), tuple(weight.shape))
    if needs[2]:
        db = xp.sum(gy, axis=(0, *range(2, gy.ndim)))
    return dx, dw, db
