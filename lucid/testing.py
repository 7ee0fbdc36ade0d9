"""Test support shared by ``tests/``, ``conformance/`` and ``benchmarks/``.

A :class:`Backend` wraps one array library: its Array API namespace and the two
conversions every test needs (from NumPy, back to NumPy).  Backends are loaded on
request only, so importing this module imports no framework.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backends
from ._backends import ArrayBackend

__all__ = ["BACKEND_NAMES", "Backend", "assert_close", "available_backends", "load_backend"]

#: Every backend lucid is tested on, in the order the test matrix reports them.
BACKEND_NAMES = ("numpy", "array_api_strict", "torch", "jax")


@dataclass(frozen=True)
class Backend:
    """One array library under test (a view of :class:`lucid._backends.ArrayBackend`)."""

    name: str
    xp: Any
    library: ArrayBackend
    differentiable: bool = False

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """``a`` (NumPy data or a Python scalar/list) as this backend's array.

        ``ValueError`` rather than a silent truncation when the backend cannot hold the
        dtype (JAX without 64-bit mode: the test configuration turns it on).
        """
        array = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
        if array.dtype.kind in "biufc":
            self.library.check_dtype(array.dtype.name)
        return self.library.from_numpy(array)

    def to_numpy(self, a: Any) -> np.ndarray:
        """This backend's array ``a`` as a NumPy array (a copy when needed)."""
        return self.library.to_numpy(a)

    def dtype(self, name: str) -> Any:
        """This backend's dtype object called ``name`` (e.g. ``'float32'``)."""
        return getattr(self.xp, name)

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


def available_backends() -> tuple[str, ...]:
    """The names in :data:`BACKEND_NAMES` whose library is installed."""
    return tuple(n for n in BACKEND_NAMES if _backends.get(n, checked=False).is_installed())


@functools.cache
def load_backend(name: str) -> Backend:
    """Import backend ``name`` and describe it.  JAX's 64-bit mode is left as it is."""
    if name not in BACKEND_NAMES:
        msg = f"unknown backend {name!r}; expected one of {BACKEND_NAMES}"
        raise ValueError(msg)
    library = _backends.get(name)
    return Backend(name, library.namespace(), library, library.differentiable)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    backend: Backend | None = None,
    dtype: str | None = None,
    rtol: float | None = None,
) -> None:
    """Check ``max|actual - expected| / max|expected| <= rtol``, and the shape.

    ``expected`` is NumPy data (the reference, usually computed by torch in float64).
    When ``backend`` is given, ``actual`` must be an array of its namespace; when
    ``dtype`` is given (e.g. ``'float32'``), ``actual`` must have that dtype.
    The default tolerance is 1e-5 for float32 and 1e-12 for float64.
    """
    if backend is not None:
        import array_api_compat

        namespace = array_api_compat.array_namespace(actual)
        assert namespace is backend.xp, f"result is {type(actual)}, not a {backend.name} array"
        got = backend.to_numpy(actual)
    else:
        got = np.asarray(actual)
    want = np.asarray(expected)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), f"dtype {got.dtype} != expected {dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    if rtol is None:
        rtol = 1e-5 if got.dtype == np.float32 else 1e-12
    if want.size == 0:
        return
    scale = float(np.max(np.abs(want)))
    error = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    assert error <= rtol * max(scale, np.finfo(np.float64).tiny), (
        f"max|actual - expected| = {error:.3e} exceeds {rtol:g} * max|expected| ({scale:.3e})"
    )
