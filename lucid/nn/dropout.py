"""``Dropout``: torch's module over :func:`lucid.ops.dropout`.

Identity in eval mode.  In training mode the mask comes from lucid's random stream
(``lucid.manual_seed``), or, under ``jax.jit``, from the JAX PRNG key passed to the
call: ``model(x, key=k)`` in your own ``forward`` becomes ``self.drop(h, key=k)``.
"""

from __future__ import annotations

from typing import Any

from .. import ops
from .._typing import Array
from ..ops.dropout import check_dropout_p
from ._factory import flag
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scaling the rest by ``1/(1-p)``.

    Parameters
    ----------
    p : float
        Default 0.5.
    inplace : bool
        Accepted for torch's signature; lucid always returns a new array.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> drop = nn.Dropout(0.25)
    >>> drop
    Dropout(p=0.25, inplace=False)
    >>> lucid.manual_seed(0)
    >>> sorted(set(drop(lucid.ones(16)).tolist()))
    [0.0, 1.3333333730697632]
    >>> drop.eval()(lucid.ones(2)).tolist()
    [1.0, 1.0]

    Under ``jax.jit`` pass a key: ``drop(x, key=jax.random.key(0))`` (a new one each
    step, from ``jax.random.split``).  ``Sequential`` passes no keys: a model that drops
    out under ``jax.jit`` calls its ``Dropout`` layers in its own ``forward``, or runs
    in eval mode.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_dropout_p(p)
        self.inplace = flag(inplace, "inplace")

    def forward(self, x: Array, *, key: Any = None) -> Array:
        return ops.dropout(x, self.p, self.training, key=key)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
