"""The deterministic configuration grids the conformance suite runs.

A :class:`Case` is one call of ``conv_transpose{1,2,3}d``: array shapes plus
hyper-parameters.  The 2-d grid is a covering design rather than a Cartesian product:

* its core enumerates **every valid (stride, dilation, output_padding) combination of
  both spatial dimensions jointly** (stride and dilation 1..3, output_padding smaller
  than stride or dilation: 22 triples per dimension, 484 pairs);
* every other axis (kernel size, padding, groups, channels, bias, batch, input size)
  is drawn from a seeded :class:`random.Random`, redrawing until the output is
  non-empty, so each value of each axis and each pair of the small axes occurs
  (``test_grid.py`` asserts it);
* ``output_size`` cases (spatial and full-rank, with a non-zero ``output_padding``
  that they must override) and a few hand-picked edge cases complete it.

Hyper-parameters equal in every dimension are passed as a plain int, the others
as tuples, so both spellings are exercised.  Nothing here imports an array library.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = [
    "AXES_2D",
    "Case",
    "chunks",
    "gradient_grid_2d",
    "grid_1d",
    "grid_2d",
    "grid_3d",
    "output_spatial",
    "valid_dimension_triples",
]

STRIDES = (1, 2, 3)
DILATIONS = (1, 2, 3)
KERNELS = (1, 2, 3, 4, 5)
PADDINGS = (0, 1, 2)
GROUPS = (1, 2, 4)
BATCHES = (None, 0, 1, 3)  # None: one unbatched sample, (C, *spatial)
INPUT_SIZES = (1, 2, 3, 4, 5, 7)  # one pixel, even and odd sizes
CHANNELS_PER_GROUP = (1, 2, 3)
OUTPUT_SIZE_MODES = ("none", "spatial", "full")


@dataclass(frozen=True)
class Case:
    """One transposed-convolution call, described without any array library."""

    batch: int | None
    groups: int
    in_per_group: int
    out_per_group: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    bias: bool
    output_size_mode: str = "none"  # "none", "spatial" or "full" (batch/channel dims too)
    # The extra rows wanted when output_size is given (0 <= extra < stride per dim).
    output_size_extra: tuple[int, ...] = field(default=())
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
        return (self.in_channels, self.out_per_group, *self.kernel_size)

    @property
    def bias_shape(self) -> tuple[int, ...] | None:
        return (self.out_channels,) if self.bias else None

    @property
    def effective_output_padding(self) -> tuple[int, ...]:
        """What ``output_size`` (when given) or ``output_padding`` adds at the high end."""
        return self.output_size_extra if self.output_size_mode != "none" else self.output_padding

    @property
    def output_spatial(self) -> tuple[int, ...]:
        """The spatial output size by torch's documented formula."""
        return output_spatial(
            self.input_size,
            self.kernel_size,
            self.stride,
            self.padding,
            self.effective_output_padding,
            self.dilation,
        )

    @property
    def output_shape(self) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return (*lead, self.out_channels, *self.output_spatial)

    @property
    def output_size(self) -> tuple[int, ...] | list[int] | None:
        """The ``output_size`` argument: spatial or the full output shape, or None."""
        if self.output_size_mode == "none":
            return None
        if self.output_size_mode == "spatial":
            return list(self.output_spatial)  # a list, to check any sequence is accepted
        return self.output_shape

    def kwargs(self) -> dict[str, object]:
        """Keyword arguments shared by lucid and ``torch.nn.functional`` (no output_size)."""
        return {
            "stride": _spelled(self.stride),
            "padding": _spelled(self.padding),
            "output_padding": _spelled(self.output_padding),
            "groups": self.groups,
            "dilation": _spelled(self.dilation),
        }

    def __str__(self) -> str:
        batch = "unbatched" if self.batch is None else f"N={self.batch}"
        text = (
            f"{batch} C={self.in_channels}->{self.out_channels} g={self.groups} "
            f"in={self.input_size} k={self.kernel_size} s={self.stride} p={self.padding} "
            f"op={self.output_padding} d={self.dilation} bias={self.bias}"
        )
        if self.output_size_mode != "none":
            text += f" output_size={self.output_size}"
        return text


