"""BatchNorm1d/2d/3d (and their lazy variants) agree with torch.nn, in eval and training mode.

Contract: for each configuration below (ranks 1 to 3, ``momentum=None``, ``affine``
off, ``bias`` off, ``track_running_stats`` off), a lucid module loaded with a torch
module's state dict (random affine parameters and running statistics, a non-zero
``num_batches_tracked``) has torch's repr and keys, and on every backend in float32
and float64, over two training steps and one eval step, returns torch's outputs and
leaves torch's running statistics and ``num_batches_tracked``.  On JAX the steps run
under ``jax.jit`` with the module passed in and returned.  On torch and JAX the
gradients of ``sum(y * g)`` with respect to input, weight and bias in training mode
match torch's.  Lazy variants infer ``num_features`` from the first input and agree too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import lucid.nn as nn
from lucid._backends import to_numpy
from lucid.testing import Backend, assert_close

CASES = [
    ("BatchNorm1d", 5, (6, 5), {}),
    ("BatchNorm1d", 4, (3, 4, 7), {"momentum": None}),
    ("BatchNorm2d", 3, (4, 3, 5, 6), {}),
    ("BatchNorm2d", 3, (2, 3, 4, 4), {"momentum": 0.3, "eps": 1e-3, "bias": False}),
    ("BatchNorm2d", 3, (2, 3, 4, 4), {"affine": False}),
    ("BatchNorm2d", 3, (2, 3, 4, 4), {"track_running_stats": False}),
    ("BatchNorm3d", 2, (2, 2, 3, 4, 3), {"momentum": None}),
]
IDS = [f"{name}-{i}-{kwargs}" for i, (name, _, _, kwargs) in enumerate(CASES)]


def twin(name: str, features: int, kwargs: dict[str, Any]) -> torch.nn.Module:
    torch.manual_seed(features)
    module = getattr(torch.nn, name)(features, **kwargs).double()
    with torch.no_grad():
        for param in module.parameters():
            param.add_(torch.randn_like(param))
        if module.running_mean is not None:
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(5)
    return module


def data(shape: tuple[int, ...], seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal(shape) * 2 + 1
    return values.astype(np.float32).astype(np.float64)


def step(backend: Backend, module: nn.Module, x: Any) -> tuple[Any, nn.Module]:
    if backend.name != "jax":
        return module(x), module
    import jax

    return jax.jit(lambda m, a: (m(a), m))(module, x)  # type: ignore[no-any-return]


def assert_same_state(module: nn.Module, reference: torch.nn.Module, dtype: str) -> None:
    mine = module.state_dict()
    assert list(mine) == list(reference.state_dict())
    for key, value in reference.state_dict().items():
        if key.endswith("num_batches_tracked"):
            assert int(to_numpy(mine[key])) == int(value), key
        else:
            assert_close(to_numpy(mine[key]), value.numpy(), dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "features", "shape", "kwargs"), CASES, ids=IDS)
def test_batchnorm_matches_torch(backend, name, features, shape, kwargs, dtype):
    reference = twin(name, features, kwargs)
    module = getattr(nn, name)(features, **kwargs).to(backend.name, dtype=dtype)
    module.load_state_dict(reference.state_dict())
    assert repr(module) == repr(reference)
    for seed, training in [(1, True), (2, True), (3, False)]:
        reference.train(training)
        module.train(training)
        x = data(shape, seed)
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        y, module = step(backend, module, backend.asarray(x, dtype))
        assert_close(y, expected, backend=backend, dtype=dtype)
        assert_same_state(module, reference, dtype)


@pytest.mark.parametrize(("name", "features", "shape", "kwargs"), CASES, ids=IDS)
def test_lazy_batchnorm_matches_torch(backend, name, features, shape, kwargs):
    reference = getattr(torch.nn, name)(features, **kwargs).double()
    module = getattr(nn, f"Lazy{name}")(**kwargs)
    assert module.num_features is None and module.has_uninitialized_params()
    x = data(shape, 4)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    y, module = step(backend, module, backend.asarray(x, "float64"))
    assert type(module) is getattr(nn, name) and module.num_features == features
    assert repr(module) == repr(reference)
    assert_close(y, expected, backend=backend, dtype="float64")
    assert_same_state(module, reference, "float64")


@pytest.mark.parametrize(("name", "features", "shape", "kwargs"), CASES, ids=IDS)
def test_batchnorm_gradients_match_torch(backend, name, features, shape, kwargs):
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")
    reference = twin(name, features, kwargs).train()
    module = getattr(nn, name)(features, **kwargs).to(backend.name, dtype="float64")
    module.load_state_dict(reference.state_dict())
    x = data(shape, 5)
    g = np.random.default_rng(6).standard_normal(shape)
    x_ref = torch.from_numpy(x).requires_grad_(True)
    (reference(x_ref) * torch.from_numpy(g)).sum().backward()
    expected = {"input": x_ref.grad.numpy()}
    expected |= {k: p.grad.numpy() for k, p in reference.named_parameters()}
    xb = backend.asarray(x)
    if backend.name == "torch":
        xb.requires_grad_(True)
        (module(xb) * torch.from_numpy(g)).sum().backward()
        grads = {"input": xb.grad} | {k: p.grad for k, p in module.named_parameters()}
        assert all(not b.requires_grad for _, b in module.named_buffers())
    else:
        import jax
        import jax.numpy as jnp

        def loss(m: nn.Module, a: Any) -> Any:
            return jnp.sum(m(a) * g)

        # num_batches_tracked is an integer leaf of the module: allow_int, as documented
        tree, grad_x = jax.jit(jax.grad(loss, argnums=(0, 1), allow_int=True))(module, xb)
        grad_params = dict(tree.named_parameters())
        grads = {"input": grad_x} | grad_params
    assert grads.keys() == expected.keys()
    for key, want in expected.items():
        assert_close(grads[key], want, backend=backend, dtype="float64")


BAD = [
    (lambda: nn.BatchNorm2d(0), ValueError, "num_features"),
    (lambda: nn.BatchNorm2d(3, eps=-1), ValueError, "eps"),
    (lambda: nn.BatchNorm2d(3, momentum=2.0), ValueError, "momentum"),
    (lambda: nn.BatchNorm2d(3, momentum="0.1"), TypeError, "momentum"),
    (lambda: nn.BatchNorm2d(3, affine=1), TypeError, "affine"),
    (lambda: nn.BatchNorm2d(3, track_running_stats=None), TypeError, "track_running_stats"),
    (lambda: nn.BatchNorm2d(3, bias="no"), TypeError, "bias"),
    (lambda: nn.BatchNorm2d(3, dtype="int64"), ValueError, "dtype"),
    (lambda: nn.LazyBatchNorm2d(momentum=-0.5), ValueError, "momentum"),
]


@pytest.mark.parametrize("row", range(len(BAD)))
def test_bad_argument_is_named(row):
    make, error, words = BAD[row]
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize(
    ("module", "shape", "words"),
    [
        (lambda: nn.BatchNorm2d(3), (2, 4, 5, 5), "3 channels"),
        (lambda: nn.BatchNorm2d(3), (2, 3, 5), "expected 4D input"),
        (lambda: nn.BatchNorm1d(3), (2, 3, 5, 5), "expected 2D or 3D input"),
        (lambda: nn.BatchNorm1d(3), (1, 3), "more than 1 value"),
    ],
)
def test_wrong_input_is_a_clear_error_and_changes_nothing(backend, module, shape, words):
    bn = module().to(backend.name)
    before = {k: to_numpy(v).copy() for k, v in bn.state_dict().items()}
    with pytest.raises(ValueError, match=words):
        bn(backend.asarray(np.ones(shape), "float32"))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(to_numpy(value), before[key])
