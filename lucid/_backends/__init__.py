"""Backends: one small class per array library, the only place that knows library names.

A *backend* is one array library, named ``'numpy'``, ``'jax'``, ``'torch'``,
``'array_api_strict'``, ``'dask'`` or ``'cupy'``.  Each is an
:class:`~lucid._backends._base.ArrayBackend` in a file of its own (``_numpy.py``,
``_torch.py``, ``_jax.py``, ``_strict.py``, ``_dask.py``, ``_cupy.py``) that owns
detection from an array, the namespace, device parsing and placement, dtype rules,
conversion to and from NumPy, copies, in-place fills and the autodiff hooks.  Adding a
library is one such class and an entry in ``_registry.py``.

Arrays passed in by the caller decide the namespace of every operation; the *default*
backend (:mod:`._default`) is only used when lucid creates arrays from nothing.  No
framework is imported here until the caller hands lucid one of its arrays or asks for
it by name.

Examples
--------
>>> import lucid
>>> lucid.get_default_backend()
'numpy'
>>> with lucid.default_backend("numpy"):
...     lucid.zeros(2).dtype
dtype('float32')
"""

from __future__ import annotations

from typing import Any

from ._arrays import (
    DEFAULT_FLOAT,
    convert,
    copied,
    device_label,
    dtype_name,
    fresh_copy,
    from_numpy,
    parse_device,
    resolve_device,
    resolve_dtype,
    to_numpy,
)
from ._base import DTYPE_NAMES, ArrayBackend
from ._default import default_backend, get_default_backend, set_default_backend
from ._jax import on_jax
from ._registry import ALL, BACKENDS, check_backend, get, installed, of, of_namespace, owner_of

__all__ = [
    "ALL",
    "BACKENDS",
    "DEFAULT_FLOAT",
    "DTYPE_NAMES",
    "ArrayBackend",
    "backend_of",
    "check_backend",
    "convert",
    "copied",
    "default_backend",
    "device_label",
    "dtype_name",
    "fresh_copy",
    "from_numpy",
    "get",
    "get_default_backend",
    "installed",
    "namespace",
    "namespace_name",
    "native_backend_of",
    "of",
    "of_namespace",
    "on_jax",
    "owner_of",
    "parse_device",
    "resolve_device",
    "resolve_dtype",
    "set_default_backend",
    "to_numpy",
]


def namespace(name: str) -> Any:
    """The Array API namespace of backend ``name``, importing the library on first use.

    >>> namespace("numpy").__name__
    'array_api_compat.numpy'
    """
    return get(name).namespace()


def backend_of(x: Any) -> str | None:
    """The backend name of array ``x``, or ``None`` when it is not a known array.

    >>> import numpy as np
    >>> backend_of(np.zeros(2)), backend_of([1.0])
    ('numpy', None)
    """
    backend = of(x)
    return None if backend is None else backend.name


def namespace_name(xp: Any) -> str | None:
    """The backend name of namespace ``xp``, or ``None`` for a namespace lucid does not name."""
    backend = of_namespace(xp)
    return None if backend is None else backend.name


def native_backend_of(obj: object) -> str | None:
    """The backend name a device or dtype *object* belongs to unambiguously, else ``None``."""
    backend = owner_of(obj)
    return None if backend is None else backend.name
