"""What differs between array libraries, as data: the one place the ops learn it.

The algorithms ask questions such as "are strided writes cheap here?", never "is this
JAX?".  Each answer below was measured with the benchmarks (``benchmarks/``; the
cost coefficients of :mod:`._cost` come from ``python -m lucid tune``).  A library
lucid does not name (array-api-strict, or any other Array API namespace) gets the
eager defaults, which are correct everywhere and fast where updates are in place.

>>> traits("jax").strided_writes_cheap, traits("numpy").strided_writes_cheap
(False, True)
>>> traits(None) == traits("array_api_strict") == DEFAULT
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["DEFAULT", "Traits", "gemm", "out_of_place", "take_in_bounds", "traits"]


@dataclass(frozen=True)
class Traits:
    """One library's answers; see each field."""

    #: The name the cost model's coefficients are stored under (:mod:`._cost`).
    cost_key: str = "numpy"
    #: Writing a phase plane to its strided positions of the output (and a tap's
    #: product to its strided slice) is cheap.  Not under XLA, which runs such
    #: updates far slower than a stack and one transpose (`grouped` 6 -> 57 ms).
    strided_writes_cheap: bool = True
    #: Zero-padded adds into per-plane accumulators fuse into one pass (XLA), which
    #: beats strided slice adds into an interleaved accumulator (0.65x against 1.1x).
    fused_padded_adds: bool = False
    #: Pixel-major GEMMs (``windows @ weight``) run faster than channels-first ones for
    #: ungrouped layers (gradients and forward convolutions); XLA runs the
    #: channels-first ones faster.
    pixel_major_gemms: bool = True
    #: Without a stride the custom backward beats autodiff through the forward's
    #: slices; on JAX it does not (31 against 43 ms on the `same` layer).
    custom_grad_without_stride: bool = True
    #: Constant index tables may be converted once and kept; not where a conversion
    #: is a traced value that must not outlive its trace (``jax.jit``).
    keeps_converted_tables: bool = True
    #: The fewest column elements the forward convolution stacks per chunk: XLA
    #: compiles one large stack of windows into slow copies (`enc-same` 24 -> 5.4 ms).
    min_column_chunk: int = 1 << 23
    #: Arrays may be tracers of a function being compiled (``jax.jit``): autotuning
    #: then times compiled candidates of the same shapes instead of the call itself.
    compiles: bool = False
    #: An eager call (concrete arrays) runs as one program compiled per call signature
    #: instead of operation by operation: on JAX a small layer's call drops from about
    #: 1.6 ms to 50 us, and a new shape compiles one program instead of one per
    #: operation (BENCHMARKS.md, "Eager calls on JAX").
    compiles_eager_calls: bool = False
    #: The ``mode`` of the library's ``take`` for an index known to be in bounds (lucid's
    #: own tables), or ``None`` for the standard's ``take``.  JAX's default mode masks
    #: out-of-bounds indices; ``"clip"`` halves a conformance chunk's lowering time and
    #: takes about 15% off its trace, lower and compile together (BENCHMARKS.md, "The JAX
    #: test session (session 14)").
    in_bounds_take_mode: str | None = None
    #: A GEMM whose left operand is a transposed view (the weight viewed as ``(C_out *
    #: taps, C_in)``) and whose output has more than one and at most this many columns
    #: runs as the transposed product ``(b.T @ a.T).T``: torch's CPU GEMM ran it up to
    #: 25x slower as ``a @ b`` (a 4096x512 weight on 2-8 pixels: 29 ms against 1.2-2.5
    #: ms; within 1.1x on a 288x32 one).
    #: With a row-major ``a`` the transposed product gained nothing, or lost up to 1.9x,
    #: so only the formulations whose ``a`` is such a view call :func:`gemm`.  NumPy's
    #: varied both ways (0.6-2.4x) and keeps ``a @ b`` (BENCHMARKS.md, "GEMMs with few
    #: columns on PyTorch").
    transposed_gemm_columns: int = 0
    #: A phase's windows (``phase_channels_last``) come from one gather of a constant
    #: index instead of one slice per tap.  XLA compiled the gather in 35-85% of the
    #: time of the slices and their stack, and ran it as fast or faster (BENCHMARKS.md,
    #: "Windows by one gather on JAX").
    gathers_windows: bool = False


DEFAULT = Traits()

_KNOWN = {
    "numpy": DEFAULT,
    "torch": replace(DEFAULT, cost_key="torch", transposed_gemm_columns=8),
    "jax": Traits(
        cost_key="jax",
        strided_writes_cheap=False,
        fused_padded_adds=True,
        pixel_major_gemms=False,
        custom_grad_without_stride=False,
        keeps_converted_tables=False,
        min_column_chunk=1 << 20,
        compiles=True,
        compiles_eager_calls=True,
        in_bounds_take_mode="clip",
        gathers_windows=True,
    ),
}


def traits(name: str | None) -> Traits:
    """The traits of the library named ``name`` (as :func:`lucid._backend.namespace_name`)."""
    return _KNOWN.get(name or "", DEFAULT)


def out_of_place(known: Traits) -> Traits:
    """``known`` for arrays that cannot be written into a fresh array (``torch.func.vmap``
    batches them): every formulation then builds its output without item assignment."""
    return replace(known, strided_writes_cheap=False, fused_padded_adds=True)


def take_in_bounds(xp: Any, a: Any, index: Any, axis: int, known: Traits) -> Any:
    """``xp.take(a, index, axis=axis)`` for an ``index`` whose entries are all in bounds.

    >>> import numpy as np
    >>> take_in_bounds(np, np.arange(4.0), np.asarray([3, 0]), 0, DEFAULT).tolist()
    [3.0, 0.0]
    """
    if known.in_bounds_take_mode is None:
        return xp.take(a, index, axis=axis)
    return xp.take(a, index, axis=axis, mode=known.in_bounds_take_mode)


def gemm(xp: Any, a: Any, b: Any, known: Traits) -> Any:
    """``a @ b`` for an ``a`` that is a transposed view, computed as ``(b.T @ a.T).T``
    where ``known`` says the library's GEMM is slow on this few output columns
    (``transposed_gemm_columns``).

    >>> import numpy as np
    >>> a, b = np.arange(16.0).reshape(2, 4, 2), np.ones((2, 3))
    >>> fast = replace(DEFAULT, transposed_gemm_columns=8)
    >>> bool((gemm(np, a, b, fast) == a @ b).all()), gemm(np, a, b, fast).shape
    (True, (2, 4, 3))
    """
    columns = b.shape[-1]
    if 1 < columns <= known.transposed_gemm_columns and columns < a.shape[-2]:
        return xp.matrix_transpose(xp.matrix_transpose(b) @ xp.matrix_transpose(a))
    return a @ b
