"""Generated transposed-convolution layers and timing every formulation on them.

Shared by ``python -m lucid tune`` (which fits the cost model of
:mod:`lucid.ops._cost` to such timings, on its own fixed seeds) and the benchmark
sweep in ``benchmarks/sweep.py`` (which judges the choice on fresh seeds and adds
the native op to each row).  Arrays are made through lucid's backend objects
(:func:`lucid.testing.load_backend`), so nothing here names a library.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._case import Case
from ._timing import interleaved_medians

__all__ = [
    "applicable",
    "chosen_formulation",
    "formulation_runner",
    "generate",
    "inputs",
    "params_of",
    "time_layer",
]

_MAX_OUTPUT = 1 << 22


def _log_int(rng: np.random.Generator, low: int, high: int) -> int:
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def _draw(rng: np.random.Generator, index: int) -> Case:
    nd = int(rng.choice([1, 2, 3], p=[0.25, 0.55, 0.2]))
    c_in = _log_int(rng, 1, 512)
    c_out = int(rng.choice([1, 3])) if rng.random() < 0.2 else _log_int(rng, 1, 512)
    groups = 1
    kind = rng.random()
    if kind < 0.12:  # depthwise, with a channel multiplier of 1 or 2
        groups = c_in
        c_out = c_in * int(rng.choice([1, 2]))
    elif kind < 0.25:
        few = [g for g in (2, 3, 4, 8, 16) if c_in % g == 0 and c_out % g == 0]
        groups = int(rng.choice(few)) if few else 1
    kernels = (1, 2, 3, 4, 5, 7, 8, 16) if nd < 3 else (1, 2, 3, 4, 5)
    kernel = int(rng.choice(kernels))
    stride = int(rng.choice([1, 1, 2, 2, 2, 3, 4, 8]))
    dilation = 1 if rng.random() < 0.8 or kernel == 1 else int(rng.choice([2, 3]))
    padding = int(rng.integers(0, dilation * (kernel - 1) // 2 + 1))
    output_padding = 0
    if rng.random() < 0.2 and max(stride, dilation) > 1:
        output_padding = int(rng.integers(0, max(stride, dilation)))
    n = _log_int(rng, 1, 64)
    top = (4096, 256, 32)[nd - 1]
    side = _log_int(rng, 1, top)
    size = tuple(max(1, side + int(rng.integers(-side // 4, side // 4 + 1))) for _ in range(nd))
    return Case(
        f"s{index}",
        n,
        c_in,
        c_out,
        size,
        kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
        op=f"conv_transpose{nd}d",
    )


def generate(seed: int, count: int, max_gflop: float = 2.0) -> list[Case]:
    """``count`` layers drawn from ``seed``, each within the run's bounds.

    >>> [c.describe() for c in generate(5, 2)] == [c.describe() for c in generate(5, 2)]
    True
    """
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    while len(cases) < count:
        case = _draw(rng, len(cases))
        out = case.output_size
        if min(out) <= 0 or case.flops() > max_gflop * 1e9:
            continue
        if case.n * case.c_out * math.prod(out) > _MAX_OUTPUT:
            continue
        if math.prod(case.input_shape) > _MAX_OUTPUT:
            continue
        cases.append(case)
    return cases


def params_of(case: Case) -> Any:
    from lucid.ops._params import validate_conv_transpose_params

    nd = len(case.size)
    return validate_conv_transpose_params(
        nd,
        (case.kernel,) * nd,
        case.stride,
        case.padding,
        case.output_padding,
        case.groups,
        case.dilation,
    )


def applicable(case: Case) -> list[str]:
    """The formulations the choice may run ``case`` with (within their memory bounds)."""
    from lucid.ops._ct_forward import FALLBACK_ONLY, FORMULATIONS, applies, fits_memory

    p = params_of(case)
    shape = case.input_shape
    return [
        f
        for f in FORMULATIONS
        if f not in FALLBACK_ONLY
        and applies(f, p)
        and fits_memory(f, shape, case.c_out, p, case.output_size)
    ]


def chosen_formulation(backend: str, case: Case) -> str:
    """The formulation lucid's default choice runs ``case`` with on ``backend``."""
    from lucid.ops.conv_transpose import _plan
    from lucid.testing import load_backend

    # The plan reads only the shapes.
    loaded = load_backend(backend)
    shapes = (case.input_shape, case.weight_shape, (case.c_out,))
    x, w, b = (loaded.asarray(np.zeros(s, dtype=np.float32)) for s in shapes)
    nd = len(case.size)
    plan = _plan(
        x,
        w,
        b,
        case.stride,
        case.padding,
        case.output_padding,
        case.groups,
        case.dilation,
        None,
        nd,
    )
    return plan.formulation


def inputs(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed float32 input, weight (scaled by the fan-in) and bias of ``case``."""
    rng = np.random.default_rng(seed)
    fan_in = case.weight_shape[1] * case.kernel ** len(case.size)
    return (
        rng.standard_normal(case.input_shape, dtype=np.float32),
        rng.standard_normal(case.weight_shape, dtype=np.float32) / np.float32(fan_in**0.5),
        rng.standard_normal((case.c_out,), dtype=np.float32),
    )


def _ready(result: Any) -> Any:
    """Wait for an asynchronous backend (JAX) to finish computing ``result``."""
    wait = getattr(result, "block_until_ready", None)
    return wait() if callable(wait) else result


def formulation_runner(backend: str, case: Case, formulation: str) -> Callable[[], Any]:
    """lucid's op on ``case``, forced to ``formulation``, as its backend compiles functions.

    Each runner compiles its own function (on JAX: its own jit and trace, made while
    the formulation is forced).
    """
    from lucid import ops
    from lucid.ops._ct_forward import use_formulation
    from lucid.testing import load_backend

    loaded = load_backend(backend)
    x, w, b = (loaded.asarray(a) for a in inputs(case))
    op, kwargs = getattr(ops, case.op), case.kwargs
    fn = loaded.library.compiled(lambda x, w, b: op(x, w, b, **kwargs))

    def run() -> Any:
        with use_formulation(formulation):
            return _ready(fn(x, w, b))

    return run


def time_layer(
    backend: str,
    case: Case,
    budget_s: float,
    repeats: int | None = None,
    native: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Every applicable formulation of ``case`` (and ``native``, if given), interleaved.

    One result row: the medians per formulation, the default choice and the fastest;
    with ``native``, also its time and lucid/native.
    """
    candidates = {f: formulation_runner(backend, case, f) for f in applicable(case)}
    if native is not None:
        candidates = {"native": native, **candidates}
    stats = interleaved_medians(
        candidates, budget_s=budget_s, min_repeats=3, max_repeats=25, repeats=repeats
    )
    times = {name: s["median"] for name, s in stats.items()}
    chosen = chosen_formulation(backend, case)
    native_s = times.pop("native", None)
    fastest = min(times, key=times.__getitem__)
    row = {
        "case": case.to_json(),
        "layer": case.describe(),
        "backend": backend,
        "flops": case.flops(),
        "formulations_s": times,
        "chosen": chosen,
        "lucid_s": times[chosen],
        "fastest": fastest,
        "choice_over_fastest": times[chosen] / times[fastest],
        "spread": (stats[chosen]["p75"] - stats[chosen]["p25"]) / stats[chosen]["median"],
    }
    if native_s is not None:
        row.update(native_s=native_s, ratio=times[chosen] / native_s)
    return row
