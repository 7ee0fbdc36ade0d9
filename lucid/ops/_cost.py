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
module; nothing is timed when a layer is called.

>>> from lucid.ops._params import validate_conv_transpose_params
>>> p = validate_conv_transpose_params(2, 2, stride=2)
>>> ops, flops, moved = features("reshape", (8, 256, 32, 32), 128, p, (64, 64))
>>> flops > 2 * 8 * 32 * 32 * 256 * 128 * 4  # the exact FLOPs, weighted up slightly
True
"""

from __future__ import annotations

import json
import math
from importlib import resources

from ._params import ConvTransposeParams

__all__ = ["COST_FILE", "coefficients", "features", "predict"]

COST_FILE = "_cost_data.json"


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
    msg = f"unknown formulation {formulation!r}"
    raise ValueError(msg)


def _read_coefficients() -> dict[str, dict[str, tuple[float, float, float]]]:
    text = resources.files(__package__).joinpath(COST_FILE).read_text()
    per_backend = json.loads(text)["coefficients"]
    return {
        key: {name: tuple(values) for name, values in chosen.items()}
        for key, chosen in per_backend.items()
    }


# Read once at import (a few kB): planning runs inside torch.compile's trace on a
# layer's first call, and the tracer cannot enter importlib.resources.
_COEFFICIENTS = _read_coefficients()


def coefficients(cost_key: str) -> dict[str, tuple[float, float, float]]:
    """Per formulation, the measured ``(s/operation, s/FLOP, s/element)`` of a backend.

    A backend without measurements of its own uses NumPy's.
    """
    return _COEFFICIENTS.get(cost_key, _COEFFICIENTS["numpy"])


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
    coefs = coefficients(cost_key).get(formulation)
    if coefs is None:
        return math.inf
    values = features(formulation, x_shape, c_out, p, out_spatial, fused_padded_adds)
    return sum(c * v for c, v in zip(coefs, values))
