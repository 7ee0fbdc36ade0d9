"""Non-finite weights: run the formulation that marks exactly the outputs torch marks.

The fast formulations multiply the weight by the zeros of padded or dilated windows,
and ``0 * inf`` is NaN, so one non-finite weight would turn outputs NaN that torch
leaves finite (torch forms a product only where an input pixel's tap lands).  The
``gather`` formulation (``scatter`` on layers too large for its gathered columns)
forms only those products.  Checking the weight costs one reduction over it, about
``1 / (N * pixels)`` of the layer's own work.  ``toeplitz`` also multiplies every input
pixel by the zeros of its matrix, so there the input is checked too (a reduction of
``1 / (C_out/G * P_out)`` of its GEMM).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _backends

__all__ = ["unless_nonfinite"]


def unless_nonfinite(
    xp: Any, checked: tuple[Any, ...], fast: Callable[[], Any], exact: Callable[[], Any]
) -> Any:
    """``fast()`` when every entry of the ``checked`` arrays (the weight, and the input
    where the fast formulation multiplies it by zeros) is finite, else ``exact()``.

    Under a tracing compiler (``jax.jit``, ``torch.compile``) the compiled program makes
    the choice when it runs (the backend's :meth:`~lucid._backends.ArrayBackend.cond`).
    """
    backend = _backends.of(checked[0])
    finite = xp.all(xp.isfinite(checked[0]))
    for array in checked[1:]:
        finite = xp.logical_and(finite, xp.all(xp.isfinite(array)))
    if backend is None:  # an Array API library lucid has no backend object for
        return fast() if bool(finite) else exact()
    return backend.cond(finite, fast, exact)
