"""Custom gradients through each framework's own hook, only where it has one.

``with_custom_grad`` runs ``forward(x, weight, bias)`` so that the framework's autodiff
uses ``backward(x, weight, gy, needs) -> (dx, dweight, dbias)`` instead of tracing
through the forward.  Both callables are written in standard Array API calls; only the
*registration* is framework-specific:

* PyTorch: a ``torch.autograd.Function`` (:mod:`lucid._backends._torch_grad`; its backward is built
  from differentiable torch ops, so double backward, forward-mode AD, ``torch.func``
  transforms and ``torch.compile`` work);
* JAX: ``jax.custom_jvp`` whose tangent is the transpose of the backward, so forward
  mode (``jax.jvp``, ``jax.jacfwd``) works and reverse mode runs the backward itself;
* anything else (NumPy, array-api-strict, ...): ``forward`` is just called.

The registration is each backend object's
:meth:`~lucid._backends.ArrayBackend.custom_grad`; frameworks are imported only when
the arrays already come from them.
:func:`use_custom_grad` turns the custom rules off, to autodiff the forward instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .._backends import ArrayBackend
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
    backend: ArrayBackend | None,
    forward: Forward,
    backward: Backward,
    x: Any,
    weight: Any,
    bias: Any | None,
) -> Any:
    """``forward(x, weight, bias)``, differentiated by ``backward`` where ``backend``'s
    framework allows (the backend the op's plan found once, not looked up per call)."""
    if not _ENABLED.get() or backend is None:
        return forward(x, weight, bias)
    return backend.custom_grad(forward, backward, x, weight, bias)
