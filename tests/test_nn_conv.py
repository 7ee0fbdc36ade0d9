"""Eager ConvTranspose{1,2,3}d: parity with torch, validation, initialisation, repr, placement."""

from __future__ import annotations

import math

import array_api_compat
import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import to_numpy
from lucid.testing import assert_close

CONFIGS = [
    {"kernel_size": 3},
    {"kernel_size": 4, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2)},
    {"kernel_size": 3, "stride": 2, "dilation": 2, "output_padding": 1, "groups": 2},
    {"kernel_size": 2, "groups": 4, "bias": False},
]


def state_of(module):
    return {k: np.array(to_numpy(v)) for k, v in module.state_dict().items()}


def torch_module(ndim, cin, cout, **config):
    return getattr(torch.nn, f"ConvTranspose{ndim}d")(cin, cout, **config).double()


def torch_forward(module, x, **kwargs):
    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(x, dtype=np.float64)), **kwargs).numpy()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batched", [True, False])
def test_matches_torch(backend, config, batched):
    reference = torch_module(2, 8, 12, **config)
    with lucid.default_backend("numpy"):
        m = nn.ConvTranspose2d(8, 12, **config).to(backend.name, dtype="float64")
    m.load_state_dict({k: backend.asarray(v.numpy()) for k, v in reference.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 8, 5, 6) if batched else (8, 5, 6))
    y = m(backend.asarray(x))
    assert_close(y, torch_forward(reference, x), backend=backend, dtype="float64")


