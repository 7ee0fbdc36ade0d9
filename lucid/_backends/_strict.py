"""array-api-strict: the standard and nothing else, which proves lucid needs nothing more."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend, imported

__all__ = ["StrictBackend"]


class StrictBackend(ArrayBackend):
    name = "array_api_strict"
    module = "array_api_strict"
    distribution = "array-api-strict"
    dtype_prefix = "array_api_strict."

    def is_array(self, x: Any) -> bool:
        # No string methods on the type's module name: torch.compile cannot trace them,
        # and every backend is asked about a scalar argument (a momentum).
        return hasattr(x, "__array_namespace__") and self.is_namespace(x.__array_namespace__())

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_array_api_strict_namespace(xp))

    def namespace(self) -> Any:
        import array_api_strict

        return array_api_strict

    def owns_device(self, device: object) -> bool:
        if not imported("array_api_strict"):
            return False
        import array_api_strict

        return isinstance(device, array_api_strict.Device)

    def owns_dtype(self, dtype: object) -> bool:
        return type(dtype).__module__.startswith("array_api_strict")

    def parse_device(self, device: Any) -> tuple[str, int | None]:
        return ("cpu", None) if str(device).endswith("'CPU_DEVICE')") else (str(device), None)

    def cpu_device(self) -> Any:
        import array_api_strict

        return array_api_strict.Device("CPU_DEVICE")

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.from_dlpack(x)
