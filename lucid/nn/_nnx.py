"""lucid modules inside flax.nnx: :func:`to_nnx` and the way back, ``.to_lucid()``.

An ``nnx.Module`` owns its state as ``nnx.Variable`` attributes, which nnx's
transforms and ``nnx.Optimizer`` find by graph traversal; a lucid module is a JAX
pytree that nnx does not look into.  :func:`to_nnx` flattens the lucid module once:
its parameters become ``nnx.Param``s and its buffers ``nnx.BatchStat``s (state, not
trained), and the structure (the pytree's treedef) stays static.  Each call rebuilds
the lucid module from the current values, so what nnx updates is what lucid computes
with.  flax is imported only when :func:`to_nnx` is called.
"""

from __future__ import annotations

import functools
from typing import Any

from .module import Module

__all__ = ["to_nnx"]


def to_nnx(module: Module, *example_args: Any) -> Any:
    """``module`` as an ``nnx.Module`` whose parameters are ``nnx.Param``s.

    The result is called like ``module`` and trains with nnx's tools
    (``nnx.Optimizer(model, optax.adam(...), wrt=nnx.Param)``, ``nnx.jit``,
    ``nnx.value_and_grad``), also as an attribute of the user's own ``nnx.Module``.
    ``result.to_lucid()`` gives back a lucid module with the current (trained) values.

    Parameters
    ----------
    module : lucid.nn.Module
        Moved to JAX first (in place, as ``module.to('jax')`` does).
    *example_args
        Inputs for one call that materialises a lazy ``module``.  nnx's optimizers
        take the parameters when they are made, so lazy parameters must exist before
        the conversion: without example inputs a lazy module is a ``ValueError``.

    Examples
    --------
    >>> import jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> import lucid, lucid.nn as nn
    >>> lucid.manual_seed(0)
    >>> model = nn.to_nnx(nn.LazyConvTranspose2d(2, 3, stride=2), jnp.ones((1, 4, 3, 3)))
    >>> optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    >>> def loss(m):
    ...     return jnp.mean(m(jnp.ones((1, 4, 3, 3))) ** 2)
    >>> before = float(loss(model))
    >>> for _ in range(5):
    ...     _ = optimizer.update(model, nnx.grad(loss)(model))
    >>> float(loss(model)) < before
    True
    >>> trained = model.to_lucid()
    >>> type(trained).__name__, trained.weight.shape
    ('ConvTranspose2d', (4, 2, 3, 3))
    """
    if not isinstance(module, Module):
        msg = f"to_nnx expects a lucid.nn.Module, got {type(module).__name__}"
        raise TypeError(msg)
    lazy = [name or "the module" for name, m in module.named_modules() if _is_lazy(m)]
    if lazy and not example_args:
        msg = (
            f"to_nnx needs materialised parameters, but {', '.join(lazy)} is lazy; pass "
            "example inputs (to_nnx(module, x)) or call the module once first"
        )
        raise ValueError(msg)
    if lazy:
        module(*example_args)
    return _wrapper_class()(module.to("jax"))


def _is_lazy(module: Module) -> bool:
    uninitialized = getattr(module, "has_uninitialized_params", None)
    return bool(uninitialized is not None and uninitialized())


@functools.cache
def _wrapper_class() -> type:
    import jax
    from flax import nnx

    class LucidModule(nnx.Module):
        """A lucid module's values as nnx Variables, its structure as static data."""

        def __init__(self, module: Module) -> None:
            flat, self.treedef = jax.tree_util.tree_flatten_with_path(module)
            self.names = tuple(jax.tree_util.keystr(path)[1:] for path, _ in flat)
            trained = {name for name, _ in module.named_parameters()}
            self.variables = nnx.List(
                [
                    (nnx.Param if name in trained else nnx.BatchStat)(value)
                    for name, (_, value) in zip(self.names, flat)
                ]
            )

        def to_lucid(self) -> Module:
            """A lucid module (on JAX) with the current values."""
            values = [variable[...] for variable in self.variables]
            rebuilt: Module = jax.tree_util.tree_unflatten(self.treedef, values)
            return rebuilt

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self.to_lucid()(*args, **kwargs)

        def __repr__(self) -> str:
            return f"to_nnx({self.to_lucid()!r})"

    return LucidModule
