"""One convolution layer as plain data: what ``python -m lucid tune`` times.

A :class:`Case` can be sent to a subprocess or stored with its timings as JSON; the
benchmark suite in ``benchmarks/`` describes its layers with it too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Case"]


@dataclass(frozen=True)
class Case:
    """One layer: ``op`` on input ``(n, c_in, *size)`` with a cubic kernel.

    ``op`` names the function in both :mod:`lucid.ops` and ``torch.nn.functional``.
    """

    name: str
    n: int
    c_in: int
    c_out: int
    size: tuple[int, ...]
    kernel: int
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    groups: int = 1
    dilation: int = 1
    op: str = "conv_transpose2d"

    @property
    def transposed(self) -> bool:
        return self.op.startswith("conv_transpose")

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by lucid's and ``torch.nn.functional``'s ``op``."""
        common = {
            "stride": self.stride,
            "padding": self.padding,
            "groups": self.groups,
            "dilation": self.dilation,
        }
        return {**common, "output_padding": self.output_padding} if self.transposed else common

    @property
    def weight_shape(self) -> tuple[int, ...]:
        kernel = (self.kernel,) * len(self.size)
        if self.transposed:
            return (self.c_in, self.c_out // self.groups, *kernel)
        return (self.c_out, self.c_in // self.groups, *kernel)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.n, self.c_in, *self.size)

    @property
    def output_size(self) -> tuple[int, ...]:
        """Spatial output size (torch's formulas).

        >>> Case("down", 1, 3, 8, (9,), 3, stride=2, padding=1, op="conv1d").output_size
        (5,)
        """
        span = self.dilation * (self.kernel - 1)
        if self.transposed:
            return tuple(
                (n - 1) * self.stride - 2 * self.padding + span + self.output_padding + 1
                for n in self.size
            )
        return tuple((n + 2 * self.padding - span - 1) // self.stride + 1 for n in self.size)

    def flops(self) -> float:
        """Multiply-adds x 2 of the forward pass.

        A transposed convolution meets every tap at every *input* pixel, a forward one
        at every *output* pixel.

        >>> Case("vae", 4, 128, 64, (8, 8), 4, 2, 1).flops() / 1e6
        67.108864
        """
        pixels = math.prod(self.size if self.transposed else self.output_size)
        per_pixel = self.c_in * self.c_out // self.groups * self.kernel ** len(self.size)
        return 2.0 * self.n * pixels * per_pixel

    def describe(self) -> str:
        """A compact label, e.g. ``'N4 128->64 8x8 k4 s2 p1'``."""
        size = "x".join(str(n) for n in self.size)
        parts = [] if self.op == "conv_transpose2d" else [self.op]
        parts.append(f"N{self.n} {self.c_in}->{self.c_out} {size} k{self.kernel}")
        for flag, value, default in (
            ("s", self.stride, 1),
            ("p", self.padding, 0),
            ("op", self.output_padding, 0),
            ("g", self.groups, 1),
            ("d", self.dilation, 1),
        ):
            if value != default:
                parts.append(f"{flag}{value}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        return cls(**{**data, "size": tuple(data["size"])})
