"""``torch.autocast`` for lucid's convolutions: the dtype torch's own would compute in.

Under autocast, torch casts the floating inputs of its convolutions (float64 excepted)
to the autocast dtype and returns that dtype.  Inside lucid only the GEMMs would be
autocast, and adding a float32 bias would bring the result back to float32; so the op
casts its arrays first, as torch does.  Other libraries have no autocast.
"""

from __future__ import annotations

from typing import Any

from .._backends._base import imported

__all__ = ["autocast_arrays"]


def autocast_arrays(input: Any, weight: Any, bias: Any | None) -> tuple[Any, Any, Any | None]:
    """The arrays as torch's convolutions see them under an active ``torch.autocast``."""
    if not imported("torch"):
        return input, weight, bias
    import torch

    if not isinstance(input, torch.Tensor):
        return input, weight, bias
    device_type = input.device.type
    if not torch.is_autocast_enabled(device_type):
        return input, weight, bias
    dtype = torch.get_autocast_dtype(device_type)

    def cast(t: Any) -> Any:
        eligible = isinstance(t, torch.Tensor) and t.is_floating_point()
        return t.to(dtype) if eligible and t.dtype != torch.float64 else t

    return cast(input), cast(weight), cast(bias)
