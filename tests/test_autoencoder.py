"""The README's autoencoder (LazyConv2d encoder, LazyConvTranspose2d decoder) on every backend.

The model is taken from the README itself, so the documented code is the tested code.
Sizes are checked against torch's documented formulas, written out here, and outputs
against an identical ``torch.nn`` model loaded with the same weights.
"""

from __future__ import annotations

import doctest
import pathlib

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import to_numpy
from lucid.testing import Backend, assert_close

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Autoencoder: LazyConv2d encoder, LazyConvTranspose2d decoder"
EVEN = [(32, 32), (64, 48)]
ODD = [(33, 27), (30, 27)]  # 30 -> 15 -> 7: even at first, odd one level down


def readme_model_class() -> type:
    """The ``AutoEncoder`` class exactly as the README section defines it."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    namespace: dict[str, object] = {}
    for example in doctest.DocTestParser().get_examples(text[start:end]):
        if example.source.startswith(("import", "from", "class")):
            exec(compile(example.source, str(README), "exec"), namespace)
    return namespace["AutoEncoder"]  # type: ignore[return-value]


AutoEncoder = readme_model_class()


class TorchAutoEncoder(torch.nn.Module):
    """The same architecture in torch.nn, with explicit channel counts."""

    def __init__(self, channels: int = 3, hidden: int = 16, latent: int = 32) -> None:
        super().__init__()
        pair = {"kernel_size": 4, "stride": 2, "padding": 1}
        self.enc1 = torch.nn.Conv2d(channels, hidden, **pair)
        self.enc2 = torch.nn.Conv2d(hidden, latent, **pair)
        self.dec2 = torch.nn.ConvTranspose2d(latent, hidden, **pair)
        self.dec1 = torch.nn.ConvTranspose2d(hidden, channels, **pair)
        self.act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size0 = list(x.shape[-2:])
        h = self.act(self.enc1(x))
        size1 = list(h.shape[-2:])
        z = self.act(self.enc2(h))
        h = self.act(self.dec2(z, output_size=size1))
        return self.dec1(h, output_size=size0)


def down(n: int) -> int:
    """torch's Conv2d size formula for kernel 4, stride 2, padding 1."""
    return (n + 2 * 1 - 1 * (4 - 1) - 1) // 2 + 1


def up(n: int) -> int:
    """torch's ConvTranspose2d size formula for kernel 4, stride 2, padding 1."""
    return (n - 1) * 2 - 2 * 1 + 1 * (4 - 1) + 0 + 1


def image(backend: Backend, size: tuple[int, int], dtype: str = "float32", batch: int = 2):
    data = np.random.default_rng(sum(size)).standard_normal((batch, 3, *size))
    return data, backend.asarray(data, dtype=dtype)


def test_the_readme_defines_a_lazy_model() -> None:
    model = AutoEncoder()
    assert isinstance(model.enc1, nn.LazyConv2d) and isinstance(model.enc2, nn.LazyConv2d)
    assert isinstance(model.dec2, nn.LazyConvTranspose2d)
    assert isinstance(model.dec1, nn.LazyConvTranspose2d)
    for layer in (model.enc1, model.enc2, model.dec2, model.dec1):
        assert (layer.kernel_size, layer.stride, layer.padding) == ((4, 4), (2, 2), (1, 1))


@pytest.mark.parametrize("size", EVEN, ids=lambda s: f"{s[0]}x{s[1]}")
def test_even_sizes_come_back_exactly(backend: Backend, size: tuple[int, int]) -> None:
    model = AutoEncoder()
    _, x = image(backend, size)
    y = model(x)
    assert tuple(y.shape) == (2, 3, *size)
    assert [model.enc1.in_channels, model.enc2.in_channels] == [3, 16]
    assert [model.dec2.in_channels, model.dec1.in_channels] == [32, 16]
    # the matched kernel/stride/padding pairs alone suffice: no output_size needed
    plain = model.dec1(model.dec2(model.enc2(model.enc1(x))))
    assert tuple(plain.shape) == (2, 3, *size)
    assert tuple(plain.shape[-2:]) == tuple(up(up(down(down(n)))) for n in size)


@pytest.mark.parametrize("size", ODD, ids=lambda s: f"{s[0]}x{s[1]}")
def test_odd_sizes_come_back_exactly_through_output_size(
    backend: Backend, size: tuple[int, int]
) -> None:
    model = AutoEncoder()
    _, x = image(backend, size)
    assert tuple(model(x).shape) == (2, 3, *size)
    # without output_size the decoder returns the floored size, which is not the input's
    plain = model.dec1(model.dec2(model.enc2(model.enc1(x))))
    expected = tuple(up(up(down(down(n)))) for n in size)
    assert tuple(plain.shape[-2:]) == expected != size
    # unbatched input works the same way
    assert tuple(model(x[0, ...]).shape) == (3, *size)


@pytest.mark.parametrize("size", [(64, 48), (33, 27)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_the_same_torch_model(backend: Backend, size: tuple[int, int], dtype: str) -> None:
    lucid.manual_seed(3)
    model = AutoEncoder()
    data, x = image(backend, size, dtype)
    y = model(x)
    reference = TorchAutoEncoder().double()
    state = {k: torch.from_numpy(np.array(to_numpy(v), dtype=np.float64)) for k, v in
             model.state_dict().items()}  # fmt: skip
    result = reference.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        expected = reference(torch.from_numpy(data.astype(dtype).astype(np.float64))).numpy()
    assert_close(y, expected, backend=backend, dtype=dtype)


def test_torch_weights_load_into_the_unmaterialized_model(backend: Backend) -> None:
    reference = TorchAutoEncoder().double()
    model = AutoEncoder().to(backend.name)
    model.load_state_dict(reference.state_dict())  # materialises every lazy layer
    assert type(model.enc1) is nn.Conv2d and type(model.dec1) is nn.ConvTranspose2d
    assert [model.enc1.in_channels, model.dec2.in_channels] == [3, 32]
    data, x = image(backend, (33, 27), "float64", batch=1)
    with torch.no_grad():
        expected = reference(torch.from_numpy(data)).numpy()
    assert_close(model(x), expected, backend=backend, dtype="float64")


def test_gradients_match_torch(backend: Backend) -> None:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")
    lucid.manual_seed(4)
    model = AutoEncoder()
    data, x = image(backend, (33, 27), "float64", batch=1)
    model(x)
    reference = TorchAutoEncoder().double()
    reference.load_state_dict(
        {k: torch.from_numpy(np.array(to_numpy(v))) for k, v in model.state_dict().items()}
    )
    target = torch.from_numpy(data)
    loss = ((reference(target) - target) ** 2).mean()
    loss.backward()
    expected = {k: p.grad.numpy() for k, p in reference.named_parameters()}
    if backend.name == "torch":
        mine = ((model(x) - x) ** 2).mean()
        mine.backward()
        grads = {k: p.grad for k, p in model.named_parameters()}
    else:
        import jax
        import jax.numpy as jnp

        grads_tree = jax.grad(lambda m: jnp.mean((m(x) - x) ** 2))(model)
        grads = dict(grads_tree.named_parameters())
    assert grads.keys() == expected.keys()
    for key, want in expected.items():
        assert_close(grads[key], want, backend=backend, dtype="float64")
