"""Modules as JAX pytrees: declared fields, and a mode that leaves optimizer states valid."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn

jax = pytest.importorskip("jax")
jnp = jax.numpy

pytestmark = pytest.mark.only_backend("jax", reason="JAX pytrees")


def decoder():
    lucid.manual_seed(0)
    return nn.Sequential(
        nn.ConvTranspose2d(4, 3, 3, stride=2), nn.LeakyReLU(0.1), nn.Conv2d(3, 2, 3)
    ).to("jax")


class Noisy(nn.Module):
    """Reads ``self.training`` in forward, as a torch user's dropout-like layer does."""

    def forward(self, x):
        return x + 1.0 if self.training else x


class Declared(nn.Module):
    _mode_in_treedef = True

    def forward(self, x):
        return x


def test_train_and_eval_share_one_treedef():
    m = decoder()
    train_def = jax.tree_util.tree_structure(m)
    eval_def = jax.tree_util.tree_structure(m.eval())
    assert train_def == eval_def and hash(train_def) == hash(eval_def)
    # The mode still travels with the module through tree operations.
    assert not jax.tree_util.tree_map(lambda a: a, m).training
    assert jax.tree_util.tree_map(lambda a: a, m.train())[0].training


def test_optax_state_from_train_mode_updates_an_eval_mode_model():
    optax = pytest.importorskip("optax")
    m = decoder()
    optimizer = optax.adam(1e-2)
    state = optimizer.init(m)  # made in train mode
    x = jnp.ones((1, 4, 5, 5), dtype=jnp.float32)

    @jax.jit
    def step(model, state, x):
        grads = jax.grad(lambda mod: jnp.sum(mod(x) ** 2))(model)
        updates, state = optimizer.update(grads, state, model)
        return optax.apply_updates(model, updates), state

    m.eval()
    new, state = step(m, state, x)
    assert float(jnp.sum(new(x) ** 2)) < float(jnp.sum(m(x) ** 2))
    m.train()
    new, state = step(new, state, x)  # and back: the same state fits
    assert new[0].weight.shape == m[0].weight.shape


def test_a_module_that_reads_its_mode_is_compiled_per_mode():
    m = nn.Sequential(Noisy(), nn.ReLU())
    run = jax.jit(lambda module, x: module(x))
    x = jnp.zeros(2)
    assert run(m, x).tolist() == [1.0, 1.0]
    m.eval()
    assert run(m, x).tolist() == [0.0, 0.0]  # not the train-mode compilation
    assert jax.tree_util.tree_structure(m) != jax.tree_util.tree_structure(m.train())


def test_mode_in_treedef_can_be_declared():
    m = Declared()
    assert jax.tree_util.tree_structure(m) != jax.tree_util.tree_structure(m.eval())


def test_configuration_is_static_and_compared_by_value():
    a = nn.LeakyReLU(0.1)
    b = nn.LeakyReLU(0.1)
    c = nn.LeakyReLU(0.2)
    structure = jax.tree_util.tree_structure
    assert structure(a) == structure(b) != structure(c)
    run = jax.jit(lambda module, x: module(x))
    x = jnp.asarray([-1.0])
    np.testing.assert_allclose(np.asarray(run(a, x)), [-0.1])
    np.testing.assert_allclose(np.asarray(run(c, x)), [-0.2])  # recompiled for the new slope
