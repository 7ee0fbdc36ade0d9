"""Custom gradients through each framework's own hook, only where it has one.

``with_custom_grad`` runs ``forward(x, weight, bias)`` so that the framework's autodiff
uses ``backward(x, weight, gy, needs) -> (dx, dweight, dbias)`` instead of tracing
through the forward.  Both callables are written in standard Array API calls; only the
*registration* is framework-specific:

* PyTorch: a ``torch.autograd.Function`` (:mod:`._torch_grad`; its backward is built
  from differentiable torch ops, so double backward, forward-mode AD, ``torch.func``
  transforms and ``torch.compile`` work);
* JAX: ``jax.custom_jvp`` whose tangent is the transpose of the backward, so forward
  mode (``jax.jvp``, ``jax.jacfwd``) works and reverse mode runs the backward itself;
* anything else (NumPy, array-api-strict, ...): ``forward`` is just called.

Frameworks are imported only when the arrays already come from them.
:func:`use_custom_grad` turns the custom rules off, to autodiff the forward instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import array_api_compat

from .._tracing import ScopedSetting

__all__ = ["custom_grad_enabled", "use_custom_grad", "with_custom_grad"]

Forward = Callable[[Any, Any, Any], Any]
Backward = Callable[[Any, Any, Any, tuple[bool, bool, bool]], tuple[Any, Any, Any]]

_ENABLED = ScopedSetting(True)


@contextlib.contextmanager
def use_custom_grad(enabled: bool) -> Iterator[None]:
    """Turn the custom gradients off (``False``) to autodiff through the forward.

    Every transform works with them on; turning them off is for comparing the two
    (the tests do) or for a framework transform that meets a custom rule it lacks.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv_transpose2d, use_custom_grad
    >>> with use_custom_grad(False):
    ...     y = conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
    >>> y.shape
    (1, 1, 3, 3)
    """
    with _ENABLED.override(enabled):
        yield


def custom_grad_enabled() -> bool:
    return _ENABLED.get()


def with_custom_grad(
    xp: Any, forward: Forward, backward: Backward, x: Any, weight: Any, bias: Any | None
) -> Any:
    """``forward(x, weight, bias)``, differentiated by ``backward`` where the framework allows."""
    if not _ENABLED.get():
        return forward(x, weight, bias)
    if array_api_compat.is_torch_namespace(xp):
        return _torch_apply(forward, backward, x, weight, bias)
    if array_api_compat.is_jax_namespace(xp):
        return _jax_apply(forward, backward, x, weight, bias)
    return forward(x, weight, bias)


def _torch_apply(forward: Forward, backward: Backward, x: Any, weight: Any, bias: Any) -> Any:
    import torch

    wants_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, weight, bias)
    )
    if not wants_grad:  # inference: skip the Function's bookkeeping
        return forward(x, weight, bias)
    from ._torch_grad import CustomGradFunction

    return CustomGradFunction.apply(x, weight, bias, forward, backward)


def _jax_apply(forward: Forward, backward: Backward, x: Any, weight: Any, bias: Any) -> Any:
    """``forward`` under ``jax.custom_jvp``, with the backward's transpose as its tangent.

    The op is linear in ``bias`` and in each of ``x`` and ``weight``, so its tangent is
    ``vjpᵀ(dx, dweight, dbias)``: the transpose of the custom backward, which
    ``jax.linear_transpose`` derives from the backward's own slices and GEMMs.  Forward
    mode (``jax.jvp``, ``jax.jacfwd``, ``jax.linearize``) evaluates that tangent; reverse
    mode transposes it once more, which gives back exactly the backward's operations
    (same GEMMs, same windows), so ``jax.grad`` costs what a ``custom_vjp`` did.
    Symbolic zeros keep unused gradients (say, ``dweight`` under ``grad`` in ``x``
    only) out of the computation.
    """
    import jax
    from jax.custom_derivatives import SymbolicZero

    @jax.custom_jvp
    def op(x: Any, weight: Any, bias: Any) -> Any:
        return forward(x, weight, bias)

    def op_jvp(primals: tuple[Any, Any, Any], tangents: tuple[Any, Any, Any]) -> Any:
        x, weight, bias = primals
        y = forward(x, weight, bias)
        needs = tuple(t is not None and not isinstance(t, SymbolicZero) for t in tangents)
        if not any(needs):
            return y, jax.numpy.zeros_like(y)

        def vjp(gy: Any) -> tuple[Any, ...]:
            grads = backward(x, weight, gy, needs)  # type: ignore[arg-type]
            return tuple(g for g, n in zip(grads, needs) if n)

        tangent = tuple(t for t, n in zip(tangents, needs) if n)
        (dy,) = jax.linear_transpose(vjp, jax.ShapeDtypeStruct(y.shape, y.dtype))(tangent)
        return y, dy

    op.defjvp(op_jvp, symbolic_zeros=True)
    return op(x, weight, bias)
