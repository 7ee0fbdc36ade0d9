"""lucid modules inside flax.nnx (``lucid.nn.to_nnx``) and equinox, trained with optax.

Run in the jax session, which installs flax, optax and equinox (the ``interop`` extra).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid.testing import assert_close, load_backend

pytestmark = pytest.mark.only_backend("jax", reason="flax.nnx and equinox run in the jax session")


@pytest.fixture(autouse=True)
def jax() -> Any:
    load_backend("jax")
    import jax

    return jax


def decoder() -> nn.Sequential:
    return nn.Sequential(
        nn.LazyConvTranspose2d(4, 4, stride=2, padding=1), nn.ReLU(),
        nn.LazyConvTranspose2d(2, 3, padding=1),
    )  # fmt: skip


def batch(jnp: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 3, 4, 4)), dtype=jnp.float32)
    return x, jnp.asarray(rng.uniform(-0.5, 0.5, (2, 2, 8, 8)), dtype=jnp.float32)


def test_to_nnx_trains_inside_a_users_nnx_module(jax) -> None:
    import optax
    from flax import nnx

    jnp = jax.numpy
    x, target = batch(jnp)
    lucid.manual_seed(0)
    lucid_model = decoder()

    class Model(nnx.Module):
        def __init__(self) -> None:
            self.body = nn.to_nnx(lucid_model, x)
            self.scale = nnx.Param(jnp.ones(()))

        def __call__(self, x: Any) -> Any:
            return self.scale[...] * self.body(x)

    model = Model()
    params = nnx.state(model, nnx.Param)
    assert len(jax.tree_util.tree_leaves(params)) == 5  # 2 weights, 2 biases, scale
    assert_close(model(x), np.asarray(lucid_model(x)))  # the same computation

    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model: Model, optimizer: Any, x: Any, target: Any) -> Any:
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - target) ** 2))(model)
        optimizer.update(model, grads)
        return loss

    losses = [float(step(model, optimizer, x, target)) for _ in range(25)]
    assert losses[-1] < 0.7 * losses[0]

    trained = model.body.to_lucid()
    assert type(trained) is nn.Sequential and isinstance(trained[0], nn.ConvTranspose2d)
    assert not np.allclose(np.asarray(trained[0].weight), np.asarray(lucid_model[0].weight))
    assert_close(model(x), np.asarray(model.scale[...] * trained(x)))
    # ... and into the original lucid module, through its state dict.
    lucid_model.load_state_dict(trained.state_dict())
    assert_close(lucid_model[2].bias, np.asarray(trained[2].bias))


def test_to_nnx_of_a_lazy_module_needs_an_example(jax) -> None:
    m = decoder()
    with pytest.raises(ValueError, match=r"0, 2 is lazy; pass example inputs"):
        nn.to_nnx(m)
    assert m[0].has_uninitialized_params()  # nothing changed
    with pytest.raises(TypeError, match=r"expects a lucid\.nn\.Module"):
        nn.to_nnx(object())


def test_readme_nnx_example(jax) -> None:
    """The README's flax.nnx example, run verbatim (README doctests run in every session)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## flax.nnx", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["losses"][-1] < namespace["losses"][0]


def test_equinox_module_field_trained_with_optax(jax) -> None:
    import equinox as eqx
    import optax

    jnp = jax.numpy
    x, target = batch(jnp)
    lucid.manual_seed(1)
    body = decoder()
    body(x)

    class Model(eqx.Module):
        body: nn.Sequential
        scale: Any

        def __call__(self, x: Any) -> Any:
            return self.scale * self.body(x)

    model = Model(body, jnp.ones(()))
    optimizer = optax.adam(1e-2)
    state = optimizer.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def step(model: Model, state: Any, x: Any, target: Any) -> Any:
        loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((m(x) - target) ** 2))(model)
        updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, loss

    losses = []
    for i in range(20):
        if i == 10:  # a mode switch keeps the pytree structure: the optax state still fits
            model = eqx.tree_at(lambda m: m.body, model, model.body.eval())
        model, state, loss = step(model, state, x, target)
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]
    assert isinstance(model.body[0], nn.ConvTranspose2d)
    train_leaves = jax.tree_util.tree_structure(model.body.train())
    assert train_leaves == jax.tree_util.tree_structure(model.body.eval())
