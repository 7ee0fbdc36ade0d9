"""Custom gradients through each framework's own hook, only where it has one.

``with_custom_grad`` runs ``forward(x, weight, bias)`` so that the framework's autodiff
uses ``backward(x, weight, gy, needs) -> (dx, dweight, dbias)`` instead of tracing
through the forward.  Both callables are written in standard Array API calls; only the
*registration* is framework-specific:

* PyTorch: a ``torch.autograd.Function`` (its backward is built from differentiable
  torch ops, so double backward and ``torch.func`` transforms still work);
* JAX: ``jax.custom_vjp``;
* anything else (NumPy, array-api-strict, ...): ``forward`` is just called.

Frameworks are imported only when the arrays already come from them.  A forward-mode
derivative (``jax.jvp``) of a ``custom_vjp`` function is not defined, so callers that
need one turn this off with :func:`use_custom_grad` and autodiff the forward.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import array_api_compat

__all__ = ["custom_grad_enabled", "use_custom_grad", "with_custom_grad"]

Forward = Callable[[Any, Any, Any], Any]
Backward = Callable[[Any, Any, Any, tuple[bool, bool, bool]], tuple[Any, Any, Any]]

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("custom_grad", default=True)


@contextlib.contextmanager
def use_custom_grad(enabled: bool) -> Iterator[None]:
    """Turn the custom gradients off (``False``) to autodiff through the forward.

    Needed for forward-mode derivatives on JAX (``jax.jvp``, ``jax.jacfwd``), which a
    ``jax.custom_vjp`` function does not support.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv_transpose2d, use_custom_grad
    >>> with use_custom_grad(False):
    ...     y = conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)))
    >>> y.shape
    (1, 1, 3, 3)
    """
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


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
    return _torch_function().apply(x, weight, bias, forward, backward)


_TORCH_FUNCTION: Any = None


def _torch_function() -> Any:
    """The ``torch.autograd.Function``, defined on first use so torch is imported lazily."""
    global _TORCH_FUNCTION
    if _TORCH_FUNCTION is None:
        import torch

        class ConvTransposeFunction(torch.autograd.Function):
            generate_vmap_rule = True

            @staticmethod
            def forward(x: Any, weight: Any, bias: Any, fwd: Forward, bwd: Backward) -> Any:
                return fwd(x, weight, bias)

            @staticmethod
            def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
                x, weight, _, _, bwd = inputs
                ctx.save_for_backward(x, weight)
                ctx.bwd = bwd

            @staticmethod
            def backward(ctx: Any, gy: Any) -> tuple[Any, ...]:
                x, weight = ctx.saved_tensors
                needs = tuple(bool(n) for n in ctx.needs_input_grad[:3])
                dx, dw, db = ctx.bwd(x, weight, gy, needs)
                return dx, dw, db, None, None

        _TORCH_FUNCTION = ConvTransposeFunction
    return _TORCH_FUNCTION


def _jax_apply(forward: Forward, backward: Backward, x: Any, weight: Any, bias: Any) -> Any:
    import jax

    has_bias = bias is not None

    @jax.custom_vjp
    def op(x: Any, weight: Any, bias: Any) -> Any:
        return forward(x, weight, bias)

    def op_fwd(x: Any, weight: Any, bias: Any) -> tuple[Any, tuple[Any, Any]]:
        return forward(x, weight, bias), (x, weight)

    def op_bwd(res: tuple[Any, Any], gy: Any) -> tuple[Any, Any, Any]:
        x, weight = res
        # jit removes whichever gradient the caller does not use.
        return backward(x, weight, gy, (True, True, has_bias))

    op.defvjp(op_fwd, op_bwd)
    return op(x, weight, bias)
