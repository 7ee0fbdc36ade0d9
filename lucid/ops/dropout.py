"""Dropout: zero elements at random in training, scale the rest by ``1 / (1 - p)``.

Where the mask comes from:

* eagerly, from lucid's one random stream (:mod:`lucid.random`; ``lucid.manual_seed``
  makes it reproducible on every backend);
* under ``jax.jit`` (or any JAX transformation), from the JAX PRNG ``key`` the caller
  passes, as JAX code expects: ``dropout(x, 0.5, key=jax.random.key(0))``.  A mask drawn
  from lucid's stream while tracing would be baked into the compiled function and
  repeat on every call, so a traced input without a ``key`` is an error.
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from .. import random as _random
from .._backends import backend_of, from_numpy
from .._backends._base import imported
from .activation import _floating, real_number

__all__ = ["check_dropout_p", "dropout"]


def check_dropout_p(p: object) -> float:
    """``p`` as a float in ``[0, 1]``; ``ValueError``/``TypeError`` naming it otherwise."""
    value = real_number(p, "p")
    if not 0.0 <= value <= 1.0:
        msg = f"dropout probability has to be between 0 and 1, but got p={p!r}"
        raise ValueError(msg)
    return value


def _is_traced(x: Any) -> bool:
    if not imported("jax"):
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


def dropout(x: Any, p: float = 0.5, training: bool = True, *, key: Any = None) -> Any:
    """torch's ``F.dropout``: in training each element is zeroed with probability ``p``.

    Parameters
    ----------
    x : array
    p : float
        Probability of an element being zeroed, in ``[0, 1]``.
    training : bool
        ``False``: return ``x`` unchanged.
    key : JAX PRNG key, optional
        Draw the mask with ``jax.random.bernoulli(key, ...)`` instead of lucid's stream;
        required for JAX arrays under ``jax.jit``/``grad``/``vmap``.

    Examples
    --------
    >>> import numpy as np
    >>> import lucid
    >>> lucid.manual_seed(0)
    >>> y = dropout(np.ones(8), 0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> dropout(np.ones(2), 0.5, training=False).tolist()
    [1.0, 1.0]
    """
    p = check_dropout_p(p)
    if not isinstance(training, bool):
        msg = f"training must be a bool, got {type(training).__name__} {training!r}"
        raise TypeError(msg)
    xp = _floating(x, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * xp.zeros_like(x)
    keep = _keep_mask(x, p, key)
    return xp.where(keep, x / (1.0 - p), xp.zeros_like(x))


def _keep_mask(x: Any, p: float, key: Any) -> Any:
    """A boolean array like ``x``: True with probability ``1 - p``."""
    shape = tuple(x.shape)
    if key is not None:
        if backend_of(x) != "jax":
            msg = (
                f"key= is a JAX PRNG key for JAX inputs; got a {backend_of(x) or type(x).__name__} "
                f"input (drop key= to draw from lucid's random stream)"
            )
            raise TypeError(msg)
        import jax

        return jax.random.bernoulli(key, 1.0 - p, shape)
    if _is_traced(x):
        msg = (
            "dropout under jax.jit (or another JAX transformation) needs an explicit PRNG "
            "key: pass key=jax.random.key(seed) (a new key each step, e.g. from "
            "jax.random.split); a mask drawn while tracing would repeat on every call"
        )
        raise ValueError(msg)
    uniform = _random.uniform(0.0, 1.0, shape)
    return from_numpy(uniform >= p, backend_of(x) or "numpy", array_api_compat.device(x))
