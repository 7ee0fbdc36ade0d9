"""Helpers for the lucid.nn tests: torch references computed from the same parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from lucid._backend import to_numpy

torch = __import__("pytest").importorskip("torch")


def numpy_state(module: Any) -> dict[str, np.ndarray]:
    """A lucid module's state dict as NumPy arrays (copied)."""
    return {k: np.array(to_numpy(v)) for k, v in module.state_dict().items()}


def torch_conv_transpose(ndim: int, in_channels: int, out_channels: int, **config: Any) -> Any:
    """A float64 ``torch.nn.ConvTranspose{ndim}d``."""
    cls = getattr(torch.nn, f"ConvTranspose{ndim}d")
    return cls(in_channels, out_channels, **config).double()


def torch_output(module: Any, x: np.ndarray, **kwargs: Any) -> np.ndarray:
    """``module(x)`` in float64 torch, as NumPy."""
    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(x, dtype=np.float64)), **kwargs).numpy()


def load_into_torch(module: Any, state: dict[str, np.ndarray]) -> Any:
    module.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in state.items()})
    return module
