"""Resampling: ``interpolate`` (nearest and (bi/tri)linear) and the pixel shuffles.

The source positions and weights depend only on sizes, so they are computed once on
the host, with torch's formulas (``nearest``: ``floor(dst * scale)``; linear:
``(dst + 0.5) * scale - 0.5`` clamped at 0, or ``dst * (in - 1) / (out - 1)`` with
``align_corners``), and applied with ``take`` and a blend along one axis at a time.
Only standard operations touch the data, so this runs under ``jax.jit`` and both
autodiffs on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from .._backend import namespace_name
from ._checks import require_arrays
from ._plans import compiled_when_eager
from ._traits import take_in_bounds, traits
from .activation import _floating

__all__ = ["interpolate", "interpolate_output_size", "pixel_shuffle", "pixel_unshuffle"]

#: mode -> the input rank it needs (None: any of 3, 4, 5).
MODES = {"nearest": None, "linear": 3, "bilinear": 4, "trilinear": 5}


def _sizes(value: object, name: str, ndim: int, kind: type) -> tuple[Any, ...]:
    items = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else None
    if items is None:
        items = (value,) * ndim
    if len(items) != ndim or any(
        isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int) or v <= 0
        for v in items
    ):
        kind_name = "positive numbers" if kind is float else "positive ints"
        msg = (
            f"{name} must be {kind_name.rstrip('s')} or a sequence of {ndim} {kind_name} for "
            f"a {ndim + 2}-D input, got {value!r}"
        )
        raise ValueError(msg)
    return items


def check_interpolate_options(
    size: object, scale_factor: object, mode: object, align_corners: object
) -> None:
    """Validate what does not depend on the input (for modules, at construction)."""
    if not (isinstance(mode, str) and mode in MODES):
        msg = f"mode must be one of {tuple(MODES)}, got {mode!r}"
        raise ValueError(msg)
    if (size is None) == (scale_factor is None):
        msg = (
            "exactly one of size and scale_factor must be given, got "
            f"size={size!r}, scale_factor={scale_factor!r}"
        )
        raise ValueError(msg)
    if align_corners is not None and not isinstance(align_corners, bool):
        msg = f"align_corners must be a bool or None, got {align_corners!r}"
        raise TypeError(msg)
    if align_corners is not None and mode == "nearest":
        msg = (
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | trilinear"
        )
        raise ValueError(msg)


def interpolate_output_size(
    input_size: Sequence[int], size: object = None, scale_factor: object = None
) -> tuple[int, ...]:
    """The spatial output size of :func:`interpolate` (``floor(in * scale_factor)``).

    >>> interpolate_output_size((5, 4), scale_factor=1.5)
    (7, 6)
    """
    n = len(input_size)
    if size is not None:
        return tuple(int(s) for s in _sizes(size, "size", n, int))
    scales = _sizes(scale_factor, "scale_factor", n, float)
    return tuple(math.floor(float(i) * float(s)) for i, s in zip(input_size, scales))


def _scale(in_size: int, out_size: int, scale: float | None, align_corners: bool) -> float:
    """torch's ``area_pixel_compute_scale``: source step per output step."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _nearest_index(in_size: int, out_size: int, scale: float | None) -> np.ndarray:
    step = np.float32(1.0 / scale if scale is not None and scale > 0 else in_size / out_size)
    positions = np.floor(np.arange(out_size, dtype=np.float32) * step).astype(np.int64)
    return np.minimum(positions, in_size - 1)


