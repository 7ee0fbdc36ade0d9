"""How long ``jax.jit`` takes to trace and compile whole decoders: lucid against native.

``python -m benchmarks.jit_compile [--networks a,b] [--repeats N]``: for each network
of :mod:`benchmarks.networks` (batch 1), forward and training step, the seconds from
``jax.jit(f)`` to a compiled executable (``.lower(...).compile()``, tracing included,
every cache of JAX and of lucid's plans cleared first), timed interleaved: lucid,
lucid with its pre-``gather`` stand-in for non-finite weights (``scatter``), and the
same network in ``jax.lax`` convolutions.  Medians of ``--repeats`` rounds, with the
quartiles.  This is what a JAX user waits for on every new input shape.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.networks import NETWORKS, _inputs, _jax_ops, _lucid_ops, _run, _weights, select
from benchmarks.report import machine_lines
from lucid._cli._timing import interleaved_medians

__all__ = ["main"]


@contextlib.contextmanager
def _exact_formulation(name: str | None) -> Iterator[None]:
    """lucid's stand-in for non-finite weights forced to ``name`` (None: lucid's own)."""
    from lucid.ops import _plans, conv_transpose

    chosen = conv_transpose.exact_formulation
    if name is not None:
        conv_transpose.exact_formulation = lambda *_: name  # type: ignore[assignment]
    _plans._PLANS.clear()
    try:
        yield
    finally:
        conv_transpose.exact_formulation = chosen
        _plans._PLANS.clear()


def _compile_time(net: Any, direction: str) -> dict[str, Callable[[], Any]]:
    import jax
    import jax.numpy as jnp

    weights = _weights(net)
    x, skips, gy = _inputs(net, batch=1)
    params = [None if wb is None else (jnp.asarray(wb[0]), jnp.asarray(wb[1])) for wb in weights]
    args = (jnp.asarray(x), [jnp.asarray(s) for s in skips], params)

    def compiled(ops: Any, exact: str | None = None) -> Callable[[], Any]:
        forward = functools.partial(_run, net, ops)
        if direction == "forward":
            fn = forward
        else:

            def loss(params: Any, x: Any, skips: Any) -> Any:
                return jnp.sum(forward(x, skips, params) * gy)

            fn = lambda x, skips, params: jax.grad(loss)(params, x, skips)  # noqa: E731

        def run() -> Any:
            jax.clear_caches()
            with _exact_formulation(exact):
                return jax.jit(fn).lower(*args).compile()

        return run

    lucid_ops = _lucid_ops(jnp, net.ndim)
    return {
        "lucid": compiled(lucid_ops),
        "lucid, scatter stand-in": compiled(lucid_ops, "scatter"),
        "jax.lax": compiled(_jax_ops()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    names = ",".join(n.name for n in NETWORKS)
    parser.add_argument("--networks", help=f"comma-separated, of {names} (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args(argv)
    print("\n".join(machine_lines()))
    print("| network | direction | lucid s | scatter stand-in s | jax.lax s | lucid / jax.lax |")
    print("|---|---|---|---|---|---|")
    for net in select(args.networks):
        for direction in ("forward", "training"):
            stats = interleaved_medians(_compile_time(net, direction), repeats=args.repeats)
            cells = [
                f"{s['median']:.2f} ({s['p25']:.2f}-{s['p75']:.2f})"
                for s in (stats[k] for k in ("lucid", "lucid, scatter stand-in", "jax.lax"))
            ]
            ratio = stats["lucid"]["median"] / stats["jax.lax"]["median"]
            print(f"| {net.name} | {direction} | {' | '.join(cells)} | {ratio:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
