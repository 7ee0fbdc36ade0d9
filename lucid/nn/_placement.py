"""Where arrays live, in words, and the check that an input sits where a module's parameters do."""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat

from .._backend import backend_of, device_label, dtype_name
from .._typing import Array

__all__ = ["check_input_placement", "describe_placement", "dtype_label", "is_tracer"]


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a JAX tracer (its device is not known while tracing)."""
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.core.Tracer)


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
    if is_tracer(x):
        return f"{name} ({dtype})"
    return f"{name} ({dtype}, {device_label(array_api_compat.device(x))})"


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
    fixes = []
    if source != target:
        fixes.append(repr(source))
        same_dtype = dtype_label(x.dtype) == dtype_label(param.dtype)
    else:
        same_dtype = x.dtype == param.dtype
    if not same_dtype:
        fixes.append(f"dtype={dtype_label(x.dtype)!r}")
    if source == target and not (is_tracer(x) or is_tracer(param)):
        x_device = array_api_compat.device(x)
        if not _same_devices(x_device, array_api_compat.device(param)):
            fixes.append(f"device={device_label(x_device)!r}")
    if fixes:
        msg = (
            f"{type(module).__name__}'s parameters live in {describe_placement(param)} but the "
            f"input is {describe_placement(x)}; move the module with "
            f".to({', '.join(fixes)}) or convert the input (lucid.asarray(x, ...))"
        )
        raise TypeError(msg)


def _same_devices(a: Any, b: Any) -> bool:
    """Equal devices, or JAX shardings over one set of devices (data parallelism).

    A batch split over the devices its replicated parameters live on computes there.
    """
    if a == b:
        return True
    devices = getattr(a, "device_set", None)
    return devices is not None and devices == getattr(b, "device_set", None)
