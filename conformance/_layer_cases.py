"""The op cases of the layer conformance suite: lucid's function beside torch's.

Each :class:`OpCase` names a :mod:`lucid.ops` function and the
``torch.nn.functional`` function it must reproduce, the shapes of its array arguments
and its keyword arguments.  The data are float64 values exactly representable in
float32, so one float64 torch result is the reference of both precisions.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from lucid import ops

__all__ = ["OP_CASES", "OpCase", "case_arrays"]


@dataclass(frozen=True)
class OpCase:
    name: str
    lucid: Callable[..., Any]
    torch: Callable[..., Any]
    shapes: tuple[tuple[int, ...] | None, ...]  # one per positional array (None: absent)
    kwargs: dict[str, Any] = field(default_factory=dict)
    positive: tuple[int, ...] = ()  # positional arrays drawn positive (variances)
    #: positional arrays whose gradient is checked (default: every one present)
    differentiable: tuple[int, ...] | None = None
    scale: float = 1.0  # the input's spread: activations want their corners reached

    def __str__(self) -> str:
        options = "-".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}-{options}" if options else self.name

    def grad_args(self) -> tuple[int, ...]:
        if self.differentiable is not None:
            return self.differentiable
        return tuple(i for i, s in enumerate(self.shapes) if s is not None)


def case_arrays(case: OpCase) -> list[np.ndarray | None]:
    """The case's positional arrays, float32-exact float64 NumPy data seeded by the case."""
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    arrays: list[np.ndarray | None] = []
    for i, shape in enumerate(case.shapes):
        if shape is None:
            arrays.append(None)
            continue
        values = rng.standard_normal(shape) * (case.scale if i == 0 else 1.0)
        if i in case.positive:
            values = np.abs(values) + 0.5
        arrays.append(values.astype(np.float32).astype(np.float64))
    return arrays


def _torch_batch_norm(x, mean, var, w, b, **kw):
    # torch updates the running statistics in place: hand it copies
    mean = None if mean is None else mean.detach().clone()
    var = None if var is None else var.detach().clone()
    return functional.batch_norm(x, mean, var, w, b, **kw)


