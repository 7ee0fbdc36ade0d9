"""The forward convolution's formulations: im2col windows channels-last or
channels-first, or the products first.

lucid's ``conv{1,2,3}d`` either copies each tap's window of the input and multiplies
the stack with the weight in one GEMM per chunk of taps, channels-last (pixels in the
GEMM's rows) or channels-first (see :func:`lucid.ops.conv.windows_channels_last`), or
multiplies the whole input first and adds each tap's window of the products
(:func:`lucid.ops.conv.products_first`).  This draws forward-convolution layers from a
seed (C_in and C_out from 1 to 256, kernels 1 to 5, stride 1, 1-D/2-D/3-D, batch 1 to
8), times the three forced on each layer, interleaved, and reports how often lucid's
rule picks one within 1.2x of the fastest, against always channels-last windows (the
rule before session 8).

``python -m benchmarks.conv_layout --threads 1 --seed 202 --count 36``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.report import geomean, machine_lines

__all__ = ["draw", "main", "summary"]

#: (batch, C_in, C_out, spatial, kernel)
Layer = tuple[int, int, int, tuple[int, ...], int]
_SIDES = {1: (256, 512, 2048), 2: (16, 32, 64, 128), 3: (8, 16, 24)}


def draw(seed: int, count: int) -> list[Layer]:
    """Up to ``count`` layers from ``seed``; ones too large for a quick run are skipped."""
    r = random.Random(seed)
    layers = []
    for _ in range(count):
        nd, k = r.choice((1, 2, 2, 3)), r.choice((1, 3, 3, 5))
        c_in = r.choice((1, 2, 3, 4, 8, 16, 32, 64, 128, 256))
        c_out = r.choice((1, 3, 8, 16, 32, 64, 128, 256))
        side, n = r.choice(_SIDES[nd]), r.choice((1, 2, 4, 8))
        pixels = n * side**nd
        if max(c_in, c_out) * pixels > 2**22 or c_in * c_out * pixels * k**nd > 3e9:
            continue
        layers.append((n, c_in, c_out, (side,) * nd, k))
    return layers


def time_layer(backend: str, layer: Layer, budget: float, rng: np.random.Generator) -> dict:
    """The three formulations on ``layer``, timed interleaved for about ``budget`` s."""
    from lucid._cli._timing import interleaved_medians
    from lucid.ops import conv
    from lucid.ops._params import validate_conv_params
    from lucid.ops._traits import traits
    from lucid.testing import load_backend

    n, c_in, c_out, spatial, k = layer
    library, known = load_backend(backend), traits(backend)
    x = library.asarray(rng.standard_normal((n, c_in, *spatial), dtype=np.float32))
    w = library.asarray(rng.standard_normal((c_out, c_in, *(k,) * len(spatial)), np.float32))
    p = validate_conv_params(len(spatial), k, 1, k // 2)
    rule = conv.windows_channels_last

    def windows(layout: bool) -> Callable[[], Any]:
        def call() -> Any:
            conv.windows_channels_last = lambda *_: layout
            try:
                return library.to_numpy(conv._conv_windows(library.xp, x, w, p, spatial, known))
            finally:
                conv.windows_channels_last = rule

        return call

    def products() -> Any:
        return library.to_numpy(conv._conv_products(library.xp, x, w, p, spatial, known))

    stats = interleaved_medians(
        {"last": windows(True), "first": windows(False), "products": products},
        budget_s=budget,
        min_repeats=3,
    )
    ms = {name: stats[name]["median"] * 1e3 for name in stats}
    padded = tuple(side + 2 * (k // 2) for side in spatial)
    if conv.products_first((c_in, c_out), padded, spatial):
        chosen = "products"
    else:
        chosen = "last" if rule(p, (c_in, c_out), spatial, known) else "first"
    fastest = min(ms.values())
    return {
        "backend": backend,
        "layer": f"N{n} {c_in}->{c_out} {'x'.join(map(str, spatial))} k{k}",
        "channels_last_ms": ms["last"],
        "channels_first_ms": ms["first"],
        "products_ms": ms["products"],
        "chosen": chosen,
        "spread": max((t["p75"] - t["p25"]) / t["median"] for t in stats.values()),
        "rule_over_faster": ms[chosen] / fastest,
        "channels_last_over_faster": ms["last"] / fastest,
    }


def summary(rows: list[dict]) -> list[str]:
    """Per backend: how often each rule is within 1.2x of the fastest formulation."""
    lines = [
        "| backend | layers | rule within 1.2x | always channels-last within 1.2x "
        "| geomean rule / faster | geomean channels-last / faster | worst rule / faster "
        "| median spread |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        rule = [r["rule_over_faster"] for r in mine]
        last = [r["channels_last_over_faster"] for r in mine]
        lines.append(
            f"| {backend} | {len(mine)} | {sum(v <= 1.2 for v in rule)}/{len(mine)} "
            f"| {sum(v <= 1.2 for v in last)}/{len(mine)} | {geomean(rule):.2f} "
            f"| {geomean(last):.2f} | {max(rule):.2f} "
            f"| {sorted(r['spread'] for r in mine)[len(mine) // 2]:.0%} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv_layout", description=__doc__)
    parser.add_argument("--backend", action="append", choices=("numpy", "torch"))
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one")
    parser.add_argument("--count", type=int, default=36, help="layers drawn")
    parser.add_argument("--budget", type=float, default=0.6, help="seconds per layer")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.threads is not None:
        from benchmarks.layers import _limit_threads

        _limit_threads(args.threads, argv, ("benchmarks.conv_layout",))
    seed = random.randrange(2**31) if args.seed is None else args.seed
    rng = np.random.default_rng(seed)
    rows = []
    for backend in args.backend or ["numpy", "torch"]:
        for layer in draw(seed, args.count):
            row = time_layer(backend, layer, args.budget, rng)
            rows.append(row)
            print(
                f"{backend} {row['layer']}: channels-last {row['channels_last_ms']:.2f} ms, "
                f"channels-first {row['channels_first_ms']:.2f} ms, products "
                f"{row['products_ms']:.2f} ms; picks {row['chosen']} "
                f"(spread {row['spread']:.0%})",
                flush=True,
            )
    print("\n".join(["", f"Seed {seed}.", "", *summary(rows), "", *machine_lines()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
