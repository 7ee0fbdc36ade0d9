"""``Upsample``, ``PixelShuffle`` and ``PixelUnshuffle``: torch's modules over :mod:`lucid.ops`."""

from __future__ import annotations

from collections.abc import Sequence

from .. import ops
from .._typing import Array
from ..ops.resample import check_factor, check_interpolate_options
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "Upsample"]


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` (torch's ``nn.Upsample``).

    Parameters
    ----------
    size : int or tuple of ints, optional
    scale_factor : float or tuple of floats, optional
    mode : {'nearest', 'linear', 'bilinear', 'trilinear'}
    align_corners : bool, optional
    recompute_scale_factor : bool, optional

    See :func:`lucid.ops.interpolate`.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> up = nn.Upsample(scale_factor=2, mode="bilinear")
    >>> up(lucid.zeros(1, 3, 4, 5)).shape
    (1, 3, 8, 10)
    >>> up
    Upsample(scale_factor=2.0, mode='bilinear')
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        check_interpolate_options(size, scale_factor, mode, align_corners)
        self.size = size
        # torch stores the factor as float(s): it shows in the repr
        if isinstance(scale_factor, Sequence):
            self.scale_factor: float | tuple[float, ...] | None = tuple(
                float(f) for f in scale_factor
            )
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Array) -> Array:
        return ops.interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class PixelShuffle(Module):
    """``(*, C * r**2, H, W) -> (*, C, H * r, W * r)`` (torch's ``nn.PixelShuffle``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.PixelShuffle(3)(lucid.zeros(1, 9, 4, 4)).shape
    (1, 1, 12, 12)
    >>> nn.PixelShuffle(3)
    PixelShuffle(upscale_factor=3)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = check_factor(upscale_factor, "upscale_factor")

    def forward(self, x: Array) -> Array:
        return ops.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H * r, W * r) -> (*, C * r**2, H, W)`` (torch's ``nn.PixelUnshuffle``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.PixelUnshuffle(2)(lucid.zeros(1, 1, 4, 4)).shape
    (1, 4, 2, 2)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = check_factor(downscale_factor, "downscale_factor")

    def forward(self, x: Array) -> Array:
        return ops.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
