"""Convolutions of chunked (Dask) arrays, one task per output block.

The output keeps the input's batch chunks, and its spatial chunks follow the input's
(each input chunk boundary ``a`` becomes the output boundary ``a * stride`` of a
transposed convolution, ``ceil((a + padding) / stride)`` of a forward one).  Each
output block is computed by the NumPy (or CuPy) convolution from the input rows it
needs, the block and a halo of about ``dilation * (kernel - 1) / stride`` rows, so no
task holds more than a block and its halo; the graph has a few tasks per block,
however many taps the kernel has.  Channels are one chunk: every output needs them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _backends

__all__ = [
    "blockwise_conv",
    "boundaries",
    "chunk_starts",
    "chunked",
    "forward_window",
    "local_array",
    "transposed_window",
]

# (output start, output stop) -> (input start, input stop, pad low, pad high, crop start)
Window = Callable[[int, int], tuple[int, int, int, int, int]]


def boundaries(edges: Sequence[int], length: int) -> tuple[int, ...]:
    """Chunk sizes of an axis of ``length`` cut at ``edges`` (empty chunks dropped)."""
    cuts = sorted({0, length, *(min(max(e, 0), length) for e in edges)})
    return tuple(b - a for a, b in itertools.pairwise(cuts) if b > a)


def transposed_window(size: int, k: int, s: int, p: int, d: int) -> Window:
    """Output rows ``[o0, o1)`` of a transposed convolution read input rows
    ``i`` with ``i * s <= o + p <= i * s + d * (k - 1)``."""

    def window(o0: int, o1: int) -> tuple[int, int, int, int, int]:
        lo = max(0, -((d * (k - 1) - o0 - p) // s))  # ceil((o0 + p - d(k-1)) / s)
        hi = min(size, (o1 - 1 + p) // s + 1)
        return lo, max(lo, hi), 0, 0, o0 + p - lo * s

    return window


def forward_window(size: int, k: int, s: int, pad: tuple[int, int], d: int) -> Window:
    """Output rows ``[o0, o1)`` of a convolution read padded rows ``o * s + j * d``."""

    def window(o0: int, o1: int) -> tuple[int, int, int, int, int]:
        first, last = o0 * s - pad[0], (o1 - 1) * s - pad[0] + d * (k - 1)
        lo, hi = max(0, first), min(size, last + 1)
        return lo, max(lo, hi), lo - first, last + 1 - max(lo, hi), 0

    return window


def blockwise_conv(
    plan: Any,
    input: Any,
    weight: Any,
    bias: Any | None,
    window: Callable[[int, int, int, Any, int], Window],
    edge: Callable[[int, int, Any], int],
    local: Callable[[np.ndarray, np.ndarray], np.ndarray],
    out_channels: int,
) -> Any:
    """The chunked output of a convolution's validated ``plan`` on a chunked ``input``.

    ``plan`` has the op's ``xp``, ``batched``, ``params`` and ``out_spatial``.
    ``window(size, kernel, stride, padding, dilation)`` maps an output range of one
    spatial axis to the input range it needs, the zero padding to add around it and
    where the output range starts in ``local``'s result; ``edge(start, stride,
    padding)`` is the output chunk edge of an input chunk starting at ``start``;
    ``local(window, weight)`` is the convolution of one NumPy input window (no padding,
    no bias).  The weight (NumPy or Dask) enters the graph once, as one key all tasks
    share; ``bias`` is added blockwise, and the batch axis dropped unless batched.
    """
    xp, p, batched = plan.xp, plan.params, plan.batched
    x = input if batched else input[None, ...]
    weight, bias = (None if a is None else local_array(a) for a in (weight, bias))
    dims = zip(x.shape[2:], p.kernel_size, p.stride, p.padding, p.dilation)
    windows = [window(*dim) for dim in dims]
    spatial_edges = [
        [edge(start, s, pad) for start in chunk_starts(c)]
        for c, s, pad in zip(x.chunks[2:], p.stride, p.padding)
    ]
    out_shape = (x.shape[0], out_channels, *plan.out_spatial)
    import dask
    import dask.array as da

    ndim, dtype = len(windows), x.dtype
    x = x.rechunk({1: -1})
    batch_chunks = x.chunks[0]
    spatial_chunks = [boundaries(e, n) for e, n in zip(spatial_edges, out_shape[2:])]
    starts = [tuple(itertools.accumulate((0, *c[:-1]))) for c in (batch_chunks, *spatial_chunks)]
    run = dask.delayed(_run_window, pure=True)
    shared_weight = dask.delayed(weight, pure=True)

    def block(index: tuple[int, ...]) -> Any:
        n0 = starts[0][index[0]]
        n1 = n0 + batch_chunks[index[0]]
        slices, pads, crops, sizes = [slice(n0, n1), slice(None)], [], [], []
        for axis in range(ndim):
            o0 = starts[axis + 1][index[axis + 1]]
            o1 = o0 + spatial_chunks[axis][index[axis + 1]]
            lo, hi, pad_lo, pad_hi, crop = windows[axis](o0, o1)
            slices.append(slice(lo, hi))
            pads.append((pad_lo, pad_hi))
            crops.append(crop)
            sizes.append(o1 - o0)
        shape = (n1 - n0, out_shape[1], *sizes)
        piece = x[tuple(slices)]
        if 0 in piece.shape[2:]:  # no input reaches this block: it is zero
            return da.zeros(shape, dtype=dtype, chunks=shape)
        task = run(piece.rechunk(-1), shared_weight, local, tuple(pads), tuple(crops), shape)
        return da.from_delayed(task, shape=shape, dtype=dtype, meta=x._meta)

    grid = [range(len(starts[0])), range(1), *(range(len(c)) for c in spatial_chunks)]

    def nest(prefix: tuple[int, ...], level: int) -> Any:
        if level == len(grid):
            index = (prefix[0], *prefix[2:])
            return block(index)
        return [nest((*prefix, i), level + 1) for i in grid[level]]

    y = da.block(nest((), 0))
    if bias is not None:
        y = y + xp.reshape(xp.asarray(bias), (1, -1) + (1,) * ndim)
    return y if batched else y[0, ...]


def _run_window(
    window: Any,
    weight: Any,
    local: Callable[[Any, Any], Any],
    pads: tuple[tuple[int, int], ...],
    crops: tuple[int, ...],
    shape: tuple[int, ...],
) -> Any:
    """``local`` on one zero-padded input window, cropped (and zero-extended) to ``shape``."""
    if any(lo or hi for lo, hi in pads):
        window = np.pad(window, ((0, 0), (0, 0), *pads))
    y = local(window, weight)
    out = np.zeros(shape, dtype=y.dtype)
    inner, outer = [slice(None), slice(None)], [slice(None), slice(None)]
    for axis, (crop, size) in enumerate(zip(crops, shape[2:])):
        stop = min(y.shape[axis + 2], crop + size)
        inner.append(slice(crop, max(crop, stop)))
        outer.append(slice(0, max(0, stop - crop)))
    out[tuple(outer)] = y[tuple(inner)]
    return out


# Asked on every call: only the out-of-core libraries, and only once imported.
_OUT_OF_CORE = tuple(backend for backend in _backends.ALL if backend.out_of_core)


def _out_of_core(a: Any) -> bool:
    return a is not None and any(b.in_use() and b.is_array(a) for b in _OUT_OF_CORE)


def chunked(*arrays: Any) -> bool:
    """Whether any of ``arrays`` is computed in blocks (a Dask array)."""
    return any(_out_of_core(a) for a in arrays)


def local_array(a: Any) -> Any:
    """A weight or bias as the in-memory array each block computes with."""
    return a.compute() if _out_of_core(a) else a


def chunk_starts(chunks: Sequence[int]) -> tuple[int, ...]:
    """Where each chunk but the first starts."""
    return tuple(itertools.accumulate(chunks))[:-1]
