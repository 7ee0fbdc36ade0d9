"""Backends: which array library lucid creates arrays with, and how devices and dtypes are named.

A *backend* is one array library, named ``'numpy'``, ``'jax'``, ``'torch'`` or
``'array_api_strict'``.  Arrays passed in by the caller decide the namespace of every
operation; the *default* backend is only used when lucid has to create arrays from
nothing (``lucid.zeros``, an eager ``ConvTranspose2d``).  It is NumPy unless chosen with
:func:`set_default_backend`, the :func:`default_backend` context manager or the
``LUCID_BACKEND`` environment variable (checked in that order, most local first).

No framework is imported here until the caller hands lucid one of its arrays or asks
for it by name.

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

import contextlib
import contextvars
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import array_api_compat
import numpy as np

from ._typing import Array, DeviceLike, DTypeLike

__all__ = [
    "BACKENDS",
    "backend_of",
    "convert",
    "default_backend",
    "dtype_name",
    "get_default_backend",
    "namespace",
    "resolve_device",
    "resolve_dtype",
    "set_default_backend",
    "to_numpy",
]

#: Every backend lucid knows, in the order they are reported.
BACKENDS = ("numpy", "jax", "torch", "array_api_strict")

#: The dtype names accepted as ``DTypeLike`` strings (not every backend has all of them).
DTYPE_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

_X64_NAMES = ("int64", "uint64", "float64", "complex128")

#: The default floating dtype of arrays lucid creates (torch's default, on every backend).
DEFAULT_FLOAT = "float32"

_DEVICE_STRINGS = "None, 'cpu', 'cuda', 'cuda:N', 'gpu', 'gpu:N' or a backend's device object"
_ENV = "LUCID_BACKEND"

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lucid_default_backend", default=None
)
_global_default: str | None = None

# Called once, the first time lucid sees JAX in use (lucid.nn registers its pytrees here).
_jax_hooks: list[Callable[[], None]] = []
_jax_hooks_ran = False


def _run_jax_hooks() -> None:
    global _jax_hooks_ran
    if _jax_hooks_ran:
        return
    _jax_hooks_ran = True
    for hook in _jax_hooks:
        hook()


def on_jax(hook: Callable[[], None]) -> None:
    """Run ``hook`` once JAX is in use (immediately if it is already imported).

    When JAX is not imported yet, a one-shot import hook runs ``hook`` right after
    ``import jax`` completes, so lucid never imports JAX itself.
    """
    _jax_hooks.append(hook)
    if _jax_hooks_ran or "jax" in sys.modules:
        hook()
    elif not any(isinstance(f, _JaxImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _JaxImportHook())


class _JaxImportHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of ``jax`` to run lucid's hooks after it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "jax":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from recursing
        spec = importlib.util.find_spec("jax")
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _run_jax_hooks()

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def check_backend(name: object, what: str = "backend") -> str:
    """``name`` if it names an installed backend; ``ValueError`` listing the choices otherwise."""
    if not isinstance(name, str) or name not in BACKENDS:
        msg = f"{what} must be one of {BACKENDS}, got {name!r}"
        raise ValueError(msg)
    if name != "numpy" and importlib.util.find_spec(name) is None:
        installed = tuple(b for b in BACKENDS if importlib.util.find_spec(b) is not None)
        msg = (
            f"{what} {name!r} is not installed (pip install {name.replace('_', '-')}); "
            f"installed backends: {installed}"
        )
        raise ValueError(msg)
    return name


def namespace(name: str) -> Any:
    """The Array API namespace of backend ``name``, importing the library on first use.

    >>> namespace("numpy").__name__
    'array_api_compat.numpy'
    """
    check_backend(name)
    if name == "numpy":
        import array_api_compat.numpy as xp_numpy

        return xp_numpy
    if name == "torch":
        import array_api_compat.torch as xp_torch

        return xp_torch
    if name == "jax":
        import jax.numpy as jnp

        _run_jax_hooks()
        return jnp
    import array_api_strict

    return array_api_strict


def backend_of(x: Any) -> str | None:
    """The backend name of array ``x``, or ``None`` when it is not a known array.

    >>> backend_of(np.zeros(2)), backend_of([1.0])
    ('numpy', None)
    """
    if array_api_compat.is_numpy_array(x):
        return "numpy"
    if array_api_compat.is_torch_array(x):
        return "torch"
    if array_api_compat.is_jax_array(x):
        _run_jax_hooks()
        return "jax"
    if type(x).__module__.startswith("array_api_strict") and hasattr(x, "__array_namespace__"):
        return "array_api_strict"
    return None


def namespace_name(xp: Any) -> str | None:
    """The backend name of namespace ``xp``, or ``None`` for a namespace lucid does not name."""
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_torch_namespace(xp):
        return "torch"
    if array_api_compat.is_jax_namespace(xp):
        return "jax"
    if array_api_compat.is_array_api_strict_namespace(xp):
        return "array_api_strict"
    return None


# --- the default backend ---------------------------------------------------------------


def get_default_backend() -> str:
    """The backend lucid creates arrays with when none is given.

    Returns
    -------
    str
        The innermost :func:`default_backend` context, else the last
        :func:`set_default_backend`, else ``$LUCID_BACKEND``, else ``'numpy'``.

    Examples
    --------
    >>> import lucid
    >>> with lucid.default_backend("numpy"):
    ...     lucid.get_default_backend()
    'numpy'
    """
    name = _override.get()
    if name is not None:
        return name
    if _global_default is not None:
        return _global_default
    env = os.environ.get(_ENV, "").strip()
    if env:
        return check_backend(env, what=f"the {_ENV} environment variable")
    return "numpy"


def set_default_backend(name: str | None) -> None:
    """Make ``name`` the default backend of this process (``None`` restores the default).

    Parameters
    ----------
    name : {'numpy', 'jax', 'torch', 'array_api_strict'} or None
        ``None`` falls back to ``$LUCID_BACKEND``, then NumPy.

    Raises
    ------
    ValueError
        An unknown or uninstalled backend; the message lists what is accepted.

    Examples
    --------
    >>> import lucid
    >>> lucid.set_default_backend("numpy")
    >>> type(lucid.zeros(1)).__name__
    'ndarray'
    >>> lucid.set_default_backend(None)
    """
    global _global_default
    _global_default = None if name is None else check_backend(name)
    if name == "jax" and "jax" in sys.modules:
        _run_jax_hooks()


@contextlib.contextmanager
def default_backend(name: str) -> Iterator[str]:
    """Use backend ``name`` as the default inside a ``with`` block (this thread/context only).

    Examples
    --------
    >>> import lucid
    >>> with lucid.default_backend("numpy") as name:
    ...     name
    'numpy'
    """
    token = _override.set(check_backend(name))
    try:
        yield name
    finally:
        _override.reset(token)


# --- dtypes ----------------------------------------------------------------------------


def dtype_name(dtype: object) -> str:
    """The canonical name of a ``DTypeLike`` (not ``None``), e.g. ``'float32'``.

    Accepts names and the dtype objects of NumPy, JAX, PyTorch and array-api-strict.

    >>> dtype_name("float64"), dtype_name(np.float32)
    ('float64', 'float32')
    """
    if isinstance(dtype, str):
        name = dtype
    else:
        text = str(dtype)
        for prefix in ("torch.", "array_api_strict."):
            if text.startswith(prefix):
                name = text[len(prefix) :]
                break
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
    if name in _X64_NAMES and array_api_compat.is_jax_namespace(xp):
        import jax

        if not jax.config.read("jax_enable_x64"):
            msg = (
                f"dtype {name!r} on JAX needs 64-bit mode: call "
                "jax.config.update('jax_enable_x64', True) first (JAX would truncate it)"
            )
            raise ValueError(msg)
    found = getattr(xp, name, None)
    if found is None:
        have = tuple(n for n in DTYPE_NAMES if hasattr(xp, n))
        msg = f"dtype {name!r} is not available in {xp.__name__}; it has {have}"
        raise ValueError(msg)
    return found


# --- devices ---------------------------------------------------------------------------


def _native_backend_of_device(device: object) -> str | None:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(device, torch.device):
        return "torch"
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(device, jax.Device):
        return "jax"
    strict = sys.modules.get("array_api_strict")
    if strict is not None and isinstance(device, strict.Device):
        return "array_api_strict"
    return None


def native_backend_of(obj: object) -> str | None:
    """The backend that a device or dtype *object* belongs to unambiguously, else ``None``.

    NumPy dtypes are shared by NumPy and JAX, so they name no backend.
    """
    native = _native_backend_of_device(obj)
    if native is not None:
        return native
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.dtype):
        return "torch"
    if type(obj).__module__.startswith("array_api_strict"):
        return "array_api_strict"
    return None


def _parse_device(device: object) -> tuple[str, int | None]:
    """``(kind, index)`` with kind ``'cpu'``/``'gpu'``, or the native type string."""
    native = _native_backend_of_device(device)
    if native == "torch":
        kind = device.type  # type: ignore[attr-defined]
        return ("gpu" if kind == "cuda" else kind), device.index  # type: ignore[attr-defined]
    if native == "jax":
        kind = device.platform  # type: ignore[attr-defined]
        return ("gpu" if kind in ("gpu", "cuda", "rocm") else kind), device.id  # type: ignore[attr-defined]
    if native == "array_api_strict":
        return ("cpu", None) if str(device).endswith("'CPU_DEVICE')") else (str(device), None)
    if isinstance(device, str):
        text = device.strip().lower()
        kind, colon, index = text.partition(":")
        if kind in ("cpu", "cuda", "gpu") and (index.isdigit() if colon else True):
            return ("cpu" if kind == "cpu" else "gpu"), (int(index) if index else None)
    msg = f"unknown device {device!r}; accepted: {_DEVICE_STRINGS}"
    raise ValueError(msg)


def resolve_device(backend: str, device: DeviceLike) -> Any:
    """The native device object of ``backend`` for a ``DeviceLike`` (``None`` stays ``None``).

    Raises ``ValueError`` for unknown devices and for devices this machine lacks.

    >>> resolve_device("numpy", "cpu")
    'cpu'
    """
    if device is None:
        return None
    if _native_backend_of_device(device) == backend:
        return device
    kind, index = _parse_device(device)
    if kind == "cpu":
        if backend == "numpy":
            return "cpu"
        if backend == "torch":
            import torch

            return torch.device("cpu")
        if backend == "jax":
            import jax

            return jax.devices("cpu")[0]
        if backend == "array_api_strict":
            import array_api_strict

            return array_api_strict.Device("CPU_DEVICE")
    where = f"device={device!r}"
    if kind == "gpu" and backend == "torch":
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index is None and count:
            return torch.device("cuda")
        if index is not None and index < count:
            return torch.device("cuda", index)
        msg = f"{where} is not available: torch sees {count} CUDA device(s); use 'cpu'"
        raise ValueError(msg)
    if kind == "gpu" and backend == "jax":
        import jax

        try:
            gpus = jax.devices("gpu")
        except RuntimeError:
            gpus = []
        if gpus and (index or 0) < len(gpus):
            return gpus[index or 0]
        msg = f"{where} is not available: jax sees {len(gpus)} GPU device(s); use 'cpu'"
        raise ValueError(msg)
    if backend == "numpy":
        msg = (
            f"{where} is not available with backend 'numpy', whose arrays live on the CPU; "
            "use 'cpu' or backend 'torch'/'jax'"
        )
        raise ValueError(msg)
    msg = f"{where} is not available with backend {backend!r}; accepted: {_DEVICE_STRINGS}"
    raise ValueError(msg)


def device_label(device: Any) -> str:
    """A short, backend-neutral description of a native device, e.g. ``'cpu'``."""
    if device is None:
        return "cpu"
    try:
        kind, index = _parse_device(device)
    except ValueError:
        return str(device)
    if kind == "gpu":
        return "cuda" if index is None else f"cuda:{index}"
    return kind


# --- conversion between backends -------------------------------------------------------


def to_numpy(x: Array) -> np.ndarray:
    """``x`` as a NumPy array (a copy when it lives elsewhere)."""
    name = backend_of(x)
    if name == "numpy":
        return x
    if name == "torch":
        return x.detach().cpu().resolve_conj().numpy()
    if name == "array_api_strict":
        return np.from_dlpack(x)
    return np.asarray(x)


def _compile_time_eval() -> contextlib.AbstractContextManager[Any]:
    jax = sys.modules.get("jax")
    return jax.ensure_compile_time_eval() if jax is not None else contextlib.nullcontext()


def from_numpy(array: np.ndarray, backend: str, device: Any = None, dtype: Any = None) -> Array:
    """A new array of ``backend`` holding ``array``'s values (native device and dtype).

    On JAX the array is concrete even inside ``jax.jit`` tracing.
    """
    xp = namespace(backend)
    if backend == "numpy":
        return np.array(array, dtype=dtype, copy=True)
    if backend == "jax":
        with _compile_time_eval():
            return xp.asarray(array, dtype=dtype, device=device)
    if backend == "torch":
        import torch

        return torch.tensor(array, dtype=dtype, device=device)
    return xp.asarray(array, dtype=dtype, device=device, copy=True)


def fresh_copy(x: Array) -> Array:
    """A copy of a mutable array (JAX arrays are immutable and returned as they are)."""
    name = backend_of(x)
    if name == "numpy":
        return np.array(x, copy=True)
    if name == "torch":
        return x.detach().clone()
    if name == "array_api_strict":
        return namespace(name).asarray(x, copy=True)
    return x


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
        backend, device, dtype = backend_of(like), array_api_compat.device(like), like.dtype
    new = convert(value, backend, device, dtype)
    return fresh_copy(new) if new is value else new


def convert(
    x: Array, backend: str | None = None, device: DeviceLike = None, dtype: DTypeLike = None
) -> Array:
    """``x`` moved to ``backend`` (default: its own), ``device`` and ``dtype``.

    >>> convert(np.ones(2, dtype=np.float64), dtype="float32").dtype
    dtype('float32')
    """
    source = backend_of(x)
    if source is None:
        msg = f"expected an array of {BACKENDS}, got {type(x).__module__}.{type(x).__name__}"
        raise TypeError(msg)
    target = source if backend is None else check_backend(backend)
    xp = namespace(target)
    native_device = resolve_device(target, device)
    native_dtype = None if dtype is None else resolve_dtype(xp, dtype)
    if target == source:
        y = x
        if native_dtype is not None and y.dtype != native_dtype:
            y = xp.astype(y, native_dtype)
        if native_device is not None and array_api_compat.device(y) != native_device:
            y = array_api_compat.to_device(y, native_device)
        return y
    values = to_numpy(x)
    if native_dtype is None:
        native_dtype = resolve_dtype(xp, values.dtype)
    return from_numpy(values, target, native_device, native_dtype)
