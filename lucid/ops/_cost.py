"""The cost model the formulation choice minimises, with measured coefficients.

Each formulation's time on a layer is modelled as

    ``a * operations + b * gemm_flops + c * elements_moved``

where the three *features* follow from the shapes alone (:func:`features`: how many
array operations the formulation issues, the FLOPs of its GEMMs weighted by how thin
those GEMMs are, and the elements
its copies, pads, permutes and accumulations move) and the *coefficients* ``a, b,
c`` (seconds per operation, per FLOP and per element) are measured per backend and
formulation by ``python -m lucid tune``, which times every formulation on generated
layers and fits them.  They are stored as data in ``_cost_data.json`` beside this
module (the measured layers below in ``_cost_data.neighbours.json``); nothing is
timed when a layer is called.

Three coefficients cannot follow every effect a library shows (a GEMM shape its BLAS
handles badly, a copy XLA fuses away), so the stored data also keeps, for each layer
``tune`` timed, where it lies (:func:`descriptor`: the logarithms of its sizes) and how
far each formulation's measured time was from the model's (the log of their ratio).
A prediction is the model's times the weighted geometric mean of that ratio over the
``k`` nearest measured layers (:class:`Neighbours`): on a layer like those measured
it follows the measurement, and far from all of them it is the model's.  Measured on
fresh layers: BENCHMARKS.md, "The choice follows the nearest measured layers".

>>> from lucid.ops._params import validate_conv_transpose_params
>>> p = validate_conv_transpose_params(2, 2, stride=2)
>>> ops, flops, moved = features("reshape", (8, 256, 32, 32), 128, p, (64, 64))
>>> flops > 2 * 8 * 32 * 32 * 256 * 128 * 4  # the exact FLOPs, weighted up slightly
True
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .._tracing import constant_when_traced
from ._params import ConvTransposeParams

__all__ = [
    "COST_FILE",
    "NEIGHBOURS_FILE",
    "Neighbours",
    "coefficients",
    "descriptor",
    "features",
    "neighbours",
    "predict",
    "predicted_seconds",
]

COST_FILE = "_cost_data.json"
#: The measured layers beside the coefficients, read on the first layer planned (half a
#: MB of JSON: 15 ms that ``import lucid`` need not pay).
NEIGHBOURS_FILE = "_cost_data.neighbours.json"


def _reached_phases(p: ConvTransposeParams) -> int:
    """How many of the ``prod(stride)`` output phases any tap reaches (O(kernel) work)."""
    count = 1
    for k, s, d, pad in zip(p.kernel_size, p.stride, p.dilation, p.padding):
        count *= len({(t * d - pad) % s for t in range(k)}) if s > 1 else 1
    return count


def _tap_blocks(p: ConvTransposeParams) -> int:
    """How many strided slice adds ``col2im`` issues: per dimension, the output rows of
    ``stride`` phases that some tap lands in (O(kernel) work)."""
    count = 1
    for k, s, d in zip(p.kernel_size, p.stride, p.dilation):
        count *= len({t * d // s for t in range(k)})
    return count


def _thin(flops: float, m: float, k: float, n: float) -> float:
    """FLOPs weighted by how thin the GEMM is: BLAS runs far below its peak when the
    reduction ``k`` or the smaller output side is short (``k = 1`` is a scaled copy)."""
    return flops * (1.0 + 8.0 / max(k, 1.0)) * (1.0 + 8.0 / max(min(m, n), 1.0))


def features(
    formulation: str,
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    fused_padded_adds: bool = False,
) -> tuple[float, float, float]:
    """``(operations, GEMM FLOPs weighted by thinness, elements moved)`` of a formulation.

    Estimates from the shapes, in O(ndim + kernel) Python work: the model's
    coefficients absorb constant factors, so only how each grows with the layer
    matters.
    """
    n, c_in, *spatial = x_shape
    g = p.groups
    c_in_g, c_out_g = c_in // g, c_out // g
    taps, phases = math.prod(p.kernel_size), math.prod(p.stride)
    p_in, p_out = math.prod(spatial), math.prod(out_spatial)
    direct = 2.0 * n * p_in * c_in * c_out_g * taps
    inp, out = float(n * c_in * p_in), float(n * c_out * p_out)
    plane = math.prod([-(-o // s) for o, s in zip(out_spatial, p.stride)])
    reached = _reached_phases(p)
    per_phase = max(1.0, taps / reached)  # taps in one phase's GEMM
    if formulation == "reshape":
        product = n * c_out * taps * p_in
        flops = _thin(direct, c_out_g * taps, c_in_g, p_in)
        return 8.0, flops, float(product + 2 * n * c_out * phases * p_in)
    if formulation == "dense":
        gathered = float(n * c_in * taps * p_out)
        flops = _thin(2.0 * n * c_out * c_in_g * taps * p_out, c_out_g, c_in_g * taps, p_out)
        return 9.0, flops, gathered + inp + out
    if formulation in ("phase", "phase_channels_last"):
        windows = float(taps * n * c_in * plane)
        ops = 5.0 + taps + 5.0 * reached
        moved = windows + inp + out
        flops = 2.0 * n * c_in * c_out_g * taps * plane
        if formulation == "phase_channels_last":
            ops, moved = ops + 3.0 * reached, moved + inp + 2.0 * out
            return ops, _thin(flops, n * plane, c_in_g * per_phase, c_out_g), moved
        return ops, _thin(flops, c_out_g, c_in_g * per_phase, plane), moved
    if formulation == "shift":
        padded = math.prod(
            [
                s + d * (k - 1) // st + 2
                for s, k, st, d in zip(spatial, p.kernel_size, p.stride, p.dilation)
            ]
        )
        rows = float(n * padded)
        return (
            8.0 + 4.0 * taps + 2.0 * reached,
            _thin(2.0 * rows * c_in * c_out_g * taps, rows, c_in_g, c_out_g),
            2.0 * inp * padded / p_in + 2.0 * taps * rows * c_out + 2.0 * out,
        )
    if formulation == "scatter":
        ops = 8.0 + 3.0 * taps + (float(phases) if fused_padded_adds else 0.0)
        accumulate = 2.0 * taps * n * c_out * p_in
        flops = _thin(direct, c_out_g * taps, c_in_g, n * p_in)
        return ops, flops, accumulate + out * (2.0 if fused_padded_adds else 1.0) + inp
    if formulation == "col2im":
        blocks = _tap_blocks(p)
        buffer = float(taps * n * c_out * p_in)
        flops = _thin(direct, c_out_g * taps, c_in_g, n * p_in)
        # Each block is a strided slice of the buffer, permuted, added in place.
        return 6.0 + 3.0 * blocks, flops, 2.0 * buffer + 2.0 * out + inp
    if formulation == "toeplitz":
        matrix = float(c_in * c_out_g * p_in * p_out)
        flops = _thin(2.0 * n * matrix, n, c_in_g * p_in, c_out_g * p_out)
        regrouped = out if g > 1 and n > 1 else 0.0  # the output's (G, N) -> (N, G)
        # Gathered, permuted and read by the GEMM; the input's finiteness checked.
        return 12.0, flops, 3.0 * matrix + 2.0 * inp + out + regrouped
    msg = f"unknown formulation {formulation!r}"
    raise ValueError(msg)


def descriptor(x_shape: tuple[int, ...], c_out: int, p: ConvTransposeParams) -> tuple[float, ...]:
    """Where a layer lies among the measured ones: the logarithms of its batch, input
    and output channels per group, groups, taps, stride's phases and input pixels, and
    its number of spatial dimensions.

    >>> from lucid.ops._params import validate_conv_transpose_params
    >>> p = validate_conv_transpose_params(2, 4, stride=2, padding=1)
    >>> [round(v, 2) for v in descriptor((8, 64, 32, 32), 3, p)]
    [2.08, 4.16, 1.1, 0.0, 2.77, 1.39, 6.93, 2.0]
    """
    n, c_in, *spatial = x_shape
    g = p.groups
    sizes = (n, c_in // g, c_out // g, g, math.prod(p.kernel_size), math.prod(p.stride))
    return (*(math.log(max(v, 1)) for v in (*sizes, math.prod(spatial))), float(len(spatial)))


@dataclass(frozen=True)
class Neighbours:
    """The layers ``tune`` measured, as the prediction's correction reads them.

    ``at`` holds each layer's :func:`descriptor`, ``log_ratio`` the log of each
    formulation's measured over modelled time on it, and ``scale`` each descriptor
    entry's spread over the layers (distances are measured in those units).
    """

    k: int
    scale: tuple[float, ...]
    at: tuple[tuple[float, ...], ...]
    log_ratio: tuple[Mapping[str, float], ...]
    # The layers in units of the scale, once, as one array: the search below runs on
    # the planning of every new call signature (BENCHMARKS.md, "Planning a layer
    # (session 13)").
    _points: np.ndarray = field(init=False, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Neighbours:
        return cls(
            k=int(data["k"]),
            scale=tuple(data["scale"]),
            at=tuple(tuple(a) for a in data["at"]),
            log_ratio=tuple(data["log_ratio"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "scale": [round(v, 4) for v in self.scale],
            "at": [[round(v, 4) for v in a] for a in self.at],
            "log_ratio": [{f: round(v, 4) for f, v in r.items()} for r in self.log_ratio],
        }

    def __post_init__(self) -> None:
        points = np.asarray(self.at, dtype=np.float64).reshape(len(self.at), len(self.scale))
        points = points / np.asarray(self.scale, dtype=np.float64)
        object.__setattr__(self, "_points", points)  # frozen: set once, here

    def factors(
        self, where: Sequence[float], formulations: Iterable[str], skip: int = -1
    ) -> dict[str, float]:
        """Per formulation, the factor from the model's time to the predicted one at
        ``where``: ``exp`` of the mean log ratio of the ``k`` nearest layers that timed
        it, each weighted by ``1 / (distance + 0.5)``.  ``skip`` leaves one layer out
        (scoring the table on its own layers).  torch.compile calls this rather than
        tracing it (:func:`_corrections`)."""
        here = np.asarray(where, dtype=np.float64) / np.asarray(self.scale, dtype=np.float64)
        squared = np.sum((self._points - here) ** 2, axis=1)
        if 0 <= skip < len(squared):
            squared[skip] = np.inf
        # The k smallest, ties to the earlier layer (a stable sort), the skipped one never.
        order = np.argsort(squared, kind="stable")[: self.k]
        nearest = [(float(squared[i]), int(i)) for i in order if np.isfinite(squared[i])]
        out = {}
        for f in formulations:
            total = weights = 0.0
            for d, i in nearest:
                ratio = self.log_ratio[i].get(f)
                if ratio is not None:
                    weight = 1.0 / (math.sqrt(d) + 0.5)
                    total, weights = total + ratio * weight, weights + weight
            out[f] = math.exp(total / weights) if weights else 1.0
        return out


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(__package__).joinpath(name).read_text())
    return data


# Read once at import (a few kB): planning runs inside torch.compile's trace on a
# layer's first call, and the tracer cannot enter importlib.resources.
_COEFFICIENTS = {
    key: {name: tuple(values) for name, values in chosen.items()}
    for key, chosen in _read(COST_FILE)["coefficients"].items()
}


@functools.cache
def _neighbour_tables() -> dict[str, Neighbours]:
    """Read on first use, from :func:`_corrections` (which torch.compile calls rather
    than traces, so it may read files)."""
    if not resources.files(__package__).joinpath(NEIGHBOURS_FILE).is_file():
        return {}
    stored = _read(NEIGHBOURS_FILE)["neighbours"]
    return {key: Neighbours.from_json(table) for key, table in stored.items()}


def coefficients(cost_key: str) -> dict[str, tuple[float, float, float]]:
    """Per formulation, the measured ``(s/operation, s/FLOP, s/element)`` of a backend.

    A backend without measurements of its own uses NumPy's.
    """
    return _COEFFICIENTS.get(cost_key, _COEFFICIENTS["numpy"])


def neighbours(cost_key: str) -> Neighbours | None:
    """The measured layers that correct a backend's model (NumPy's for a backend
    without measurements of its own, as :func:`coefficients`); ``None`` if not stored."""
    key = cost_key if cost_key in _COEFFICIENTS else "numpy"
    return _neighbour_tables().get(key)


def predicted_seconds(
    cost_key: str,
    formulations: Sequence[str],
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    fused_padded_adds: bool = False,
) -> list[float]:
    """Predicted seconds of each of ``formulations`` on the layer: the model with the
    backend's coefficients, corrected by its nearest measured layers (``inf`` for a
    formulation never measured)."""
    coefs = coefficients(cost_key)
    factors = _corrections(cost_key, descriptor(x_shape, c_out, p), tuple(formulations))
    out = []
    for f, factor in zip(formulations, factors):
        if f not in coefs:
            out.append(math.inf)
            continue
        values = features(f, x_shape, c_out, p, out_spatial, fused_padded_adds)
        out.append(sum(c * v for c, v in zip(coefs[f], values)) * factor)
    return out


@constant_when_traced
def _corrections(
    cost_key: str, where: tuple[float, ...], formulations: tuple[str, ...]
) -> tuple[float, ...]:
    """Each formulation's factor from its nearest measured layers (1 where none)."""
    table = neighbours(cost_key)
    if table is None:
        return (1.0,) * len(formulations)
    factors = table.factors(where, formulations)
    return tuple(factors[f] for f in formulations)


def predict(
    cost_key: str,
    formulation: str,
    x_shape: tuple[int, ...],
    c_out: int,
    p: ConvTransposeParams,
    out_spatial: tuple[int, ...],
    fused_padded_adds: bool = False,
) -> float:
    """Predicted seconds of ``formulation`` on the layer (``inf`` if never measured)."""
    [seconds] = predicted_seconds(
        cost_key, [formulation], x_shape, c_out, p, out_spatial, fused_padded_adds
    )
    return seconds
