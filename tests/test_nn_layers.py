"""The decoder layers' own behaviour: inplace=, Dropout's randomness, LazyLinear, Linear's init."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import backend_of, to_numpy
from lucid.ops._special import erf
from lucid.testing import assert_close

INPLACE = [
    lambda: nn.ReLU(True),
    lambda: nn.ReLU(inplace=True),
    lambda: nn.LeakyReLU(0.2, True),
    lambda: nn.SiLU(inplace=True),
    lambda: nn.ELU(1.0, True),
    lambda: nn.Hardtanh(-1.0, 1.0, True),
    lambda: nn.ReLU6(True),
    lambda: nn.Dropout(0.5, True),
]


@pytest.mark.parametrize("make", INPLACE)
def test_inplace_is_accepted_and_returns_a_new_array(backend, make):
    module = make()
    assert "inplace=True" in repr(module)
    data = np.linspace(-3, 3, 12).reshape(3, 4)
    x = backend.asarray(data, "float32")
    y = module.eval()(x)
    assert_close(x, data.astype(np.float32), backend=backend)  # the input is untouched
    if not isinstance(module, nn.Dropout):
        assert y is not x


def test_erf_matches_math_erf():
    z = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, -2.0, 2.0, np.inf, -np.inf]])
    got = erf(np, z)
    want = np.array([math.erf(v) for v in z])
    assert np.max(np.abs(got - want)) < 4e-15
    z32 = z.astype(np.float32)
    assert erf(np, z32).dtype == np.float32
    assert np.max(np.abs(erf(np, z32) - np.array([math.erf(v) for v in z32]))) < 1e-6
    assert np.isnan(erf(np, np.array([np.nan])))[0]


# --- Dropout --------------------------------------------------------------------------


def test_dropout_mask_comes_from_lucids_stream(backend):
    x = backend.asarray(np.ones((40, 50)), "float64")
    drop = nn.Dropout(0.3)
    lucid.manual_seed(7)
    y = to_numpy(drop(x))
    lucid.manual_seed(7)
    again = to_numpy(drop(x))
    np.testing.assert_array_equal(y, again)
    assert set(np.unique(y)) == {0.0, 1 / 0.7}
    expected_mask = np.random.default_rng(7).uniform(0, 1, (40, 50)) >= 0.3  # documented stream
    np.testing.assert_array_equal(y != 0, expected_mask)
    assert abs((y == 0).mean() - 0.3) < 0.03
    assert backend_of(drop(x)) == backend_of(x)


def test_dropout_is_the_identity_in_eval_and_for_p_0(backend):
    x = backend.asarray(np.arange(6.0), "float32")
    assert nn.Dropout(0.5).eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not to_numpy(nn.Dropout(1.0)(x)).any()


def test_dropout_gradient_is_the_scaled_mask():
    x = torch.ones(100, dtype=torch.float64, requires_grad=True)
    lucid.manual_seed(3)
    y = nn.Dropout(0.25)(x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y.detach() != 0).double() / 0.75)


def test_dropout_under_jit_needs_a_key():
    jax = pytest.importorskip("jax")
    drop = nn.Dropout(0.5)
    x = jax.numpy.ones((8, 8))
    with pytest.raises(ValueError, match=r"key=jax\.random\.key"):
        jax.jit(lambda m, a: m(a))(drop, x)
    step = jax.jit(lambda m, a, k: m(a, key=k))
    first = np.asarray(step(drop, x, jax.random.key(0)))
    second = np.asarray(step(drop, x, jax.random.key(1)))
    np.testing.assert_array_equal(first, np.asarray(step(drop, x, jax.random.key(0))))
    assert (first != second).any()  # a new key, a new mask: nothing was baked in
    assert set(np.unique(first)) <= {0.0, 2.0}
    assert np.asarray(drop.eval()(x, key=jax.random.key(0))).tolist() == np.ones((8, 8)).tolist()


def test_dropout_key_is_for_jax_inputs_only():
    jax = pytest.importorskip("jax")
    with pytest.raises(TypeError, match="JAX PRNG key"):
        nn.Dropout()(np.ones(3), key=jax.random.key(0))


# --- Linear and LazyLinear ------------------------------------------------------------


def test_linear_initial_distribution_is_torchs(backend):
    lucid.manual_seed(5)
    with lucid.default_backend(backend.name if backend.name != "array_api_strict" else "numpy"):
        layer = nn.Linear(12, 4)
    rng = np.random.default_rng(5)  # lucid's documented stream: weight, then bias
    bound = 1 / math.sqrt(12)  # torch: kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(in), ..)
    assert_close(to_numpy(layer.weight), rng.uniform(-bound, bound, (4, 12)).astype(np.float32))
    assert_close(to_numpy(layer.bias), rng.uniform(-bound, bound, 4).astype(np.float32))


def test_lazy_linear_materializes_on_first_input(backend):
    layer = nn.LazyLinear(3)
    assert repr(layer) == "LazyLinear(in_features=None, out_features=3, bias=True)"
    assert layer.has_uninitialized_params() and list(layer.parameters()) == []
    x = backend.asarray(np.ones((2, 5)), "float64")
    y = layer(x)
    assert type(layer) is nn.Linear and layer.in_features == 5
    assert tuple(y.shape) == (2, 3) and backend_of(layer.weight) == backend.name
    assert layer.weight.dtype == x.dtype
    assert repr(layer) == repr(torch.nn.Linear(5, 3))


def test_rejected_first_input_leaves_lazy_linear_unchanged(backend):
    layer = nn.LazyLinear(3)
    with pytest.raises(TypeError, match="real floating"):
        layer(backend.asarray(np.ones((2, 5), dtype=np.int32)))
    with pytest.raises(ValueError, match="infers in_features from dimension -1"):
        layer(backend.asarray(np.ones((2, 0)), "float32"))
    assert type(layer) is nn.LazyLinear and layer.in_features is None
    assert layer.weight is None and layer.bias is None


def test_linear_checks_input_placement():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="dtype='float64'"):
        layer(np.ones((1, 3)))  # float64 input, float32 parameters


# --- shapes ----------------------------------------------------------------------------


def test_flatten_and_unflatten_round_trip(backend):
    x = backend.asarray(np.arange(120.0).reshape(2, 3, 4, 5), "float32")
    flat = nn.Flatten()(x)
    assert tuple(flat.shape) == (2, 60)
    back = nn.Unflatten(1, (3, -1, 5))(flat)
    assert_close(back, np.arange(120.0).reshape(2, 3, 4, 5), backend=backend)
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(start_dim=5)(x)
    with pytest.raises(ValueError, match="cannot come after"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(ValueError, match="does not fit"):
        nn.Unflatten(1, (7, -1))(flat)


@pytest.mark.parametrize("make", [lambda: nn.LazyLinear(3), lambda: nn.LazyBatchNorm1d()])
def test_lazy_features_materialize_once_under_threads(make):
    import threading

    module = make()
    x = np.ones((4, 5), dtype=np.float32) * np.arange(4, dtype=np.float32)[:, None]
    outputs, errors = [], []
    start = threading.Barrier(8)

    def call():
        start.wait()
        try:
            outputs.append(np.asarray(module(x)))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(outputs) == 8
    assert not isinstance(module, nn.LazyModuleMixin)
    if isinstance(module, nn.Linear):  # the same weights for every caller
        assert all(np.array_equal(o, outputs[0]) for o in outputs)