def test_output_size(backend):
    reference = torch_module(2, 3, 4, kernel_size=3, stride=2)
    m = nn.ConvTranspose2d(3, 4, 3, stride=2).to(backend.name, dtype="float64")
    m.load_state_dict({k: backend.asarray(v.numpy()) for k, v in reference.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((1, 3, 5, 5))
    for size in [(11, 11), (12, 12), [1, 4, 12, 11]]:
        assert_close(
            m(backend.asarray(x), output_size=size),
            torch_forward(reference, x, output_size=size),
            backend=backend,
        )


@pytest.mark.parametrize(("ndim", "cls"), [(1, nn.ConvTranspose1d), (3, nn.ConvTranspose3d)])
def test_1d_and_3d_match_torch(backend, ndim, cls):
    config = {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}
    reference = torch_module(ndim, 4, 6, **config)
    m = cls(4, 6, **config).to(backend.name, dtype="float64")
    m.load_state_dict({k: backend.asarray(v.numpy()) for k, v in reference.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((2, 4, *([4] * ndim)))
    assert_close(m(backend.asarray(x)), torch_forward(reference, x), backend=backend)
    assert repr(m) == repr(reference)


def test_parameters_on_default_backend(backend):
    with lucid.default_backend(backend.name):
        m = nn.ConvTranspose2d(6, 4, (3, 5), groups=2)
    assert tuple(m.weight.shape) == (6, 2, 3, 5)
    assert tuple(m.bias.shape) == (4,)
    for p in m.parameters():
        assert array_api_compat.array_namespace(p) is backend.xp
        assert str(p.dtype).endswith("float32")
    m64 = nn.ConvTranspose2d(6, 4, 3, dtype="float64", device="cpu").to(backend.name)
    assert all(str(p.dtype).endswith("float64") for p in m64.parameters())


def test_torch_parameters_are_leaves():
    m = nn.ConvTranspose2d(2, 3, 3, device=torch.device("cpu"))
    for p in m.parameters():
        assert isinstance(p, torch.nn.Parameter) and p.is_leaf and p.requires_grad


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"out_channels": 6, "groups": 4}, "out_channels must be divisible by groups"),
        (
            {"in_channels": 6, "groups": 4, "out_channels": 8},
            "in_channels must be divisible by groups",
        ),
        ({"in_channels": 0}, "in_channels must be a positive int, got 0"),
        ({"out_channels": -2}, "out_channels must be a positive int, got -2"),
        ({"kernel_size": 0}, "kernel_size must be positive"),
        ({"stride": (1, 0)}, "stride must be positive"),
        ({"padding": -1}, "padding must be non-negative"),
        ({"dilation": 0}, "dilation must be positive"),
        ({"padding": "same"}, "String padding is not supported"),
        ({"padding": "valid"}, "String padding is not supported"),
        (
            {"output_padding": 2, "stride": 2},
            "output_padding must be smaller than either stride or dilation",
        ),
        ({"groups": 0}, "groups must be a positive int"),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_construction_validation(kwargs, message, lazy):
    config = {"in_channels": 8, "out_channels": 8, "kernel_size": 3, **kwargs}
    if lazy:
        if "in_channels" in kwargs:
            pytest.skip("lazy modules take no in_channels")
        del config["in_channels"]
        cls = nn.LazyConvTranspose2d
    else:
        cls = nn.ConvTranspose2d
    with pytest.raises(ValueError, match=message):
        cls(**config)


def test_torch_misses_the_groups_check():
    # The fault lucid fixes: torch builds this module and fails only later.
    torch.nn.LazyConvTranspose2d(out_channels=6, kernel_size=3, groups=4)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.LazyConvTranspose2d(out_channels=6, kernel_size=3, groups=4)


@pytest.mark.parametrize("bad", [2.0, "3", None, True])
def test_type_errors(bad):
    with pytest.raises(TypeError):
        nn.ConvTranspose2d(bad, 4, 3)
    with pytest.raises(TypeError):
        nn.ConvTranspose2d(4, 4, 3, bias=1)


@pytest.mark.parametrize(
    ("cin", "cout", "k", "groups"), [(16, 8, (4, 4), 1), (4, 32, (3, 5), 2), (3, 3, (1, 1), 3)]
)
def test_initial_distribution_is_torchs(backend, cin, cout, k, groups):
    # torch's formula, computed independently of lucid's init module
    fan_in = cout // groups * math.prod(k)
    reference = torch.nn.ConvTranspose2d(cin, cout, k, groups=groups)
    gain = math.sqrt(2.0 / (1 + 5))
    torch_bound = (
        math.sqrt(3.0)
        * gain
        / math.sqrt(torch.nn.init._calculate_fan_in_and_fan_out(reference.weight)[0])
    )
    assert math.isclose(torch_bound, 1 / math.sqrt(fan_in))
    lucid.manual_seed(99)
    m = nn.ConvTranspose2d(cin, cout, k, groups=groups).to(backend.name)
    rng = np.random.default_rng(99)  # lucid's documented generator: weight first, then bias
    expected_w = rng.uniform(-torch_bound, torch_bound, (cin, cout // groups, *k))
    expected_b = rng.uniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), cout)
    assert_close(m.weight, expected_w.astype(np.float32), backend=backend, dtype="float32")
    assert_close(m.bias, expected_b.astype(np.float32), backend=backend, dtype="float32")


def test_initial_distribution_statistics():
    lucid.manual_seed(0)
    m = nn.ConvTranspose2d(512, 64, 3, dtype="float64")
    w, b = m.weight, m.bias
    bound = 1 / math.sqrt(64 * 9)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() - bound**2 / 3) < 0.02 * bound**2  # variance of U(-b, b)
    assert np.abs(b).max() <= bound
    # torch's own weights live in the same interval
    t = torch.nn.ConvTranspose2d(512, 64, 3)
    assert float(t.weight.detach().abs().max()) <= bound * (1 + 1e-6)


def test_same_seed_same_weights_everywhere(backend):
    lucid.manual_seed(5)
    a = state_of(nn.ConvTranspose2d(4, 6, 3, stride=2))
    lucid.manual_seed(5)
    if backend.name == "array_api_strict":
        m = nn.ConvTranspose2d(4, 6, 3, stride=2).to("array_api_strict")
    else:
        with lucid.default_backend(backend.name):
            m = nn.ConvTranspose2d(4, 6, 3, stride=2)
    b = state_of(m)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("config", CONFIGS)
def test_repr_matches_torch(config):
    assert repr(nn.ConvTranspose2d(8, 12, **config)) == repr(
        torch.nn.ConvTranspose2d(8, 12, **config)
    )


def test_reset_parameters(backend):
    lucid.manual_seed(0)
    m = nn.ConvTranspose2d(3, 4, 3).to(backend.name)
    before = state_of(m)
    weight = m.weight
    m.reset_parameters()
    after = state_of(m)
    assert not np.array_equal(before["weight"], after["weight"])
    assert np.abs(after["weight"]).max() <= 1 / math.sqrt(4 * 9)
    if backend.name in ("torch", "numpy"):
        assert m.weight is weight  # in place, so optimizers keep working


def test_wrong_input_placement(backend):
    m = nn.ConvTranspose2d(2, 3, 3, dtype="float64").to(backend.name)
    other = "torch" if backend.name != "torch" else "numpy"
    x = lucid.zeros(1, 2, 4, 4, backend=other, dtype="float64")
    with pytest.raises(TypeError, match=rf"parameters live in {backend.name} .*\.to\('{other}'\)"):
        m(x)
    with pytest.raises(TypeError, match=r"\.to\(dtype='float32'\)"):
        m(backend.asarray(np.zeros((1, 2, 4, 4)), dtype="float32"))
    with pytest.raises(TypeError, match="expects an array"):
        m([[1.0]])
