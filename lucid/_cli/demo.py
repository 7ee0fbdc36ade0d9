"""``python -m lucid demo``: a lazy decoder on every installed backend, checked against torch.

The decoder is built from ``LazyConvTranspose2d`` layers without ever naming an input
channel count; it starts from the latent shape ``(4, 128, 8, 8)`` of the documentation.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import numpy as np

from ..testing import available_backends

LATENT = (4, 128, 8, 8)
SEED = 0


def build_decoder() -> Any:
    """The demo decoder: three lazy transposed convolutions with activations."""
    from .. import nn

    return nn.Sequential(
        nn.LazyConvTranspose2d(64, kernel_size=4, stride=2, padding=1),
        nn.ReLU(),
        nn.LazyConvTranspose2d(32, kernel_size=4, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.LazyConvTranspose2d(3, kernel_size=3, padding=1),
        nn.Tanh(),
    )


def _torch_reference(decoder: Any, z: np.ndarray) -> np.ndarray | None:
    """The same decoder in ``torch.nn``, loaded with lucid's weights (float64)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    layers: list[Any] = []
    for layer in decoder:
        name = type(layer).__name__
        if name == "ConvTranspose2d":
            layers.append(
                torch.nn.ConvTranspose2d(
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel_size,
                    stride=layer.stride,
                    padding=layer.padding,
                )
            )
        elif name == "LeakyReLU":
            layers.append(torch.nn.LeakyReLU(layer.negative_slope))
        else:
            layers.append(getattr(torch.nn, name)())
    reference = torch.nn.Sequential(*layers).double()
    state = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in
             _numpy_state(decoder).items()}  # fmt: skip
    reference.load_state_dict(state)
    with torch.no_grad():
        return reference(torch.from_numpy(z.astype(np.float64))).numpy()


def _numpy_state(module: Any) -> dict[str, np.ndarray]:
    from .._backends import to_numpy

    return {k: to_numpy(v) for k, v in module.state_dict().items()}


def _median_ms(fn: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def run_backend(name: str) -> dict[str, Any]:
    """Build, materialise and time the decoder on backend ``name``."""
    import lucid

    from .._backends import to_numpy

    lucid.manual_seed(SEED)
    z = lucid.randn(*LATENT, backend=name)
    decoder = build_decoder()
    shapes = [tuple(z.shape)]
    x = z
    for layer in decoder:
        x = layer(x)
        if type(layer).__name__ == "ConvTranspose2d":
            shapes.append(tuple(x.shape))
    run = decoder
    sync: Any = to_numpy
    if name == "jax":
        import jax

        jitted = jax.jit(lambda module, inp: module(inp))
        jitted(decoder, z).block_until_ready()

        def run(inp: Any) -> Any:
            return jitted(decoder, inp)

    if name == "torch":
        import torch

        def run(inp: Any) -> Any:
            with torch.no_grad():
                return decoder(inp)

    y = run(z)
    ms = _median_ms(lambda: sync(run(z)))
    return {"decoder": decoder, "z": to_numpy(z), "y": to_numpy(y), "shapes": shapes, "ms": ms}


def main() -> int:
    """Print the demo; returns the process exit code (1 if any backend disagrees with torch)."""
    backends = [
        b for b in ("numpy", "jax", "torch", "array_api_strict") if b in available_backends()
    ]
    print(f"lucid demo: a lazy decoder from the latent shape {LATENT}")
    status = 0
    printed_model = False
    rows = []
    first_weights: dict[str, np.ndarray] | None = None
    same_weights = True
    for name in backends:
        try:
            result = run_backend(name)
        except Exception as error:
            rows.append(f"  {name:<17} FAILED: {type(error).__name__}: {error}")
            status = 1
            continue
        if not printed_model:
            print("  after the first call (in_channels inferred):")
            print("    " + repr(result["decoder"]).replace("\n", "\n    "))
            print("  shapes: " + " -> ".join(str(s) for s in result["shapes"]))
            printed_model = True
        weights = _numpy_state(result["decoder"])
        if first_weights is None:
            first_weights = weights
        else:
            same_weights &= all(np.array_equal(first_weights[k], v) for k, v in weights.items())
        reference = _torch_reference(result["decoder"], result["z"])
        if reference is None:
            parity = "torch not installed"
        else:
            rel = float(np.max(np.abs(result["y"] - reference)) / np.max(np.abs(reference)))
            ok = rel <= 1e-5
            status |= 0 if ok else 1
            parity = f"{rel:.1e} {'ok' if ok else 'MISMATCH'}"
        jit = " (jax.jit)" if name == "jax" else ""
        rows.append(
            f"  {name:<17} {result['y'].shape!s:<18} {parity:<22} {result['ms']:8.2f} ms{jit}"
        )
    print(f"  {'backend':<17} {'output':<18} {'rel. error vs torch':<22} {'time':>8}")
    for row in rows:
        print(row)
    print(
        f"  same seed -> same weights on every backend: {'yes' if same_weights else 'NO'}"
        " (float32; time: median of 5 forward passes)"
    )
    status |= 0 if same_weights else 1
    return status
