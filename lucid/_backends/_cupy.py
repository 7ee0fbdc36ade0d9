"""CuPy: NumPy-like arrays on CUDA GPUs (``'cuda:N'``), filled in place.

Only detected once the caller has imported ``cupy``; lucid never imports it first.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend, imported

__all__ = ["CupyBackend"]


class CupyBackend(ArrayBackend):
    name = "cupy"
    module = "cupy"
    distribution = "cupy-cuda12x"

    def is_array(self, x: Any) -> bool:
        return bool(array_api_compat.is_cupy_array(x))

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_cupy_namespace(xp))

    def namespace(self) -> Any:
        import array_api_compat.cupy as xp_cupy

        return xp_cupy

    def owns_device(self, device: object) -> bool:
        if not imported("cupy"):
            return False
        import cupy

        return isinstance(device, cupy.cuda.Device)

    def parse_device(self, device: Any) -> tuple[str, int | None]:
        return "gpu", int(device.id)

    def device(self, kind: str, index: int | None, given: object) -> Any:
        if kind == "cpu":
            msg = (
                f"device={given!r} is not available with backend 'cupy', whose arrays live "
                "on CUDA GPUs; use 'cuda' or 'cuda:N', or backend 'numpy' for the CPU"
            )
            raise ValueError(msg)
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        if index is None and count:
            return cupy.cuda.Device()
        if index is not None and index < count:
            return cupy.cuda.Device(index)
        msg = f"device={given!r} is not available: CuPy sees {count} CUDA device(s)"
        raise ValueError(msg)

    def cpu_device(self) -> Any:
        return self.device("cpu", None, "cpu")

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x.get())

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        import cupy

        with device if device is not None else cupy.cuda.Device():
            return cupy.array(array, dtype=dtype, copy=True)

    def copy(self, x: Array) -> Array:
        return x.copy()

    def fill(self, array: Array, values: np.ndarray) -> Array:
        array.set(np.ascontiguousarray(values, dtype=array.dtype))
        return array
