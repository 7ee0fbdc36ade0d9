"""NumPy: always present, arrays on the CPU, filled in place."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend

__all__ = ["NumpyBackend"]


class NumpyBackend(ArrayBackend):
    name = "numpy"
    module = "numpy"
    distribution = "numpy"

    def is_array(self, x: Any) -> bool:
        return bool(array_api_compat.is_numpy_array(x))

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_numpy_namespace(xp))

    def namespace(self) -> Any:
        import array_api_compat.numpy as xp_numpy

        return xp_numpy

    def device(self, kind: str, index: int | None, given: object) -> Any:
        if kind == "cpu":
            return "cpu"
        msg = (
            f"device={given!r} is not available with backend 'numpy', whose arrays live on "
            "the CPU; use 'cpu' or backend 'torch'/'jax'"
        )
        raise ValueError(msg)

    def to_numpy(self, x: Array) -> np.ndarray:
        return x

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        return np.array(array, dtype=dtype, copy=True)

    def copy(self, x: Array) -> Array:
        return np.array(x, copy=True)

    def fill(self, array: Array, values: np.ndarray) -> Array:
        array[...] = values
        return array
