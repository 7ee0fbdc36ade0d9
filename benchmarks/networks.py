"""Whole decoder networks: lucid's layers against the same network in native ops.

Each :class:`Network` is plain data (its layers, its input, its skip inputs).  One
executor runs it three ways with the *same* float32 weights:

* lucid: :mod:`lucid.ops` convolutions on the backend's arrays, activations as plain
  Array API calls (on JAX the whole network under one ``jax.jit``);
* torch: ``torch.nn.ConvTranspose{1,2,3}d``/``Conv{1,2,3}d`` modules holding those
  weights (the native twin of lucid on PyTorch, and on NumPy data);
* JAX: ``jax.lax.conv_general_dilated`` for every layer, the whole network under one
  ``jax.jit`` (the native twin of lucid on JAX).

``forward`` is inference (``torch.no_grad``); ``training`` is one training step's
work: the forward, and the gradients of ``sum(y * cotangent)`` with respect to every
weight and bias (NumPy has no autodiff, so forward only).

Run from a checkout: ``python -m benchmarks.networks [--backend torch] [--batch small]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.report import geomean, machine_lines
from lucid._cli._timing import interleaved_medians

__all__ = ["NETWORKS", "Layer", "Network", "build", "main"]

Runner = Callable[[], Any]


@dataclass(frozen=True)
class Layer:
    """One layer: ``up`` (transposed convolution), ``conv``, or ``cat`` (join a skip input).

    ``act`` is applied after the layer: ``relu``, ``tanh``, ``sigmoid`` or ``None``.
    For ``cat``, ``c_out`` is the number of channels the skip input brings.
    """

    kind: str
    c_in: int
    c_out: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    act: str | None = "relu"

    def kwargs(self) -> dict[str, int]:
        common = {"stride": self.stride, "padding": self.padding}
        return {**common, "output_padding": self.output_padding} if self.kind == "up" else common


@dataclass(frozen=True)
class Network:
    """A decoder: ``layers`` applied to an input ``(batch, *input_shape)``."""

    name: str
    description: str
    input_shape: tuple[int, ...]  # (C, *spatial)
    layers: tuple[Layer, ...]
    batches: dict[str, int] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.input_shape) - 1

    def shapes(self, batch: int) -> list[tuple[int, ...]]:
        """The activation shape after each layer (and the input first)."""
        shape = (batch, *self.input_shape)
        out = [shape]
        for layer in self.layers:
            n, c, *size = shape
            if layer.kind == "cat":
                shape = (n, c + layer.c_out, *size)
            elif layer.kind == "up":
                span = layer.kernel - 1
                size = [
                    (s - 1) * layer.stride - 2 * layer.padding + span + layer.output_padding + 1
                    for s in size
                ]
                shape = (n, layer.c_out, *size)
            else:
                size = [(s + 2 * layer.padding - layer.kernel) // layer.stride + 1 for s in size]
                shape = (n, layer.c_out, *size)
            out.append(shape)
        return out

    def flops(self, batch: int) -> float:
        """Forward multiply-adds x 2 of the convolutions."""
        total = 0.0
        shapes = self.shapes(batch)
        for layer, before, after in zip(self.layers, shapes, shapes[1:]):
            if layer.kind == "cat":
                continue
            taps = layer.kernel**self.ndim
            pixels = math.prod(before[2:]) if layer.kind == "up" else math.prod(after[2:])
            total += 2.0 * batch * pixels * layer.c_in * layer.c_out * taps
        return total


def _up(c_in: int, c_out: int, k: int, s: int, p: int, act: str | None = "relu") -> Layer:
    return Layer("up", c_in, c_out, k, s, p, act=act)


def _conv(c_in: int, c_out: int, k: int, p: int, act: str | None = "relu") -> Layer:
    return Layer("conv", c_in, c_out, k, 1, p, act=act)


NETWORKS: tuple[Network, ...] = (
    Network(
        "vae-decoder",
        "latent 4x16x16 -> conv 128 -> 3 up k4 s2 -> RGB k3 (128x128)",
        (4, 16, 16),
        (
            _conv(4, 128, 3, 1),
            _up(128, 128, 4, 2, 1),
            _up(128, 64, 4, 2, 1),
            _up(64, 32, 4, 2, 1),
            _up(32, 3, 3, 1, 1, act="tanh"),
        ),
        {"small": 1, "realistic": 8},
    ),
    Network(
        "dcgan-generator",
        "z 100x1x1 -> 512x4x4 -> ... -> RGB 64x64 (k4 s2 p1)",
        (100, 1, 1),
        (
            _up(100, 512, 4, 1, 0),
            _up(512, 256, 4, 2, 1),
            _up(256, 128, 4, 2, 1),
            _up(128, 64, 4, 2, 1),
            _up(64, 3, 4, 2, 1, act="tanh"),
        ),
        {"small": 1, "realistic": 32},
    ),
    Network(
        "unet-decoder",
        "bottleneck 512x8x8, 3 x (up k2 s2, join skip, conv k3), 1x1 to 2 classes",
        (512, 8, 8),
        (
            _up(512, 256, 2, 2, 0),
            Layer("cat", 256, 256),
            _conv(512, 256, 3, 1),
            _up(256, 128, 2, 2, 0),
            Layer("cat", 128, 128),
            _conv(256, 128, 3, 1),
            _up(128, 64, 2, 2, 0),
            Layer("cat", 64, 64),
            _conv(128, 64, 3, 1),
            _conv(64, 2, 1, 0, act=None),
        ),
        {"small": 1, "realistic": 8},
    ),
    Network(
        "mask-upscaler",
        "RoI 256x14x14 -> up k2 s2 x3 -> 1-channel mask 112x112",
        (256, 14, 14),
        (
            _conv(256, 256, 3, 1),
            _up(256, 128, 2, 2, 0),
            _up(128, 64, 2, 2, 0),
            _up(64, 1, 2, 2, 0, act="sigmoid"),
        ),
        {"small": 1, "realistic": 32},
    ),
    Network(
        "vocoder-1d",
        "mel 80x64 -> conv k7 -> up k16 s8 x2 -> up k4 s2 x2 -> waveform k7 (16384)",
        (80, 64),
        (
            _conv(80, 256, 7, 3),
            _up(256, 128, 16, 8, 4),
            _up(128, 64, 16, 8, 4),
            _up(64, 32, 4, 2, 1),
            _up(32, 16, 4, 2, 1),
            _conv(16, 1, 7, 3, act="tanh"),
        ),
        {"small": 1, "realistic": 8},
    ),
    Network(
        "volume-decoder-3d",
        "64x4^3 -> up k4 s2 x3 -> conv k3 to a 1-channel 32^3 volume",
        (64, 4, 4, 4),
        (
            _up(64, 32, 4, 2, 1),
            _up(32, 16, 4, 2, 1),
            _up(16, 8, 4, 2, 1),
            _conv(8, 1, 3, 1, act="sigmoid"),
        ),
        {"small": 1, "realistic": 8},
    ),
)

BATCHES = ("small", "realistic")
DIRECTIONS = ("forward", "training")


# --- data ---------------------------------------------------------------------------


def _weights(net: Network, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per layer, float32 ``(weight, bias)`` in torch's layout (``None`` for ``cat``)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for layer in net.layers:
        if layer.kind == "cat":
            out.append(None)
            continue
        kernel = (layer.kernel,) * net.ndim
        shape = (layer.c_in, layer.c_out, *kernel)
        if layer.kind == "conv":
            shape = (layer.c_out, layer.c_in, *kernel)
        scale = np.float32(1.0 / math.sqrt(layer.c_in * layer.kernel**net.ndim))
        w = rng.standard_normal(shape, dtype=np.float32) * scale
        out.append((w, rng.standard_normal((layer.c_out,), dtype=np.float32) * np.float32(0.1)))
    return out


def _inputs(
    net: Network, batch: int, seed: int = 1
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The input, the skip inputs (one per ``cat``) and the cotangent of the output."""
    rng = np.random.default_rng(seed)
    shapes = net.shapes(batch)
    x = rng.standard_normal(shapes[0], dtype=np.float32)
    skips = [
        rng.standard_normal((batch, layer.c_out, *before[2:]), dtype=np.float32)
        for layer, before in zip(net.layers, shapes)
        if layer.kind == "cat"
    ]
    gy = rng.standard_normal(shapes[-1], dtype=np.float32)
    return x, skips, gy


