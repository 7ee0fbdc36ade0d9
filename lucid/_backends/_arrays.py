"""Backend-neutral dtypes, devices, conversions and copies, each answered by the backend objects."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._typing import Array, DeviceLike, DTypeLike
from ._base import DEVICE_CHOICES, DTYPE_NAMES, parse_device_string, unavailable
from ._registry import ALL, BACKENDS, get, of, of_namespace, owner_of

__all__ = [
    "DEFAULT_FLOAT",
    "convert",
    "copied",
    "device_label",
    "dtype_name",
    "fresh_copy",
    "from_numpy",
    "parse_device",
    "resolve_device",
    "resolve_dtype",
    "to_numpy",
]

#: The default floating dtype of arrays lucid creates (torch's default, on every backend).
DEFAULT_FLOAT = "float32"


# --- dtypes ----------------------------------------------------------------------------


def dtype_name(dtype: object) -> str:
    """The canonical name of a ``DTypeLike`` (not ``None``), e.g. ``'float32'``.

    Accepts names and the dtype objects of every backend.

    >>> dtype_name("float64"), dtype_name(np.float32)
    ('float64', 'float32')
    """
    if isinstance(dtype, str):
        name = dtype
    else:
        text = str(dtype)
        prefixes = [b.dtype_prefix for b in ALL if b.dtype_prefix]
        prefix = next((p for p in prefixes if text.startswith(p)), None)
        if prefix is not None:
            name = text[len(prefix) :]
        else:
            try:
                name = np.dtype(dtype).name  # type: ignore[call-overload]
            except TypeError:
                name = text
    if name not in DTYPE_NAMES:
        msg = (
            f"unknown dtype {dtype!r}; accepted: None, a backend's dtype object "
            f"or one of {DTYPE_NAMES}"
        )
        raise ValueError(msg)
    return name


def resolve_dtype(xp: Any, dtype: DTypeLike, default: str | None = DEFAULT_FLOAT) -> Any:
    """The dtype object of namespace ``xp`` for ``dtype`` (``default`` when ``None``)."""
    if dtype is None:
        if default is None:
            return None
        dtype = default
    name = dtype_name(dtype)
    backend = of_namespace(xp)
    if backend is not None:
        backend.check_dtype(name)
    found = getattr(xp, name, None)
    if found is None:
        have = tuple(n for n in DTYPE_NAMES if hasattr(xp, n))
        msg = f"dtype {name!r} is not available in {xp.__name__}; it has {have}"
        raise ValueError(msg)
    return found


# --- devices ---------------------------------------------------------------------------


def parse_device(device: object) -> tuple[str, int | None]:
    """``(kind, index)`` with kind ``'cpu'``/``'gpu'`` (or a backend's own word).

    ``ValueError`` naming what is accepted when ``device`` is nothing lucid knows.
    """
    owner = owner_of(device, devices_only=True)
    if owner is not None:
        return owner.parse_device(device)
    parsed = parse_device_string(device)
    if parsed is None:
        msg = f"unknown device {device!r}; accepted: {DEVICE_CHOICES}"
        raise ValueError(msg)
    return parsed


def resolve_device(backend: str, device: DeviceLike) -> Any:
    """The native device object of ``backend`` for a ``DeviceLike`` (``None`` stays ``None``).

    Raises ``ValueError`` for unknown devices and for devices this machine lacks.

    >>> resolve_device("numpy", "cpu")
    'cpu'
    """
    if device is None:
        return None
    target = get(backend)
    owner = owner_of(device, devices_only=True)
    if owner is target:
        return target.native_device(device)
    kind, index = parse_device(device)
    if kind in ("cpu", "gpu"):
        return target.device(kind, index, device)
    raise ValueError(unavailable(device, backend))


def device_label(device: Any) -> str:
    """A short, backend-neutral word for a native device, e.g. ``'cpu'``, usable as ``device=``."""
    if device is None:
        return "cpu"
    try:
        kind, index = parse_device(device)
    except ValueError:
        return str(device)
    if kind == "gpu":
        return "cuda" if index is None else f"cuda:{index}"
    return kind


# --- conversion between backends -------------------------------------------------------


def _backend_of(x: Array) -> Any:
    backend = of(x)
    if backend is None:
        msg = f"expected an array of {BACKENDS}, got {type(x).__module__}.{type(x).__name__}"
        raise TypeError(msg)
    return backend


def to_numpy(x: Array) -> np.ndarray:
    """``x`` as a NumPy array (a copy when it lives elsewhere)."""
    backend = of(x)
    return np.asarray(x) if backend is None else backend.to_numpy(x)


def from_numpy(array: np.ndarray, backend: str, device: Any = None, dtype: Any = None) -> Array:
    """A new array of ``backend`` holding ``array``'s values (native device and dtype).

    On JAX the array is concrete even inside ``jax.jit`` tracing.
    """
    return get(backend).from_numpy(array, device, dtype)


def fresh_copy(x: Array) -> Array:
    """A copy of a mutable array (JAX arrays are immutable and returned as they are)."""
    return _backend_of(x).copy(x)


def copied(
    value: Array,
    backend: str | None = None,
    device: Any = None,
    dtype: Any = None,
    *,
    like: Array | None = None,
) -> Array:
    """``value`` converted (to ``like``'s backend, device and dtype when given), never aliased.

    The result never shares memory with the caller's (mutable) array.
    """
    if like is not None:
        owner = _backend_of(like)
        backend, device, dtype = owner.name, owner.device_of(like), like.dtype
    new = convert(value, backend, device, dtype)
    return fresh_copy(new) if new is value else new


def convert(
    x: Array, backend: str | None = None, device: DeviceLike = None, dtype: DTypeLike = None
) -> Array:
    """``x`` moved to ``backend`` (default: its own), ``device`` and ``dtype``.

    >>> convert(np.ones(2, dtype=np.float64), dtype="float32").dtype
    dtype('float32')
    """
    source = _backend_of(x)
    target = source if backend is None else get(backend)
    xp = target.namespace()
    native_device = resolve_device(target.name, device)
    native_dtype = None if dtype is None else resolve_dtype(xp, dtype)
    if target is source:
        y = x
        if native_dtype is not None and y.dtype != native_dtype:
            y = xp.astype(y, native_dtype)
        if native_device is not None:
            y = target.place(y, native_device)
        return y
    values = source.to_numpy(x)
    if native_dtype is None:
        native_dtype = resolve_dtype(xp, values.dtype)
    return target.from_numpy(values, native_device, native_dtype)
