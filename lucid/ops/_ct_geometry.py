"""The geometry of a transposed convolution: which taps, windows and phases meet where.

Pure functions of shapes and hyper-parameters (Python ints, cached where they loop),
plus the two layout moves every formulation shares: batch into the GEMM columns, and
phase planes back into one interleaved output.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

from ._params import ConvTransposeParams

__all__ = [
    "channels_first",
    "crop",
    "interleave",
    "layer_dims",
    "phase_grid",
    "phase_layout",
    "progression",
    "tap_blocks",
    "tap_offsets",
    "tap_windows",
]


class LayerDims(NamedTuple):
    """The sizes every formulation unpacks from a batched input and its weight."""

    n: int
    c_in: int
    spatial: tuple[int, ...]
    groups: int
    c_in_per_group: int
    c_out_per_group: int


def layer_dims(x: Any, weight: Any, p: ConvTransposeParams) -> LayerDims:
    """``(N, C_in, spatial, G, C_in/G, C_out/G)`` of ``x`` ``(N, C_in, *S)`` and its weight."""
    n, c_in = x.shape[0], x.shape[1]
    return LayerDims(n, c_in, tuple(x.shape[2:]), p.groups, c_in // p.groups, weight.shape[1])


def channels_first(xp: Any, x: Any, g: int) -> Any:
    """``(N, C_in, *S)`` -> ``(G, C_in/G, N, *S)``: the batch joins the GEMM's columns."""
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    if n == 1:  # a reshape, not a copy
        return xp.reshape(x, (g, c_in // g, 1, *spatial))
    grouped = xp.reshape(x, (n, g, c_in // g, *spatial))
    return xp.permute_dims(grouped, (1, 2, 0, *range(3, 3 + len(spatial))))


def interleave(
    xp: Any,
    planes: Any,
    strides: tuple[int, ...],
    n: int,
    c_out: int,
    channels_last: bool = False,
) -> Any:
    """Phase planes -> ``(N, C_out, M_1*s_1, ..., M_d*s_d)``, one copy.

    ``planes`` is ``(s_1, ..., s_d, N, C_out, M_1, ..., M_d)``, or with
    ``channels_last`` ``(s_1, ..., s_d, G, N, M_1, ..., M_d, C_out/G)``.
    """
    nd = len(strides)
    # Axes: the phases are 0..nd-1 and M_i is nd+2+i in both layouts; then N, C_out at
    # nd, nd+1, or channels last G, N at nd, nd+1 and C_out/G at 2nd+2.
    leading = (nd + 1, nd, 2 * nd + 2) if channels_last else (nd, nd + 1)
    order = (*leading, *(a for i in range(nd) for a in (nd + 2 + i, i)))
    sizes = tuple(planes.shape[nd + 2 + i] * s for i, s in enumerate(strides))
    return xp.reshape(xp.permute_dims(planes, order), (n, c_out, *sizes))


def crop(y: Any, starts: tuple[int, ...], sizes: tuple[int, ...]) -> Any:
    if all(a == 0 and b == m for a, b, m in zip(starts, sizes, y.shape[2:])):
        return y
    crop = tuple(slice(a, a + b) for a, b in zip(starts, sizes))
    index = (slice(None), slice(None), *crop)
    return y[index]


def _phase_windows(
    k: int, s: int, d: int, pad: int, out: int
) -> tuple[int, list[list[tuple[int, int]]]]:
    """Per output phase ``r`` of one dimension: ``(tap, first input row)`` pairs.

    Output row ``o = j*s + r`` (``j < M = ceil(out/s)``) is uncropped row ``o + pad``;
    tap ``t`` reaches it from input row ``(o + pad - t*d) / s`` when that divides.
    Returns ``M`` and, per phase, the taps with the input row feeding ``j = 0``.
    """
    m = -(-out // s)
    phases: list[list[tuple[int, int]]] = []
    for r in range(s):
        taps = []
        for t in range(k):
            shift = r + pad - t * d
            if shift % s == 0:
                taps.append((t, shift // s))
        phases.append(taps)
    return m, phases


@functools.lru_cache(maxsize=256)
def phase_layout(
    spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> tuple[tuple[int, ...], list[list[list[tuple[int, int]]]], tuple[tuple[int, int], ...]]:
    """The phase plane size, each dimension's phases, and the zero rows the input needs.

    Padding the input by ``(low, high)`` rows per dimension makes every window of every
    phase an in-bounds slice.
    """
    per_dim = [
        _phase_windows(*args)
        for args in zip(p.kernel_size, p.stride, p.dilation, p.padding, out_spatial)
    ]
    pads = []
    for size, (m, phases) in zip(spatial, per_dim):
        firsts = [first for taps in phases for _, first in taps] or [0]
        pads.append((max(0, -min(firsts)), max(0, max(firsts) + m - size)))
    return tuple(m for m, _ in per_dim), [phases for _, phases in per_dim], tuple(pads)


def progression(taps: list[tuple[int, int]]) -> slice:
    """The slice selecting one dimension's taps ``t_0 < t_1 < ...`` (evenly spaced)."""
    first = taps[0][0]
    step = taps[1][0] - first if len(taps) > 1 else 1
    return slice(first, taps[-1][0] + 1, step)


def tap_offsets(p: ConvTransposeParams) -> list[tuple[tuple[int, int], ...]]:
    """For each tap in row-major kernel order: per dimension ``(first grid row, phase)``."""
    per_dim = [
        [divmod(k * d, s) for k in range(size)]
        for size, s, d in zip(p.kernel_size, p.stride, p.dilation)
    ]
    return list(itertools.product(*per_dim))


def tap_blocks(p: ConvTransposeParams) -> list[tuple[tuple[slice, int, slice], ...]]:
    """The taps grouped by the block of ``stride`` output rows they land in.

    Per group, per dimension: ``(taps, first grid row, phases)``, slices of the kernel
    axis and of the phase axis of an interleaved ``(M, stride)`` grid.  Tap ``k`` lands
    in row ``k*d // s`` at phase ``k*d % s``; the taps of one row are consecutive and
    their phases step by the dilation, so one strided slice add places them all.  With
    ``d == 1`` and ``s`` dividing ``k`` that is ``(k/s)`` adds per dimension instead of
    ``k``.

    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> p = validate_conv_transpose_params(1, (4,), stride=2)
    >>> tap_blocks(p)
    [((slice(0, 2, None), 0, slice(0, 2, 1)),), ((slice(2, 4, None), 1, slice(0, 2, 1)),)]
    """
    per_dim = []
    for size, s, d in zip(p.kernel_size, p.stride, p.dilation):
        rows: dict[int, list[int]] = {}
        for k in range(size):
            rows.setdefault(k * d // s, []).append(k)
        per_dim.append(
            [
                (slice(ks[0], ks[-1] + 1), row, slice(ks[0] * d % s, ks[-1] * d % s + 1, d))
                for row, ks in rows.items()
            ]
        )
    return list(itertools.product(*per_dim))


def phase_grid(
    spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> tuple[int, ...]:
    """Rows ``M`` of ``stride`` phases per dimension: long enough for the full
    (uncropped) result and for any rows that ``output_padding`` adds past it."""
    return tuple(
        -(-max((size - 1) * s + d * (k - 1) + 1, pad + out) // s)
        for size, k, s, pad, out, d in zip(
            spatial, p.kernel_size, p.stride, p.padding, out_spatial, p.dilation
        )
    )


def tap_windows(
    kernel_size: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    counts: tuple[int, ...],
    lead: int,
    trail: int,
) -> list[tuple[slice, ...]]:
    """Per tap (row-major), the index of the strided window it meets.

    Tap ``k`` meets rows ``k*dilation + j*stride`` for ``j < count`` in each spatial
    dimension: the forward convolution's im2col, and the output-gradient windows of the
    transposed one.  ``lead``/``trail``: full slices before and after the spatial axes.
    """
    every = slice(None)
    return [
        (every,) * lead
        + tuple(
            slice(k * d, k * d + s * (count - 1) + 1, s)
            for k, d, s, count in zip(tap, dilation, stride, counts)
        )
        + (every,) * trail
        for tap in itertools.product(*(range(k) for k in kernel_size))
    ]
