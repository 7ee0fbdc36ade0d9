"""Array creation on the default backend: ``zeros``, ``ones``, ``full``, ``empty``, ``asarray``,
``randn`` and ``rand``.

Every function takes ``dtype`` (default ``float32``, torch's default, on every backend),
``device`` and ``backend`` (default: :func:`lucid.get_default_backend`).  A device or
dtype object of one framework (``torch.device``, ``torch.float64``, a ``jax.Device``)
selects that framework when ``backend`` is not given.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import random as _random
from ._backends import (
    DEFAULT_FLOAT,
    backend_of,
    check_backend,
    convert,
    from_numpy,
    get_default_backend,
    namespace,
    native_backend_of,
    resolve_device,
    resolve_dtype,
)
from ._typing import Array, DeviceLike, DTypeLike

__all__ = ["asarray", "empty", "full", "ones", "rand", "randn", "zeros"]


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], Sequence) and not isinstance(shape[0], str):
        shape = tuple(shape[0])
    dims = []
    for size in shape:
        try:
            if isinstance(size, bool):
                raise TypeError
            dim = operator.index(size)
        except TypeError:
            msg = f"shape must be non-negative ints (as varargs or one tuple), got {shape!r}"
            raise TypeError(msg) from None
        if dim < 0:
            msg = f"shape must be non-negative ints, got {shape!r}"
            raise ValueError(msg)
        dims.append(dim)
    return tuple(dims)


def _placement(
    backend: str | None, device: DeviceLike, dtype: DTypeLike, default: str | None
) -> tuple[str, Any, Any, Any]:
    """``(backend, xp, native device, native dtype)`` for a creation call."""
    if backend is None:
        backend = native_backend_of(device) or native_backend_of(dtype) or get_default_backend()
    name = check_backend(backend)
    xp = namespace(name)
    return name, xp, resolve_device(name, device), resolve_dtype(xp, dtype, default)


def zeros(
    *shape: int | Sequence[int],
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """An array of zeros on the default backend.

    Parameters
    ----------
    *shape : int or one tuple of int
        ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same.
    dtype : DTypeLike, optional
        ``None`` (``float32``), a name such as ``'float64'`` or a backend's dtype object.
    device : DeviceLike, optional
        ``None``, ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'gpu'`` or a backend's device object.
    backend : {'numpy', 'jax', 'torch', 'array_api_strict'}, optional
        Default: :func:`lucid.get_default_backend`.

    Returns
    -------
    array

    Raises
    ------
    ValueError
        Unknown backend, device or dtype, or a device this machine does not have.

    Examples
    --------
    >>> import lucid
    >>> lucid.zeros(4, 128, 8, 8).shape
    (4, 128, 8, 8)
    >>> lucid.zeros((2, 3), dtype="float64").dtype
    dtype('float64')
    """
    _, xp, dev, dt = _placement(backend, device, dtype, DEFAULT_FLOAT)
    return xp.zeros(_shape(shape), dtype=dt, device=dev)


def ones(
    *shape: int | Sequence[int],
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """An array of ones; the parameters are those of :func:`zeros`.

    Examples
    --------
    >>> import lucid
    >>> lucid.ones(2, 2).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    _, xp, dev, dt = _placement(backend, device, dtype, DEFAULT_FLOAT)
    return xp.ones(_shape(shape), dtype=dt, device=dev)


def empty(
    *shape: int | Sequence[int],
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """An uninitialised array; the parameters are those of :func:`zeros`.

    Examples
    --------
    >>> import lucid
    >>> lucid.empty(3, 0).shape
    (3, 0)
    """
    _, xp, dev, dt = _placement(backend, device, dtype, DEFAULT_FLOAT)
    return xp.empty(_shape(shape), dtype=dt, device=dev)


def full(
    shape: int | Sequence[int],
    fill_value: bool | int | float | complex,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """An array filled with ``fill_value``.

    Without ``dtype`` the dtype follows ``torch.full``: ``bool``, ``int64``, ``float32`` or
    ``complex64`` for a bool, int, float or complex ``fill_value`` (JAX without 64-bit
    mode makes ints ``int32``).

    Examples
    --------
    >>> import lucid
    >>> lucid.full((2,), 0.5).tolist()
    [0.5, 0.5]
    >>> lucid.full(3, 7).dtype
    dtype('int64')
    """
    default: str | None = DEFAULT_FLOAT
    if dtype is None and isinstance(fill_value, (bool, int, np.bool_, np.integer)):
        default = None  # every backend's own: bool, or int64 (int32 on JAX without x64)
    elif dtype is None and isinstance(fill_value, complex):
        dtype = "complex64"
    _, xp, dev, dt = _placement(backend, device, dtype, default)
    dims = _shape((shape,)) if not isinstance(shape, Sequence) else _shape(tuple(shape))
    return xp.full(dims, fill_value, dtype=dt, device=dev)


def asarray(
    obj: Any,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """``obj`` (an array of any backend, nested lists, scalars) as an array of ``backend``.

    Arrays keep their dtype unless ``dtype`` is given and are converted between
    backends as needed (e.g. ``asarray(torch_tensor, backend='jax')``).  Python data
    gets torch's dtypes: floats become ``float32``, ints ``int64``.

    Examples
    --------
    >>> import lucid
    >>> lucid.asarray([1.0, 2.0]).dtype
    dtype('float32')
    >>> import numpy as np
    >>> lucid.asarray(np.arange(3.0)).dtype
    dtype('float64')
    """
    if backend is None:
        backend = native_backend_of(device) or native_backend_of(dtype) or get_default_backend()
    name = check_backend(backend)
    if backend_of(obj) is not None:
        return convert(obj, name, device, dtype)
    values = np.asarray(obj)
    if dtype is None and not isinstance(obj, (np.ndarray, np.generic)):
        if values.dtype == np.float64:
            dtype = DEFAULT_FLOAT
        elif values.dtype == np.complex128:
            dtype = "complex64"
    xp = namespace(name)
    dt = resolve_dtype(xp, dtype if dtype is not None else values.dtype)
    return from_numpy(values, name, resolve_device(name, device), dt)


def randn(
    *shape: int | Sequence[int],
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """Standard-normal samples from lucid's seeded generator (see :func:`lucid.manual_seed`).

    The same seed gives the same values on every backend (up to the dtype's rounding).

    Examples
    --------
    >>> import lucid
    >>> lucid.manual_seed(0)
    >>> lucid.randn(2, 3).shape
    (2, 3)
    """
    name, _, dev, dt = _placement(backend, device, dtype, DEFAULT_FLOAT)
    return from_numpy(_random.normal(_shape(shape)), name, dev, dt)


def rand(
    *shape: int | Sequence[int],
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    backend: str | None = None,
) -> Array:
    """Samples from ``U[0, 1)`` from lucid's seeded generator; parameters as :func:`randn`.

    Examples
    --------
    >>> import lucid
    >>> lucid.manual_seed(0)
    >>> x = lucid.rand(1000)
    >>> bool((x >= 0).all() and (x < 1).all())
    True
    """
    name, _, dev, dt = _placement(backend, device, dtype, DEFAULT_FLOAT)
    return from_numpy(_random.uniform(0.0, 1.0, _shape(shape)), name, dev, dt)
