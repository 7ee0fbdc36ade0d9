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

from ._ct_geometry import channels_first
from ._params import ConvTransposeParams

__all__ = ["conv_transpose_grads"]


def _output_grad_columns(xp: Any, gy: Any, p: ConvTransposeParams, spatial: tuple[int, ...]) -> Any:
    """``(G, C_out/G * T, N * P)``: for every tap, the ``gy`` window it wrote to."""
    n = gy.shape[0]
    out_spatial = tuple(gy.shape[2:])
    g = p.groups
    c_out_g = gy.shape[1] // g
    # Rows the forward cropped away (padding) or never reached are zeros here.
    lows = tuple(p.padding)
    highs = tuple(
        max(0, (h - 1) * s + (k - 1) * d - pad - (o - 1))
        for h, s, k, d, pad, o in zip(
            spatial, p.stride, p.kernel_size, p.dilation, p.padding, out_spatial
        )
    )
    gs = channels_first(xp, gy, g)
    if any(lows) or any(highs):
        gs = xpx.pad(gs, [(0, 0)] * 3 + list(zip(lows, highs)), xp=xp)
    windows = []
    for tap in itertools.product(*(range(k) for k in p.kernel_size)):
        index = (slice(None),) * 3 + tuple(
            slice(t * d, t * d + (h - 1) * s + 1, s)
            for t, d, h, s in zip(tap, p.dilation, spatial, p.stride)
        )
        windows.append(gs[index])
    cols = windows[0] if len(windows) == 1 else xp.stack(windows, axis=2)
    return xp.reshape(cols, (g, c_out_g * len(windows), n * math.prod(spatial)))


def conv_transpose_grads(
    xp: Any,
    x: Any,
    weight: Any,
    gy: Any,
    p: ConvTransposeParams,
    needs: tuple[bool, bool, bool],
) -> tuple[Any | None, Any | None, Any | None]:
    """``(dx, dweight, dbias)`` for batched ``x``; ``None`` where ``needs`` is false."""
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    g = p.groups
    c_in_g = c_in // g
    dx = dw = db = None
    if needs[0] or needs[1]:
        cols = _output_grad_columns(xp, gy, p, spatial)
        if needs[0]:
            w = xp.reshape(weight, (g, c_in_g, cols.shape[1]))
            dx = xp.reshape(xp.matmul(w, cols), (g, c_in_g, n, *spatial))
            dx = xp.permute_dims(dx, (2, 0, 1, *range(3, 3 + p.ndim)))
            dx = xp.reshape(dx, (n, c_in, *spatial))
        if needs[1]:
            xs = xp.reshape(channels_first(xp, x, g), (g, c_in_g, n * math.prod(spatial)))
            dw = xp.matmul(xs, xp.matrix_transpose(cols))
            dw = xp.reshape(dw, tuple(weight.shape))
    if needs[2]:
        db = xp.sum(gy, axis=(0, *range(2, gy.ndim)))
    return dx, dw, db
