"""Conv{1,2,3}d, ConvTranspose{1,3}d and their lazy variants behave like LazyConvTranspose2d.

Lazy materialisation (first input or state dict, atomic, thread-safe), the eager class
afterwards, torch's repr, leaf parameters on torch, pytrees on JAX, copies, placement.
Parity of values with torch is in ``conformance/test_modules.py``.
"""

from __future__ import annotations

import copy
import inspect
import math
import pickle
import threading
import time

import array_api_compat
import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid.nn._conv_base import _LazyConvMixin
from lucid.testing import Backend

LAZY = [f"Lazy{kind}{n}d" for kind in ("Conv", "ConvTranspose") for n in (1, 2, 3)]
ALL_CLASSES = LAZY + [name.removeprefix("Lazy") for name in LAZY]
CONFIG = {"kernel_size": 3, "stride": 2, "padding": 1, "groups": 2}


def rank(name: str) -> int:
    return int(name[-2])


def eager_name(name: str) -> str:
    return name.removeprefix("Lazy")


def weight_shape(name: str, cin: int, cout: int, groups: int = 2) -> tuple[int, ...]:
    kernel = (3,) * rank(name)
    if "Transpose" in name:
        return (cin, cout // groups, *kernel)
    return (cout, cin // groups, *kernel)


def assert_unmaterialized(m: nn.Module, name: str) -> None:
    assert type(m) is getattr(nn, name)
    assert m.weight is None and m.bias is None and m.in_channels is None
    assert m.has_uninitialized_params()
    assert list(m.parameters()) == [] and dict(m.state_dict()) == {}


@pytest.mark.parametrize("name", LAZY)
def test_repr_before_materialization_is_torchs_with_none(name: str) -> None:
    mine = getattr(nn, name)(6, **CONFIG)
    theirs = getattr(torch.nn, name)(6, **CONFIG)
    assert repr(mine) == repr(theirs).replace("(0, ", "(None, ", 1)
    assert isinstance(mine, getattr(nn, eager_name(name)))
    assert_unmaterialized(mine, name)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("name", LAZY)
def test_first_input_materializes(backend: Backend, name: str, batched: bool) -> None:
    m = getattr(nn, name)(6, **CONFIG)
    shape = ((2,) if batched else ()) + (4,) + (5,) * rank(name)
    x = backend.asarray(np.random.default_rng(0).standard_normal(shape), "float32")
    y = m(x)
    assert type(m) is getattr(nn, eager_name(name))
    assert m.in_channels == 4
    assert tuple(m.weight.shape) == weight_shape(name, 4, 6) and tuple(m.bias.shape) == (6,)
    assert y.ndim == x.ndim and y.shape[-rank(name) - 1] == 6
    for p in m.parameters():
        assert array_api_compat.array_namespace(p) is backend.xp
        assert p.dtype == x.dtype
    assert repr(m) == repr(getattr(torch.nn, eager_name(name))(4, 6, **CONFIG))


@pytest.mark.parametrize("name", LAZY)
def test_state_dict_load_sets_in_channels(backend: Backend, name: str) -> None:
    reference = getattr(torch.nn, eager_name(name))(8, 6, **CONFIG).double()
    m = getattr(nn, name)(6, **CONFIG).to(backend.name)
    m.load_state_dict(reference.state_dict())
    assert type(m) is getattr(nn, eager_name(name))
    assert m.in_channels == 8  # forward convs: weight.shape[1] * groups
    lazy_torch = getattr(torch.nn, name)(6, **CONFIG)
    lazy_torch.load_state_dict(reference.state_dict())
    assert lazy_torch.in_channels == 0  # the torch fault lucid does not copy


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ((6, 4, 3), r"must be 4-D \(out_channels, in_channels // groups, K_H, K_W\)"),
        ((5, 2, 3, 3), r"weight\.shape\[0\] = 5 but out_channels = 6"),
        ((6, 2, 3, 2), r"its kernel is \(3, 2\) but kernel_size=\(3, 3\)"),
        ((6, 0, 3, 3), r"in_channels = weight.shape\[1\] \* groups = 0 must be positive"),
    ],
)
def test_failed_load_changes_nothing(backend: Backend, weight: tuple, message: str) -> None:
    m = nn.LazyConv2d(6, 3, groups=2)
    before = dict(m.__dict__), dict(m._parameters)
    state = {"weight": backend.asarray(np.ones(weight)), "bias": backend.asarray(np.zeros(6))}
    with pytest.raises(RuntimeError, match=message):
        m.load_state_dict(state)
    assert_unmaterialized(m, "LazyConv2d")
    assert (dict(m.__dict__), dict(m._parameters)) == before
    m.load_state_dict({"weight": backend.asarray(np.ones((6, 2, 3, 3)))}, strict=False)
    assert m.in_channels == 4 and tuple(m.bias.shape) == (6,)
    assert np.abs(backend.to_numpy(m.bias)).max() <= 1 / math.sqrt(2 * 9)


