"""Where arrays live, in words, and the check that an input sits where a module's parameters do."""

from __future__ import annotations

from typing import Any

from .._backends import backend_of, device_label, dtype_name, of
from .._typing import Array

__all__ = ["check_input_placement", "describe_placement", "dtype_label", "is_tracer"]


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a placeholder of a trace (a JAX tracer), whose device is unknown."""
    owner = of(x)
    return owner is not None and owner.is_tracer(x)


def dtype_label(dtype: Any) -> str:
    """The canonical name of ``dtype`` when lucid knows it, else its ``str``."""
    try:
        return dtype_name(dtype)
    except ValueError:
        return str(dtype)


def describe_placement(x: Array) -> str:
    """E.g. ``'torch (float32, cpu)'``: where an array lives."""
    name = backend_of(x) or f"{type(x).__module__}.{type(x).__name__}"
    dtype = dtype_label(x.dtype)
    owner = of(x)
    if owner is None or owner.is_tracer(x):
        return f"{name} ({dtype})"
    return f"{name} ({dtype}, {device_label(owner.device_of(x))})"


def check_input_placement(module: Any, x: Any, param: Array) -> None:
    """``TypeError`` unless ``x`` shares ``param``'s namespace, device and dtype.

    The message says where the parameters live and which ``.to(...)`` call moves them.
    """
    source = backend_of(x)
    if source is None:
        msg = (
            f"{type(module).__name__} expects an array of an Array API library, got "
            f"{type(x).__module__}.{type(x).__name__}"
        )
        raise TypeError(msg)
    target = backend_of(param)
    owner = of(x)
    if owner is not None and target == owner.block_backend:
        source = target  # NumPy weights compute beside a Dask input, block by block
    fixes: list[str] = []
    if source != target:
        fixes.append(repr(source))
        same_dtype = dtype_label(x.dtype) == dtype_label(param.dtype)
    else:
        same_dtype = x.dtype == param.dtype
    if not same_dtype:
        fixes.append(f"dtype={dtype_label(x.dtype)!r}")
    comparable = source == target and not (is_tracer(x) or is_tracer(param))
    comparable = comparable and (owner is None or not owner.out_of_core)
    if owner is not None and comparable and not owner.same_place(x, param):
        label = device_label(owner.device_of(x))
        fixes.append(f"device={owner.device_hint(x, label)}")
    if fixes:
        msg = (
            f"{type(module).__name__}'s parameters live in {describe_placement(param)} but the "
            f"input is {describe_placement(x)}; move the module with "
            f".to({', '.join(fixes)}) or convert the input (lucid.asarray(x, ...))"
        )
        raise TypeError(msg)
