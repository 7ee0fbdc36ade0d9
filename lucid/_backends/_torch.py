"""PyTorch: devices, in-place loads and fills, and parameters that ``torch.optim`` trains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np

from .._typing import Array
from ._base import ArrayBackend, imported

__all__ = ["TorchBackend"]


class TorchBackend(ArrayBackend):
    name = "torch"
    module = "torch"
    distribution = "torch"
    differentiable = True
    dtype_prefix = "torch."
    native_convolutions = True

    def native_conv_transpose(self, ndim: int) -> Callable[..., Any] | None:
        import torch

        return getattr(torch.nn.functional, f"conv_transpose{ndim}d")

    def is_array(self, x: Any) -> bool:
        return bool(array_api_compat.is_torch_array(x))

    def is_namespace(self, xp: Any) -> bool:
        return bool(array_api_compat.is_torch_namespace(xp))

    def namespace(self) -> Any:
        import array_api_compat.torch as xp_torch

        return xp_torch

    def owns_device(self, device: object) -> bool:
        if not imported("torch"):
            return False
        import torch

        return isinstance(device, torch.device)

    def owns_dtype(self, dtype: object) -> bool:
        if not imported("torch"):
            return False
        import torch

        return isinstance(dtype, torch.dtype)

    def parse_device(self, device: Any) -> tuple[str, int | None]:
        return ("gpu" if device.type == "cuda" else device.type), device.index

    def device(self, kind: str, index: int | None, given: object) -> Any:
        import torch

        if kind == "cpu":
            return torch.device("cpu")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index is None and count:
            return torch.device("cuda")
        if index is not None and index < count:
            return torch.device("cuda", index)
        msg = f"device={given!r} is not available: torch sees {count} CUDA device(s); use 'cpu'"
        raise ValueError(msg)

    def to_numpy(self, x: Array) -> np.ndarray:
        return x.detach().cpu().resolve_conj().numpy()

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        import torch

        return torch.tensor(array, dtype=dtype, device=device)

    def copy(self, x: Array) -> Array:
        return x.detach().clone()

    def fill(self, array: Array, values: np.ndarray) -> Array:
        import torch

        with torch.no_grad():
            array.copy_(torch.from_numpy(values))
        return array

    def as_parameter(self, x: Array) -> Array:
        import torch

        if isinstance(x, torch.nn.Parameter):
            return x
        return torch.nn.Parameter(x.detach(), requires_grad=bool(x.is_floating_point()))

    def detach(self, x: Array) -> Array:
        return x.detach()

    def writes_in_place(self, *arrays: Array) -> bool:
        return not any(_is_batched(a) for a in arrays)

    def cond(self, pred: Array, if_true: Callable[[], Any], if_false: Callable[[], Any]) -> Any:
        import torch

        if _is_batched(pred):
            # Under torch.func.vmap over the weights (an ensemble) each member picks its own
            # branch, and bool() of a batched tensor is an error: compute both and select.
            return torch.where(pred, if_true(), if_false())
        if not torch.compiler.is_compiling():
            return super().cond(pred, if_true, if_false)
        # bool() of a traced tensor is a graph break: the compiled graph branches itself.
        # Its branches must agree on strides, and a formulation may return a cropped view.
        return torch.cond(pred, lambda: if_true().contiguous(), lambda: if_false().contiguous())

    def custom_grad(
        self, forward: Any, backward: Any, x: Array, weight: Array, bias: Array | None
    ) -> Any:
        import torch

        wants_grad = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (x, weight, bias)
        )
        if not wants_grad:  # inference: skip the Function's bookkeeping
            return forward(x, weight, bias)
        from ._torch_grad import CustomGradFunction

        return CustomGradFunction.apply(x, weight, bias, forward, backward)

    def run_uncompiled(self, fn: Callable[[], Any]) -> Any:
        # Where torch.compile falls back to running a frame eagerly, it still offers every
        # Python function that frame calls to the compiler: a lazy model's first call
        # compiled its initialisation's functions one by one: 7 graphs in 15.1 s, against
        # 1 in 4.1 s (BENCHMARKS.md, "torch.compile: the plan cache and ``sys.modules``").
        import torch

        return torch.compiler.disable(fn)()

    def compiling(self) -> bool:
        import torch

        return bool(torch.compiler.is_compiling())

    def inference(self) -> Any:
        import torch

        return torch.no_grad()

    def copy_into(self, target: Array, values: Array) -> bool:
        import torch

        with torch.no_grad():
            target.copy_(values)
        return True


def _is_batched(x: Any) -> bool:
    """Whether ``x`` is a ``torch.func.vmap`` batched tensor (functorch's own test)."""
    import torch

    is_batched = getattr(torch._C._functorch, "is_batchedtensor", None)
    return bool(is_batched is not None and is_batched(x))
