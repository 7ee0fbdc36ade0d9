"""What a state-dict entry must be before anything is loaded from it.

An entry for a floating parameter or buffer must be a real floating array: ``None``,
a Python object, and object, complex, boolean or integer arrays are refused (with the
key named) rather than cast, so a checkpoint that does not hold what the model
expects never changes the model.  A count such as ``num_batches_tracked`` must be an
integer array.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from .._backends import backend_of

__all__ = ["is_floating", "value_problem"]


def _kind(value: Any) -> str:
    """``'floating'``, ``'integer'`` or another word for ``value``'s dtype."""
    dtype = value.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return "object"
    try:
        xp = array_api_compat.array_namespace(value)
    except TypeError:
        return str(dtype)
    if xp.isdtype(dtype, "real floating"):
        return "floating"
    if xp.isdtype(dtype, "bool"):
        return "boolean"
    if xp.isdtype(dtype, "integral"):
        return "integer"
    if xp.isdtype(dtype, "complex floating"):
        return "complex"
    return str(dtype)


def is_floating(array: Any) -> bool:
    """Whether ``array`` has a real floating dtype."""
    return _kind(array) == "floating"


def value_problem(key: str, value: Any, *, floating: bool = True) -> str | None:
    """Why ``value`` cannot be loaded as ``key`` (``None``: it can).

    ``floating``: the entry is a floating parameter or buffer (else an integer count).
    """
    if backend_of(value) is None:
        from ._state import wrong_type  # (that module checks values with this one)

        return wrong_type(key, value)
    kind = _kind(value)
    wanted = "floating" if floating else "integer"
    if kind != wanted:
        article = "a real floating" if floating else "an integer"
        return (
            f'While copying the parameter named "{key}", expected {article} array but '
            f"received a {kind} array (dtype {value.dtype}); convert the checkpoint's entry "
            "explicitly if that is what you mean"
        )
    return None