# --- the one executor -----------------------------------------------------------------


@dataclass(frozen=True)
class _Ops:
    """How one implementation computes each kind of layer."""

    up: Callable[[Any, Any, Any, Layer], Any]
    conv: Callable[[Any, Any, Any, Layer], Any]
    act: Callable[[str, Any], Any]
    cat: Callable[[Any, Any], Any]


def _run(net: Network, ops: _Ops, x: Any, skips: Sequence[Any], params: Sequence[Any]) -> Any:
    skip = iter(skips)
    for layer, wb in zip(net.layers, params):
        if layer.kind == "cat":
            x = ops.cat(x, next(skip))
            continue
        w, b = wb
        x = (ops.up if layer.kind == "up" else ops.conv)(x, w, b, layer)
        if layer.act is not None:
            x = ops.act(layer.act, x)
    return x


def _lucid_ops(xp: Any, nd: int) -> _Ops:
    from lucid import ops

    up = getattr(ops, f"conv_transpose{nd}d")
    conv = getattr(ops, f"conv{nd}d")
    acts: dict[str, Callable[[Any], Any]] = {
        "relu": lambda y: xp.maximum(y, 0.0),
        "tanh": xp.tanh,
        "sigmoid": lambda y: 1.0 / (1.0 + xp.exp(-y)),
    }
    return _Ops(
        up=lambda x, w, b, la: up(x, w, b, **la.kwargs()),
        conv=lambda x, w, b, la: conv(x, w, b, **la.kwargs()),
        act=lambda name, y: acts[name](y),
        cat=lambda a, b: xp.concat((a, b), axis=1),
    )


