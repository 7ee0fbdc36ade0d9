"""``python -m lucid tune``: measure the cost model's coefficients on this machine.

Times every applicable formulation of the transposed convolution on layers drawn
from fixed seeds (interleaved, medians), then fits, per backend and formulation, the
seconds per array operation, per FLOP and per element moved of
:mod:`lucid.ops._cost` (least squares on log time, coefficients > 0), and keeps
each timed layer's distance from that fit (:class:`lucid.ops._cost.Neighbours`),
which corrects the predictions on layers near it.  The
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
import json
import os
import sys
import tempfile
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from lucid.ops._cost import COST_FILE, descriptor, features
from lucid.ops._traits import traits

if TYPE_CHECKING:
    from lucid.ops._cost import Neighbours

__all__ = ["choice_quality", "fit", "main", "neighbours_of"]

#: The seed tune draws its layers from: fixed, so coefficients are reproducible, and
#: never the benchmark sweep's (which draws a fresh seed every run).
TUNE_SEED = 20240601

#: How many measured layers correct a prediction: in leave-one-out scoring on 400
#: quiet layers per backend, 3 to 12 scored alike (BENCHMARKS.md, "The choice follows
#: the nearest measured layers").
NEIGHBOURS = 8


def _layer(row: dict[str, Any]) -> tuple[tuple[int, ...], int, Any, tuple[int, ...]]:
    """A timed row's layer as the cost model reads it: input shape, output channels,
    parameters and output size."""
    from ._case import Case
    from ._layers import params_of

    case = Case.from_json(row["case"])
    return case.input_shape, case.c_out, params_of(case), case.output_size


def _descriptor(row: dict[str, Any]) -> tuple[float, ...]:
    x_shape, c_out, p, _ = _layer(row)
    return descriptor(x_shape, c_out, p)


def _modelled(row: dict[str, Any], formulation: str, coefs: dict[str, Any]) -> float:
    return float(np.dot(coefs[formulation], _features(row, formulation)))


def _features(row: dict[str, Any], formulation: str) -> tuple[float, float, float]:
    fused = traits(row["backend"]).fused_padded_adds
    return features(formulation, *_layer(row), fused)


def fit_log(x: np.ndarray, y: np.ndarray, steps: int = 200) -> np.ndarray:
    """Coefficients ``c > 0`` minimising ``sum((log(x @ c) - log(y)) ** 2)``.

    In log space every layer counts alike, small or large, which is what a choice
    between formulations needs (a least-squares fit on seconds would serve only the
    large layers).  Levenberg-Marquardt on ``log(c)``, started from each feature's
    median share of the time.

    >>> x = np.array([[1.0, 10.0], [1.0, 100.0], [1.0, 1000.0]])
    >>> np.round(fit_log(x, x @ np.array([2.0, 0.5])), 3).tolist()
    [2.0, 0.5]
    """
    theta = np.log(np.median(y[:, None] / x, axis=0) / x.shape[1])
    log_y, damping = np.log(y), 1e-3

    def residual(theta: np.ndarray) -> np.ndarray:
        return np.log(x @ np.exp(theta)) - log_y

    r = residual(theta)
    for _ in range(steps):
        c = np.exp(theta)
        jac = x * c / (x @ c)[:, None]
        lhs = jac.T @ jac + damping * np.eye(len(theta))
        step = np.linalg.solve(lhs, -jac.T @ r)
        trial = residual(theta + step)
        if trial @ trial < r @ r:
            theta, r, damping = theta + step, trial, damping / 3
            if np.max(np.abs(step)) < 1e-9:
                break
        else:
            damping *= 4
    return np.exp(theta)


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
            out[backend][name] = [float(v) for v in fit_log(x, y)]
    return out


def neighbours_of(rows: list[dict[str, Any]], coefs: dict[str, Any]) -> Neighbours:
    """One backend's timed ``rows`` as the correction of its fitted model ``coefs``."""
    from lucid.ops._cost import Neighbours

    at = np.array([_descriptor(r) for r in rows])
    log_ratio = [
        {f: float(np.log(t / _modelled(r, f, coefs))) for f, t in r["formulations_s"].items()}
        for r in rows
    ]
    # An entry that does not vary over the rows still counts, in units of 0.1.
    scale = np.maximum(at.std(axis=0), 0.1)
    return Neighbours(
        k=NEIGHBOURS,
        scale=tuple(float(v) for v in scale),
        at=tuple(tuple(float(v) for v in a) for a in at),
        log_ratio=tuple(log_ratio),
    )


def choice_quality(
    rows: list[dict[str, Any]],
    coefs: dict[str, Any],
    tables: dict[str, Neighbours] | None = None,
) -> dict[str, float]:
    """Per backend, the share of ``rows`` where the model's pick is within 1.2x of the
    fastest.  With ``tables`` (built from these rows by :func:`neighbours_of`), each
    row is predicted by the model corrected by its neighbours other than itself."""
    shares = {}
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        table = (tables or {}).get(backend)
        good = 0
        for i, r in enumerate(mine):
            times = r["formulations_s"]
            predicted = {f: _modelled(r, f, coefs[backend]) for f in times}
            if table is not None:
                factors = table.factors(_descriptor(r), times, skip=i)
                predicted = {f: t * factors[f] for f, t in predicted.items()}
            pick = min(predicted, key=predicted.__getitem__)
            good += times[pick] <= 1.2 * min(times.values())
        shares[backend] = good / len(mine)
    return shares


def neighbours_path(output: str) -> str:
    """Where the measured layers of the coefficients at ``output`` are kept:
    ``costs.json`` -> ``costs.neighbours.json`` (the package's ``_cost_data.json`` ->
    :data:`lucid.ops._cost.NEIGHBOURS_FILE`)."""
    root, ext = os.path.splitext(output)
    return f"{root}.neighbours{ext or '.json'}"


def _read_json(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        data: dict[str, Any] = json.load(f)
    return data


def _write_atomically(path: str, data: dict[str, Any]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; a table is not
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
        from ._layers import generate, time_layer

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
    tables = {b: neighbours_of([r for r in rows if r["backend"] == b], coefs[b]) for b in coefs}
    output = args.output or str(resources.files("lucid.ops").joinpath(COST_FILE))
    beside = neighbours_path(output)
    previous, previous_tables = _read_json(output), _read_json(beside)
    command = " ".join(["python -m lucid tune", *argv])
    table = {
        **previous,
        "units": "seconds per array operation, per FLOP, per element moved",
        "coefficients": {**previous.get("coefficients", {}), **coefs},
        "measured": {**previous.get("measured", {}), **dict.fromkeys(coefs, command)},
    }
    stored_tables = {
        "units": "per backend: each measured layer's descriptor (lucid.ops._cost.descriptor) "
        "and log(measured / modelled seconds) per formulation",
        "neighbours": {
            **previous_tables.get("neighbours", {}),
            **{b: t.to_json() for b, t in tables.items()},
        },
    }
    # The measured layers first: they are relative to the coefficients, so a run that
    # stops between the two writes leaves the old coefficients with the new layers'
    # ratios at worst, never coefficients without their layers.
    _write_atomically(beside, stored_tables)
    _write_atomically(output, table)
    for backend, share in choice_quality(rows, coefs, tables).items():
        print(
            f"{backend}: the fitted choice is within 1.2x of the fastest on {share:.0%} "
            f"of {sum(r['backend'] == backend for r in rows)} tuning layers, each "
            "predicted without its own timing"
        )
    print(f"coefficients written to {output}, the measured layers to {beside}")
    return 0
