"""lucid.nn.Module, Sequential and activations: traversal, state dicts, repr, to(), copies."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import array_api_compat
import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import backend_of, to_numpy
from lucid.testing import assert_close


def decoder():
    return nn.Sequential(
        nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.ConvTranspose2d(4, 2, 3, bias=False), nn.Tanh()),
        nn.Sigmoid(),
    )


def torch_decoder():
    return torch.nn.Sequential(
        torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 2, 3, bias=False), torch.nn.Tanh()),
        torch.nn.Sigmoid(),
    )


class Affine(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_parameter("scale", lucid.ones(n))
        self.register_parameter("shift", None)
        self.note = "plain attribute"

    def forward(self, x):
        return x * self.scale


def test_repr_matches_torch():
    assert repr(decoder()) == repr(torch_decoder())
    assert repr(nn.ReLU()) == repr(torch.nn.ReLU())
    assert repr(nn.LeakyReLU()) == repr(torch.nn.LeakyReLU())


def test_traversal_matches_torch():
    mine, theirs = decoder(), torch_decoder()
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [type(m).__name__ for m in mine.children()] == [
        type(m).__name__ for m in theirs.children()
    ]
    assert [type(m).__name__ for m in mine.modules()] == [
        type(m).__name__ for m in theirs.modules()
    ]
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert len(list(mine.parameters())) == 3
    assert len(list(mine.parameters(recurse=False))) == 0


def test_shared_parameters_and_modules_are_listed_once():
    layer = nn.ConvTranspose2d(2, 2, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_parameter_registration_and_assignment():
    m = Affine(3)
    assert [n for n, _ in m.named_parameters()] == ["scale"]
    m.scale = lucid.full(3, 2.0)
    assert m(lucid.ones(3)).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="cannot assign str as parameter 'scale'"):
        m.scale = "x"
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("note", lucid.ones(1))
    with pytest.raises(KeyError, match=r'without "\."'):
        m.register_parameter("a.b", lucid.ones(1))
    with pytest.raises(TypeError, match="must be an array or None"):
        m.register_parameter("w", [1.0])
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'nope'"):
        m.nope  # noqa: B018
    del m.scale
    assert list(m.parameters()) == []
    assert m.note == "plain attribute"


def test_assignment_before_init_and_missing_forward():
    class Broken(nn.Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Broken()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_eval():
    m = decoder()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="bool"):
        m.train("yes")


def test_load_state_dict_keys_match_torch():
    sd = {k: v.detach() for k, v in torch_decoder().state_dict().items()}
    sd.pop("0.bias")
    sd["extra.weight"] = torch.zeros(1)
    theirs = torch_decoder().load_state_dict(sd, strict=False)
    mine = decoder().load_state_dict(sd, strict=False)
    assert mine.missing_keys == theirs.missing_keys
    assert mine.unexpected_keys == theirs.unexpected_keys
    with pytest.raises(RuntimeError) as torch_error:
        torch_decoder().load_state_dict(sd)
    with pytest.raises(RuntimeError) as lucid_error:
        decoder().load_state_dict(sd)
    assert str(lucid_error.value) == str(torch_error.value)


def test_size_mismatch_leaves_everything_unchanged(backend):
    m = decoder().to(backend.name)
    before = {k: np.array(to_numpy(v)) for k, v in m.state_dict().items()}
    sd = {k: backend.asarray(np.zeros(tuple(v.shape))) for k, v in m.state_dict().items()}
    sd["2.0.weight"] = backend.asarray(np.zeros((4, 2, 2, 2)))
    with pytest.raises(RuntimeError, match=r"size mismatch for 2\.0\.weight"):
        m.load_state_dict(sd)
    # lucid's rule for bad input: the same failure is also a ValueError.
    with pytest.raises(ValueError, match=r"size mismatch for 2\.0\.weight"):
        m.load_state_dict(sd)
    for key, value in m.state_dict().items():  # 0.weight was not zeroed either
        np.testing.assert_array_equal(to_numpy(value), before[key])
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_load_converts_to_the_parameters_placement(backend):
    m = decoder().to(backend.name)
    reference = torch_decoder().double()
    m.load_state_dict(reference.state_dict())  # float64 torch tensors into float32 params
    for key, value in m.state_dict().items():
        assert array_api_compat.array_namespace(value) is backend.xp
        assert_close(value, reference.state_dict()[key].numpy(), dtype="float32")


def test_torch_load_is_in_place():
    m = decoder().to("torch")
    weight = m[0].weight
    m.load_state_dict({k: v.detach() for k, v in torch_decoder().state_dict().items()})
    assert m[0].weight is weight and weight.requires_grad


def test_to_moves_every_parameter(backend):
    m = decoder()
    assert m.to(backend.name) is m
    for p in m.parameters():
        assert array_api_compat.array_namespace(p) is backend.xp
    m.to(dtype="float64")
    assert all(str(p.dtype).endswith("float64") for p in m.parameters())
    m.to("numpy", device="cpu", dtype="float32")
    assert all(isinstance(p, np.ndarray) and p.dtype == np.float32 for p in m.parameters())


def test_to_errors_change_nothing():
    m = decoder()
    with pytest.raises(ValueError, match=r"use \.to\(device='cuda'\)"):
        m.to("cuda")
    with pytest.raises(ValueError, match=r"use \.to\(dtype='float64'\)"):
        m.to("float64")
    with pytest.raises(TypeError, match="floating point or complex"):
        m.to(dtype="int32")
    with pytest.raises(ValueError, match="not available"):
        m.to("torch", device="cuda:3")
    assert all(isinstance(p, np.ndarray) for p in m.parameters())


def test_copies_and_pickle(backend):
    lucid.manual_seed(0)
    m = decoder().to(backend.name).eval()
    x = backend.asarray(np.random.default_rng(0).standard_normal((1, 8, 3, 3)), dtype="float32")
    y = backend.to_numpy(m(x))
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert repr(clone) == repr(m) and not clone.training
        np.testing.assert_array_equal(backend.to_numpy(clone(x)), y)
        assert all(a is not b for a, b in zip(clone.parameters(), m.parameters()))
        assert backend_of(next(clone.parameters())) == backend_of(next(m.parameters()))
    shallow = copy.copy(m)
    assert shallow[0] is m[0]
    shallow.register_parameter("extra", lucid.ones(1))
    assert "extra" not in m._parameters
    if backend.name == "torch":
        clone = copy.deepcopy(m)
        assert all(isinstance(p, torch.nn.Parameter) for p in clone.parameters())


def test_sequential_container():
    a, b = nn.ReLU(), nn.Tanh()
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
    assert isinstance(s[1:], nn.Sequential) and s[1:][0] is b
    s.append(nn.Sigmoid())
    assert len(s) == 3 and "2" in s._modules
    with pytest.raises(IndexError):
        s[5]
    named = nn.Sequential(OrderedDict([("up", nn.ConvTranspose2d(1, 1, 1)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["up.weight", "up.bias"]
    assert named.up is named[0]


ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
]


@pytest.mark.parametrize(("mine", "theirs"), ACTIVATIONS, ids=lambda m: repr(m))
def test_activations_match_torch(backend, mine, theirs):
    data = np.array([-800.0, -3.0, -0.5, -0.0, 0.0, 0.25, 2.0, 800.0, np.nan])
    expected = theirs(torch.from_numpy(data)).numpy()
    got = backend.to_numpy(mine(backend.asarray(data)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, equal_nan=True)


@pytest.mark.parametrize(("mine", "theirs"), ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_gradients_match_torch(mine, theirs):
    data = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    t = torch.from_numpy(data).requires_grad_(True)
    theirs(t).sum().backward()
    u = torch.from_numpy(data).requires_grad_(True)
    mine(u).sum().backward()
    np.testing.assert_allclose(u.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.only_backend("jax", reason="jax.grad")
@pytest.mark.parametrize(("mine", "theirs"), ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_jax_gradients_match_torch(backend, mine, theirs):
    import jax

    data = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    t = torch.from_numpy(data).requires_grad_(True)
    theirs(t).sum().backward()
    g = jax.grad(lambda v: mine(v).sum())(backend.asarray(data))
    np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), rtol=1e-12)


def test_shared_module_round_trip_like_torch():
    layer = nn.ConvTranspose2d(2, 2, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    theirs = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3), torch.nn.ReLU())
    theirs.append(theirs[0])
    assert list(model.state_dict()) == list(theirs.state_dict())
    assert repr(model.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
