"""Dask: lazy, chunked NumPy arrays on the CPU; conversions compute them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend

__all__ = ["DaskBackend"]


class DaskBackend(ArrayBackend):
    name = "dask"
    module = "dask"
    distribution = "dask[array]"
    out_of_core = True
    block_backend = "numpy"

    def is_array(self, x: Any) -> bool:
        return bool(array_api_compat.is_dask_array(x))

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_dask_namespace(xp))

    def namespace(self) -> Any:
        import array_api_compat.dask.array as xp_dask

        return xp_dask

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x.compute())

    def to_numpy_all(self, arrays: Sequence[Array]) -> list[np.ndarray]:
        import dask

        return [np.asarray(x) for x in dask.compute(*arrays)]

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        import dask.array

        return dask.array.from_array(np.array(array, dtype=dtype, copy=True))

    def copy(self, x: Array) -> Array:
        return x.copy()
