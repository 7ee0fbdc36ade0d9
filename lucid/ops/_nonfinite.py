"""Non-finite values: run the formulation that marks exactly the outputs torch marks.

The fast formulations multiply the weight by the zeros of padded or dilated windows,
and ``0 * inf`` is NaN, so one non-finite weight would turn outputs NaN that torch
leaves finite (torch forms a product only where an input pixel's tap lands).  The
``gather`` formulation (``scatter`` on layers too large for its gathered columns)
forms only those products.  ``toeplitz`` also multiplies every input pixel by the
zeros of its matrix, so there a non-finite input must run the exact formulation too.

Which arrays are checked is chosen per layer from the shapes, whichever has fewer
elements to read (one reduction either way):

* the **operands** that meet zeros (the weight, and the input for ``toeplitz``), before
  the fast formulation runs; or
* the fast formulation's **output**.  When it is finite, every product the fast
  formulation formed was finite, so its zeros added zeros and its result is torch's
  (up to rounding); when it is not, the exact formulation runs as well and its result
  is returned.  Layers with few outputs (small or channel-reducing ones, whose check
  of the weight and input was a third of the call) check one array instead of two.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import _backends

__all__ = ["all_finite", "checks_output", "unless_nonfinite"]


def checks_output(
    operand_shapes: tuple[tuple[int, ...], ...], output_shape: tuple[int, ...]
) -> bool:
    """Whether to check the fast output rather than the operands: it has fewer elements.

    >>> checks_output(((4, 4, 3, 3), (1, 4, 4, 4)), (1, 4, 6, 6))  # 144 + 64 against 144
    True
    >>> checks_output(((64, 3, 4, 4),), (32, 3, 64, 64))  # an RGB output layer
    False
    """
    return math.prod(output_shape) < sum(math.prod(shape) for shape in operand_shapes)


def all_finite(xp: Any, arrays: tuple[Any, ...]) -> Any:
    """A 0-d boolean array: whether every element of ``arrays`` is finite.

    One sum per array rather than ``all(isfinite(a))``: an inf or NaN anywhere makes the
    sum inf or NaN (``inf - inf`` is NaN), and torch's ``isfinite`` costs about 30
    times its ``sum`` on a large array (4.4 ms against 0.13 ms on 1 Mi float32 elements;
    NumPy's two are within 20%, BENCHMARKS.md, "The non-finite check as a sum").  A
    sum of finite values that overflows reads as non-finite, which only runs the exact
    formulation for nothing; half-precision sums accumulate in float32 so that real
    activations never get there.

    >>> import numpy as np
    >>> bool(all_finite(np, (np.ones(3), np.asarray([1.0, np.inf]))))
    False
    >>> bool(all_finite(np, (np.ones(3),)))
    True
    """
    total = None
    for array in arrays:
        wide = xp.float32 if xp.finfo(array.dtype).bits < 32 else None
        subtotal = xp.sum(array, dtype=wide)
        total = subtotal if total is None else total + subtotal
    return xp.isfinite(total)


def unless_nonfinite(
    xp: Any,
    checked: tuple[Any, ...],
    fast: Callable[[], Any],
    exact: Callable[[], Any],
    *,
    check_output: bool = False,
) -> Any:
    """``fast()`` unless non-finite values would make it differ from torch, else ``exact()``.

    ``checked`` are the operands the fast formulation multiplies by zeros (the weight,
    and the input where its zeros meet the input).  With ``check_output`` the fast
    result is checked instead of them (see the module docstring), except in a program
    ``torch.compile`` traces.  Under a tracing compiler (``jax.jit``, ``torch.compile``)
    the compiled program makes the choice when it runs (the backend's
    :meth:`~lucid._backends.ArrayBackend.cond`).
    """
    backend = _backends.of(checked[0])
    # torch.compile's cond refuses a branch that returns a value computed outside it (an
    # alias of its input): a program torch compiles checks the operands.
    if check_output and not (backend is not None and backend.compiling()):
        y = fast()
        return _choose(xp, backend, (y,), lambda: y, exact)
    return _choose(xp, backend, checked, fast, exact)


def _choose(
    xp: Any,
    backend: _backends.ArrayBackend | None,
    checked: tuple[Any, ...],
    if_finite: Callable[[], Any],
    exact: Callable[[], Any],
) -> Any:
    finite = all_finite(xp, checked)
    if backend is None:  # an Array API library lucid has no backend object for
        return if_finite() if bool(finite) else exact()
    return backend.cond(finite, if_finite, exact)
