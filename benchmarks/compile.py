"""``torch.compile`` against eager, for lucid's ops and a lucid decoder (PyTorch, CPU).

``python benchmarks/compile.py [--budget S] [--direction forward|backward]``: for each
row, lucid eager, lucid under ``torch.compile(fullgraph=True)`` (inductor) and torch's
own op eager, timed interleaved (A B C, C B A, ...); medians in ms and the
compiled/eager ratio (< 1: compiling helps).  ``backward`` times forward plus the
gradients of input and weights.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import torch

import lucid.nn as nn
import lucid.ops as ops
from lucid._cli._timing import interleaved_medians

Row = tuple[Callable[..., Any], Callable[..., Any], tuple[int, ...], tuple[int, ...], dict]
ROWS: dict[str, Row] = {
    "ct2d dcgan": (ops.conv_transpose2d, torch.nn.functional.conv_transpose2d,
                   (8, 64, 16, 16), (64, 32, 4, 4), {"stride": 2, "padding": 1}),
    "ct2d k3s2": (ops.conv_transpose2d, torch.nn.functional.conv_transpose2d,
                  (8, 32, 16, 16), (32, 32, 3, 3), {"stride": 2, "padding": 1,
                                                    "output_padding": 1}),
    "ct1d audio": (ops.conv_transpose1d, torch.nn.functional.conv_transpose1d,
                   (8, 32, 256), (32, 16, 8), {"stride": 4, "padding": 2}),
    "conv2d k3": (ops.conv2d, torch.nn.functional.conv2d,
                  (8, 32, 32, 32), (64, 32, 3, 3), {"padding": 1}),
}  # fmt: skip


def _decoder() -> tuple[Any, Any]:
    model = nn.Sequential(
        nn.LazyConvTranspose2d(32, 4, stride=2, padding=1), nn.ReLU(),
        nn.LazyConvTranspose2d(3, 4, stride=2, padding=1), nn.Tanh(),
    )  # fmt: skip
    x = torch.randn(8, 64, 8, 8)
    model(x)  # materialise eagerly; then the whole module compiles
    return model, x


def _step(fn: Callable[..., Any], args: tuple[Any, ...], backward: bool) -> Callable[[], Any]:
    if not backward:
        return lambda: fn(*args)

    def run() -> Any:
        y = fn(*args)
        return torch.autograd.grad(y.sum(), [a for a in args if a.requires_grad])

    return run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per row")
    parser.add_argument("--direction", choices=["forward", "backward"], default="forward")
    args = parser.parse_args(argv)
    backward = args.direction == "backward"
    print(
        f"| {args.direction} | lucid eager ms | lucid compiled ms | torch eager ms "
        "| compiled/eager |"
    )
    print("|---|---|---|---|---|")
    cases: dict[str, tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]] = {}
    for name, (mine, theirs, x_shape, w_shape, kw) in ROWS.items():
        x = torch.randn(x_shape, requires_grad=backward)
        w = torch.randn(w_shape, requires_grad=backward)
        cases[name] = (lambda x, w, f=mine, kw=kw: f(x, w, **kw),
                       lambda x, w, f=theirs, kw=kw: f(x, w, **kw), (x, w))  # fmt: skip
    model, x = _decoder()
    twin = model  # torch has no lucid decoder: its column compares eager lucid again
    cases["decoder (module)"] = (model, twin, (x.requires_grad_(backward),))
    for name, (mine, theirs, arrays) in cases.items():
        compiled = torch.compile(mine, fullgraph=True)
        times = interleaved_medians(
            {
                "eager": _step(mine, arrays, backward),
                "compiled": _step(compiled, arrays, backward),
                "torch": _step(theirs, arrays, backward),
            },
            budget_s=args.budget,
        )
        eager, comp, ref = (times[k]["median"] * 1e3 for k in ("eager", "compiled", "torch"))
        print(f"| {name} | {eager:.2f} | {comp:.2f} | {ref:.2f} | {comp / eager:.2f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
