"""Making a module's arrays where the caller asked, and checking inputs against them.

Shared by the layers of this package that hold parameters or buffers (``Linear``, the
normalization layers): ``device=``/``dtype=`` as torch's factory keywords take them,
resolved against lucid's default backend, and the values drawn as float64 NumPy
arrays (from :mod:`lucid.random`) converted once.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from .. import random as _random
from .._backends import (
    backend_of,
    check_backend,
    dtype_name,
    from_numpy,
    get_default_backend,
    namespace,
    native_backend_of,
    parse_device,
    resolve_device,
    resolve_dtype,
)
from .._typing import Array, DeviceLike, DTypeLike
from . import init
from ._conv_base import _positive_int
from ._placement import check_input_placement

__all__ = [
    "arrays_from_numpy",
    "check_floating_input",
    "default_linear_init",
    "flag",
    "lazy_placement",
    "placement",
    "positive_int",
]

#: A positive int argument (``in_features``, ``num_groups``, ...), the check of the convolutions.
positive_int = _positive_int


def flag(value: object, name: str) -> bool:
    """``value`` if it is a bool; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, bool):
        msg = f"{name} must be a bool, got {type(value).__name__} {value!r}"
        raise TypeError(msg)
    return value


def placement(device: DeviceLike, dtype: DTypeLike) -> tuple[str, Any, Any]:
    """``(backend, native device, native real floating dtype)`` for new arrays."""
    name = native_backend_of(device) or native_backend_of(dtype) or get_default_backend()
    check_backend(name)
    xp = namespace(name)
    native_device = resolve_device(name, device)
    native_dtype = resolve_dtype(xp, dtype)
    if not xp.isdtype(native_dtype, "real floating"):
        msg = f"dtype must be a real floating dtype, got {dtype!r}"
        raise ValueError(msg)
    return name, native_device, native_dtype


def lazy_placement(
    device: DeviceLike, dtype: DTypeLike
) -> tuple[str | None, DeviceLike, DTypeLike] | None:
    """Check a lazy module's ``device``/``dtype``; what to remember (``None``: nothing)."""
    backend = native_backend_of(device) or native_backend_of(dtype)
    if device is not None and backend is not None:
        resolve_device(backend, device)
    elif device is not None:
        parse_device(device)
    if dtype is not None and not dtype_name(dtype).startswith(("float", "bfloat")):
        msg = f"dtype must be a real floating dtype, got {dtype!r}"
        raise ValueError(msg)
    if (backend, device, dtype) == (None, None, None):
        return None
    return backend, device, dtype


def arrays_from_numpy(
    values: dict[str, np.ndarray | None], backend: str, device: Any, dtype: Any
) -> dict[str, Array | None]:
    """Each NumPy value as a ``backend`` array (``None`` stays ``None``)."""
    return {
        name: None if value is None else from_numpy(value, backend, device, dtype)
        for name, value in values.items()
    }


def default_linear_init(
    out_features: int, in_features: int, bias: bool
) -> dict[str, np.ndarray | None]:
    """torch's ``Linear`` initialisation: weight, then bias, ``U(-1/sqrt(in), 1/sqrt(in))``.

    (``kaiming_uniform_(a=sqrt(5))`` on a ``(out, in)`` weight has exactly that bound.)
    """
    shape = (out_features, in_features)
    weight_bound = init.kaiming_uniform_bound(shape, a=math.sqrt(5))
    weight = _random.uniform(-weight_bound, weight_bound, shape)
    if not bias:
        return {"weight": weight, "bias": None}
    bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
    return {"weight": weight, "bias": _random.uniform(-bound, bound, (out_features,))}


def check_floating_input(module: Any, x: Any, like: Array | None) -> None:
    """``TypeError`` unless ``x`` is a real floating array placed like ``like`` (if any)."""
    if backend_of(x) is not None and not array_api_compat.array_namespace(x).isdtype(
        x.dtype, "real floating"
    ):
        msg = (
            f"{type(module).__name__} expects a real floating input (float32 or float64), "
            f"got dtype {x.dtype}; convert the input (lucid.asarray(x, dtype=...))"
        )
        raise TypeError(msg)
    if like is not None:
        check_input_placement(module, x, like)
    elif backend_of(x) is None:
        msg = (
            f"{type(module).__name__} expects an array of an Array API library, got "
            f"{type(x).__module__}.{type(x).__name__}"
        )
        raise TypeError(msg)
