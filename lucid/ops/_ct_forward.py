"""The forward formulations of the transposed convolution, and the choice between them.

Every formulation computes the same thing on validated, batched input ``x`` of shape
``(N, C_in, *spatial)`` and return ``(N, C_out, *out_spatial)`` with the bias added;
they differ in how the work is laid out, which decides speed and memory:

``reshape``
    Taps that never overlap (``stride >= dilation * (kernel_size - 1) + 1``: the U-Net
    up-convolution, 1x1 layers, large strides): one GEMM over all taps, then a zero
    pad that spreads the taps over their blocks and a reshape *is* the col2im.
``phase`` and ``phase_channels_last``
    Sub-pixel decomposition with the reduction inside the GEMM.  Output row
    ``o = j*stride + r`` (``r`` the phase) only ever receives the taps ``k`` with
    ``(k*dilation + padding - r) % stride == 0``, each from a *shifted window* of the
    input.  Stacking those windows along channels turns each phase into one GEMM whose
    result is that phase's plane, already cropped.  No additions of overlapping blocks,
    no scatter, few large products, and an autodiff of it is itself slices and GEMMs.
    ``phase`` keeps channels in the GEMM's rows (``weight @ windows``, one weight
    broadcast over the batch) and writes each plane to its strided positions of the
    output (on JAX: stacks the planes and interleaves them with one transpose);
    ``phase_channels_last`` puts the pixels there (``windows @ weight``), which BLAS
    runs faster on small layers, at the price of transposing the input and the output.
``shift``
    The phases again, without copying windows: each phase is a sum of GEMMs on
    shifted, contiguous row blocks of the channels-last input (see :mod:`._ct_shift`).
``dense``
    Tiny inputs, where each array operation's fixed cost dominates: one gather with a
    cached index places every input pixel under every tap (an im2col), one GEMM
    applies the weight: the same few operations whatever the kernel.
``scatter``
    The textbook GEMM-then-col2im: the GEMM makes every tap's product (a column
    buffer of ``C_out * taps`` rows, small when there are few output channels, as in
    RGB and mask layers), then strided slice adds place them in an interleaved
    accumulator.  The GEMM runs a chunk of taps at a time, so its extra memory is the
    output plus one chunk, and it is used for every very large output.  Where
    zero-padded adds fuse (XLA), each phase plane has its own accumulator and each
    tap is added zero-padded in one pass.
``col2im``
    The same column buffer from one GEMM of ``(C_out * taps) x C_in`` by ``C_in x
    (N * P)``, then its overlap-add: the taps that land in one block of ``stride``
    output rows are one strided slice add (``k / s`` adds per dimension where the
    stride divides the kernel, instead of ``k``).  Few operations and one large
    GEMM, for layers whose column buffer is small (few output channels); it holds
    the whole buffer, so it is a candidate only while that is small.
``toeplitz``
    The layer as one matrix per group: the weight gathered (a cached index) into the
    ``(C_in/G * P_in) x (C_out/G * P_out)`` matrix that maps an image's input pixels to
    its output pixels, then one GEMM with the whole batch as its rows.  It multiplies
    ``P_out / taps`` times more than the layer needs, for one GEMM that holds the
    whole reduction: it pays on layers with few pixels and large kernels (``1x1``,
    ``2x3`` inputs, ``k16``) and on depthwise ones, where the others split the
    reduction (a GEMM per tap or per phase, one input channel per group) or
    overlap-add a column buffer larger than the output.  A candidate while that
    matrix is small; its zeros meet every input pixel, so a non-finite *input* runs
    the exact formulation too.
``gather``
    The same column buffer, each image multiplied where it lies, then its overlap-add
    as one gather (a cached index brings every tap's product, or a zero where no
    input pixel lands, to each output pixel) and one sum over the taps.  It is not a
    candidate of the choice but the exact formulation for non-finite weights
    (:func:`exact_formulation`): the fewest operations whatever the kernel, so a
    compiled program that holds it as the untaken branch of its finiteness check
    costs little more to compile than one without (``BENCHMARKS.md``, "Compile time").

The choice (:func:`choose_formulation`) is the lowest time predicted by the cost
model of :mod:`._cost`, from shapes and per-backend measurements only (coefficients
and the nearest measured layers), so it is the same under ``jax.jit`` and eager.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
from collections.abc import Iterator
from typing import Any, TypeVar

import array_api_compat
import array_api_extra as xpx
import numpy as np

from .._tracing import ScopedSetting, compiling
from ._cost import predicted_seconds
from ._ct_geometry import (
    channels_first,
    crop,
    interleave,
    layer_dims,
    phase_grid,
    phase_layout,
    progression,
    tap_blocks,
    tap_offsets,
)
from ._ct_shift import shift
from ._params import ConvTransposeParams
from ._traits import DEFAULT, Traits, gemm, take_in_bounds

__all__ = [
    "EXACT_ON_NONFINITE",
    "FALLBACK_ONLY",
    "FORMULATIONS",
    "OUT_OF_PLACE_STAND_IN",
    "ZEROS_MEET_INPUT",
    "applies",
    "candidates",
    "choose_formulation",
    "exact_formulation",
    "fits_memory",
    "forced_formulation",
    "forward",
    "use_formulation",
    "zero_meeting_operands",
]

FORMULATIONS = (
    "reshape",
    "phase",
    "phase_channels_last",
    "shift",
    "scatter",
    "col2im",
    "dense",
    "toeplitz",
    "gather",
)
#: Those that form only the products torch forms, so non-finite weights mark the same
#: outputs; the others multiply weights by padding zeros (see :mod:`._nonfinite`).
EXACT_ON_NONFINITE = ("reshape", "scatter", "col2im", "gather")
#: Never chosen for speed: only the exact stand-in for non-finite weights.
FALLBACK_ONLY = ("gather",)
# Where values cannot be written into a fresh array (``torch.func.vmap``), the one
# formulation that needs item assignment even then (its adds land on phases strided by
# the dilation, which no padding reaches) gives way to one that is exact as well.
OUT_OF_PLACE_STAND_IN = {"col2im": "scatter"}

#: Those whose matrix zeros meet the input pixels, so a non-finite input (not only a
#: non-finite weight) runs the exact formulation.
ZEROS_MEET_INPUT = ("toeplitz",)


_Operand = TypeVar("_Operand")


def zero_meeting_operands(formulation: str, weight: _Operand, x: _Operand) -> tuple[_Operand, ...]:
    """What ``formulation`` multiplies by zeros, of ``weight`` and ``x`` (arrays, or
    their shapes when a plan sizes the check): the weight, and the input for those
    in :data:`ZEROS_MEET_INPUT`.

    >>> zero_meeting_operands("toeplitz", "w", "x"), zero_meeting_operands("phase", "w", "x")
    (('w', 'x'), ('w',))
    """
    return (weight, x) if formulation in ZEROS_MEET_INPUT else (weight,)


# Set by `use_formulation` (tests, benchmarks) to bypass the automatic choice.
_FORCED: ScopedSetting[str | None] = ScopedSetting(None)


def forced_formulation() -> str | None:
    """The formulation a surrounding :func:`use_formulation` forces, if any."""
    return _FORCED.get()


@contextlib.contextmanager
def use_formulation(name: str) -> Iterator[None]:
    """Force formulation ``name`` for calls made inside the ``with`` block.

    ``reshape`` is only valid where it applies (see :func:`choose_formulation`).
    """
    if name not in FORMULATIONS:
        msg = f"unknown formulation {name!r}; expected one of {FORMULATIONS}"
        raise ValueError(msg)
    with _FORCED.override(name):
        yield


# Above this many output elements the memory-lean `scatter` is used (64 MiB of float32):
# a bound on memory, not a guess at speed.  `phase` needs stacked input windows per
# phase, and `dense` its gathered columns; `scatter` holds the output plus one chunk.
_LARGE_OUTPUT = 1 << 24
# `dense` gathers N * C_in * taps * P_out elements; beyond this it is no candidate.
_DENSE_COLUMNS = 1 << 24
# `col2im` holds its whole column buffer, N * C_out * taps * P_in elements.
_COL2IM_COLUMNS = 1 << 24
# `toeplitz` gathers its matrix, C_in * C_out/G * P_in * P_out elements (its index of
# P_in * P_out is no larger).
_TOEPLITZ_MATRIX = 1 << 24
# `phase` stacks every tap's window of the input over the phase planes, N * C_in * taps
# * plane pixels, and `shift` reads every tap's slice of the padded input (views when
# eager; XLA may hold them all at once), N * C_in * taps * padded pixels.  Beyond this
# many elements (1 GiB of float32) neither is a candidate: a few input pixels, wide
# padding and a dilated 16x16 kernel made them need 4-29 GiB for 10 k outputs, and
# on no layer of the stored sweeps did one this large run within 1.2x of the fastest.
_WINDOWS = 1 << 28
# Formulations that loop over the `prod(stride)` phases in Python are candidates only
# while there are at most this many phases per tap (or 64 in all): planning and
# tracing must grow with the output, not with the stride.
_PHASES_PER_TAP = 4
# `scatter` keeps one chunk of tap products alive at a time; a quarter of the output
# bounds the chunk so the peak stays well below the native op's (which holds a
# full-size column buffer).
_CHUNK_FRACTION = 4


def candidates(
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits = DEFAULT,
) -> list[str]:
    """The formulations the choice may pick for this layer: applicable, memory-bounded,
    and planned in time that grows with the output rather than the stride."""
    taps, phases = math.prod(p.kernel_size), math.prod(p.stride)
    few_phases = phases <= max(64, _PHASES_PER_TAP * taps)
    loops_over_phases = {"phase", "phase_channels_last", "shift"}
    if traits.fused_padded_adds:
        loops_over_phases.add("scatter")  # one accumulator per phase plane
    return [
        f
        for f in FORMULATIONS
        if f not in FALLBACK_ONLY
        and applies(f, p)
        and (few_phases or f not in loops_over_phases)
        and fits_memory(f, x_shape, c_out, p, out_spatial)
    ]


def fits_memory(
    formulation: str,
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
) -> bool:
    """Whether the buffer ``formulation`` holds whole (``dense``'s and ``gather``'s
    gathered columns, ``col2im``'s column buffer, ``toeplitz``'s matrix, the windows
    of ``phase`` and ``shift``) stays within its bound on this layer."""
    n, c_in, taps = x_shape[0], x_shape[1], math.prod(p.kernel_size)
    if formulation in ("phase", "phase_channels_last", "shift"):
        plane, _, pads = phase_layout(tuple(x_shape[2:]), p, out_spatial)
        if formulation == "shift":
            plane = tuple(size + lo + hi for size, (lo, hi) in zip(x_shape[2:], pads))
        return n * c_in * taps * math.prod(plane) <= _WINDOWS
    if formulation == "dense":
        return n * c_in * taps * math.prod(out_spatial) <= _DENSE_COLUMNS
    if formulation == "gather":
        return n * c_out * taps * math.prod(out_spatial) <= _DENSE_COLUMNS
    if formulation == "col2im":
        return n * c_out * taps * math.prod(x_shape[2:]) <= _COL2IM_COLUMNS
    if formulation == "toeplitz":
        pixels = math.prod(x_shape[2:]) * math.prod(out_spatial)
        return c_in * (c_out // p.groups) * pixels <= _TOEPLITZ_MATRIX
    return True


def choose_formulation(
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits = DEFAULT,
) -> str:
    """The formulation with the lowest predicted time, from shapes alone.

    The prediction is the cost model of :mod:`._cost`, whose coefficients per backend
    (``traits.cost_key``) and nearest measured layers come from ``python -m lucid
    tune``: deterministic, no timing at call time, so the same under ``jax.jit`` and
    eagerly.  Outputs over 64 MiB take the memory-lean ``scatter`` whatever the model
    says.
    """
    forced = _FORCED.get()
    if forced is not None:
        if not applies(forced, p):
            msg = (
                "the reshape formulation needs taps that never overlap: stride >= "
                "dilation * (kernel_size - 1) + 1 in every dimension"
            )
            raise ValueError(msg)
        return forced
    if x_shape[0] * c_out * math.prod(out_spatial) > _LARGE_OUTPUT:
        return "scatter"
    options = candidates(x_shape, c_out, p, out_spatial, traits)
    costs = predicted_seconds(
        traits.cost_key, options, x_shape, c_out, p, out_spatial, traits.fused_padded_adds
    )
    # A plain loop: torch.compile traces this planning on its first call and cannot
    # trace min() with a key function.
    best, best_cost = options[0], costs[0]
    for formulation, predicted in zip(options[1:], costs[1:]):
        if predicted < best_cost:
            best, best_cost = formulation, predicted
    return best


def exact_formulation(
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
) -> str:
    """The formulation that runs this layer when its weight is not finite.

    ``gather`` while its gathered columns fit their bound, else the memory-lean
    ``scatter``: both form only the products torch forms (:mod:`._nonfinite`).
    """
    return "gather" if fits_memory("gather", x_shape, c_out, p, out_spatial) else "scatter"


def applies(formulation: str, p: ConvTransposeParams) -> bool:
    """Whether ``formulation`` can compute layers of hyper-parameters ``p``."""
    return formulation != "reshape" or _is_reshape(p)


def _is_reshape(p: ConvTransposeParams) -> bool:
    # Non-overlapping taps: each output row gets at most one tap of each dimension.
    return all(s >= d * (k - 1) + 1 for s, k, d in zip(p.stride, p.kernel_size, p.dilation))


def forward(
    xp: Any,
    x: Any,
    weight: Any,
    bias: Any | None,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    formulation: str,
    traits: Traits = DEFAULT,
) -> Any:
    """Run ``formulation`` on batched ``x``; returns ``(N, C_out, *out_spatial)``.

    ``traits`` says what the arrays' library does fast (:mod:`._traits`).
    """
    if formulation == "reshape":
        y = _reshape(xp, x, weight, p, out_spatial, traits)
    elif formulation == "shift":
        y = shift(xp, x, weight, p, out_spatial)
    elif formulation == "dense":
        y = _dense(xp, x, weight, p, out_spatial, traits)
    elif formulation in ("phase", "phase_channels_last"):
        channels_last = formulation == "phase_channels_last"
        y = _phase(xp, x, weight, p, out_spatial, channels_last, traits)
    elif formulation == "scatter":
        # The bias seeds the accumulator: no extra full-size pass afterwards.
        return _scatter(xp, x, weight, bias, p, out_spatial, traits)
    elif formulation == "col2im":
        return _col2im(xp, x, weight, bias, p, out_spatial, traits)
    elif formulation == "toeplitz":
        y = _toeplitz(xp, x, weight, p, out_spatial, traits)
    elif formulation == "gather":
        y = _gather(xp, x, weight, p, out_spatial, traits)
    else:
        msg = f"unknown formulation {formulation!r}; expected one of {FORMULATIONS}"
        raise ValueError(msg)
    if bias is not None:
        y = y + xp.reshape(bias, (1, -1) + (1,) * p.ndim)
    return y


def _reshape(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, _, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    nd = p.ndim
    # The weight is shared by every image: the input is multiplied where it lies, (N, G,
    # C_in/G, P), with no copy of it (on PyTorch the U-Net layer took 16 ms this way
    # against 19 ms copying it first).
    images = xp.reshape(x, (n, g, c_in_g, math.prod(spatial)))
    planes = _tap_products(xp, weight, images, g, traits)
    c_out = g * c_out_g
    planes = xp.reshape(planes, (n, c_out, *p.kernel_size, *spatial))
    # Tap k of a dimension lands at offset k*d of its block of `stride` rows, and no
    # other tap reaches that block.  Where the taps do not fill the block exactly, one
    # zero pad spreads them: ceil(s/d) taps of d rows each, the first row of each
    # the tap's, then the block cut to s rows.  The work is the output's, whatever the
    # stride: no per-phase Python loop.
    blocks = tuple(-(-s // d) for s, d in zip(p.stride, p.dilation))
    if any(b != k or d != 1 for b, k, d in zip(blocks, p.kernel_size, p.dilation)):
        spread = tuple(a for k in p.kernel_size for a in (k, 1))
        planes = xp.reshape(planes, (n, c_out, *spread, *spatial))
        widths = [(0, 0)] * 2
        for b, k, d in zip(blocks, p.kernel_size, p.dilation):
            widths += [(0, b - k), (0, d - 1)]
        planes = xpx.pad(planes, widths + [(0, 0)] * nd, xp=xp)
        merged = tuple(b * d for b, d in zip(blocks, p.dilation))
        planes = xp.reshape(planes, (n, c_out, *merged, *spatial))
        cut = (slice(None),) * 2 + tuple(slice(0, s) for s in p.stride)
        planes = planes[cut + (slice(None),) * nd]
    # (N, C_out, *s, *S) -> (N, C_out, S_1, s_1, S_2, s_2, ...): each block row is a phase.
    order = (0, 1, *(a for i in range(nd) for a in (2 + nd + i, 2 + i)))
    full = tuple(s * size for s, size in zip(p.stride, spatial))
    y = xp.reshape(xp.permute_dims(planes, order), (n, c_out, *full))
    # output_padding can ask for rows past the last block: they get only the bias.
    short = [max(0, pad + out - m) for pad, out, m in zip(p.padding, out_spatial, full)]
    if any(short):
        y = xpx.pad(y, [(0, 0)] * 2 + [(0, extra) for extra in short], xp=xp)
    return crop(y, p.padding, out_spatial)


def _dense_sources(
    xp: Any, spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    """The ``(taps * P_out,)`` gather index: which input pixel tap ``t`` brings to output ``o``.

    ``P_in`` (one past the last pixel) where no input pixel reaches ``o`` through ``t``:
    the caller appends a zero there.  Computed with ``xp`` (on its default device).

    >>> import numpy as np
    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> p = validate_conv_transpose_params(1, (2,), stride=2)
    >>> _dense_sources(np, (2,), p, (4,)).reshape(2, 4).tolist()  # tap, output position
    [[0, 2, 1, 2], [2, 0, 2, 1]]
    """
    per_dim = []
    for size, k, s, d, pad, out in zip(
        spatial, p.kernel_size, p.stride, p.dilation, p.padding, out_spatial
    ):
        # Input row h meets output row o = h*s - pad + t*d under tap t.
        offset = xp.arange(out)[None, :] + pad - xp.arange(k)[:, None] * d
        row = offset // s
        reaches = (offset % s == 0) & (row >= 0) & (row < size)
        per_dim.append(xp.where(reaches, row, -1))
    return _flat_index(xp, per_dim, spatial)


def _flat_index(xp: Any, per_dim: list[Any], value_sizes: tuple[int, ...]) -> Any:
    """Per-dimension tables ``(A_i, O_i)`` of a value in ``[0, value_sizes[i])``, or -1,
    as one index of ``prod(A) * prod(O)`` entries, row-major over ``(*A, *O)``: the
    values' row-major flat position, or ``prod(value_sizes)`` where any dimension's
    table holds -1 (the caller appends a zero there)."""
    nd = len(per_dim)
    rows = []
    for i, table in enumerate(per_dim):  # broadcast to (*A, *O): its own a and o axes only
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = table.shape
        rows.append(xp.reshape(table, tuple(shape)))
    reached = functools.reduce(xp.logical_and, [r >= 0 for r in rows])
    flat = sum(r * math.prod(value_sizes[i + 1 :]) for i, r in enumerate(rows))
    return xp.reshape(xp.where(reached, flat, math.prod(value_sizes)), (-1,))


@functools.lru_cache(maxsize=256)
def _host_table(
    build: Any, spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> np.ndarray:
    """``build(np, ...)`` (a gather index) as a read-only NumPy table, once per geometry."""
    table: np.ndarray = build(np, spatial, p, out_spatial)
    table.flags.writeable = False
    return table


def _gather_index(
    xp: Any,
    x: Any,
    build: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    """The index ``build`` makes for ``x``'s layer, as an array on ``x``'s device."""
    spatial, device = tuple(x.shape[2:]), array_api_compat.device(x)
    if compiling(xp):  # the host-side caches cannot be traced: the index joins the graph
        return xp.asarray(build(xp, spatial, p, out_spatial), device=device)
    return _on_device(xp, device, _host_table(build, spatial, p, out_spatial), traits)


_ON_DEVICE: dict[tuple[Any, ...], Any] = {}


def _on_device(xp: Any, device: Any, table: np.ndarray, traits: Traits) -> Any:
    """The cached, read-only NumPy ``table`` as an array of ``xp`` on ``device``.

    Converting it costs as much as the whole gather on a tiny layer, so each table is
    converted once per namespace and device (the tables themselves are cached).  Not
    on JAX: under ``jax.jit`` the conversion is a traced value that must not outlive
    its trace, and the compiled function holds the constant anyway.
    """
    if not traits.keeps_converted_tables:
        # Uncommitted (no device): JAX places it with the input, also when that is
        # sharded (a device argument would shard the table like the batch).
        return xp.asarray(table)
    key = (id(table), xp, device)
    try:
        return _ON_DEVICE[key][1]
    except KeyError:
        pass
    if len(_ON_DEVICE) >= 256:
        _ON_DEVICE.clear()
    converted = xp.asarray(table, device=device, copy=True)
    # The table is kept alongside so its id cannot be reused while the key is alive.
    _ON_DEVICE[key] = (table, converted)
    return converted


def _tap_products(xp: Any, weight: Any, rhs: Any, groups: int, traits: Traits) -> Any:
    """Every tap's product: the weight ``(C_in, C_out/G, *K)`` viewed ``(G, C_out/G *
    taps, C_in/G)``, times ``rhs`` ``(..., G, C_in/G, P)``.

    That view is a transposed one, the left operand :func:`._traits.gemm` serves.
    """
    c_in_g = weight.shape[0] // groups
    w = xp.reshape(weight, (groups, c_in_g, math.prod(weight.shape[1:])))
    return gemm(xp, xp.permute_dims(w, (0, 2, 1)), rhs, traits)


def _dense(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, c_in, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    taps, p_in, p_out = math.prod(p.kernel_size), math.prod(spatial), math.prod(out_spatial)
    device = array_api_compat.device(x)
    # A zero past each row's last pixel is what unreached (tap, output) pairs gather, so
    # input values only ever meet weights: an inf stays local, as in torch's op.
    zero = xp.zeros((n * c_in, 1), dtype=x.dtype, device=device)
    rows = xp.concat((xp.reshape(x, (n * c_in, p_in)), zero), axis=1)
    index = _gather_index(xp, x, _dense_sources, p, out_spatial, traits)
    columns = xp.reshape(take_in_bounds(xp, rows, index, 1, traits), (n, g, c_in_g * taps, p_out))
    w = xp.permute_dims(xp.reshape(weight, (g, c_in_g, c_out_g, taps)), (0, 2, 1, 3))
    y = xp.reshape(w, (g, c_out_g, c_in_g * taps)) @ columns
    return xp.reshape(y, (n, g * c_out_g, *out_spatial))


def _phase(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    channels_last: bool,
    traits: Traits,
) -> Any:
    n, _, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    nd = p.ndim
    plane, phases_per_dim, pads = phase_layout(spatial, p, out_spatial)
    space = tuple(range(3, 3 + nd))
    w = xp.reshape(weight, (g, c_in_g, c_out_g, *p.kernel_size))
    # A phase's taps are an arithmetic progression per dimension, so its GEMM operand
    # is a strided slice of the permuted weight.  `x_axes`/`w_axes`: how many axes come
    # before and after the spatial (kernel) ones.
    xs = xp.reshape(x, (n, g, c_in_g, *spatial))  # channels first: no copy of the input
    if channels_last:
        xs = xp.permute_dims(xs, (1, 0, *space, 2))  # (G, N, *S, C_in/G)
        w = xp.permute_dims(w, (0, *space, 1, 2))  # (G, *K, C_in/G, C_out/G)
        x_axes, w_axes, tap_axis = (2, 1), (1, 2), -2
    else:
        w = xp.permute_dims(w, (0, 2, *space, 1))  # (G, C_out/G, *K, C_in/G)
        x_axes, w_axes, tap_axis = (3, 0), (2, 1), 2
    if any(lo or hi for lo, hi in pads):
        xs = xpx.pad(xs, [(0, 0)] * x_axes[0] + list(pads) + [(0, 0)] * x_axes[1], xp=xp)

    every = slice(None)
    device = array_api_compat.device(x)
    c_out, columns = g * c_out_g, n * math.prod(plane)
    # Per phase (row-major over the strides): its offsets and its plane, or None when
    # no tap reaches it (stride > dilated kernel: it only gets the bias).
    products: list[tuple[tuple[int, ...], Any]] = []
    for offsets, phase in zip(
        itertools.product(*(range(s) for s in p.stride)), itertools.product(*phases_per_dim)
    ):
        taps = list(itertools.product(*phase))
        if not taps:
            products.append((offsets, None))
            continue
        starts = tuple(
            tuple(first + low for (_, first), (low, _) in zip(combo, pads)) for combo in taps
        )
        if channels_last and traits.gathers_windows and len(starts) > 1:
            cols = _gathered_windows(xp, xs, plane, starts, traits)
        else:
            windows = [
                xs[
                    (every,) * x_axes[0]
                    + tuple(slice(start, start + m) for start, m in zip(first, plane))
                    + (every,) * x_axes[1]
                ]
                for first in starts
            ]
            cols = windows[0] if len(windows) == 1 else xp.stack(windows, axis=tap_axis)
        progressions = tuple(progression(dim) for dim in phase)
        kernel = w[(every,) * w_axes[0] + progressions + (every,) * w_axes[1]]
        depth = len(taps) * c_in_g
        if channels_last:
            product = xp.reshape(cols, (g, columns, depth)) @ xp.reshape(
                kernel, (g, depth, c_out_g)
            )
        else:  # (G, C_out/G, depth) @ (N, G, depth, P): one weight, broadcast over N
            product = xp.reshape(kernel, (g, c_out_g, depth)) @ xp.reshape(
                cols, (n, g, depth, math.prod(plane))
            )
        products.append((offsets, product))

    if not channels_last and traits.strided_writes_cheap:
        # Each plane goes straight to its strided positions of the output, which is
        # written once: no stack of planes, no interleaving copy (NumPy `grouped` 25 ->
        # 15 ms, `audio-up` 3.0 -> 2.1 ms).  XLA runs such strided updates far slower
        # than a stack and one transpose (`grouped` 6 -> 57 ms), so JAX stacks.
        full = tuple(m * s for m, s in zip(plane, p.stride))
        make = xp.empty if all(prod is not None for _, prod in products) else xp.zeros
        y = make((n, c_out, *full), dtype=x.dtype, device=device)
        for offsets, product in products:
            if product is not None:
                at = (every, every, *(slice(r, None, s) for r, s in zip(offsets, p.stride)))
                # Plain item assignment on the fresh `y` (not `xpx.at`, which Dynamo
                # cannot trace: it reads `.dtype` off the index tuple).
                y[at] = xp.reshape(product, (n, c_out, *plane))
        return crop(y, (0,) * nd, out_spatial)

    shape = (g, columns, c_out_g) if channels_last else (n, g, c_out_g, math.prod(plane))
    planes = [
        xp.zeros(shape, dtype=x.dtype, device=device) if prod is None else prod
        for _, prod in products
    ]
    stacked = planes[0] if len(planes) == 1 else xp.stack(planes, axis=0)
    per_plane = (g, n, *plane, c_out_g) if channels_last else (n, c_out, *plane)
    stacked = xp.reshape(stacked, (*p.stride, *per_plane))
    y = interleave(xp, stacked, p.stride, n, c_out, channels_last)
    return crop(y, (0,) * nd, out_spatial)


def _gathered_windows(
    xp: Any, xs: Any, plane: tuple[int, ...], starts: tuple[tuple[int, ...], ...], traits: Traits
) -> Any:
    """The windows of channels-last ``xs`` ``(G, N, *padded, C)`` that start at ``starts``
    (one per tap) and span ``plane``, as ``(G, N * P, taps * C)``: what stacking their
    slices before ``C`` gives, from one gather."""
    g, n, c = xs.shape[0], xs.shape[1], xs.shape[-1]
    padded = tuple(xs.shape[2:-1])
    flat = xp.reshape(xs, (g, n, math.prod(padded), c))
    table = _window_index(padded, plane, starts)
    index = _on_device(xp, array_api_compat.device(xs), table, traits)
    cols = take_in_bounds(xp, flat, index, 2, traits)  # (G, N, P * taps, C)
    return xp.reshape(cols, (g, n * math.prod(plane), len(starts) * c))


@functools.lru_cache(maxsize=256)
def _window_index(
    padded: tuple[int, ...], plane: tuple[int, ...], starts: tuple[tuple[int, ...], ...]
) -> np.ndarray:
    """Row-major positions in ``padded`` of every plane pixel (outer) under every tap's
    window start (inner), read-only.

    >>> _window_index((3, 3), (2, 2), ((0, 0), (1, 1))).reshape(4, 2).tolist()
    [[0, 4], [1, 5], [3, 7], [4, 8]]
    """
    pixels = np.indices(plane).reshape(len(plane), -1)  # (nd, P)
    offsets = np.asarray(starts).T  # (nd, taps)
    steps = [math.prod(padded[d + 1 :]) for d in range(len(plane))]
    index = sum((pixels[d][:, None] + offsets[d][None, :]) * steps[d] for d in range(len(plane)))
    table = np.ascontiguousarray(np.asarray(index, dtype=np.int64).reshape(-1))
    table.flags.writeable = False
    return table


def _scatter(
    xp: Any,
    x: Any,
    weight: Any,
    bias: Any | None,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, _, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    pixels = math.prod(spatial)
    taps = math.prod(p.kernel_size)
    nd = p.ndim

    grid = phase_grid(spatial, p, out_spatial)
    full = tuple(m * s for m, s in zip(grid, p.stride))
    device = array_api_compat.device(x)
    # The bias seeds the accumulators: no extra full-size pass afterwards.
    if traits.fused_padded_adds:
        # One accumulator per phase plane, each tap zero-padded onto its plane: XLA
        # fuses pad and add into one pass, where a scatter-add into the interleaved
        # output is a separate, slower kernel (0.65x against 1.1x of XLA's conv on
        # the `large` layer).  Eagerly, a plane is also a quarter of the transient.
        acc = xp.zeros((n, g, c_out_g, *grid), dtype=x.dtype, device=device)
        if bias is not None:
            acc = acc + xp.reshape(bias, (1, g, c_out_g) + (1,) * nd)
        planes = dict.fromkeys(itertools.product(*(range(s) for s in p.stride)), acc)
    else:
        interleaved = tuple(v for m, s in zip(grid, p.stride) for v in (m, s))
        acc = xp.zeros((n, g, c_out_g, *interleaved), dtype=x.dtype, device=device)
        if bias is not None:
            acc = acc + xp.reshape(bias, (1, g, c_out_g) + (1,) * (2 * nd))
        planes = None

    columns_in = xp.reshape(channels_first(xp, x, g), (g, c_in_g, n * pixels))
    # (G, taps, C_out/G, C_in/G): a contiguous run of taps is one GEMM's left operand.
    kernels = xp.permute_dims(xp.reshape(weight, (g, c_in_g, c_out_g, taps)), (0, 3, 2, 1))

    per_tap = max(1, g * c_out_g * n * pixels)
    chunk = max(1, n * g * c_out_g * math.prod(full) // _CHUNK_FRACTION // per_tap)
    to_output_layout = (2, 0, 1, *range(3, 3 + nd))
    offsets = tap_offsets(p)
    updated: set[tuple[int, ...]] = set()  # the planes the previous chunk added to
    # Ordering the chunks bounds memory, and with several planes it is also faster: each
    # product is added while still in cache (`large` 15.8 against 23.7 ms, `dcgan` 36
    # against 45 ms).  With one plane (stride 1) it splits XLA's single fused pass into a
    # pass per chunk (`same` 6.6 against 5.4 ms), so there only very large outputs pay it.
    ordered = planes is not None and (
        len(planes) > 1 or n * g * c_out_g * math.prod(out_spatial) > _LARGE_OUTPUT
    )
    for start in range(0, taps, chunk):
        stop = min(start + chunk, taps)
        lhs = xp.reshape(kernels[:, start:stop, ...], (g, (stop - start) * c_out_g, c_in_g))
        if planes is not None and ordered and updated:
            lhs = _computed_after(xp, lhs, [planes[ph] for ph in updated])
            updated.clear()
        cols = xp.reshape(lhs @ columns_in, (g, stop - start, c_out_g, n, *spatial))
        for j in range(stop - start):
            tap = xp.permute_dims(cols[:, j, ...], to_output_layout)
            placement = offsets[start + j]
            if planes is not None:
                phase = tuple(ph for _, ph in placement)
                widths = [(0, 0)] * 3 + [
                    (first, m - first - size)
                    for (first, _), size, m in zip(placement, spatial, grid)
                ]
                planes[phase] = planes[phase] + xpx.pad(tap, widths, xp=xp)
                updated.add(phase)
                continue
            index: tuple[Any, ...] = (slice(None),) * 3
            for (first, phase_index), size in zip(placement, spatial):
                index += (slice(first, first + size), phase_index)
            acc[index] = acc[index] + tap  # as `xpx.at(...).add`, which Dynamo cannot trace
        del cols

    if planes is not None:  # (*s, N, G, C_out/G, *M) -> (N, G, C_out/G, M_1, s_1, ...)
        stacked = xp.stack(list(planes.values()), axis=0)
        del planes, acc
        stacked = xp.reshape(stacked, (*p.stride, n, g, c_out_g, *grid))
        order = (nd, nd + 1, nd + 2, *(a for i in range(nd) for a in (nd + 3 + i, i)))
        acc = xp.permute_dims(stacked, order)
    y = xp.reshape(acc, (n, g * c_out_g, *full))
    return crop(y, p.padding, out_spatial)


def _col2im(
    xp: Any,
    x: Any,
    weight: Any,
    bias: Any | None,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, _, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    nd = p.ndim
    grid = phase_grid(spatial, p, out_spatial)
    # One GEMM makes every tap's product of every input pixel, the column buffer.
    pixels = math.prod(spatial)
    rhs = xp.reshape(channels_first(xp, x, g), (g, c_in_g, n * pixels))
    cols = xp.reshape(
        _tap_products(xp, weight, rhs, g, traits), (g, c_out_g, *p.kernel_size, n, *spatial)
    )

    # The interleaved accumulator (N, G, C_out/G, M_1, s_1, ...), seeded with the bias.
    interleaved = tuple(v for m, s in zip(grid, p.stride) for v in (m, s))
    acc = xp.zeros((n, g, c_out_g, *interleaved), dtype=x.dtype, device=array_api_compat.device(x))
    if bias is not None:
        acc = acc + xp.reshape(bias, (1, g, c_out_g) + (1,) * (2 * nd))
    # (G, C_out/G, *K', N, *S) -> (N, G, C_out/G, S_1, K'_1, S_2, K'_2, ...)
    order = (2 + nd, 0, 1, *(a for i in range(nd) for a in (3 + nd + i, 2 + i)))
    every = slice(None)
    for block in tap_blocks(p):
        window = (every, every, *(taps for taps, _, _ in block), Ellipsis)
        piece = xp.permute_dims(cols[window], order)
        index: tuple[Any, ...] = (every,) * 3
        for (_, first, phases), size in zip(block, spatial):
            index += (slice(first, first + size), phases)
        if traits.strided_writes_cheap:
            acc[index] = acc[index] + piece  # as `xpx.at(...).add`, which Dynamo cannot trace
        else:
            acc = xpx.at(acc, index).add(piece)
    y = xp.reshape(acc, (n, g * c_out_g, *(m * s for m, s in zip(grid, p.stride))))
    return crop(y, p.padding, out_spatial)


def _toeplitz(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, c_in, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    taps, p_in, p_out = math.prod(p.kernel_size), math.prod(spatial), math.prod(out_spatial)
    # Each (input channel, output channel) pair's taps, then a zero: what an (input
    # pixel, output pixel) pair that no tap joins gathers.
    rows = c_in * c_out_g
    zero = xp.zeros((rows, 1), dtype=weight.dtype, device=array_api_compat.device(weight))
    taps_then_zero = xp.concat((xp.reshape(weight, (rows, taps)), zero), axis=1)
    index = _gather_index(xp, x, _toeplitz_taps, p, out_spatial, traits)
    matrix = xp.reshape(
        take_in_bounds(xp, taps_then_zero, index, 1, traits), (g, c_in_g, c_out_g, p_in, p_out)
    )
    matrix = xp.reshape(
        xp.permute_dims(matrix, (0, 1, 3, 2, 4)), (g, c_in_g * p_in, c_out_g * p_out)
    )
    images = xp.reshape(x, (n, g, c_in_g * p_in))
    if g == 1 or n == 1:  # the batch as the GEMM's rows, with no copy
        y = xp.reshape(images, (g, n, c_in_g * p_in)) @ matrix
        return xp.reshape(y, (n, g * c_out_g, *out_spatial))
    y = xp.permute_dims(images, (1, 0, 2)) @ matrix  # (G, N, C_out/G * P_out)
    return xp.reshape(xp.permute_dims(y, (1, 0, 2)), (n, g * c_out_g, *out_spatial))


def _toeplitz_taps(
    xp: Any, spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    """The ``(P_in * P_out,)`` gather index: the tap that joins input pixel ``i`` to
    output pixel ``o`` (row-major over ``(i, o)``), or ``taps`` where none does.

    >>> import numpy as np
    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> p = validate_conv_transpose_params(1, (2,), stride=2)
    >>> _toeplitz_taps(np, (2,), p, (4,)).reshape(2, 4).tolist()  # input, output position
    [[0, 1, 2, 2], [2, 2, 0, 1]]
    """
    per_dim = []
    for size, k, s, d, pad, out in zip(
        spatial, p.kernel_size, p.stride, p.dilation, p.padding, out_spatial
    ):
        # Input row h meets output row o = h*s - pad + t*d under tap t.
        offset = xp.arange(out)[None, :] + pad - xp.arange(size)[:, None] * s
        tap = offset // d
        joined = (offset % d == 0) & (tap >= 0) & (tap < k)
        per_dim.append(xp.where(joined, tap, -1))
    return _flat_index(xp, per_dim, p.kernel_size)


def _gather(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    traits: Traits,
) -> Any:
    n, _, spatial, g, c_in_g, c_out_g = layer_dims(x, weight, p)
    taps, p_in, p_out = math.prod(p.kernel_size), math.prod(spatial), math.prod(out_spatial)
    device = array_api_compat.device(x)
    c_out = g * c_out_g
    # (G, C_out/G * taps, C_in/G) @ (N, G, C_in/G, P_in): every product torch forms, no other.
    product = _tap_products(xp, weight, xp.reshape(x, (n, g, c_in_g, p_in)), g, traits)
    cols = xp.reshape(product, (n, c_out, taps, p_in))
    # What an unreached (tap, output) pair gathers is a zero *added* to the sum, which
    # leaves an inf or NaN as it is; only multiplying one by zero would make NaN.
    zero = xp.zeros((n, c_out, taps, 1), dtype=x.dtype, device=device)
    cols = xp.reshape(xp.concat((cols, zero), axis=3), (n, c_out, taps * (p_in + 1)))
    index = _gather_index(xp, x, _gather_sources, p, out_spatial, traits)
    gathered = xp.reshape(take_in_bounds(xp, cols, index, 2, traits), (n, c_out, taps, p_out))
    return xp.reshape(xp.sum(gathered, axis=2), (n, c_out, *out_spatial))


def _gather_sources(
    xp: Any, spatial: tuple[int, ...], p: ConvTransposeParams, out_spatial: tuple[int, ...]
) -> Any:
    """The ``(taps * P_out,)`` index into the column buffer ``(taps, P_in + 1)``: the
    product tap ``t`` brings to output ``o``, or that tap's appended zero.

    >>> import numpy as np
    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> p = validate_conv_transpose_params(1, (2,), stride=2)
    >>> _gather_sources(np, (2,), p, (4,)).reshape(2, 4).tolist()  # tap, output position
    [[0, 2, 1, 2], [5, 3, 5, 4]]
    """
    taps, p_in = math.prod(p.kernel_size), math.prod(spatial)
    sources = xp.reshape(_dense_sources(xp, spatial, p, out_spatial), (taps, -1))
    return xp.reshape(sources + xp.arange(taps)[:, None] * (p_in + 1), (-1,))


def _computed_after(xp: Any, operand: Any, finished: list[Any]) -> Any:
    """``operand``'s values, made to depend on every element of the ``finished`` arrays.

    Under ``jax.jit`` XLA is free to run every chunk's GEMM before any accumulation
    consumes them, which keeps all ``prod(kernel_size)`` tap products alive at once
    (2.5 GiB at the peak on the 1x64x1024x1024 memory layer, 1.7x torch's native op).
    A sum over the accumulators a chunk must wait for is a dependence XLA can neither
    fuse away nor reorder, so one chunk's products are alive at a time (1.15 GiB).
    ``total != total`` turns the sum into an exact 0 even when it overflows or is NaN.
    """
    total = sum(xp.sum(a) for a in finished)
    return operand + xp.astype(total != total, operand.dtype) * 0