def output_spatial(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    output_padding: Sequence[int],
    dilation: Sequence[int],
) -> tuple[int, ...]:
    """``(in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1`` per dim."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(
            input_size, kernel_size, stride, padding, output_padding, dilation
        )
    )


def valid_dimension_triples() -> list[tuple[int, int, int]]:
    """Every ``(stride, dilation, output_padding)`` torch accepts in one dimension."""
    return [(s, d, op) for s in STRIDES for d in DILATIONS for op in range(max(s, d))]


def _spelled(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else values


def _draw_case(
    rng: random.Random,
    triples: Sequence[tuple[int, int, int]],
    *,
    kernels: Sequence[int] = KERNELS,
    input_sizes: Sequence[int] = INPUT_SIZES,
    groups: Sequence[int] = GROUPS,
    output_size_mode: str = "none",
    seed: int,
) -> Case:
    """A random case with the given per-dimension (stride, dilation, output_padding).

    Redraws kernel, padding and input size until the output is non-empty.
    """
    stride = tuple(t[0] for t in triples)
    dilation = tuple(t[1] for t in triples)
    output_padding = tuple(t[2] for t in triples)
    batch = rng.choice(BATCHES)
    g = rng.choice(groups)
    in_per_group = rng.choice(CHANNELS_PER_GROUP)
    out_per_group = rng.choice(CHANNELS_PER_GROUP)
    bias = rng.random() < 0.5
    while True:
        kernel = tuple(rng.choice(kernels) for _ in triples)
        padding = tuple(rng.choice(PADDINGS) for _ in triples)
        size = tuple(rng.choice(input_sizes) for _ in triples)
        extra = tuple(rng.randrange(s) for s in stride) if output_size_mode != "none" else ()
        case = Case(
            batch,
            g,
            in_per_group,
            out_per_group,
            size,
            kernel,
            stride,
            padding,
            output_padding,
            dilation,
            bias,
            output_size_mode,
            extra,
            seed,
        )
        # With output_size, torch also needs the size without any extra rows positive.
        smallest = output_spatial(size, kernel, stride, padding, (0,) * len(triples), dilation)
        usable = output_size_mode == "none" or all(n > 0 for n in smallest)
        if usable and all(n > 0 for n in case.output_spatial):
            return case


def _edge_cases_2d() -> list[Case]:
    """Hand-picked corners: 1x1 everything, maximal crops, depthwise, empty batch."""
    one = (1, 1)
    return [
        # a 1x1 kernel on a 1-pixel input: the output is the input times a matrix
        Case(1, 1, 1, 1, one, one, one, (0, 0), (0, 0), one, True),
        # stride 3 on a 1-pixel input with output_padding from dilation only
        Case(3, 2, 1, 2, one, one, (1, 3), (0, 0), (2, 2), (3, 3), False),
        # padding crops all but a single output pixel
        Case(1, 1, 2, 2, one, (3, 3), one, one, (0, 0), one, True, seed=1),
        Case(1, 1, 2, 2, (1, 1), (5, 5), (3, 3), (2, 2), (0, 0), one, True, seed=2),
        # depthwise: one channel per group
        Case(3, 4, 1, 1, (5, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), True, seed=3),
        # empty batch with output_size
        Case(0, 2, 2, 3, (3, 4), (2, 3), (2, 2), (1, 1), (0, 0), (1, 1), True, "full", (1, 0)),
        # unbatched with full-rank output_size (C_out, H, W)
        Case(None, 2, 1, 2, (4, 3), (3, 3), (3, 2), (1, 0), (0, 0), (2, 1), False, "full", (2, 1)),
        # output_size that overrides a non-zero output_padding coming from dilation
        Case(1, 1, 2, 2, (3, 3), (3, 3), (2, 1), (0, 0), (2, 2), (3, 3), True, "spatial", (1, 0)),
        # the largest strides, dilations and kernels at once
        Case(1, 1, 2, 2, (7, 7), (5, 5), (3, 3), (2, 2), (2, 2), (3, 3), True, seed=4),
    ]


def grid_2d(seed: int = 20240501) -> tuple[Case, ...]:
    """The conformance grid for ``conv_transpose2d`` (~540 cases, see the module doc)."""
    rng = random.Random(seed)
    triples = valid_dimension_triples()
    cases = [
        _draw_case(rng, pair, seed=i) for i, pair in enumerate(itertools.product(triples, triples))
    ]
    for i in range(60):
        mode = OUTPUT_SIZE_MODES[1 + i % 2]
        pair = (rng.choice(triples), rng.choice(triples))
        cases.append(_draw_case(rng, pair, output_size_mode=mode, seed=1000 + i))
    cases.extend(_edge_cases_2d())
    return tuple(cases)


def gradient_grid_2d() -> tuple[Case, ...]:
    """A deterministic ~70-case subset of :func:`grid_2d` for gradient checks."""
    grid = grid_2d()
    return grid[::9] + grid[-len(_edge_cases_2d()) :]


def grid_1d(seed: int = 7) -> tuple[Case, ...]:
    """Every valid 1-d (stride, dilation, output_padding), three times over (66 cases)."""
    rng = random.Random(seed)
    cases = [
        _draw_case(rng, (triple,), seed=i) for i, triple in enumerate(valid_dimension_triples() * 3)
    ]
    for i, case in enumerate(cases[::11]):  # some output_size cases too
        cases.append(_with_output_size(case, rng, OUTPUT_SIZE_MODES[1 + i % 2]))
    return tuple(cases)


def grid_3d(seed: int = 11) -> tuple[Case, ...]:
    """60 random 3-d cases over every valid per-dim triple, small sizes for speed."""
    rng = random.Random(seed)
    triples = valid_dimension_triples()
    order = triples * 3
    rng.shuffle(order)
    cases = []
    for i in range(60):
        dims = (order[i], order[(i + 20) % len(order)], order[(i + 40) % len(order)])
        mode = OUTPUT_SIZE_MODES[1 + (i // 10) % 2] if i % 10 == 0 else "none"
        cases.append(
            _draw_case(
                rng,
                dims,
                kernels=(1, 2, 3),
                input_sizes=(1, 2, 3, 4),
                groups=(1, 2),
                output_size_mode=mode,
                seed=i,
            )
        )
    return tuple(cases)


def _with_output_size(case: Case, rng: random.Random, mode: str) -> Case:
    extra = tuple(rng.randrange(s) for s in case.stride)
    return Case(
        case.batch,
        case.groups,
        case.in_per_group,
        case.out_per_group,
        case.input_size,
        case.kernel_size,
        case.stride,
        case.padding,
        case.output_padding,
        case.dilation,
        case.bias,
        mode,
        extra,
        case.seed + 500,
    )


def chunks(cases: Sequence[Case], size: int) -> Iterator[tuple[Case, ...]]:
    """``cases`` in consecutive runs of ``size`` (the last one may be shorter)."""
    for start in range(0, len(cases), size):
        yield tuple(cases[start : start + size])


#: Per axis, the values the 2-d grid must contain; test_grid.py checks coverage.
AXES_2D: dict[str, tuple[object, ...]] = {
    "kernel_h": KERNELS,
    "kernel_w": KERNELS,
    "stride_h": STRIDES,
    "stride_w": STRIDES,
    "padding_h": PADDINGS,
    "padding_w": PADDINGS,
    "dilation_h": DILATIONS,
    "dilation_w": DILATIONS,
    "groups": GROUPS,
    "bias": (False, True),
    "batch": BATCHES,
    "input_h": INPUT_SIZES,
    "input_w": INPUT_SIZES,
    "in_per_group": CHANNELS_PER_GROUP,
    "out_per_group": CHANNELS_PER_GROUP,
    "output_size_mode": OUTPUT_SIZE_MODES,
}


def axis_value(case: Case, axis: str) -> object:
    """The value ``case`` has on ``axis`` (a key of :data:`AXES_2D`)."""
    if axis.endswith(("_h", "_w")):
        name, dim = axis[:-2], 0 if axis.endswith("_h") else 1
        attribute = {"kernel": "kernel_size", "input": "input_size"}.get(name, name)
        return getattr(case, attribute)[dim]
    return getattr(case, axis)
