"""``python -m lucid``: what is installed, a self-check of conv_transpose2d on each backend, a demo.

For every installed backend the self-check runs :func:`lucid.ops.conv_transpose2d` on a
few layers, prints the output shape, the relative error against torch's native op when
torch is installed, and the time against the backend's native op (torch's for NumPy and
array-api-strict).  The exit status is 1 when any parity check fails.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

import lucid
from lucid.ops import conv_transpose2d
from lucid.testing import Backend, available_backends, load_backend

from ._bench_report import package_version
from ._bench_timing import interleaved_medians
from .native import native_conv_transpose2d, torch_conv_transpose2d

__all__ = ["Layer", "main"]

FLOAT32_TOLERANCE = 1e-5


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


def print_environment() -> None:
    print(f"lucid {lucid.__version__} on Python {platform.python_version()} ({platform.machine()})")
    for dist in ("numpy", "array-api-compat", "array-api-extra"):
        print(f"  {dist:<18} {package_version(dist)}")
    installed = available_backends()
    print("backends:")
    for name in ("numpy", "array_api_strict", "torch", "jax"):
        dist = name.replace("_", "-")
        state = package_version(dist) if name in installed else "not installed"
        print(f"  {name:<18} {state}")


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

    ref = torch_conv_transpose2d(
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


def _timing(layer: Layer, backend: Backend) -> tuple[float, float] | None:
    """Median milliseconds of lucid and of the native op, interleaved."""
    x, w, b = layer.arrays()
    native_backend = "jax" if backend.name == "jax" else "torch"
    if native_backend not in available_backends():
        return None
    native = load_backend(native_backend)
    _, reference = native_conv_transpose2d(native_backend)
    options = layer.options()
    args = (backend.asarray(x), backend.asarray(w), backend.asarray(b))
    native_args = (native.asarray(x), native.asarray(w), native.asarray(b))

    def ours(x: Any, w: Any, b: Any) -> Any:
        return conv_transpose2d(x, w, b, *options)

    def theirs(x: Any, w: Any, b: Any) -> Any:
        return reference(x, w, b, *options)

    if backend.name == "jax":
        import jax

        ours, theirs = jax.jit(ours), jax.jit(theirs)

    medians = interleaved_medians(
        {
            "lucid": lambda: _ready(ours(*args)),
            "native": lambda: _ready(theirs(*native_args)),
        },
        budget_s=0.5,
    )
    lucid_s, native_s = medians["lucid"]["median"], medians["native"]["median"]
    return lucid_s * 1e3, native_s * 1e3


def self_check() -> bool:
    """Run every self-check layer on every installed backend; True if all agree with torch."""
    installed = available_backends()
    has_torch = "torch" in installed
    if not has_torch:
        print("torch is not installed: parity is not checked (pip install torch==2.13.0)")
    ok = True
    print("\nself-check: lucid.ops.conv_transpose2d, float32")
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
            err = "n/a" if error is None else f"{error:.1e}"
            line = f"{name:<18}{layer.name:<28}{shape!s:<18}{err:>10}"
            timing = _timing(layer, backend) if layer is SELF_CHECK_LAYERS[0] else None
            if timing is not None:
                lucid_ms, native_ms = timing
                line += f"{lucid_ms:>10.3f}{native_ms:>11.3f}{lucid_ms / native_ms:>7.2f}x"
            print(line + ("" if passed else "   MISMATCH"))
    return ok


def main() -> int:
    """Environment, self-check, then the lazy-decoder demo; 1 if anything disagrees."""
    from .demo import main as demo_main

    print_environment()
    ok = self_check()
    print("\nself-check passed" if ok else "\nself-check FAILED: results differ from torch")
    print()
    demo_status = demo_main()
    return 0 if ok and demo_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