def _with_affine(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function(x, weight=w, bias=b, **kw)``: its second positional is a hyper-parameter."""

    def call(x: Any, w: Any, b: Any, **kw: Any) -> Any:
        return function(x, weight=w, bias=b, **kw)

    return call


def _lucid_stats(x, mean, var, **kw):
    return ops.batch_norm_stats(x, mean, var, **kw)


def _torch_stats(x, mean, var, momentum):
    mean, var = mean.detach().clone(), var.detach().clone()
    functional.batch_norm(x, mean, var, training=True, momentum=momentum)
    return mean, var


ACTIVATIONS = [
    OpCase("relu", ops.relu, functional.relu, ((3, 5, 4),), scale=3.0),
    OpCase(
        "leaky_relu", ops.leaky_relu, functional.leaky_relu, ((3, 5, 4),), {"negative_slope": 0.2}
    ),
    OpCase("sigmoid", ops.sigmoid, torch.sigmoid, ((3, 5, 4),), scale=10.0),
    OpCase("tanh", ops.tanh, torch.tanh, ((3, 5, 4),), scale=3.0),
    OpCase("silu", ops.silu, functional.silu, ((3, 5, 4),), scale=5.0),
    OpCase("gelu", ops.gelu, functional.gelu, ((4, 50, 10),), scale=4.0),
    OpCase("gelu", ops.gelu, functional.gelu, ((3, 5, 4),), {"approximate": "tanh"}, scale=4.0),
    OpCase("elu", ops.elu, functional.elu, ((3, 5, 4),), scale=3.0),
    OpCase("elu", ops.elu, functional.elu, ((3, 5, 4),), {"alpha": 0.5}, scale=3.0),
    OpCase("softplus", ops.softplus, functional.softplus, ((3, 5, 4),), scale=10.0),
    OpCase(
        "softplus",
        ops.softplus,
        functional.softplus,
        ((3, 5, 4),),
        {"beta": 2.0, "threshold": 5.0},
        scale=5.0,
    ),
    OpCase("hardtanh", ops.hardtanh, functional.hardtanh, ((3, 5, 4),), scale=2.0),
    OpCase(
        "hardtanh",
        ops.hardtanh,
        functional.hardtanh,
        ((3, 5, 4),),
        {"min_val": -0.5, "max_val": 2.0},
        scale=2.0,
    ),
    OpCase("relu6", ops.relu6, functional.relu6, ((3, 5, 4),), scale=8.0),
]

NORMS = [
    OpCase("linear", ops.linear, functional.linear, ((4, 7), (5, 7), (5,))),
    OpCase("linear", ops.linear, functional.linear, ((2, 3, 7), (5, 7), None)),
    OpCase("linear", ops.linear, functional.linear, ((7,), (5, 7), (5,))),
    OpCase(
        "batch_norm",
        ops.batch_norm,
        _torch_batch_norm,
        ((4, 3, 5, 6), (3,), (3,), (3,), (3,)),
        {"training": True},
        positive=(2,),
        differentiable=(0, 3, 4),
    ),
    OpCase(
        "batch_norm",
        ops.batch_norm,
        _torch_batch_norm,
        ((4, 3, 5, 6), (3,), (3,), (3,), (3,)),
        {"training": False, "eps": 1e-3},
        positive=(2,),
        differentiable=(0, 3, 4),
    ),
    OpCase(
        "batch_norm",
        ops.batch_norm,
        _torch_batch_norm,
        ((5, 4), None, None, None, None),
        {"training": True},
    ),
    OpCase(
        "batch_norm",
        ops.batch_norm,
        _torch_batch_norm,
        ((2, 3, 4, 3, 2), (3,), (3,), None, (3,)),
        {"training": True},
        positive=(2,),
        differentiable=(0, 4),
    ),
    OpCase(
        "group_norm",
        _with_affine(ops.group_norm),
        _with_affine(functional.group_norm),
        ((2, 6, 5, 4), (6,), (6,)),
        {"num_groups": 3},
    ),
    OpCase(
        "group_norm",
        _with_affine(ops.group_norm),
        _with_affine(functional.group_norm),
        ((3, 4, 7), None, None),
        {"num_groups": 1},
    ),
    OpCase(
        "group_norm",
        _with_affine(ops.group_norm),
        _with_affine(functional.group_norm),
        ((2, 4, 2, 3, 2), (4,), (4,)),
        {"num_groups": 4, "eps": 1e-3},
    ),
    OpCase(
        "layer_norm",
        _with_affine(ops.layer_norm),
        _with_affine(functional.layer_norm),
        ((3, 4, 5), (4, 5), (4, 5)),
        {"normalized_shape": (4, 5)},
    ),
    OpCase(
        "layer_norm",
        _with_affine(ops.layer_norm),
        _with_affine(functional.layer_norm),
        ((6, 8), (8,), None),
        {"normalized_shape": (8,)},
    ),
]

RESAMPLING = [
    OpCase(
        "interpolate", ops.interpolate, functional.interpolate, ((2, 3, 5, 4),), {"scale_factor": 2}
    ),
    OpCase(
        "interpolate", ops.interpolate, functional.interpolate, ((2, 3, 5, 4),), {"size": (7, 3)}
    ),
    OpCase(
        "interpolate", ops.interpolate, functional.interpolate, ((1, 2, 6),), {"scale_factor": 1.7}
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((1, 2, 3, 4, 2),),
        {"scale_factor": (2, 1.5, 3)},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((2, 3, 5, 4),),
        {"scale_factor": 2, "mode": "bilinear"},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((2, 3, 5, 4),),
        {"scale_factor": 2, "mode": "bilinear", "align_corners": True},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((2, 3, 5, 4),),
        {"size": (3, 9), "mode": "bilinear", "align_corners": False},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((2, 3, 5, 4),),
        {"scale_factor": 1.3, "mode": "bilinear", "recompute_scale_factor": True},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((1, 2, 7),),
        {"size": 4, "mode": "linear", "align_corners": True},
    ),
    OpCase(
        "interpolate",
        ops.interpolate,
        functional.interpolate,
        ((1, 2, 3, 4, 2),),
        {"scale_factor": 2, "mode": "trilinear"},
    ),
    OpCase(
        "pixel_shuffle",
        ops.pixel_shuffle,
        functional.pixel_shuffle,
        ((2, 8, 3, 4),),
        {"upscale_factor": 2},
    ),
    OpCase(
        "pixel_shuffle",
        ops.pixel_shuffle,
        functional.pixel_shuffle,
        ((9, 2, 3),),
        {"upscale_factor": 3},
    ),
    OpCase(
        "pixel_unshuffle",
        ops.pixel_unshuffle,
        functional.pixel_unshuffle,
        ((2, 3, 4, 6),),
        {"downscale_factor": 2},
    ),
    OpCase(
        "pixel_unshuffle",
        ops.pixel_unshuffle,
        functional.pixel_unshuffle,
        ((2, 2, 1, 6, 3),),
        {"downscale_factor": 3},
    ),
]

STATS = [
    OpCase(
        "batch_norm_stats",
        _lucid_stats,
        _torch_stats,
        ((4, 3, 5), (3,), (3,)),
        {"momentum": 0.1},
        positive=(2,),
        differentiable=(),
    ),
    OpCase(
        "batch_norm_stats",
        _lucid_stats,
        _torch_stats,
        ((6, 2, 2, 3), (2,), (2,)),
        {"momentum": 0.7},
        positive=(2,),
        differentiable=(),
    ),
]

OP_CASES = ACTIVATIONS + NORMS + RESAMPLING + STATS