def _linear_weights(
    in_size: int, out_size: int, scale: float | None, align_corners: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    step = _scale(in_size, out_size, scale, align_corners)
    dst = np.arange(out_size, dtype=np.float64)
    src = dst * step if align_corners else np.maximum((dst + 0.5) * step - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, src - low


@compiled_when_eager
def interpolate(
    input: Any,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Any:
    """Resize ``(N, C, *spatial)`` to ``size`` or by ``scale_factor``: torch's ``F.interpolate``.

    Parameters
    ----------
    input : array of 3, 4 or 5 dimensions
    size : int or sequence of ints, optional
    scale_factor : float or sequence of floats, optional
        Exactly one of ``size`` and ``scale_factor``.  With ``scale_factor`` the output
        size is ``floor(in * scale_factor)`` and, as in torch, the given factor (not
        ``in / out``) maps positions unless ``recompute_scale_factor=True``.
    mode : {'nearest', 'linear', 'bilinear', 'trilinear'}
        The linear modes need a 3-, 4- and 5-D input respectively.
    align_corners : bool, optional
        Linear modes only (default False): map the corner pixels' centres onto each other.
    recompute_scale_factor : bool, optional

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0]]])
    >>> interpolate(x, scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    >>> interpolate(x, size=3, mode="linear", align_corners=True).tolist()
    [[[1.0, 1.5, 2.0]]]
    """
    check_interpolate_options(size, scale_factor, mode, align_corners)
    if recompute_scale_factor is not None and not isinstance(recompute_scale_factor, bool):
        msg = f"recompute_scale_factor must be a bool or None, got {recompute_scale_factor!r}"
        raise TypeError(msg)
    xp = _floating(input, "interpolate")
    wanted = MODES[mode]
    if input.ndim not in (3, 4, 5) or (wanted is not None and input.ndim != wanted):
        need = "3-, 4- or 5-D" if wanted is None else f"{wanted}-D"
        msg = (
            f"interpolate with mode={mode!r} expects a {need} input (N, C, *spatial), got "
            f"shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    spatial = tuple(int(s) for s in input.shape[2:])
    out = interpolate_output_size(spatial, size, scale_factor)
    if scale_factor is not None and not recompute_scale_factor:
        scales: tuple[float | None, ...] = tuple(
            float(s) for s in _sizes(scale_factor, "scale_factor", len(spatial), float)
        )
    else:
        scales = (None,) * len(spatial)
    device = array_api_compat.device(input)
    known = traits(namespace_name(xp))
    y = input
    for axis, (n_in, n_out, scale) in enumerate(zip(spatial, out, scales), start=2):
        if mode == "nearest":
            if n_in != n_out:
                index = xp.asarray(_nearest_index(n_in, n_out, scale), device=device)
                y = take_in_bounds(xp, y, index, axis, known)
            continue
        low, high, frac = _linear_weights(n_in, n_out, scale, bool(align_corners))
        shape = [1] * y.ndim
        shape[axis] = n_out
        weight = xp.reshape(xp.asarray(frac, dtype=y.dtype, device=device), tuple(shape))
        below = take_in_bounds(xp, y, xp.asarray(low, device=device), axis, known)
        above = take_in_bounds(xp, y, xp.asarray(high, device=device), axis, known)
        y = below + (above - below) * weight
    return y


def check_factor(value: object, name: str) -> int:
    """``value`` if it is a positive int; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        msg = f"{name} must be a positive int, got {value!r}"
        raise ValueError(msg)
    return value


@compiled_when_eager
def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    """``(*, C * r**2, H, W) -> (*, C, H * r, W * r)``: torch's ``F.pixel_shuffle``.

    Examples
    --------
    >>> import numpy as np
    >>> pixel_shuffle(np.arange(4.0).reshape(1, 4, 1, 1), 2)[0, 0].tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    r = check_factor(upscale_factor, "upscale_factor")
    require_arrays(input=input)
    xp = array_api_compat.array_namespace(input)
    if input.ndim < 3 or int(input.shape[-3]) % (r * r):
        msg = (
            f"pixel_shuffle expects an input (*, C * upscale_factor**2, H, W) with at least 3 "
            f"dimensions and channels divisible by {r * r}, got shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    *lead, c, h, w = (int(s) for s in input.shape)
    k = len(lead)
    y = xp.reshape(input, (*lead, c // (r * r), r, r, h, w))
    y = xp.permute_dims(y, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return xp.reshape(y, (*lead, c // (r * r), h * r, w * r))


@compiled_when_eager
def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:
    """``(*, C, H * r, W * r) -> (*, C * r**2, H, W)``: torch's ``F.pixel_unshuffle``.

    Examples
    --------
    >>> import numpy as np
    >>> pixel_unshuffle(np.arange(4.0).reshape(1, 1, 2, 2), 2).ravel().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    r = check_factor(downscale_factor, "downscale_factor")
    require_arrays(input=input)
    xp = array_api_compat.array_namespace(input)
    if input.ndim < 3 or int(input.shape[-1]) % r or int(input.shape[-2]) % r:
        msg = (
            f"pixel_unshuffle expects an input (*, C, H, W) with at least 3 dimensions and H "
            f"and W divisible by downscale_factor={r}, got shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    *lead, c, h, w = (int(s) for s in input.shape)
    k = len(lead)
    y = xp.reshape(input, (*lead, c, h // r, r, w // r, r))
    y = xp.permute_dims(y, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return xp.reshape(y, (*lead, c * r * r, h // r, w // r))
