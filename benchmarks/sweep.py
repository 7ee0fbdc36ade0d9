"""A generated sweep of transposed-convolution layers no formulation choice was tuned to.

Each run draws its layers from a fresh seed (printed, and stored with the results, so
a run can be repeated with ``--seed``): C_in and C_out from 1 to 512 (a fifth of the
layers with 1 or 3 output channels), kernels 1 to 16, strides 1 to 8, dilation,
groups 1, a few or depthwise, batch 1 to 64, spatial 1 to 256, 1-D, 2-D and 3-D.
Layers above ``--max-gflop`` or with outputs over 4 Mi elements are drawn again so a
run stays bounded.

For every layer and backend the native op, lucid's default choice and every
applicable formulation (forced) are timed *interleaved* in one block.  The report
gives, per backend: lucid/native (geometric mean, share within 1.2x), the default
choice over the fastest formulation (share within 1.2x), and GFLOP/s against the
backend's 2048^3 matmul rate for layers of at least 100 MFLOP.  ``--plot`` writes a
PNG of lucid/native across the sweep (matplotlib, an optional bench dependency).

``python -m benchmarks.sweep --backend numpy --count 200 --plot sweep.png``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from benchmarks.report import geomean, machine_lines
from lucid._cli._layers import generate, time_layer

__all__ = ["main", "plot", "summary"]


def summary(rows: list[dict[str, Any]], matmul: dict[str, float]) -> list[str]:
    """Per backend: lucid/native, the choice against the fastest, and big layers' GFLOP/s."""
    lines = [
        "| backend | layers | geomean lucid/native | lucid/native <= 1.2 | worst lucid/native "
        "| default within 1.2x of fastest | geomean default/fastest "
        "| >= 100 MFLOP layers at >= 50% of matmul | large matmul GFLOP/s |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        worst = max(mine, key=lambda r: r["ratio"])
        within = sum(r["choice_over_fastest"] <= 1.2 for r in mine)
        big = [r for r in mine if r["flops"] >= 1e8]
        rate = matmul[backend]
        fast_big = sum(r["flops"] / r["lucid_s"] / 1e9 >= 0.5 * rate for r in big)
        lines.append(
            f"| {backend} | {len(mine)} | **{geomean(r['ratio'] for r in mine):.2f}** "
            f"| {sum(r['ratio'] <= 1.2 for r in mine) / len(mine):.0%} "
            f"| {worst['layer']} ({worst['ratio']:.2f}) "
            f"| **{within / len(mine):.0%}** "
            f"| {geomean(r['choice_over_fastest'] for r in mine):.3f} "
            f"| {fast_big}/{len(big)} | {rate:.0f} |"
        )
    return lines


def worst_table(rows: list[dict[str, Any]], count: int = 12) -> list[str]:
    """The layers where lucid is furthest behind native, per backend."""
    lines = [
        "| backend | layer | MFLOP | lucid ms | native ms | lucid/native | chosen | fastest "
        "| chosen/fastest |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = sorted((r for r in rows if r["backend"] == backend), key=lambda r: -r["ratio"])
        for r in mine[:count]:
            lines.append(
                f"| {backend} | {r['layer']} | {r['flops'] / 1e6:.1f} | {r['lucid_s'] * 1e3:.3f} "
                f"| {r['native_s'] * 1e3:.3f} | {r['ratio']:.2f} | {r['chosen']} "
                f"| {r['fastest']} | {r['choice_over_fastest']:.2f} |"
            )
    return lines


def plot(rows: list[dict[str, Any]], path: str, title: str) -> None:
    """lucid/native against each layer's FLOPs, one colour per backend (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for backend, marker in zip(("numpy", "torch", "jax"), ("o", "s", "^")):
        mine = [r for r in rows if r["backend"] == backend]
        if mine:
            ax.scatter(
                [r["flops"] for r in mine],
                [r["ratio"] for r in mine],
                s=14,
                marker=marker,
                alpha=0.7,
                label=f"{backend} (geomean {geomean(r['ratio'] for r in mine):.2f})",
            )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("layer forward FLOPs")
    ax.set_ylabel("lucid / native time (lower is better)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__)
    parser.add_argument("--backend", action="append", choices=("numpy", "torch", "jax"))
    parser.add_argument("--count", type=int, default=200, help="layers to draw (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one per run")
    parser.add_argument("--max-gflop", type=float, default=2.0, help="per-layer FLOP bound")
    parser.add_argument("--budget", type=float, default=0.4, help="seconds of timing per layer")
    parser.add_argument("--repeat", type=int, default=None, help="exactly this many rounds")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads")
    parser.add_argument("--markdown", help="also write the report here")
    parser.add_argument("--json", help="also write the raw rows here")
    parser.add_argument("--plot", help="write a PNG of lucid/native across the sweep here")
    parser.add_argument("--from-json", help="report (and plot) the rows of earlier runs' JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    from benchmarks.backends import build, matmul_gflops

    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.threads is not None:
        from benchmarks.layers import _limit_threads

        _limit_threads(args.threads, argv, ("benchmarks.sweep",))
    if args.from_json:
        rows, matmul, seeds = [], {}, []
        for path in args.from_json.split(","):
            with open(path) as f:
                data = json.load(f)
            rows += data["rows"]
            matmul.update(data["matmul_gflops"])
            seeds.append(str(data["seed"]))
        seed_text = ", ".join(seeds)
    else:
        seed = args.seed if args.seed is not None else time.time_ns() % (1 << 31)
        seed_text = str(seed)
        print(f"sweep seed: {seed}", file=sys.stderr, flush=True)
        cases = generate(seed, args.count, args.max_gflop)
        backends = args.backend or ["numpy", "torch", "jax"]
        rows, matmul = [], {}
        for backend in backends:
            matmul[backend] = matmul_gflops(backend)
            for i, case in enumerate(cases, 1):
                native = build(backend, case, "forward")["native"]
                row = time_layer(backend, case, args.budget, args.repeat, native)
                rows.append(row)
                print(
                    f"[{backend} {i}/{len(cases)}] {row['layer']}: lucid/native "
                    f"{row['ratio']:.2f}, {row['chosen']} / fastest {row['fastest']} "
                    f"{row['choice_over_fastest']:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    command = " ".join(["python -m benchmarks.sweep", *argv])
    report = [
        f"Sweep seed(s): {seed_text}; {len(rows)} rows. Medians of interleaved calls; "
        "default/fastest compares lucid's default choice with the fastest formulation "
        "timed in the same block.",
        "",
        *summary(rows, matmul),
        "",
        "Worst layers:",
        "",
        *worst_table(rows),
        "",
        f"Command: `{command}`",
        "",
        *machine_lines(),
    ]
    print("\n".join(report))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(report) + "\n")
    if args.json and not args.from_json:
        with open(args.json, "w") as f:
            json.dump(
                {"command": command, "seed": seed_text, "matmul_gflops": matmul, "rows": rows},
                f,
                indent=1,
            )
    if args.plot:
        plot(rows, args.plot, f"lucid/native on a generated sweep (seed {seed_text})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