def _jax_ops() -> _Ops:
    import jax
    import jax.numpy as jnp

    from benchmarks.native import jax_conv, jax_conv_transpose

    acts = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
    return _Ops(
        up=lambda x, w, b, la: jax_conv_transpose(x, w, b, **la.kwargs()),
        conv=lambda x, w, b, la: jax_conv(x, w, b, **la.kwargs()),
        act=lambda name, y: acts[name](y),
        cat=lambda a, b: jnp.concatenate((a, b), axis=1),
    )


def _torch_modules(net: Network, weights: Sequence[Any]) -> Any:
    """The native twin: torch modules holding ``weights``; called as ``f(x, skips)``."""
    import torch

    nd = net.ndim
    acts = {"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(), "sigmoid": torch.nn.Sigmoid()}

    class Twin(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = torch.nn.ModuleList()
            for layer, wb in zip(net.layers, weights):
                if layer.kind == "cat":
                    self.blocks.append(torch.nn.Identity())
                    continue
                cls = getattr(
                    torch.nn, f"ConvTranspose{nd}d" if layer.kind == "up" else f"Conv{nd}d"
                )
                module = cls(layer.c_in, layer.c_out, layer.kernel, **layer.kwargs())
                with torch.no_grad():
                    module.weight.copy_(torch.from_numpy(wb[0]))
                    module.bias.copy_(torch.from_numpy(wb[1]))
                self.blocks.append(module)

        def forward(self, x: Any, skips: Sequence[Any]) -> Any:
            skip = iter(skips)
            for layer, block in zip(net.layers, self.blocks):
                if layer.kind == "cat":
                    x = torch.cat((x, next(skip)), dim=1)
                    continue
                x = block(x)
                if layer.act is not None:
                    x = acts[layer.act](x)
            return x

    return Twin()


# --- runners ------------------------------------------------------------------------


def build(backend: str, net: Network, batch: int, direction: str) -> dict[str, Runner]:
    """``{"lucid": fn, "native": fn}`` for ``net`` at ``batch`` on ``backend``."""
    if direction not in DIRECTIONS or (backend == "numpy" and direction != "forward"):
        msg = f"{backend} cannot run direction {direction!r}"
        raise ValueError(msg)
    weights = _weights(net)
    x, skips, gy = _inputs(net, batch)
    if backend == "jax":
        return _jax(net, weights, x, skips, gy, direction)
    import torch

    twin = _torch_modules(net, weights)
    tx, tskips = torch.from_numpy(x), [torch.from_numpy(s) for s in skips]
    if backend == "numpy":
        import array_api_compat.numpy as xp_np

        ops = _lucid_ops(xp_np, net.ndim)

        def native_np() -> Any:
            with torch.no_grad():
                return twin(tx, tskips).numpy()

        return {"lucid": lambda: _run(net, ops, x, skips, weights), "native": native_np}
    if backend != "torch":
        msg = f"unknown backend {backend!r}; expected numpy, torch or jax"
        raise ValueError(msg)
    import array_api_compat.torch as xp_torch

    ops = _lucid_ops(xp_torch, net.ndim)
    training = direction == "training"
    params = [
        None if wb is None else tuple(p for p in (b.weight, b.bias))
        for wb, b in zip(weights, twin.blocks)
    ]  # lucid computes with the twin's own parameter tensors: the same weights
    flat = [t for wb in params if wb is not None for t in wb]
    tgy = torch.from_numpy(gy)

    def step(forward: Callable[[], Any]) -> Runner:
        if not training:

            def infer() -> Any:
                with torch.no_grad():
                    return forward()

            return infer

        def train() -> Any:
            y = forward()
            return torch.autograd.grad(y, flat, tgy)

        return train

    return {
        "lucid": step(lambda: _run(net, ops, tx, tskips, params)),
        "native": step(lambda: twin(tx, tskips)),
    }


def _jax(
    net: Network,
    weights: Sequence[Any],
    x: np.ndarray,
    skips: Sequence[np.ndarray],
    gy: np.ndarray,
    direction: str,
) -> dict[str, Runner]:
    import jax
    import jax.numpy as jnp

    params = [None if wb is None else (jnp.asarray(wb[0]), jnp.asarray(wb[1])) for wb in weights]
    jx, jskips, jgy = jnp.asarray(x), [jnp.asarray(s) for s in skips], jnp.asarray(gy)

    def runner(ops: _Ops) -> Runner:
        forward = functools.partial(_run, net, ops)
        if direction == "forward":
            compiled = jax.jit(forward)
        else:

            def loss(params: Any, x: Any, skips: Any) -> Any:
                return jnp.sum(forward(x, skips, params) * jgy)

            grad = jax.grad(loss)
            compiled = jax.jit(lambda x, skips, params: grad(params, x, skips))
        return lambda: jax.block_until_ready(compiled(jx, jskips, params))

    return {"lucid": runner(_lucid_ops(jnp, net.ndim)), "native": runner(_jax_ops())}


def _first_array(out: Any) -> np.ndarray:
    while isinstance(out, (tuple, list)):
        out = out[0]
    if hasattr(out, "detach"):
        out = out.detach()
    return np.asarray(out)


def check_agreement(fns: dict[str, Runner], rtol: float = 1e-3) -> float:
    """The relative error of lucid against native; raises beyond ``rtol``."""
    got, want = _first_array(fns["lucid"]()), _first_array(fns["native"]())
    scale = max(float(np.max(np.abs(want))), 1e-30)
    error = float(np.max(np.abs(got - want))) / scale
    if got.shape != want.shape or not error <= rtol:
        msg = (
            f"lucid and native disagree: shape {got.shape} vs {want.shape}, rel. error {error:.3g}"
        )
        raise AssertionError(msg)
    return error


# --- report -------------------------------------------------------------------------


def _rows_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| network | batch | direction | backend | lucid ms | native ms | lucid/native "
        "| spread | GFLOP/s lucid / native |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        factor = 3.0 if r["direction"] == "training" else 1.0
        gf = factor * r["flops"] / 1e9
        lines.append(
            f"| {r['network']} | {r['batch_name']} (N={r['batch']}) | {r['direction']} | "
            f"{r['backend']} | {r['lucid_s'] * 1e3:.2f} | {r['native_s'] * 1e3:.2f} | "
            f"**{r['ratio']:.2f}** | {r['spread']:.0%} | "
            f"{gf / r['lucid_s']:.1f} / {gf / r['native_s']:.1f} |"
        )
    return lines


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Geometric mean and worst network per backend and direction."""
    lines = [
        "| backend | direction | geomean lucid/native | worst | rows |",
        "|---|---|---:|---|---:|",
    ]
    keys = dict.fromkeys((r["backend"], r["direction"]) for r in rows)
    for backend, direction in keys:
        mine = [r for r in rows if r["backend"] == backend and r["direction"] == direction]
        worst = max(mine, key=lambda r: r["ratio"])
        lines.append(
            f"| {backend} | {direction} | **{geomean(r['ratio'] for r in mine):.2f}** | "
            f"{worst['network']} N={worst['batch']} ({worst['ratio']:.2f}) | {len(mine)} |"
        )
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.networks", description=__doc__)
    parser.add_argument("--backend", action="append", choices=("numpy", "torch", "jax"))
    parser.add_argument("--networks", help="comma-separated network names (default: all)")
    parser.add_argument("--batch", choices=(*BATCHES, "both"), default="both")
    parser.add_argument("--direction", choices=(*DIRECTIONS, "both"), default="both")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timing per row")
    parser.add_argument("--repeat", type=int, default=None, help="exactly this many rounds")
    parser.add_argument(
        "--threads", type=int, default=None, help="intra-op threads for every backend"
    )
    parser.add_argument("--markdown", help="also write the report here")
    parser.add_argument("--json", help="also write the raw rows here")
    return parser


def select(names: str | None) -> tuple[Network, ...]:
    if not names:
        return NETWORKS
    by_name = {n.name: n for n in NETWORKS}
    wanted = [s.strip() for s in names.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in by_name]
    if unknown:
        msg = f"unknown networks {unknown}; expected some of {sorted(by_name)}"
        raise ValueError(msg)
    return tuple(by_name[s] for s in wanted)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.threads is not None:
        from benchmarks.layers import _limit_threads

        _limit_threads(args.threads, argv, ("benchmarks.networks",))
    backends = args.backend or ["numpy", "torch", "jax"]
    batches = BATCHES if args.batch == "both" else (args.batch,)
    directions = DIRECTIONS if args.direction == "both" else (args.direction,)
    rows = []
    for backend in backends:
        for net in select(args.networks):
            for batch_name in batches:
                for direction in directions:
                    if backend == "numpy" and direction != "forward":
                        continue
                    batch = net.batches[batch_name]
                    if direction == directions[0]:
                        # Forward outputs only: float32 gradients through ReLUs differ
                        # by more than rounding wherever an activation sits near 0.
                        check_agreement(build(backend, net, batch, "forward"))
                    fns = build(backend, net, batch, direction)
                    stats = interleaved_medians(
                        fns,
                        budget_s=args.budget,
                        min_repeats=5,
                        max_repeats=60,
                        repeats=args.repeat,
                    )
                    ratios = _round_ratios(stats)
                    row = {
                        "network": net.name,
                        "batch_name": batch_name,
                        "batch": batch,
                        "direction": direction,
                        "backend": backend,
                        "lucid_s": stats["lucid"]["median"],
                        "native_s": stats["native"]["median"],
                        "ratio": stats["lucid"]["median"] / stats["native"]["median"],
                        "spread": ratios,
                        "repeats": int(stats["lucid"]["repeats"]),
                        "flops": net.flops(batch),
                    }
                    rows.append(row)
                    print(_rows_table([row])[-1], file=sys.stderr, flush=True)
    command = " ".join(["python -m benchmarks.networks", *argv])
    report = [
        "Median time per call, lucid and the native network interleaved (lucid/native < 1: "
        "lucid is faster). Spread: the larger of lucid's and native's interquartile range "
        "over its median.",
        "",
        *_rows_table(rows),
        "",
        *summary(rows),
        "",
        f"Command: `{command}`",
        "",
        *machine_lines(),
    ]
    print("\n".join(report))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(report) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "rows": rows}, f, indent=1)
    return 0


def _round_ratios(stats: dict[str, dict[str, float]]) -> float:
    """How much the samples moved: the larger interquartile range over median, lucid or native."""
    return max((s["p75"] - s["p25"]) / s["median"] for s in (stats["lucid"], stats["native"]))


if __name__ == "__main__":
    sys.exit(main())
