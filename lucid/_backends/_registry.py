"""The backends lucid knows, and how an array, namespace, device or dtype finds its own.

Detection asks only the libraries the caller has imported already (einops' rule), so
looking at an array never imports a framework.
"""

from __future__ import annotations

from typing import Any

from ._base import ArrayBackend
from ._cupy import CupyBackend
from ._dask import DaskBackend
from ._jax import JaxBackend
from ._numpy import NumpyBackend
from ._strict import StrictBackend
from ._torch import TorchBackend

__all__ = ["ALL", "BACKENDS", "check_backend", "get", "installed", "of", "owner_of"]

#: One instance per library, in the order they are reported (and detected).
ALL: tuple[ArrayBackend, ...] = (
    NumpyBackend(),
    JaxBackend(),
    TorchBackend(),
    StrictBackend(),
    DaskBackend(),
    CupyBackend(),
)
_BY_NAME = {backend.name: backend for backend in ALL}

#: Every backend name lucid knows, in the order they are reported.
BACKENDS = tuple(_BY_NAME)


def installed() -> tuple[str, ...]:
    """The names of the backends whose library is installed."""
    return tuple(backend.name for backend in ALL if backend.is_installed())


def check_backend(name: object, what: str = "backend") -> str:
    """``name`` if it names an installed backend; ``ValueError`` listing the choices otherwise."""
    if not isinstance(name, str) or name not in _BY_NAME:
        msg = f"{what} must be one of {BACKENDS}, got {name!r}"
        raise ValueError(msg)
    backend = _BY_NAME[name]
    if not backend.is_installed():
        msg = (
            f"{what} {name!r} is not installed (pip install {backend.distribution}); "
            f"installed backends: {installed()}"
        )
        raise ValueError(msg)
    return name


def get(name: str, *, checked: bool = True) -> ArrayBackend:
    """The backend called ``name``: known and installed, or (``checked=False``) only known."""
    if checked:
        check_backend(name)
    elif name not in _BY_NAME:
        check_backend(name)  # the unknown-name message
    return _BY_NAME[name]


def of(x: Any) -> ArrayBackend | None:
    """The backend of array ``x``, or ``None`` when it is not an array lucid knows."""
    for backend in ALL:
        if backend.in_use() and backend.is_array(x):
            return backend
    return None


def of_namespace(xp: Any) -> ArrayBackend | None:
    """The backend of Array API namespace ``xp``, or ``None``."""
    for backend in ALL:
        if backend.in_use() and backend.is_namespace(xp):
            return backend
    return None


def owner_of(obj: object, *, devices_only: bool = False) -> ArrayBackend | None:
    """The backend a device (or, unless ``devices_only``, dtype) object belongs to, else ``None``.

    NumPy dtypes are shared by NumPy, JAX and Dask, so they name no backend.
    """
    for backend in ALL:
        if not backend.in_use():
            continue
        if backend.owns_device(obj) or (not devices_only and backend.owns_dtype(obj)):
            return backend
    return None
