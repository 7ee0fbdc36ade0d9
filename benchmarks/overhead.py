"""Where a tiny layer's time goes: each per-call step of ``conv_transpose2d``, timed alone.

``python -m benchmarks.overhead [--backend numpy --backend torch --backend jax]``
prints, per backend, the ``timeit`` minimum in microseconds of the whole (eager) call,
of the chosen formulation alone, and of each check lucid makes per call (the weight's
finiteness, the plan signature, the Dask check, the autotune flag, autocast), next to
the native op.  Where eager calls run compiled (JAX), the same call op by op is timed
too.  JAX results are waited for (``block_until_ready``).  The layer is the suite's
``tiny`` one, N1 4->4 4x4 k3.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["main", "steps"]


def _best_us(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def _waited(fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        result = fn()
        return getattr(result, "block_until_ready", lambda: result)()

    return call


def steps(backend: str) -> dict[str, Callable[[], Any]]:
    """The per-call steps of the tiny layer on ``backend``, as zero-argument callables."""
    import torch

    from lucid.ops import _autotune, conv_transpose, conv_transpose2d
    from lucid.ops._autocast import autocast_arrays
    from lucid.ops._blockwise import chunked
    from lucid.ops._ct_forward import forward
    from lucid.ops._plans import signature
    from lucid.ops.conv_transpose import _plan
    from lucid.testing import load_backend

    rng = np.random.default_rng(0)
    data = [rng.standard_normal(s, dtype=np.float32) for s in ((1, 4, 4, 4), (4, 4, 3, 3), (4,))]
    x, w, b = (load_backend(backend).asarray(a) for a in data)
    hyper = (1, 0, 0, 1, 1, None, 2)
    plan = _plan(x, w, b, *hyper)
    xp = plan.xp
    tx, tw, tb = (torch.from_numpy(a) for a in data)
    timed = {
        "whole call": lambda: conv_transpose2d(x, w, b),
        f"formulation alone ({plan.formulation})": lambda: forward(
            xp, x, w, b, plan.params, plan.out_spatial, plan.formulation, plan.traits
        ),
        "weight isfinite + all": lambda: bool(xp.all(xp.isfinite(w))),
        "plan signature": lambda: signature((x, w, b), ("conv_transpose", *hyper, None, None)),
        "Dask check": lambda: chunked(x, w, b),
        "autotune flag": _autotune.autotune_enabled,
        "autocast": lambda: autocast_arrays(x, w, b),
        "torch's own op": lambda: torch.nn.functional.conv_transpose2d(tx, tw, tb),
    }
    if plan.traits.compiles_eager_calls:
        timed["whole call, op by op (not compiled)"] = lambda: conv_transpose._call(plan, x, w, b)
        native = plan.backend.native_conv_transpose(2)
        timed[f"{backend}'s own op"] = lambda: native(x, w, b, 1, 0, 0, 1, 1)
    return {name: _waited(fn) for name, fn in timed.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__)
    parser.add_argument("--backend", action="append", choices=("numpy", "torch", "jax"))
    parser.add_argument("--number", type=int, default=3000, help="calls per timing")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for backend in args.backend or ["numpy", "torch"]:
        print(f"{backend}:")
        for name, fn in steps(backend).items():
            print(f"  {name:<36} {_best_us(fn, args.number):8.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
