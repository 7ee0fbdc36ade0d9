"""``python -m lucid tune``: measure the cost model's coefficients on this machine.

Times every applicable formulation of the transposed convolution on layers drawn
from fixed seeds (interleaved, medians), then fits, per backend and formulation, the
seconds per array operation, per FLOP and per element moved of
:mod:`lucid.ops._cost` (least squares on relative error, coefficients >= 0).  The
result is written as JSON; by default into the package (``lucid/ops/_cost_data.json``),
where the default formulation choice reads it.

Examples
--------
``python -m lucid tune``                          every installed backend, 120 layers
``python -m lucid tune --backend torch --count 60 --output /tmp/costs.json``
``python -m lucid tune --from-json sweep.json``   fit to timings a benchmark sweep stored
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["fit", "main"]

#: The seed tune draws its layers from: fixed, so coefficients are reproducible, and
#: never the benchmark sweep's (which draws a fresh seed every run).
TUNE_SEED = 20240601


def _features(row: dict[str, Any], formulation: str) -> tuple[float, float, float]:
    from lucid.ops._cost import features
    from lucid.ops._traits import traits

    from ._bench_cases import Case
    from ._bench_layers import params_of

    case = Case.from_json(row["case"])
    fused = traits(row["backend"]).fused_padded_adds
    return features(
        formulation, case.input_shape, case.c_out, params_of(case), case.output_size, fused
    )


def _nnls_relative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients >= 0 minimising the relative error ``sum(((x @ c) - y) / y) ** 2``.

    Three features: every subset is tried and the best all-nonnegative fit kept.
    """
    a, b = x / y[:, None], np.ones_like(y)
    best, best_err = np.zeros(x.shape[1]), math.inf
    for size in range(1, x.shape[1] + 1):
        for subset in itertools.combinations(range(x.shape[1]), size):
            cols = list(subset)
            scale = np.maximum(np.abs(a[:, cols]).max(axis=0), 1e-300)
            sol, *_ = np.linalg.lstsq(a[:, cols] / scale, b, rcond=None)
            sol = sol / scale
            if np.any(sol < 0):
                continue
            err = float(np.sum((a[:, cols] @ sol - b) ** 2))
            if err < best_err:
                best_err, best = err, np.zeros(x.shape[1])
                best[cols] = sol
    return best


def fit(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per backend and formulation, the fitted ``[s/op, s/FLOP, s/element]``."""
    out: dict[str, dict[str, list[float]]] = {}
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        names = dict.fromkeys(f for r in mine for f in r["formulations_s"])
        out[backend] = {}
        for name in names:
            timed = [r for r in mine if name in r["formulations_s"]]
            x = np.array([_features(r, name) for r in timed])
            y = np.array([r["formulations_s"][name] for r in timed])
            out[backend][name] = [float(v) for v in _nnls_relative(x, y)]
    return out


def choice_quality(rows: list[dict[str, Any]], coefs: dict[str, Any]) -> dict[str, float]:
    """Per backend, the share of ``rows`` where the model's pick is within 1.2x of the fastest."""
    shares = {}
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        good = 0
        for r in mine:
            times = r["formulations_s"]
            predicted = {
                f: sum(c * v for c, v in zip(coefs[backend][f], _features(r, f))) for f in times
            }
            pick = min(predicted, key=predicted.__getitem__)
            good += times[pick] <= 1.2 * min(times.values())
        shares[backend] = good / len(mine)
    return shares


def _write_atomically(path: str, data: dict[str, Any]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lucid tune",
        description="Measure the formulation cost model's coefficients on this machine.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples\n--------\n", 1)[1],
    )
    parser.add_argument("--backend", action="append", choices=("numpy", "torch", "jax"))
    parser.add_argument("--count", type=int, default=120, help="layers to time (default 120)")
    parser.add_argument("--seed", type=int, default=TUNE_SEED)
    parser.add_argument("--max-gflop", type=float, default=1.0, help="per-layer FLOP bound")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timing per layer")
    parser.add_argument("--from-json", help="comma-separated JSON files of timed rows to fit")
    parser.add_argument("--output", help="where to write the coefficients (default: the package)")
    parser.add_argument("--json", help="also write the timed rows here")
    return parser


def main(argv: list[str]) -> int:
    """Measure, fit and store; prints the fit's choice quality on its own layers."""
    args = _parser().parse_args(argv)
    if args.from_json:
        rows: list[dict[str, Any]] = []
        for path in args.from_json.split(","):
            with open(path) as f:
                rows += json.load(f)["rows"]
    else:
        from ._bench_layers import generate, time_layer

        cases = generate(args.seed, args.count, args.max_gflop)
        rows = []
        for backend in args.backend or ["numpy", "torch", "jax"]:
            for i, case in enumerate(cases, 1):
                rows.append(time_layer(backend, case, args.budget))
                print(f"[{backend} {i}/{len(cases)}] {case.describe()}", file=sys.stderr)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows}, f)
    coefs = fit(rows)
    output = args.output or str(resources.files("lucid.ops").joinpath("_cost_data.json"))
    previous: dict[str, Any] = {"coefficients": {}}
    if os.path.exists(output):
        with open(output) as f:
            previous = json.load(f)
    table = {
        "units": "seconds per array operation, per FLOP, per element moved",
        "coefficients": {**previous.get("coefficients", {}), **coefs},
    }
    _write_atomically(output, table)
    for backend, share in choice_quality(rows, coefs).items():
        print(
            f"{backend}: the fitted choice is within 1.2x of the fastest on {share:.0%} "
            f"of {sum(r['backend'] == backend for r in rows)} tuning layers"
        )
    print(f"coefficients written to {output}")
    return 0
