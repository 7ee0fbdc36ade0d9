"""``python -m lucid self-check``: conv_transpose2d on every installed backend, against torch.

For every installed backend the self-check runs :func:`lucid.ops.conv_transpose2d` on a
few layers and prints the output shape, the relative error against torch's native op
(float64) when torch is installed, and, for the first layer, the time against the
backend's native op (torch's for backends without convolutions of their own).  The
exit status is 1 when any parity check fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from lucid.ops import conv_transpose2d
from lucid.testing import Backend, available_backends, load_backend

from ._timing import interleaved_medians

__all__ = ["SELF_CHECK_LAYERS", "Layer", "main", "self_check"]

FLOAT32_TOLERANCE = 1e-5
#: Above this spread of the lucid/native ratio between timing rounds, say so.
NOISY_SPREAD = 0.25
_ROUNDS = 5

LEGEND = f"""\
  rel err    max|lucid - torch| / max|torch|, torch in float64 (pass: <= {FLOAT32_TOLERANCE:g})
  lucid ms   median milliseconds per call of lucid's op (jax: under jax.jit)
  native ms  the same for the backend's own op (torch's for numpy and array_api_strict)
  ratio      lucid / native (below 1: lucid is faster), +-: half the range over {_ROUNDS} rounds"""


@dataclass(frozen=True)
class Layer:
    """One transposed-convolution configuration of the self-check."""

    name: str
    input_shape: tuple[int, int, int, int]
    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    groups: int = 1
    dilation: tuple[int, int] = (1, 1)

    def arrays(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        c_in = self.input_shape[1]
        w_shape = (c_in, self.out_channels // self.groups, *self.kernel_size)
        return (
            rng.standard_normal(self.input_shape, dtype=np.float32),
            rng.standard_normal(w_shape, dtype=np.float32),
            rng.standard_normal(self.out_channels, dtype=np.float32),
        )

    def options(self) -> tuple[Any, ...]:
        return (self.stride, self.padding, self.output_padding, self.groups, self.dilation)


SELF_CHECK_LAYERS = (
    Layer("VAE decoder (seed doc)", (4, 128, 8, 8), 64, (4, 4), (2, 2), (1, 1)),
    Layer("grouped, output_padding", (2, 8, 7, 5), 12, (3, 2), (2, 3), (1, 0), (1, 2), 4),
    Layer("dilated, unequal strides", (3, 6, 5, 6), 4, (3, 3), (3, 1), (2, 0), (0, 0), 2, (2, 3)),
)


@dataclass(frozen=True)
class Timing:
    lucid_ms: float
    native_ms: float
    ratio: float
    spread: float  # half the range of the ratio over the rounds, relative to it


def _parity(
    layer: Layer, backend: Backend, has_torch: bool
) -> tuple[tuple[int, ...], float | None]:
    x, w, b = layer.arrays()
    y = conv_transpose2d(
        backend.asarray(x), backend.asarray(w), backend.asarray(b), *layer.options()
    )
    if not has_torch:
        return tuple(y.shape), None
    import torch

    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x.astype(np.float64)),
        torch.from_numpy(w.astype(np.float64)),
        torch.from_numpy(b.astype(np.float64)),
        *layer.options(),
    ).numpy()
    error = np.max(np.abs(backend.to_numpy(y) - ref)) / np.max(np.abs(ref))
    return tuple(y.shape), float(error)


def _ready(result: Any) -> Any:
    """Wait for an asynchronous backend (JAX) to finish computing ``result``."""
    wait = getattr(result, "block_until_ready", None)
    return wait() if callable(wait) else result


def _timing(layer: Layer, backend: Backend) -> Timing | None:
    """lucid against the native op, interleaved, in several rounds for the spread."""
    x, w, b = layer.arrays()
    native_name = backend.name if backend.library.native_convolutions else "torch"
    if native_name not in available_backends():
        return None
    native = load_backend(native_name)
    reference = native.library.native_conv_transpose(2)
    if reference is None:
        return None
    options = layer.options()
    args = (backend.asarray(x), backend.asarray(w), backend.asarray(b))
    native_args = (native.asarray(x), native.asarray(w), native.asarray(b))
    ours = backend.library.compiled(lambda x, w, b: conv_transpose2d(x, w, b, *options))
    theirs = native.library.compiled(lambda x, w, b: reference(x, w, b, *options))
    rounds = [
        interleaved_medians(
            {"lucid": lambda: _ready(ours(*args)), "native": lambda: _ready(theirs(*native_args))},
            budget_s=0.15,
        )
        for _ in range(_ROUNDS)
    ]
    ratios = [r["lucid"]["median"] / r["native"]["median"] for r in rounds]
    ratio = statistics.median(ratios)
    return Timing(
        lucid_ms=1e3 * statistics.median(r["lucid"]["median"] for r in rounds),
        native_ms=1e3 * statistics.median(r["native"]["median"] for r in rounds),
        ratio=ratio,
        spread=(max(ratios) - min(ratios)) / 2 / ratio,
    )


def self_check() -> bool:
    """Run every self-check layer on every installed backend; False if any disagrees."""
    installed = available_backends()
    has_torch = "torch" in installed
    ok = True
    spreads = []
    print("self-check: lucid.ops.conv_transpose2d, float32")
    print(LEGEND)
    print(
        f"{'backend':<18}{'layer':<28}{'output shape':<18}{'rel err':>10}"
        f"{'lucid ms':>10}{'native ms':>11}{'ratio':>8}"
    )
    for name in installed:
        backend = load_backend(name)
        for layer in SELF_CHECK_LAYERS:
            shape, error = _parity(layer, backend, has_torch)
            passed = error is None or error <= FLOAT32_TOLERANCE
            ok &= passed
            err = "not run" if error is None else f"{error:.1e}"
            line = f"{name:<18}{layer.name:<28}{shape!s:<18}{err:>10}"
            timing = _timing(layer, backend) if layer is SELF_CHECK_LAYERS[0] else None
            if timing is not None:
                spreads.append(timing.spread)
                line += (
                    f"{timing.lucid_ms:>10.3f}{timing.native_ms:>11.3f}"
                    f"{timing.ratio:>7.2f}x +-{100 * timing.spread:.0f}%"
                )
            print(line + ("" if passed else "   MISMATCH"))
    if spreads and max(spreads) > NOISY_SPREAD:
        print(
            f"warning: the timings are noisy (a ratio varied by +-{100 * max(spreads):.0f}% "
            "between rounds): something else is using the CPU; rerun on a quiet machine "
            "before trusting them"
        )
    if not has_torch:
        print(
            "parity was NOT checked: torch, the reference, is not installed "
            "(pip install torch==2.13.0); only the output shapes were computed"
        )
    elif ok:
        print("self-check passed: every backend agrees with torch")
    else:
        print("self-check FAILED: results differ from torch")
    return ok


def main(argv: list[str] | None = None) -> int:
    """The self-check; 1 if any result differs from torch."""
    parser = argparse.ArgumentParser(
        prog="python -m lucid self-check",
        description=__doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else None,
    )
    parser.parse_args([] if argv is None else argv)
    return 0 if self_check() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
