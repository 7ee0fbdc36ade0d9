"""Whole PyTorch decoders ported to lucid, end to end, on every backend, eval and training.

Each model below is written **once**, as a function of the ``nn`` namespace, and built
twice: with ``torch.nn`` (the twin) and with ``lucid.nn`` (the port).  The twin gets
random weights and running statistics moved by a few training steps (so
``num_batches_tracked`` is not 0); its state dict is loaded into the port *as is*
(torch tensors, every key).  Then, on each backend:

* eval mode: the port's output is the twin's;
* training mode: one step on a fresh batch gives the twin's output, and afterwards
  the port's running statistics (and ``num_batches_tracked``) are the twin's.
  On JAX the step is ``jax.jit(lambda m, x: (m(x), m))``: the updated model comes back
  alongside the output.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
import pytest
import torch

import lucid.nn as lnn
from lucid._backends import to_numpy
from lucid.testing import assert_close


def dcgan_generator(nn: Any, nz: int = 16, ngf: int = 8, nc: int = 3) -> Any:
    """pytorch/examples' DCGAN generator, verbatim but for the sizes."""

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, x: Any) -> Any:
            return self.main(x)

    return Generator()


def vae_decoder(nn: Any, latent: int = 8) -> Any:
    """Linear -> Unflatten -> ConvTranspose2d/BatchNorm2d/LeakyReLU -> Sigmoid."""
    return nn.Sequential(
        nn.Linear(latent, 32 * 4 * 4),
        nn.Unflatten(1, (32, 4, 4)),
        nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.LeakyReLU(0.2, inplace=True),
        nn.ConvTranspose2d(16, 3, 4, stride=2, padding=1),
        nn.Sigmoid(),
    )


def unet_up_block(nn: Any, in_channels: int = 16, out_channels: int = 8) -> Any:
    """U-Net's decoder block: ConvTranspose2d k2 s2, concatenation with the skip, Conv-BN-ReLU."""

    class Up(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
            self.bn = nn.BatchNorm2d(out_channels)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x: Any, skip: Any) -> Any:
            xp = array_api_compat.array_namespace(x, skip)
            x = xp.concat([self.up(x), skip], axis=1)
            return self.act(self.bn(self.conv(x)))

    return Up()


def upscaler(nn: Any) -> Any:
    """ConvTranspose2d, GroupNorm, GELU, PixelShuffle, Upsample."""
    return nn.Sequential(
        nn.ConvTranspose2d(4, 16, 3, stride=1, padding=1),
        nn.GroupNorm(4, 16),
        nn.GELU(),
        nn.PixelShuffle(2),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
    )


# name -> (builder, input shapes of one call)
MODELS = {
    "dcgan": (dcgan_generator, [(4, 16, 1, 1)]),
    "vae": (vae_decoder, [(4, 8)]),
    "unet": (unet_up_block, [(3, 16, 5, 6), (3, 8, 10, 12)]),
    "upscaler": (upscaler, [(2, 4, 5, 6)]),
}


def batch(shapes: list[tuple[int, ...]], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32).astype(np.float64) for s in shapes]


def torch_twin(name: str) -> torch.nn.Module:
    """The torch model with random weights and running statistics moved off their defaults."""
    build, shapes = MODELS[name]
    torch.manual_seed(0)
    model = build(torch.nn).double()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.1)
        model.train()
        for seed in range(3):
            model(*[torch.from_numpy(a) for a in batch(shapes, 100 + seed)])
    return model


def port(name: str, twin: torch.nn.Module, backend: Any, dtype: str) -> Any:
    build, _ = MODELS[name]
    model = build(lnn).to(backend.name, dtype=dtype)
    model.load_state_dict(twin.state_dict())  # torch tensors, num_batches_tracked included
    return model


def run(backend: Any, model: Any, arrays: list[Any]) -> tuple[Any, Any]:
    """``(output, model after the call)``; on JAX the call is jitted and the model returned."""
    if backend.name != "jax":
        return model(*arrays), model
    import jax

    return jax.jit(lambda m, *a: (m(*a), m))(model, *arrays)  # type: ignore[no-any-return]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MODELS))
def test_eval_mode_matches_torch(backend, name, dtype):
    twin = torch_twin(name).eval()
    model = port(name, twin, backend, dtype).eval()
    assert list(model.state_dict()) == list(twin.state_dict())
    data = batch(MODELS[name][1], 1)
    with torch.no_grad():
        expected = twin(*[torch.from_numpy(a) for a in data]).numpy()
    y, _ = run(backend, model, [backend.asarray(a, dtype) for a in data])
    assert_close(y, expected, backend=backend, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MODELS))
def test_training_step_matches_torch(backend, name, dtype):
    twin = torch_twin(name).train()
    model = port(name, twin, backend, dtype).train()
    data = batch(MODELS[name][1], 2)
    with torch.no_grad():
        expected = twin(*[torch.from_numpy(a) for a in data]).numpy()
    y, model = run(backend, model, [backend.asarray(a, dtype) for a in data])
    assert_close(y, expected, backend=backend, dtype=dtype)
    after = model.state_dict()
    assert list(after) == list(twin.state_dict())
    for key, value in twin.state_dict().items():
        if key.endswith("num_batches_tracked"):
            assert int(to_numpy(after[key])) == int(value) == 4, key
        else:
            assert_close(to_numpy(after[key]), value.numpy())
