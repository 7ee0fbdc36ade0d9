"""The fixed benchmark suite: realistic ``conv_transpose2d`` layers, float32.

A :class:`Case` is plain data, so the suite can be filtered by name on the command
line and sent to a memory-measuring subprocess as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MEMORY_CASE", "QUICK", "SUITE", "Case", "select"]


@dataclass(frozen=True)
class Case:
    """One transposed-convolution layer: input ``(n, c_in, *size)``, square kernel."""

    name: str
    n: int
    c_in: int
    c_out: int
    size: tuple[int, int]
    kernel: int
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    groups: int = 1
    dilation: int = 1

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by lucid and ``torch.nn.functional.conv_transpose2d``."""
        return {
            "stride": self.stride,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "groups": self.groups,
            "dilation": self.dilation,
        }

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.c_in, self.c_out // self.groups, self.kernel, self.kernel)

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.c_in, *self.size)

    @property
    def output_size(self) -> tuple[int, int]:
        """Spatial output size (torch's formula)."""
        h, w = (
            (n - 1) * self.stride
            - 2 * self.padding
            + self.dilation * (self.kernel - 1)
            + self.output_padding
            + 1
            for n in self.size
        )
        return h, w

    def flops(self) -> float:
        """Multiply-adds x 2 of the forward pass (every input pixel meets every tap).

        >>> Case("vae", 4, 128, 64, (8, 8), 4, 2, 1).flops() / 1e6
        67.108864
        """
        h, w = self.size
        per_pixel = self.c_in * (self.c_out // self.groups) * self.kernel**2
        return 2.0 * self.n * h * w * per_pixel

    def describe(self) -> str:
        """A compact label, e.g. ``'N4 128->64 8x8 k4 s2 p1'``."""
        parts = [
            f"N{self.n} {self.c_in}->{self.c_out} {self.size[0]}x{self.size[1]} k{self.kernel}"
        ]
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


#: The default suite, named after the layers they stand for.
SUITE: tuple[Case, ...] = (
    Case("vae", 4, 128, 64, (8, 8), 4, stride=2, padding=1),
    Case("dcgan", 64, 256, 128, (8, 8), 4, stride=2, padding=1),
    Case("unet", 8, 256, 128, (32, 32), 2, stride=2),
    Case("same", 8, 64, 64, (32, 32), 3, padding=1),
    Case("grouped", 8, 128, 128, (32, 32), 3, stride=2, padding=1, output_padding=1, groups=32),
    Case("dilated", 8, 64, 64, (32, 32), 3, padding=2, dilation=2),
    Case("large", 1, 64, 32, (128, 128), 4, stride=2, padding=1),
    Case("tiny", 1, 4, 4, (4, 4), 3),
)

#: ``--quick``: two cheap shapes, enough to show the harness works.
QUICK: tuple[Case, ...] = tuple(c for c in SUITE if c.name in ("vae", "tiny"))

#: ``--memory``: a large image whose full column buffer (16x the input) would be 2 GiB.
MEMORY_CASE = Case("memory", 1, 64, 32, (1024, 1024), 4, stride=2, padding=1)


def select(names: str | None, quick: bool) -> tuple[Case, ...]:
    """The cases named in the comma-separated ``names`` (default: the whole suite).

    >>> [c.name for c in select("tiny,vae", quick=False)]
    ['tiny', 'vae']
    """
    pool = QUICK if quick and names is None else SUITE
    if names is None:
        return pool
    by_name = {c.name: c for c in SUITE}
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in by_name]
    if unknown:
        msg = f"unknown shapes {unknown}; choose from {sorted(by_name)}"
        raise ValueError(msg)
    return tuple(by_name[n] for n in chosen)
