"""Every convolution module and its lazy variant agrees with the matching torch.nn module.

Contract: for each case below (forward and transposed convolutions, 1-, 2- and 3-d,
grouped, dilated, strided, ``'same'``/``'valid'`` padding, ``output_size``), on every
backend and in float32 and float64, a lucid module holding the same weights as the
torch module returns torch's output within the conformance tolerances, batched and
unbatched.  The weights travel both ways:

* ``eager``: torch's state dict is loaded into ``Conv*d``/``ConvTranspose*d``;
* ``lazy-forward``: the lazy module materialises on its first input with lucid's own
  initialisation, and its state dict is loaded into the torch module;
* ``lazy-load``: torch's state dict materialises the lazy module.

Afterwards the lazy module *is* the eager class, with torch's repr and state-dict keys.
On JAX the module is called under ``jax.jit`` (modules are pytrees; one compilation per
call instead of one per primitive).  Parameter gradients are checked against torch
autograd on torch and JAX.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import to_numpy
from lucid.testing import Backend, assert_close

# torch's note that 'same' padding with an even kernel copies the input
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


@dataclass(frozen=True)
class ModuleCase:
    name: str  # the class name in both libraries, e.g. "Conv2d"
    in_channels: int
    out_channels: int
    config: dict[str, Any]
    spatial: tuple[int, ...]
    call: dict[str, Any] = field(default_factory=dict)  # forward keyword arguments

    @property
    def lazy_name(self) -> str:
        return f"Lazy{self.name}"

    def __str__(self) -> str:
        return self.name + "-" + "-".join(f"{k}={v}" for k, v in self.config.items())


CASES = [
    ModuleCase("Conv1d", 4, 6, {"kernel_size": 5, "stride": 2, "padding": 2}, (11,)),
    ModuleCase(
        "Conv1d",
        4,
        6,
        {"kernel_size": 4, "padding": "same", "dilation": 2, "groups": 2, "bias": False},
        (9,),
    ),
    ModuleCase(
        "Conv2d",
        4,
        6,
        {
            "kernel_size": (3, 2),
            "stride": (2, 1),
            "padding": (1, 0),
            "dilation": (1, 2),
            "groups": 2,
        },
        (7, 8),
    ),
    ModuleCase("Conv2d", 3, 5, {"kernel_size": 3, "padding": "valid", "bias": False}, (6, 5)),
    ModuleCase("Conv2d", 2, 4, {"kernel_size": (4, 3), "padding": "same"}, (5, 6)),
    ModuleCase(
        "Conv3d",
        4,
        2,
        {"kernel_size": (2, 3, 1), "stride": (1, 2, 1), "padding": (1, 0, 0), "groups": 2},
        (4, 5, 3),
    ),
    ModuleCase(
        "Conv3d", 2, 3, {"kernel_size": 3, "padding": "same", "dilation": (1, 2, 1)}, (4, 5, 4)
    ),
    ModuleCase(
        "ConvTranspose1d",
        4,
        6,
        {"kernel_size": 4, "stride": 3, "padding": 1, "output_padding": 2, "groups": 2},
        (5,),
    ),
    ModuleCase(
        "ConvTranspose1d",
        3,
        2,
        {"kernel_size": 3, "stride": 2, "dilation": 2, "bias": False},
        (6,),
        {"output_size": [16]},
    ),
    ModuleCase(
        "ConvTranspose2d",
        4,
        2,
        {"kernel_size": (3, 4), "stride": (2, 1), "padding": (1, 2), "output_padding": (1, 0)},
        (4, 5),
    ),
    ModuleCase(
        "ConvTranspose3d",
        4,
        4,
        {
            "kernel_size": (2, 3, 2),
            "stride": (2, 1, 2),
            "padding": (0, 1, 1),
            "output_padding": (1, 0, 0),
            "groups": 2,
        },
        (3, 4, 3),
    ),
    ModuleCase(
        "ConvTranspose3d",
        2,
        3,
        {"kernel_size": 2, "stride": 2, "bias": False},
        (2, 3, 2),
        {"output_size": [5, 7, 4]},
    ),
]
IDS = [f"{case.name}-{i}" for i, case in enumerate(CASES)]
MODES = ["eager", "lazy-forward", "lazy-load"]


def torch_module(case: ModuleCase) -> torch.nn.Module:
    torch.manual_seed(len(str(case)))
    return getattr(torch.nn, case.name)(case.in_channels, case.out_channels, **case.config).double()


def lucid_state_to_torch(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(to_numpy(v), dtype=np.float64)) for k, v in
            module.state_dict().items()}  # fmt: skip


def call(backend: Backend, module: nn.Module, x: Any, **kwargs: Any) -> Any:
    """``module(x, **kwargs)``; on JAX under ``jax.jit`` with the module as a pytree.

    One jitted function per set of keyword arguments, so that modules of one structure
    and input shape (the three modes) share a compilation.
    """
    if backend.name != "jax":
        return module(x, **kwargs)
    if repr(kwargs) not in _JITTED_CALLS:
        import jax

        _JITTED_CALLS[repr(kwargs)] = jax.jit(lambda m, a: m(a, **kwargs))
    return _JITTED_CALLS[repr(kwargs)](module, x)


_JITTED_CALLS: dict[str, Any] = {}


def inputs(case: ModuleCase, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """A batched input of two samples, and an unbatched one."""
    rng = np.random.default_rng(len(case.spatial) * 100 + case.in_channels)
    batched = rng.standard_normal((2, case.in_channels, *case.spatial)).astype(dtype)
    return batched, batched[1]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_module_matches_torch(backend: Backend, case: ModuleCase, dtype: str, mode: str) -> None:
    reference = torch_module(case)
    cls, lazy_cls = getattr(nn, case.name), getattr(nn, case.lazy_name)
    batched, unbatched = inputs(case, dtype)
    x = backend.asarray(batched)
    if mode == "eager":
        with lucid.default_backend("numpy"):
            module = cls(case.in_channels, case.out_channels, **case.config)
        module.to(backend.name, dtype=dtype)
        module.load_state_dict(reference.state_dict())
        y = call(backend, module, x, **case.call)
    elif mode == "lazy-forward":
        module = lazy_cls(case.out_channels, **case.config)
        assert module.has_uninitialized_params() and module.in_channels is None
        y = call(backend, module, x, **case.call)  # materialises, with lucid's initialisation
        reference.load_state_dict(lucid_state_to_torch(module))
    else:
        module = lazy_cls(case.out_channels, **case.config).to(backend.name, dtype=dtype)
        module.load_state_dict(reference.state_dict())
        y = call(backend, module, x, **case.call)
    assert type(module) is cls and not isinstance(module, nn.LazyModuleMixin)
    assert module.in_channels == case.in_channels
    assert repr(module) == repr(reference)
    assert list(module.state_dict()) == list(reference.state_dict())
    for key, value in reference.state_dict().items():
        assert tuple(module.state_dict()[key].shape) == tuple(value.shape)
    with torch.no_grad():
        expected = reference(torch.from_numpy(batched.astype(np.float64)), **case.call)
        expected_one = reference(torch.from_numpy(unbatched.astype(np.float64)), **case.call)
    assert_close(y, expected.numpy(), backend=backend, dtype=dtype)
    y_one = call(backend, module, backend.asarray(unbatched), **case.call)
    assert_close(y_one, expected_one.numpy(), backend=backend, dtype=dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_initial_distribution_is_torchs(backend: Backend, case: ModuleCase) -> None:
    """Weight and bias bounds by torch's formula, computed here from the torch module."""
    reference = torch_module(case)
    fan_in = torch.nn.init._calculate_fan_in_and_fan_out(reference.weight)[0]
    bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 5)) / math.sqrt(fan_in)  # a = sqrt(5)
    lucid.manual_seed(11)
    module = getattr(nn, case.lazy_name)(case.out_channels, **case.config)
    module(backend.asarray(inputs(case, "float64")[0]))
    rng = np.random.default_rng(11)  # lucid's documented generator: weight, then bias
    expected_w = rng.uniform(-bound, bound, tuple(reference.weight.shape))
    assert_close(module.weight, expected_w, backend=backend, dtype="float64")
    if reference.bias is not None:
        expected_b = rng.uniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), case.out_channels)
        assert_close(module.bias, expected_b, backend=backend, dtype="float64")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parameter_gradients_match_torch(backend: Backend, case: ModuleCase) -> None:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")
    module = getattr(nn, case.lazy_name)(case.out_channels, **case.config)
    batched, _ = inputs(case, "float64")
    x = backend.asarray(batched)
    module(x)
    reference = torch_module(case)
    reference.load_state_dict(lucid_state_to_torch(module))
    y_ref = reference(torch.from_numpy(batched), **case.call)
    cotangent = np.random.default_rng(5).standard_normal(tuple(y_ref.shape))
    (y_ref * torch.from_numpy(cotangent)).sum().backward()
    expected = {k: p.grad.numpy() for k, p in reference.named_parameters()}
    g = backend.asarray(cotangent)
    if backend.name == "torch":
        (module(x, **case.call) * g).sum().backward()
        grads = {k: p.grad for k, p in module.named_parameters()}
    else:
        import jax
        import jax.numpy as jnp

        tree = jax.jit(jax.grad(lambda m: jnp.sum(m(x, **case.call) * g)))(module)
        grads = dict(tree.named_parameters())
    assert grads.keys() == expected.keys()
    for key, want in expected.items():
        assert_close(grads[key], want, backend=backend, dtype="float64")
