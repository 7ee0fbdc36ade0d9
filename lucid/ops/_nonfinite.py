"""Non-finite weights: run the formulation that marks exactly the outputs torch marks.

The fast formulations multiply the weight by the zeros of padded or dilated windows,
and ``0 * inf`` is NaN, so one non-finite weight would turn outputs NaN that torch
leaves finite (torch forms a product only where an input pixel's tap lands).  The
``scatter`` formulation forms only those products.  Checking the weight costs one
reduction over it, about ``1 / (N * pixels)`` of the layer's own work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat

__all__ = ["unless_nonfinite"]


def unless_nonfinite(
    xp: Any, weight: Any, fast: Callable[[], Any], exact: Callable[[], Any]
) -> Any:
    """``fast()`` when every entry of ``weight`` is finite, else ``exact()``.

    Under a tracing transform (``jax.jit``, ``jax.vmap``) the choice is made when the
    compiled program runs, with ``jax.lax.cond``.
    """
    finite = xp.all(xp.isfinite(weight))
    try:
        take_fast = bool(finite)
    except Exception:  # a traced value: only the running program knows it
        if not array_api_compat.is_jax_array(weight):
            raise
        import jax

        return jax.lax.cond(finite, fast, exact)
    return fast() if take_fast else exact()
