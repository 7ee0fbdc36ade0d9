"""Deterministic grids of forward-convolution cases (``conv{1,2,3}d``) for the conformance suite.

A :class:`ConvCase` is one call of ``conv{1,2,3}d``.  It has the attributes
:func:`conformance._reference.case_data` reads (``input_shape``, ``weight_shape``,
``bias_shape``, ``output_shape``, ``seed`` and a descriptive ``str``), so the data of a
forward case are made exactly as those of a transposed one, and
:func:`conformance._lucid.evaluate` runs it.

The 2-d grid is a covering design like the transposed grid:

* its core enumerates **every (stride, dilation) pair of both spatial dimensions
  jointly** (stride and dilation 1..3: 81 combinations), three times over with
  different draws, with numeric padding;
* ``'same'`` (stride 1, every dilation pair) and ``'valid'`` cases follow;
* every other axis (kernel size, padding, groups, channels, bias, batch, input size)
  is drawn from a seeded :class:`random.Random`, redrawing until the output is
  non-empty; :func:`axis_value` and :data:`AXES_2D` let a test assert each value occurs;
* hand-picked edge cases complete it.

The output size is computed by the formula of torch's documentation, independently
of lucid.  Nothing here imports an array library.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AXES_2D",
    "ConvCase",
    "axis_value",
    "conv_gradient_grid",
    "conv_grid_1d",
    "conv_grid_2d",
    "conv_grid_3d",
    "conv_output_spatial",
]

STRIDES = (1, 2, 3)
DILATIONS = (1, 2, 3)
KERNELS = (1, 2, 3, 4, 5)
PADDINGS = (0, 1, 2)
GROUPS = (1, 2, 4)
BATCHES = (None, 0, 1, 3)  # None: one unbatched sample, (C, *spatial)
INPUT_SIZES = (1, 2, 3, 4, 5, 7, 9)
CHANNELS_PER_GROUP = (1, 2, 3)
STRING_PADDINGS = ("same", "valid")


@dataclass(frozen=True)
class ConvCase:
    """One forward-convolution call, described without any array library."""

    batch: int | None
    groups: int
    in_per_group: int
    out_per_group: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    bias: bool
    seed: int = 0

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def in_channels(self) -> int:
        return self.groups * self.in_per_group

    @property
    def out_channels(self) -> int:
        return self.groups * self.out_per_group

    @property
    def input_shape(self) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return (*lead, self.in_channels, *self.input_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_per_group, *self.kernel_size)

    @property
    def bias_shape(self) -> tuple[int, ...] | None:
        return (self.out_channels,) if self.bias else None

    @property
    def output_spatial(self) -> tuple[int, ...]:
        return conv_output_spatial(
            self.input_size, self.kernel_size, self.stride, self.padding, self.dilation
        )

    @property
    def output_shape(self) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return (*lead, self.out_channels, *self.output_spatial)

    def kwargs(self) -> dict[str, object]:
        """Keyword arguments shared by lucid and ``torch.nn.functional.conv*d``."""
        return {
            "stride": _spelled(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else _spelled(self.padding),
            "dilation": _spelled(self.dilation),
            "groups": self.groups,
        }

    def module_kwargs(self) -> dict[str, object]:
        """Keyword arguments of ``Conv*d``/``LazyConv*d`` after the channel counts."""
        return {"kernel_size": self.kernel_size, **self.kwargs(), "bias": self.bias}

    def __str__(self) -> str:
        batch = "unbatched" if self.batch is None else f"N={self.batch}"
        padding = repr(self.padding) if isinstance(self.padding, str) else self.padding
        return (
            f"conv{self.ndim}d {batch} C={self.in_channels}->{self.out_channels} "
            f"g={self.groups} in={self.input_size} k={self.kernel_size} s={self.stride} "
            f"p={padding} d={self.dilation} bias={self.bias}"
        )


def conv_output_spatial(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int] | str,
    dilation: Sequence[int],
) -> tuple[int, ...]:
    """torch's documented size: ``(in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1``.

    ``'same'`` keeps ``in`` (stride 1 only), ``'valid'`` is padding 0.
    """
    if padding == "same":
        return tuple(input_size)
    pads = (0,) * len(input_size) if padding == "valid" else tuple(padding)
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(input_size, kernel_size, stride, pads, dilation)
    )


def _spelled(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else values


def _draw(
    rng: random.Random,
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    *,
    seed: int,
    padding_mode: str | None = None,
    kernels: Sequence[int] = KERNELS,
    input_sizes: Sequence[int] = INPUT_SIZES,
    groups: Sequence[int] = GROUPS,
) -> ConvCase:
    """A random case with the given stride and dilation; redraws until the output is non-empty.

    ``padding_mode`` is ``None`` (numeric padding) or ``'same'``/``'valid'``.
    """
    batch = rng.choice(BATCHES)
    g = rng.choice(groups)
    in_per_group = rng.choice(CHANNELS_PER_GROUP)
    out_per_group = rng.choice(CHANNELS_PER_GROUP)
    bias = rng.random() < 0.5
    while True:
        kernel = tuple(rng.choice(kernels) for _ in stride)
        size = tuple(rng.choice(input_sizes) for _ in stride)
        padding: tuple[int, ...] | str = (
            padding_mode
            if padding_mode is not None
            else tuple(rng.choice(PADDINGS) for _ in stride)
        )
        case = ConvCase(
            batch, g, in_per_group, out_per_group, size, kernel, stride, padding, dilation, bias,
            seed,
        )  # fmt: skip
        if all(n > 0 for n in case.output_spatial):
            return case


def _edge_cases_2d() -> list[ConvCase]:
    """Hand-picked corners: 1x1 everything, exact fits, depthwise, empty batch, 'same'."""
    one = (1, 1)
    return [
        # a 1x1 kernel on a 1-pixel input: the output is a matrix times the input
        ConvCase(1, 1, 1, 1, one, one, one, (0, 0), one, True, seed=1),
        # the dilated kernel exactly covers the padded input: a single output pixel
        ConvCase(2, 1, 2, 3, (5, 5), (3, 3), (3, 3), (2, 2), (3, 3), True, seed=2),
        # depthwise (one channel per group), non-square everything
        ConvCase(3, 4, 1, 1, (9, 7), (5, 2), (2, 3), (2, 1), (1, 2), False, seed=3),
        # empty batch
        ConvCase(0, 2, 2, 3, (4, 5), (2, 3), (2, 1), (1, 0), (1, 1), True, seed=4),
        # 'same' with an even kernel and dilation: uneven padding on both axes
        ConvCase(1, 1, 2, 2, (6, 5), (4, 2), one, "same", (3, 2), True, seed=5),
        # unbatched 'valid' with a kernel as large as the input
        ConvCase(None, 2, 3, 2, (5, 4), (5, 4), one, "valid", one, True, seed=6),
        # a stride larger than the kernel skips input pixels
        ConvCase(1, 1, 2, 2, (9, 9), (2, 1), (3, 3), (0, 0), one, True, seed=7),
    ]


def conv_grid_2d(seed: int = 20240607) -> tuple[ConvCase, ...]:
    """The conformance grid for ``conv2d`` (~310 cases, see the module docstring)."""
    rng = random.Random(seed)
    per_dim = list(itertools.product(STRIDES, DILATIONS))
    cases = []
    for repeat in range(3):
        for i, ((sh, dh), (sw, dw)) in enumerate(itertools.product(per_dim, per_dim)):
            cases.append(_draw(rng, (sh, sw), (dh, dw), seed=repeat * 100 + i))
    for i, dilation in enumerate(itertools.product(DILATIONS, DILATIONS)):
        for j in range(2):
            cases.append(_draw(rng, (1, 1), dilation, padding_mode="same", seed=1000 + 2 * i + j))
    for i in range(18):
        stride = (rng.choice(STRIDES), rng.choice(STRIDES))
        dilation = (rng.choice(DILATIONS), rng.choice(DILATIONS))
        cases.append(_draw(rng, stride, dilation, padding_mode="valid", seed=2000 + i))
    cases.extend(_edge_cases_2d())
    return tuple(cases)


def conv_grid_1d(seed: int = 5) -> tuple[ConvCase, ...]:
    """Every 1-d (stride, dilation) with numeric padding six times, plus 'same'/'valid' (66)."""
    rng = random.Random(seed)
    per_dim = list(itertools.product(STRIDES, DILATIONS))
    cases = [
        _draw(rng, (s,), (d,), seed=100 * repeat + i)
        for repeat in range(6)
        for i, (s, d) in enumerate(per_dim)
    ]
    cases += [_draw(rng, (1,), (d,), padding_mode="same", seed=900 + d) for d in DILATIONS * 2]
    cases += [
        _draw(rng, (s,), (d,), padding_mode="valid", seed=950 + 3 * s + d)
        for s, d in [(1, 1), (2, 3), (3, 2), (3, 1), (1, 3), (2, 2)]
    ]
    return tuple(cases)


def conv_grid_3d(seed: int = 13) -> tuple[ConvCase, ...]:
    """60 3-d cases: every per-dim (stride, dilation) in each axis, small sizes for speed."""
    rng = random.Random(seed)
    per_dim = list(itertools.product(STRIDES, DILATIONS))
    cases = []
    for i in range(54):
        dims = (per_dim[i % 9], per_dim[(i // 9 + i) % 9], per_dim[(i // 3 + 2 * i) % 9])
        cases.append(
            _draw(
                rng,
                tuple(s for s, _ in dims),
                tuple(d for _, d in dims),
                kernels=(1, 2, 3),
                input_sizes=(1, 2, 3, 4, 5),
                groups=(1, 2),
                seed=i,
            )
        )
    for i in range(3):
        dilation = (rng.choice(DILATIONS), rng.choice(DILATIONS), rng.choice(DILATIONS))
        cases.append(
            _draw(rng, (1, 1, 1), dilation, padding_mode="same", kernels=(1, 2, 3),
                  input_sizes=(1, 2, 3, 4), groups=(1, 2), seed=100 + i)
        )  # fmt: skip
        cases.append(
            _draw(rng, (2, 1, 3), (1, 1, 1), padding_mode="valid", kernels=(1, 2, 3),
                  input_sizes=(2, 3, 4, 5), groups=(1, 2), seed=200 + i)
        )  # fmt: skip
    return tuple(cases)


def conv_gradient_grid() -> tuple[ConvCase, ...]:
    """A deterministic subset of every grid for gradient checks (~60 cases)."""
    grid = conv_grid_2d()
    return grid[::8] + grid[-len(_edge_cases_2d()) :] + conv_grid_1d()[::6] + conv_grid_3d()[::6]


#: Per axis, the values the 2-d grid must contain (the tests check coverage).
AXES_2D: dict[str, tuple[object, ...]] = {
    "kernel_h": KERNELS,
    "kernel_w": KERNELS,
    "stride_h": STRIDES,
    "stride_w": STRIDES,
    "padding": (*PADDINGS, *STRING_PADDINGS),
    "dilation_h": DILATIONS,
    "dilation_w": DILATIONS,
    "groups": GROUPS,
    "bias": (False, True),
    "batch": BATCHES,
    "in_per_group": CHANNELS_PER_GROUP,
    "out_per_group": CHANNELS_PER_GROUP,
    "non_square_kernel": (False, True),
}


def axis_value(case: ConvCase, axis: str) -> object:
    """The value(s) ``case`` has on ``axis`` (a key of :data:`AXES_2D`), as a tuple."""
    if axis == "padding":
        return (case.padding,) if isinstance(case.padding, str) else case.padding
    if axis == "non_square_kernel":
        return (case.kernel_size[0] != case.kernel_size[1],)
    if axis.endswith(("_h", "_w")):
        name, dim = axis[:-2], 0 if axis.endswith("_h") else 1
        return (getattr(case, {"kernel": "kernel_size"}.get(name, name))[dim],)
    return (getattr(case, axis),)
