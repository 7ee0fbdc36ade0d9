"""JAX: immutable arrays, devices and shardings, 64-bit mode, tracers, and first-use hooks.

lucid never imports JAX itself.  :func:`on_jax` runs a hook (``lucid.nn`` registers its
pytrees this way) as soon as JAX is in use: at once when it is imported already,
otherwise right after the caller's ``import jax`` completes.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend, imported

__all__ = ["JaxBackend", "on_jax"]

_X64_NAMES = ("int64", "uint64", "float64", "complex128")

_hooks: list[Callable[[], None]] = []
_hooks_ran = False


def _run_hooks() -> None:
    global _hooks_ran
    if _hooks_ran:
        return
    _hooks_ran = True
    for hook in _hooks:
        hook()


def on_jax(hook: Callable[[], None]) -> None:
    """Run ``hook`` once JAX is in use (immediately if it is already imported)."""
    _hooks.append(hook)
    if _hooks_ran or "jax" in sys.modules:
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
            _run_hooks()

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def _is_device_list(device: object, jax: Any) -> bool:
    return (
        isinstance(device, (list, tuple, set, frozenset))
        and len(device) > 0
        and all(isinstance(d, jax.Device) for d in device)
    )


class JaxBackend(ArrayBackend):
    name = "jax"
    module = "jax"
    distribution = "jax"
    differentiable = True
    native_convolutions = True
    compiler = "jax.jit"

    def is_array(self, x: Any) -> bool:
        if array_api_compat.is_jax_array(x):
            _run_hooks()
            return True
        return False

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_jax_namespace(xp))

    def namespace(self) -> Any:
        import jax.numpy as jnp

        _run_hooks()
        return jnp

    # --- devices and shardings ---------------------------------------------------------

    def owns_device(self, device: object) -> bool:
        if not imported("jax"):
            return False
        import jax

        return isinstance(device, (jax.Device, jax.sharding.Sharding)) or _is_device_list(
            device, jax
        )

    def native_device(self, device: Any) -> Any:
        """A device list becomes the sharding that replicates over those devices."""
        import jax

        if not _is_device_list(device, jax):
            return device
        ordered = sorted(device, key=lambda d: d.id)
        mesh = jax.sharding.Mesh(np.array(ordered), ("devices",))
        return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())

    def parse_device(self, device: Any) -> tuple[str, int | None]:
        import jax

        native: Any = self.native_device(device)
        if isinstance(native, jax.sharding.Sharding):
            devices: list[Any] = sorted(native.device_set, key=lambda d: d.id)
            if len(devices) != 1:
                return f"sharding over {len(devices)} {devices[0].platform} devices", None
            native = devices[0]
        kind: str = native.platform
        return ("gpu" if kind in ("gpu", "cuda", "rocm") else kind), int(native.id)

    def device(self, kind: str, index: int | None, given: object) -> Any:
        import jax

        if kind == "cpu":
            return jax.devices("cpu")[0]
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:
            gpus = []
        if gpus and (index or 0) < len(gpus):
            return gpus[index or 0]
        msg = f"device={given!r} is not available: jax sees {len(gpus)} GPU device(s); use 'cpu'"
        raise ValueError(msg)

    def device_of(self, x: Array) -> Any:
        sharding = getattr(x, "sharding", None)
        if sharding is not None and len(sharding.device_set) > 1:
            return sharding
        return array_api_compat.device(x)

    def place(self, x: Array, device: Any) -> Array:
        import jax

        if isinstance(device, jax.sharding.Sharding):
            if getattr(x, "sharding", None) == device:
                return x
        elif self.device_of(x) == device:
            return x
        return jax.device_put(x, device)

    def same_place(self, a: Array, b: Array) -> bool:
        # Shardings over the same devices meet in one computation (data parallelism).
        return bool(a.devices() == b.devices())

    def device_hint(self, x: Array, label: str) -> str:
        return "x.devices()" if len(x.devices()) > 1 else repr(label)

    def cond(self, pred: Array, if_true: Callable[[], Any], if_false: Callable[[], Any]) -> Any:
        if not self.is_tracer(pred):
            return super().cond(pred, if_true, if_false)
        import jax

        return jax.lax.cond(pred, if_true, if_false)

    def is_tracer(self, x: Any) -> bool:
        if not imported("jax"):
            return False
        import jax

        return isinstance(x, jax.core.Tracer)

    # --- dtypes and conversion ---------------------------------------------------------

    def check_dtype(self, name: str) -> None:
        import jax

        if name in _X64_NAMES and not jax.config.read("jax_enable_x64"):
            msg = (
                f"dtype {name!r} on JAX needs 64-bit mode: call "
                "jax.config.update('jax_enable_x64', True) first (JAX would truncate it)"
            )
            raise ValueError(msg)

    def concrete(self) -> contextlib.AbstractContextManager[Any]:
        import jax

        return jax.ensure_compile_time_eval()

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        # Concrete even inside jax.jit tracing, so a lazy module stays usable afterwards.
        import jax

        # jnp.asarray compiles and runs a program for every new shape: 12 ms against
        # 0.3 ms for device_put (BENCHMARKS.md, "The JAX test session's compilations").
        # device_put may alias the NumPy buffer or read it after returning, so it gets a
        # private copy that no caller can change.  Both give 64-bit data 32 bits outside
        # x64 mode.
        private = np.array(array, dtype=None if dtype is None else np.dtype(dtype), copy=True)
        with self.concrete():
            return jax.device_put(private, device)

    def copy(self, x: Array) -> Array:
        return x  # immutable

    def custom_grad(
        self, forward: Any, backward: Any, x: Array, weight: Array, bias: Array | None
    ) -> Any:
        """``forward`` under ``jax.custom_jvp``, with the backward's transpose as its tangent.

        The op is linear in ``bias`` and in each of ``x`` and ``weight``, so its tangent is
        ``vjpᵀ(dx, dweight, dbias)``: the transpose of the custom backward, which
        ``jax.linear_transpose`` derives from the backward's own slices and GEMMs.  Forward
        mode (``jax.jvp``, ``jax.jacfwd``, ``jax.linearize``) evaluates that tangent; reverse
        mode transposes it once more, which gives back exactly the backward's operations
        (same GEMMs, same windows), so ``jax.grad`` costs what a ``custom_vjp`` did.
        Symbolic zeros keep unused gradients (say, ``dweight`` under ``grad`` in ``x``
        only) out of the computation.
        """
        import jax
        from jax.custom_derivatives import SymbolicZero

        @jax.custom_jvp
        def op(x: Any, weight: Any, bias: Any) -> Any:
            return forward(x, weight, bias)

        def op_jvp(primals: tuple[Any, Any, Any], tangents: tuple[Any, Any, Any]) -> Any:
            x, weight, bias = primals
            y = forward(x, weight, bias)
            needs = tuple(t is not None and not isinstance(t, SymbolicZero) for t in tangents)
            if not any(needs):
                return y, jax.numpy.zeros_like(y)

            def vjp(gy: Any) -> tuple[Any, ...]:
                grads = backward(x, weight, gy, needs)
                return tuple(g for g, n in zip(grads, needs) if n)

            tangent = tuple(t for t, n in zip(tangents, needs) if n)
            (dy,) = jax.linear_transpose(vjp, jax.ShapeDtypeStruct(y.shape, y.dtype))(tangent)
            return y, dy

        op.defjvp(op_jvp, symbolic_zeros=True)
        return op(x, weight, bias)

    def compiled(self, fn: Any) -> Any:
        import jax

        return jax.jit(fn)

    def native_conv_transpose(self, ndim: int) -> Callable[..., Any] | None:
        from ._jax_native import jax_conv_transpose

        return jax_conv_transpose  # any ndim: XLA's convolution is n-dimensional