def test_two_threads_materialize_exactly_once(backend: Backend, monkeypatch) -> None:
    calls = []
    original = _LazyConvMixin._lazy_create

    def slow_create(self, x):
        calls.append(threading.get_ident())
        time.sleep(0.05)  # both threads are past the first check
        return original(self, x)

    monkeypatch.setattr(_LazyConvMixin, "_lazy_create", slow_create)
    m = nn.LazyConv2d(4, 3, padding="same")
    x = backend.asarray(np.random.default_rng(0).standard_normal((1, 2, 5, 5)))
    barrier = threading.Barrier(2)
    outputs, errors = [], []

    def run() -> None:
        barrier.wait()
        try:
            outputs.append(backend.to_numpy(m(x)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(calls) == 1
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("name", LAZY)
def test_torch_parameters_are_leaves(name: str) -> None:
    eager = getattr(nn, eager_name(name))(4, 6, **CONFIG, device=torch.device("cpu"))
    lazy = getattr(nn, name)(6, **CONFIG)
    lazy(torch.zeros(1, 4, *(5,) * rank(name)))
    for m in (eager, lazy):
        for p in m.parameters():
            assert isinstance(p, torch.nn.Parameter) and p.is_leaf and p.requires_grad


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jax_pytree_materializes_under_jit_and_differentiates() -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    m = nn.LazyConv2d(3, 3, padding="same")
    x = jnp.ones((1, 2, 4, 4), dtype=jnp.float32)
    y = jax.jit(lambda mod, a: mod(a))(m, x)
    assert type(m) is nn.Conv2d and m.in_channels == 2  # concrete weights, not tracers
    np.testing.assert_allclose(np.asarray(m(x)), np.asarray(y), rtol=1e-6)
    grads = jax.grad(lambda mod: jnp.sum(mod(x)))(m)
    assert type(grads) is nn.Conv2d
    assert grads.weight.shape == (3, 2, 3, 3)
    # d sum(y) / d bias = number of output pixels
    np.testing.assert_allclose(np.asarray(grads.bias), np.full(3, 16.0))


@pytest.mark.parametrize("name", ["LazyConv1d", "LazyConv3d", "LazyConvTranspose3d"])
def test_copies_of_a_lazy_module(backend: Backend, name: str) -> None:
    m = getattr(nn, name)(4, 3)
    x = backend.asarray(np.ones((1, 3, *(4,) * rank(name))))
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m)), copy.copy(m)):
        clone(x)
        assert clone.in_channels == 3 and type(clone) is getattr(nn, eager_name(name))
        assert_unmaterialized(m, name)


def test_to_before_materialization_places_the_parameters(backend: Backend) -> None:
    m = nn.LazyConv3d(4, 2).to(backend.name, dtype="float64")
    other = "numpy" if backend.name != "numpy" else "torch"
    with pytest.raises(TypeError, match=rf"placed on backend '{backend.name}'"):
        m(lucid.zeros(1, 2, 3, 3, 3, backend=other, dtype="float64"))
    assert_unmaterialized(m, "LazyConv3d")
    m(backend.asarray(np.zeros((1, 2, 3, 3, 3))))
    assert array_api_compat.array_namespace(m.weight) is backend.xp
    assert str(m.weight.dtype).endswith("float64")


def test_string_padding_is_kept_like_torch() -> None:
    for padding in ("same", "valid"):
        mine, theirs = (
            nn.Conv1d(2, 3, 4, padding=padding),
            torch.nn.Conv1d(2, 3, 4, padding=padding),
        )
        assert mine.padding == theirs.padding == padding
        assert repr(mine) == repr(theirs)
    assert nn.Conv2d(2, 3, 3, padding=1).padding == (1, 1)
    assert nn.Conv2d(2, 3, 3).padding_mode == "zeros"


def test_initial_distribution_statistics_and_reset() -> None:
    lucid.manual_seed(0)
    m = nn.Conv2d(64, 512, 3, dtype="float64")
    bound = 1 / math.sqrt(64 * 9)  # torch: kaiming_uniform(a=sqrt(5)) with fan_in = C_in * k * k
    w = np.asarray(m.weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() - bound**2 / 3) < 0.02 * bound**2
    assert float(torch.nn.Conv2d(64, 512, 3).weight.detach().abs().max()) <= bound * (1 + 1e-6)
    before = w.copy()
    weight = m.weight
    m.reset_parameters()
    assert m.weight is weight and not np.array_equal(before, np.asarray(m.weight))
    assert np.abs(np.asarray(m.weight)).max() <= bound


#: The signature on the seed page of LazyConvTranspose2d, verbatim.
SEED_SIGNATURE = (
    "(out_channels: int, kernel_size: _Size2d, stride: _Size2d = 1, padding: _Size2d = 0, "
    "output_padding: _Size2d = 0, groups: int = 1, bias: bool = True, dilation: _Size2d = 1, "
    "device: DeviceLike = None, dtype: DTypeLike = None)"
)


def test_lazy_conv_transpose2d_signature_is_the_documented_one():
    assert str(inspect.signature(nn.LazyConvTranspose2d)) == SEED_SIGNATURE


@pytest.mark.parametrize("name", ALL_CLASSES)
def test_signatures_are_torchs_parameter_names_in_torchs_order(name):
    mine = list(inspect.signature(getattr(nn, name)).parameters)
    theirs = list(inspect.signature(getattr(torch.nn, name)).parameters)
    if "Transpose" in name:  # the seed page's signature has no padding_mode (torch: 'zeros' only)
        theirs.remove("padding_mode")
    assert mine == theirs


def test_positional_arguments_bind_as_in_torch():
    m = nn.ConvTranspose2d(8, 4, 4, 2, 1, 1, 2, False, 1)
    t = torch.nn.ConvTranspose2d(8, 4, 4, 2, 1, 1, 2, False, 1)
    assert repr(m) == repr(t)
    with pytest.raises(TypeError, match=r"LazyConv2d\.__init__\(\) got an unexpected keyword"):
        nn.LazyConv2d(4, 3, in_channels=2)
