"""State dicts cross between torch.nn and lucid.nn in both directions, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import backend_of
from lucid.testing import assert_close

CONFIGS = [
    {"kernel_size": 4, "stride": 2, "padding": 1},
    {
        "kernel_size": (3, 5),
        "stride": (2, 1),
        "padding": (1, 2),
        "output_padding": (1, 0),
        "groups": 2,
    },
    {"kernel_size": 3, "dilation": 2, "bias": False},
]


def torch_forward(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_state_dict_into_lazy_lucid(backend, config, dtype):
    reference = torch.nn.ConvTranspose2d(6, 4, **config).to(getattr(torch, dtype))
    m = nn.LazyConvTranspose2d(4, **config).to(backend.name)
    m.load_state_dict(reference.state_dict())
    assert m.in_channels == 6 and isinstance(m, nn.ConvTranspose2d)
    assert backend_of(m.weight) == backend_of(backend.asarray([0.0]))
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 5)).astype(dtype)
    assert_close(m(backend.asarray(x)), torch_forward(reference, x), backend=backend, dtype=dtype)


def test_torch_state_dict_without_to_stays_in_torch():
    reference = torch.nn.ConvTranspose2d(3, 2, 3)
    m = nn.LazyConvTranspose2d(2, 3)
    m.load_state_dict(reference.state_dict())
    assert isinstance(m.weight, torch.nn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() != reference.weight.data_ptr()  # a copy, not an alias


def test_loaded_numpy_parameters_do_not_alias_the_state_dict():
    state = {"weight": np.ones((2, 3, 3, 3), dtype=np.float32), "bias": np.zeros(3, np.float32)}
    for m in (nn.LazyConvTranspose2d(3, 3), nn.ConvTranspose2d(2, 3, 3)):
        m.load_state_dict(state)
        m.weight[...] = 5.0
        assert state["weight"].max() == 1.0


@pytest.mark.parametrize("config", CONFIGS)
def test_lucid_state_dict_into_torch(backend, config):
    lucid.manual_seed(1)
    m = nn.LazyConvTranspose2d(4, **config)
    x = np.random.default_rng(1).standard_normal((2, 6, 5, 5))
    y = m(backend.asarray(x))
    reference = torch.nn.ConvTranspose2d(6, 4, **config).double()
    converted = {k: lucid.asarray(v, backend="torch") for k, v in m.state_dict().items()}
    result = reference.load_state_dict(converted)
    assert not result.missing_keys and not result.unexpected_keys
    assert_close(y, torch_forward(reference, x), backend=backend, dtype="float64")


def test_torch_backend_state_dict_loads_directly():
    m = nn.ConvTranspose2d(3, 5, 3, stride=2, device="cpu").to("torch")
    reference = torch.nn.ConvTranspose2d(3, 5, 3, stride=2)
    reference.load_state_dict(m.state_dict())
    x = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference(x))


def test_decoder_state_dict_round_trip(backend):
    config = {"kernel_size": 4, "stride": 2, "padding": 1}
    theirs = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(16, 8, **config), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 3, **config), torch.nn.Sigmoid(),
    ).double()  # fmt: skip
    mine = nn.Sequential(
        nn.LazyConvTranspose2d(8, **config), nn.ReLU(),
        nn.LazyConvTranspose2d(3, **config), nn.Sigmoid(),
    ).to(backend.name)  # fmt: skip
    mine.load_state_dict(theirs.state_dict())
    assert [layer.in_channels for layer in mine[::2]] == [16, 8]
    x = np.random.default_rng(2).standard_normal((2, 16, 4, 4))
    assert_close(mine(backend.asarray(x)), torch_forward(theirs, x), backend=backend)
    back = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(16, 8, **config), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 3, **config), torch.nn.Sigmoid(),
    ).double()  # fmt: skip
    back.load_state_dict(
        {k: lucid.asarray(v, backend="torch") for k, v in mine.state_dict().items()}
    )
    assert_close(torch_forward(back, x), torch_forward(theirs, x))
