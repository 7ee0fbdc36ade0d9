"""Training in each ecosystem: torch.optim on lucid parameters; JAX pytrees under jit and grad."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import to_numpy


def lazy_decoder():
    return nn.Sequential(
        nn.LazyConvTranspose2d(8, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.LazyConvTranspose2d(3, 3, padding=1),
        nn.Tanh(),
    )


def torch_twin(model):
    """The same decoder in torch.nn (float64) with lucid's parameters."""
    layers = []
    for layer in model:
        if isinstance(layer, nn.ConvTranspose2d):
            layers.append(torch.nn.ConvTranspose2d(
                layer.in_channels, layer.out_channels, layer.kernel_size,
                stride=layer.stride, padding=layer.padding,
            ))  # fmt: skip
        else:
            layers.append(getattr(torch.nn, type(layer).__name__)())
    twin = torch.nn.Sequential(*layers).double()
    twin.load_state_dict({k: torch.from_numpy(np.array(to_numpy(v), dtype=np.float64))
                          for k, v in model.state_dict().items()})  # fmt: skip
    return twin


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2, 6, 4, 4)), rng.uniform(-0.5, 0.5, (2, 3, 8, 8))


# --- PyTorch ---------------------------------------------------------------------------


def test_torch_optimizer_trains_a_lucid_model():
    lucid.manual_seed(0)
    model = lazy_decoder()
    x, target = (torch.from_numpy(a).float() for a in data())
    model(x)  # materialise
    params = list(model.parameters())
    assert len(params) == 4
    assert all(isinstance(p, torch.nn.Parameter) and p.is_leaf and p.requires_grad for p in params)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]


def test_torch_gradients_match_torch_nn():
    model = lazy_decoder()
    x, target = data(1)
    model(torch.from_numpy(x))
    twin = torch_twin(model)
    for m in (model, twin):
        ((m(torch.from_numpy(x)) - torch.from_numpy(target)) ** 2).sum().backward()
    for (name, mine), theirs in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, err_msg=name)


# --- JAX -------------------------------------------------------------------------------


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_modules_are_pytrees(jax):
    model = lazy_decoder()
    model(jax.numpy.ones((1, 6, 4, 4)))
    leaves, treedef = jax.tree_util.tree_flatten(model)
    assert len(leaves) == 4
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(model)[0]]
    assert paths == [".0.weight", ".0.bias", ".2.weight", ".2.bias"]
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert type(rebuilt) is nn.Sequential and repr(rebuilt) == repr(model)
    assert rebuilt[0].in_channels == 6
    doubled = jax.tree_util.tree_map(lambda p: 2 * p, model)
    np.testing.assert_array_equal(np.asarray(doubled[0].weight), 2 * np.asarray(model[0].weight))


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jit_and_grad_take_a_module(jax):
    jnp = jax.numpy
    model = lazy_decoder()
    x, target = data(2)
    model(jnp.asarray(x))
    traces = []

    @jax.jit
    def loss_fn(m, inp, tgt):
        traces.append(1)
        return jnp.sum((m(inp) - tgt) ** 2)

    grads = jax.grad(loss_fn)(model, jnp.asarray(x), jnp.asarray(target))
    assert type(grads) is nn.Sequential
    twin = torch_twin(model)
    ((twin(torch.from_numpy(x)) - torch.from_numpy(target)) ** 2).sum().backward()
    for (name, g), theirs in zip(grads.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(np.asarray(g), theirs.grad.numpy(), rtol=1e-6, err_msg=name)
    loss_fn(model, jnp.asarray(x), jnp.asarray(target))
    traced = len(traces)
    loss_fn(model, jnp.asarray(x), jnp.asarray(target))
    loss_fn(jax.tree_util.tree_map(lambda p: p + 1, model), jnp.asarray(x), jnp.asarray(target))
    assert len(traces) == traced  # same structure, new values: no retracing


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jitted_training_step_of_a_decoder(jax):
    jnp = jax.numpy
    lucid.manual_seed(0)
    model = lazy_decoder()
    x, target = (jnp.asarray(a, dtype=jnp.float32) for a in data(3))
    model(x)

    def loss_fn(m, inp, tgt):
        return jnp.mean((m(inp) - tgt) ** 2)

    @jax.jit
    def step(m, inp, tgt):
        loss, grads = jax.value_and_grad(loss_fn)(m, inp, tgt)
        return jax.tree_util.tree_map(lambda p, g: p - 0.5 * g, m, grads), loss

    losses = []
    for _ in range(30):
        model, loss = step(model, x, target)
        losses.append(float(loss))
    assert type(model) is nn.Sequential and isinstance(model[0], nn.ConvTranspose2d)
    assert model[0].weight.dtype == jnp.float32
    assert losses[-1] < 0.7 * losses[0]


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_lazy_module_materializes_inside_jit_closure(jax):
    jnp = jax.numpy
    m = nn.LazyConvTranspose2d(4, 3, stride=2)
    f = jax.jit(lambda inp: m(inp))
    x = jnp.ones((1, 2, 3, 3), dtype=jnp.float32)
    y = f(x)
    assert m.in_channels == 2 and type(m) is nn.ConvTranspose2d
    assert isinstance(m.weight, jax.Array) and not isinstance(m.weight, jax.core.Tracer)
    np.testing.assert_allclose(np.asarray(m(x)), np.asarray(y), rtol=1e-6)  # usable afterwards
    np.testing.assert_allclose(np.asarray(f(x)), np.asarray(y), rtol=1e-6)


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_lazy_module_materializes_as_jit_argument(jax):
    jnp = jax.numpy
    apply = jax.jit(lambda mod, inp: mod(inp))
    x = jnp.ones((1, 2, 3, 3), dtype=jnp.float32)
    first, second = nn.LazyConvTranspose2d(4, 3), nn.LazyConvTranspose2d(4, 3)
    y1, y2 = apply(first, x), apply(second, x)
    for m, y in ((first, y1), (second, y2)):  # each got (and kept) its own weights
        assert m.in_channels == 2 and not isinstance(m.weight, jax.core.Tracer)
        np.testing.assert_allclose(np.asarray(m(x)), np.asarray(y), rtol=1e-6)
    assert not np.array_equal(np.asarray(first.weight), np.asarray(second.weight))
    np.testing.assert_allclose(np.asarray(apply(first, x)), np.asarray(y1), rtol=1e-6)


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_module_made_before_jax_is_imported_is_a_pytree():
    import subprocess
    import sys

    pytest.importorskip("jax")  # runs in the jax session

    code = (
        "import sys, lucid, lucid.nn as nn\n"
        "m = nn.Sequential(nn.ConvTranspose2d(2, 3, 3), nn.ReLU())\n"
        "assert 'jax' not in sys.modules\n"
        "import jax, jax.numpy as jnp\n"
        "y = jax.jit(lambda mod, x: mod(x))(m.to('numpy'), jnp.ones((1, 2, 4, 4)))\n"
        "print(len(jax.tree_util.tree_leaves(m)), y.shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}  # lucid's defaults
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2 (1, 3, 6, 6)"
