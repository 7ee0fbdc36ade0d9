"""The forward formulations of the transposed convolution, and the choice between them.

All three compute the same thing on validated, batched input ``x`` of shape
``(N, C_in, *spatial)`` and return ``(N, C_out, *out_spatial)`` with the bias added;
they differ in how the work is laid out, which decides speed and memory:

``reshape``
    ``stride == kernel_size`` and ``dilation == 1``: taps never overlap, so one GEMM
    over all taps followed by a reshape *is* the col2im (the U-Net up-convolution).
``phase``
    Sub-pixel decomposition with the reduction inside the GEMM.  Output row
    ``o = j*stride + r`` (``r`` the phase) only ever receives the taps ``k`` with
    ``(k*dilation + padding - r) % stride == 0``, each from a *shifted window* of the
    input.  Stacking those windows along channels turns each phase into one GEMM whose
    result is that phase's plane, already cropped; stacking the planes and reshaping
    interleaves them.  No additions of overlapping blocks, no scatter, few large
    products, and an autodiff of it is itself slices and GEMMs.
``dense``
    Tiny inputs, where each array operation's fixed cost dominates: gather the weight
    into the dense ``(C_in*P_in, C_out*P_out)`` matrix of the whole linear map (one
    ``take``) and apply it with one GEMM.  About ten operations whatever the kernel.
``scatter``
    Per-tap GEMM and strided slice adds into an interleaved accumulator (col2im).
    Its extra memory is the output plus one chunk of taps, so it is chosen for very
    large inputs, where ``phase``'s stacked windows would cost several inputs' worth.

The choice depends only on shapes, so it is the same under ``jax.jit`` and eager.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import math
from collections.abc import Iterator
from typing import Any

import array_api_compat
import array_api_extra as xpx
import numpy as np

from ._params import ConvTransposeParams

__all__ = ["FORMULATIONS", "choose_formulation", "forward", "use_formulation"]

FORMULATIONS = ("reshape", "phase", "scatter", "dense")

# Set by `use_formulation` (tests, benchmarks) to bypass the automatic choice.
_FORCED: contextvars.ContextVar[str | None] = contextvars.ContextVar("formulation", default=None)


@contextlib.contextmanager
def use_formulation(name: str) -> Iterator[None]:
    """Force formulation ``name`` for calls made inside the ``with`` block.

    ``reshape`` is only valid where it applies (see :func:`choose_formulation`).
    """
    if name not in FORMULATIONS:
        msg = f"unknown formulation {name!r}; expected one of {FORMULATIONS}"
        raise ValueError(msg)
    token = _FORCED.set(name)
    try:
        yield
    finally:
        _FORCED.reset(token)


# Above this many output elements the memory-lean `scatter` is used (64 MiB of float32):
# `phase` needs the output twice (planes, then interleaved) plus stacked input windows.
_LARGE_OUTPUT = 1 << 24
# `dense` is used while its matrix has at most this many elements (256 KiB of float32):
# beyond that its wasted multiplications by zero cost more than saved operations.
_DENSE_ELEMENTS = 1 << 16
# On JAX, `phase` only for outputs up to this many elements (see `choose_formulation`).
_JAX_PHASE_OUTPUT = 1 << 18
# `scatter` keeps one chunk of tap products alive at a time; a quarter of the output
# bounds the chunk so the peak stays well below the native op's (which holds a
# full-size column buffer).
_CHUNK_FRACTION = 4


def choose_formulation(
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    jax: bool = False,
) -> str:
    """The fastest formulation that keeps memory bounded, from shapes alone.

    ``jax``: XLA fuses ``scatter``'s slice adds into its accumulator, which beats the
    stacked windows of ``phase`` on medium and large ungrouped layers (measured).
    """
    forced = _FORCED.get()
    if forced is not None:
        if forced == "reshape" and not _is_reshape(p):
            msg = (
                "the reshape formulation needs stride == kernel_size, dilation 1 and "
                "output_padding <= padding"
            )
            raise ValueError(msg)
        return forced
    n = x_shape[0]
    if n * c_out * math.prod(out_spatial) > _LARGE_OUTPUT:
        return "scatter"
    c_in = x_shape[1]
    dense = c_in * (c_out // p.groups) * math.prod(x_shape[2:]) * math.prod(out_spatial)
    if dense <= _DENSE_ELEMENTS:
        return "dense"
    if _is_reshape(p):
        return "reshape"
    if jax and p.groups == 1 and n * c_out * math.prod(out_spatial) > _JAX_PHASE_OUTPUT:
        return "scatter"
    return "phase"


def _is_reshape(p: ConvTransposeParams) -> bool:
    # Non-overlapping taps, and the crop stays inside the H*stride rows they fill.
    return all(
        s == k and d == 1 and op <= pad
        for s, k, d, op, pad in zip(
            p.stride, p.kernel_size, p.dilation, p.output_padding, p.padding
        )
    )


def forward(
    xp: Any,
    x: Any,
    weight: Any,
    bias: Any | None,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    formulation: str,
) -> Any:
    """Run ``formulation`` on batched ``x``; returns ``(N, C_out, *out_spatial)``."""
    if formulation == "reshape":
        y = _reshape(xp, x, weight, p, out_spatial)
    elif formulation == "dense":
        y = _dense(xp, x, weight, p, out_spatial)
    elif formulation == "phase":
        y = _phase(xp, x, weight, p, out_spatial)
    elif formulation == "scatter":
        # The bias seeds the accumulator: no extra full-size pass afterwards.
        return _scatter(xp, x, weight, bias, p, out_spatial)
    else:
        msg = f"unknown formulation {formulation!r}; expected one of {FORMULATIONS}"
        raise ValueError(msg)
    if bias is not None:
        y = y + xp.reshape(bias, (1, -1) + (1,) * p.ndim)
    return y


def channels_first(xp: Any, x: Any, g: int) -> Any:
    """``(N, C_in, *S)`` -> ``(G, C_in/G, N, *S)``: the batch joins the GEMM's columns."""
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    if n == 1:  # a reshape, not a copy
        return xp.reshape(x, (g, c_in // g, 1, *spatial))
    grouped = xp.reshape(x, (n, g, c_in // g, *spatial))
    return xp.permute_dims(grouped, (1, 2, 0, *range(3, 3 + len(spatial))))


def _interleave(xp: Any, planes: Any, strides: tuple[int, ...], n: int, c_out: int) -> Any:
    """``(s_1, ..., s_d, G, C_out/G, N, M_1, ..., M_d)`` -> ``(N, C_out, M_1*s_1, ...)``."""
    nd = len(strides)
    # axes: phases 0..nd-1, G nd, C nd+1, N nd+2, M_i nd+3+i
    order = (nd + 2, nd, nd + 1, *(a for i in range(nd) for a in (nd + 3 + i, i)))
    sizes = tuple(planes.shape[nd + 3 + i] * s for i, s in enumerate(strides))
    return xp.reshape(xp.permute_dims(planes, order), (n, c_out, *sizes))


def _crop(y: Any, starts: tuple[int, ...], sizes: tuple[int, ...]) -> Any:
    if all(a == 0 and b == m for a, b, m in zip(starts, sizes, y.shape[2:])):
        return y
    crop = tuple(slice(a, a + b) for a, b in zip(starts, sizes))
    index = (slice(None), slice(None), *crop)
    return y[index]


def _reshape(
    xp: Any, x: Any, weight: Any, p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    g, c_out_g = p.groups, weight.shape[1]
    c_in_g = c_in // g
    cols = xp.reshape(channels_first(xp, x, g), (g, c_in_g, n * math.prod(spatial)))
    # (C_in, C_out/G, *K) -> (G, *K, C_out/G, C_in/G): the taps become the phases.
    nd = p.ndim
    w = xp.reshape(weight, (g, c_in_g, c_out_g, *p.kernel_size))
    w = xp.permute_dims(w, (0, *range(3, 3 + nd), 2, 1))
    lhs = xp.reshape(w, (g, math.prod(p.kernel_size) * c_out_g, c_in_g))
    planes = xp.reshape(xp.matmul(lhs, cols), (g, *p.kernel_size, c_out_g, n, *spatial))
    # -> (*K, G, C_out/G, N, *S), the layout `_interleave` takes.
    planes = xp.permute_dims(planes, (*range(1, 1 + nd), 0, nd + 1, *range(nd + 2, 2 * nd + 3)))
    y = _interleave(xp, planes, p.kernel_size, n, g * c_out_g)
    return _crop(y, p.padding, out_spatial)


@functools.lru_cache(maxsize=256)
def _dense_taps(
    spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> np.ndarray:
    """Row-major ``(P_in, P_out)`` table: the tap linking input to output pixel, or ``T``.

    ``T`` (one past the last tap) selects a zero appended to the weight.  A NumPy array
    (read-only, cached): every namespace's ``asarray`` takes it through the buffer
    protocol much faster than a tuple of Python ints.
    """
    per_dim = []
    for size, k, s, d, pad, out in zip(
        spatial, p.kernel_size, p.stride, p.dilation, p.padding, out_spatial
    ):
        table = []
        for h in range(size):
            for o in range(out):
                shift = o + pad - h * s
                ok = shift >= 0 and shift % d == 0 and shift // d < k
                table.append(shift // d if ok else -1)
        per_dim.append((size, out, table))
    taps = math.prod(p.kernel_size)
    index = []
    for hs in itertools.product(*(range(size) for size, _, _ in per_dim)):
        for os_ in itertools.product(*(range(out) for _, out, _ in per_dim)):
            ts = [table[h * out + o] for (_, out, table), h, o in zip(per_dim, hs, os_)]
            index.append(taps if min(ts) < 0 else _ravel(tuple(ts), p.kernel_size))
    result = np.asarray(index, dtype=np.int32)
    result.flags.writeable = False
    return result


def _dense(
    xp: Any, x: Any, weight: Any, p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    g, c_out_g = p.groups, weight.shape[1]
    c_in_g = c_in // g
    p_in, p_out = math.prod(spatial), math.prod(out_spatial)
    device = array_api_compat.device(x)
    w = xp.reshape(weight, (g, c_in_g, c_out_g, math.prod(p.kernel_size)))
    w = xp.concat([w, xp.zeros((g, c_in_g, c_out_g, 1), dtype=w.dtype, device=device)], axis=3)
    # int32 indices: int64 would warn on JAX without x64.
    table = xp.asarray(_dense_taps(spatial, p, out_spatial), copy=True, device=device)
    # (G, C_in/G, C_out/G, P_in*P_out) -> (G, C_in/G * P_in, C_out/G * P_out)
    m = xp.reshape(xp.take(w, table, axis=3), (g, c_in_g, c_out_g, p_in, p_out))
    m = xp.reshape(xp.permute_dims(m, (0, 1, 3, 2, 4)), (g, c_in_g * p_in, c_out_g * p_out))
    if g == 1:
        y = xp.matmul(xp.reshape(x, (n, c_in * p_in)), m[0, ...])
    else:
        xs = xp.permute_dims(xp.reshape(x, (n, g, c_in_g * p_in)), (1, 0, 2))
        y = xp.permute_dims(xp.matmul(xs, m), (1, 0, 2))
    return xp.reshape(y, (n, g * c_out_g, *out_spatial))


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


def _phase(
    xp: Any, x: Any, weight: Any, p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    g, c_out_g = p.groups, weight.shape[1]
    c_in_g = c_in // g
    nd = p.ndim
    per_dim = [
        _phase_windows(*args)
        for args in zip(p.kernel_size, p.stride, p.dilation, p.padding, out_spatial)
    ]
    plane = tuple(m for m, _ in per_dim)
    # Zero rows around the input so every window is an in-bounds slice.
    lows, highs = [], []
    for size, (m, phases) in zip(spatial, per_dim):
        firsts = [first for taps in phases for _, first in taps] or [0]
        lows.append(max(0, -min(firsts)))
        highs.append(max(0, max(firsts) + m - size))
    xs = channels_first(xp, x, g)
    if any(lows) or any(highs):
        xs = xpx.pad(xs, [(0, 0)] * 3 + list(zip(lows, highs)), xp=xp)

    # (C_in, C_out/G, *K) -> (G, C_out/G, *K, C_in/G): a phase's taps are an arithmetic
    # progression per dimension, so its GEMM operand is a strided slice of this.
    w = xp.reshape(weight, (g, c_in_g, c_out_g, *p.kernel_size))
    w = xp.permute_dims(w, (0, 2, *range(3, 3 + nd), 1))
    device = array_api_compat.device(x)
    columns = n * math.prod(plane)
    results = []
    for phase in itertools.product(*(phases for _, phases in per_dim)):
        taps = list(itertools.product(*phase))
        if not taps:  # stride > dilated kernel: this phase only gets the bias
            results.append(xp.zeros((g, c_out_g, columns), dtype=x.dtype, device=device))
            continue
        windows = []
        for combo in taps:
            index = (slice(None),) * 3 + tuple(
                slice(first + low, first + low + m)
                for (_, first), low, m in zip(combo, lows, plane)
            )
            windows.append(xs[index])
        progressions = tuple(_progression(dim) for dim in phase)
        taps_index = (slice(None), slice(None), *progressions, slice(None))
        lhs = w[taps_index]
        lhs = xp.reshape(lhs, (g, c_out_g, len(taps) * c_in_g))
        cols = windows[0] if len(windows) == 1 else xp.stack(windows, axis=1)
        cols = xp.reshape(cols, (g, len(taps) * c_in_g, columns))
        results.append(xp.matmul(lhs, cols))
    planes = results[0] if len(results) == 1 else xp.stack(results, axis=0)
    planes = xp.reshape(planes, (*p.stride, g, c_out_g, n, *plane))
    y = _interleave(xp, planes, p.stride, n, g * c_out_g)
    return _crop(y, (0,) * nd, out_spatial)


def _progression(taps: list[tuple[int, int]]) -> slice:
    """The slice selecting one dimension's taps ``t_0 < t_1 < ...`` (evenly spaced)."""
    first = taps[0][0]
    step = taps[1][0] - first if len(taps) > 1 else 1
    return slice(first, taps[-1][0] + 1, step)


def _ravel(index: tuple[int, ...], shape: tuple[int, ...]) -> int:
    flat = 0
    for i, size in zip(index, shape):
        flat = flat * size + i
    return flat


def _scatter(
    xp: Any,
    x: Any,
    weight: Any,
    bias: Any | None,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
) -> Any:
    n, c_in = x.shape[0], x.shape[1]
    spatial = tuple(x.shape[2:])
    g, c_out_g = p.groups, weight.shape[1]
    c_in_g = c_in // g
    pixels = math.prod(spatial)
    taps = math.prod(p.kernel_size)

    # Phase grid: M rows of `stride` phases per dimension, long enough for the full
    # (uncropped) result and for any rows that output_padding adds past it.
    grid = tuple(
        -(-max((size - 1) * s + d * (k - 1) + 1, pad + out) // s)
        for size, k, s, pad, out, d in zip(
            spatial, p.kernel_size, p.stride, p.padding, out_spatial, p.dilation
        )
    )
    interleaved = tuple(v for m, s in zip(grid, p.stride) for v in (m, s))
    device = array_api_compat.device(x)
    acc = xp.zeros((n, g, c_out_g, *interleaved), dtype=x.dtype, device=device)
    if bias is not None:
        acc = acc + xp.reshape(bias, (1, g, c_out_g) + (1,) * (2 * p.ndim))

    columns_in = xp.reshape(channels_first(xp, x, g), (g, c_in_g, n * pixels))
    # (G, taps, C_out/G, C_in/G): a contiguous run of taps is one GEMM's left operand.
    kernels = xp.permute_dims(xp.reshape(weight, (g, c_in_g, c_out_g, taps)), (0, 3, 2, 1))

    per_tap = max(1, g * c_out_g * n * pixels)
    chunk = max(1, math.prod(acc.shape) // _CHUNK_FRACTION // per_tap)
    to_output_layout = (2, 0, 1, *range(3, 3 + p.ndim))
    offsets = _tap_offsets(p)
    for start in range(0, taps, chunk):
        stop = min(start + chunk, taps)
        lhs = xp.reshape(kernels[:, start:stop, ...], (g, (stop - start) * c_out_g, c_in_g))
        cols = xp.reshape(xp.matmul(lhs, columns_in), (g, stop - start, c_out_g, n, *spatial))
        for j in range(stop - start):
            tap = xp.permute_dims(cols[:, j, ...], to_output_layout)
            index: tuple[Any, ...] = (slice(None),) * 3
            for (first, phase), size in zip(offsets[start + j], spatial):
                index += (slice(first, first + size), phase)
            acc = xpx.at(acc)[index].add(tap)
        del cols

    full = tuple(m * s for m, s in zip(grid, p.stride))
    y = xp.reshape(acc, (n, g * c_out_g, *full))
    return _crop(y, p.padding, out_spatial)


def _tap_offsets(p: ConvTransposeParams) -> list[tuple[tuple[int, int], ...]]:
    """For each tap in row-major kernel order: per dimension ``(first grid row, phase)``."""
    per_dim = [
        [divmod(k * d, s) for k in range(size)]
        for size, s, d in zip(p.kernel_size, p.stride, p.dilation)
    ]
    return list(itertools.product(*per_dim))
