"""Every new layer module agrees with the torch.nn module of the same name and arguments.

Contract: for each case below, the lucid module built with torch's arguments has
torch's repr and state-dict keys; loaded with the torch module's (randomised) state
dict, on every backend in float32 and float64 it returns torch's output within the
conformance tolerances (on JAX under ``jax.jit``, the module a pytree argument), and on
torch and JAX the gradients of ``sum(y * g)`` with respect to the input and every
parameter match torch's autograd.  Modes that differ between training and eval
(``BatchNorm``) are in ``test_batchnorm.py``; ``Dropout``'s eval mode is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import lucid.nn as nn
from lucid import ops
from lucid._backends import to_numpy
from lucid.testing import Backend, assert_close


@dataclass(frozen=True)
class LayerCase:
    name: str
    args: tuple[Any, ...]
    shape: tuple[int, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    scale: float = 1.0

    def __str__(self) -> str:
        return f"{self.name}{self.args}{self.kwargs or ''}"


CASES = [
    LayerCase("Linear", (7, 5), (4, 7)),
    LayerCase("Linear", (7, 5), (2, 3, 7), {"bias": False}),
    LayerCase("Linear", (3, 2), (3,)),
    LayerCase("Identity", (54,), (2, 3)),
    LayerCase("ReLU", (True,), (3, 4), scale=3.0),
    LayerCase("LeakyReLU", (0.2, True), (3, 4), scale=3.0),
    LayerCase("GELU", (), (3, 4), scale=3.0),
    LayerCase("GELU", (), (3, 4), {"approximate": "tanh"}, scale=3.0),
    LayerCase("SiLU", (True,), (3, 4), scale=3.0),
    LayerCase("ELU", (0.7,), (3, 4), scale=3.0),
    LayerCase("Softplus", (2, 3), (3, 4), scale=3.0),
    LayerCase("Hardtanh", (-0.5, 0.75), (3, 4)),
    LayerCase("ReLU6", (), (3, 4), scale=6.0),
    LayerCase("Sigmoid", (), (3, 4), scale=3.0),
    LayerCase("Tanh", (), (3, 4), scale=3.0),
    LayerCase("Dropout", (0.3,), (3, 4)),  # eval mode: the identity
    LayerCase("Flatten", (), (2, 3, 4, 5)),
    LayerCase("Flatten", (0, 2), (2, 3, 4, 5)),
    LayerCase("Unflatten", (1, (2, 6)), (3, 12)),
    LayerCase("Unflatten", (-1, (2, -1)), (3, 2, 8)),
    LayerCase("Upsample", (), (1, 2, 3, 4), {"scale_factor": 2}),
    LayerCase("Upsample", (), (1, 2, 3, 4), {"size": (5, 7), "mode": "bilinear"}),
    LayerCase(
        "Upsample", (), (1, 2, 3, 4), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}
    ),
    LayerCase("PixelShuffle", (2,), (2, 8, 3, 3)),
    LayerCase("PixelUnshuffle", (2,), (2, 2, 4, 6)),
    LayerCase("GroupNorm", (2, 6), (3, 6, 4, 4)),
    LayerCase("GroupNorm", (3, 3), (2, 3, 5), {"eps": 1e-3, "affine": False}),
    LayerCase("GroupNorm", (2, 4), (2, 4, 3), {"bias": False}),
    LayerCase("LayerNorm", (8,), (2, 3, 8)),
    LayerCase("LayerNorm", ((3, 8),), (2, 3, 8), {"elementwise_affine": True, "bias": False}),
    LayerCase("LayerNorm", (8,), (4, 8), {"elementwise_affine": False}),
]
IDS = [f"{i}-{case}" for i, case in enumerate(CASES)]


def _torch_module(case: LayerCase) -> torch.nn.Module:
    torch.manual_seed(len(str(case)))
    module = getattr(torch.nn, case.name)(*case.args, **case.kwargs).double().eval()
    with torch.no_grad():  # move parameters off their initial ones and zeros
        for param in module.parameters():
            param.add_(torch.randn_like(param) * 0.5)
    return module


def _input(case: LayerCase) -> np.ndarray:
    rng = np.random.default_rng(len(case.shape) * 10 + case.shape[-1])
    values = rng.standard_normal(case.shape) * case.scale
    return values.astype(np.float32).astype(np.float64)


def _lucid_module(case: LayerCase, reference: torch.nn.Module, backend: Backend, dtype: str):
    module = getattr(nn, case.name)(*case.args, **case.kwargs).eval()
    module.to(backend.name, dtype=dtype)
    module.load_state_dict(reference.state_dict())
    return module


def _call(backend: Backend, module: nn.Module, x: Any) -> Any:
    if backend.name != "jax":
        return module(x)
    import jax

    return jax.jit(lambda m, a: m(a))(module, x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_layer_matches_torch(backend: Backend, case: LayerCase, dtype: str) -> None:
    reference = _torch_module(case)
    module = _lucid_module(case, reference, backend, dtype)
    assert repr(module) == repr(reference)
    assert list(module.state_dict()) == list(reference.state_dict())
    data = _input(case)
    with torch.no_grad():
        expected = reference(torch.from_numpy(data.copy())).numpy()  # torch may work in place
    y = _call(backend, module, backend.asarray(data, dtype))
    assert_close(y, expected, backend=backend, dtype=dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_layer_gradients_match_torch(backend: Backend, case: LayerCase) -> None:
    if not backend.differentiable:
        pytest.skip(f"{backend.name} has no autodiff")
    reference = _torch_module(case)
    module = _lucid_module(case, reference, backend, "float64")
    data = _input(case)
    x_ref = torch.from_numpy(data).requires_grad_(True)
    y_ref = reference(x_ref.clone())  # an inplace=True module may not touch the leaf
    g = np.random.default_rng(1).standard_normal(tuple(y_ref.shape))
    (y_ref * torch.from_numpy(g)).sum().backward()
    expected = {"input": x_ref.grad.numpy()}
    expected |= {k: p.grad.numpy() for k, p in reference.named_parameters()}
    x = backend.asarray(data)
    if backend.name == "torch":
        x.requires_grad_(True)
        (module(x) * torch.from_numpy(g)).sum().backward()
        grads = {"input": x.grad} | {k: p.grad for k, p in module.named_parameters()}
    else:
        import jax
        import jax.numpy as jnp

        def loss(m: nn.Module, a: Any) -> Any:
            return jnp.sum(m(a) * g)

        tree, grad_x = jax.jit(jax.grad(loss, argnums=(0, 1)))(module, x)
        grads = {"input": grad_x} | dict(tree.named_parameters())
    assert grads.keys() == expected.keys()
    for key, want in expected.items():
        try:
            assert_close(grads[key], want, backend=backend, dtype="float64")
        except AssertionError as error:
            raise AssertionError(f"d/d{key}: {error}") from None


# --- bad construction arguments: one row per parameter --------------------------------

BAD = [
    (lambda: nn.Linear(0, 3), ValueError, "in_features"),
    (lambda: nn.Linear(3, 2.5), TypeError, "out_features"),
    (lambda: nn.Linear(3, 2, bias=1), TypeError, "bias"),
    (lambda: nn.Linear(3, 2, dtype="int32"), ValueError, "dtype"),
    (lambda: nn.LazyLinear(-1), ValueError, "out_features"),
    (lambda: nn.ReLU("yes"), TypeError, "inplace"),
    (lambda: nn.LeakyReLU("0.2"), TypeError, "negative_slope"),
    (lambda: nn.GELU("exact"), ValueError, "approximate"),
    (lambda: nn.ELU(alpha="1"), TypeError, "alpha"),
    (lambda: nn.Softplus(beta=0), ValueError, "beta"),
    (lambda: nn.Softplus(threshold=None), TypeError, "threshold"),
    (lambda: nn.Hardtanh(1.0, 1.0), ValueError, "max_val"),
    (lambda: nn.Hardtanh(min_val="a"), TypeError, "min_val"),
    (lambda: nn.ReLU6(inplace=None), TypeError, "inplace"),
    (lambda: nn.Dropout(-0.1), ValueError, "p=-0.1"),
    (lambda: nn.Dropout(0.1, inplace="no"), TypeError, "inplace"),
    (lambda: nn.Flatten(start_dim=1.5), TypeError, "start_dim"),
    (lambda: nn.Flatten(end_dim="x"), TypeError, "end_dim"),
    (lambda: nn.Unflatten("1", (2, 2)), TypeError, "dim"),
    (lambda: nn.Unflatten(1, (2, 0)), ValueError, "unflattened_size"),
    (lambda: nn.Upsample(), ValueError, "size"),
    (lambda: nn.Upsample(scale_factor=2, mode="area"), ValueError, "mode"),
    (lambda: nn.Upsample(scale_factor=2, align_corners=True), ValueError, "align_corners"),
    (lambda: nn.PixelShuffle(0), ValueError, "upscale_factor"),
    (lambda: nn.PixelUnshuffle(2.0), ValueError, "downscale_factor"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "num_channels must be divisible"),
    (lambda: nn.GroupNorm(0, 6), ValueError, "num_groups"),
    (lambda: nn.GroupNorm(2, 6, eps=-1), ValueError, "eps"),
    (lambda: nn.GroupNorm(2, 6, affine="yes"), TypeError, "affine"),
    (lambda: nn.GroupNorm(2, 6, bias=1), TypeError, "bias"),
    (lambda: nn.LayerNorm(()), ValueError, "normalized_shape"),
    (lambda: nn.LayerNorm(4, eps="1e-5"), TypeError, "eps"),
    (lambda: nn.LayerNorm(4, elementwise_affine=0), TypeError, "elementwise_affine"),
    (lambda: nn.LayerNorm(4, bias=None), TypeError, "bias"),
]


@pytest.mark.parametrize("row", range(len(BAD)))
def test_bad_argument_is_named(row: int) -> None:
    make, error, words = BAD[row]
    with pytest.raises(error, match=words):
        make()


WRONG_INPUTS = [
    (lambda: nn.GroupNorm(2, 6), (2, 4, 3), "6 channels"),
    (lambda: nn.LayerNorm(8), (2, 7), "normalized_shape"),
    (lambda: nn.Linear(3, 2), (2, 4), "in_features"),
    (lambda: nn.PixelShuffle(2), (1, 3, 2, 2), "divisible"),
]


@pytest.mark.parametrize("row", range(len(WRONG_INPUTS)))
def test_wrong_input_shape_is_a_clear_error(backend: Backend, row: int) -> None:
    make, shape, words = WRONG_INPUTS[row]
    module = make().to(backend.name)
    with pytest.raises(ValueError, match=words):
        module(backend.asarray(np.ones(shape), "float32"))


# --- LazyLinear: both directions of the weights --------------------------------------


@pytest.mark.parametrize("mode", ["lazy-forward", "lazy-load"])
@pytest.mark.parametrize("bias", [True, False])
def test_lazy_linear_matches_torch(backend: Backend, mode: str, bias: bool) -> None:
    torch.manual_seed(3)
    reference = torch.nn.Linear(6, 4, bias=bias).double()
    data = _input(LayerCase("Linear", (6, 4), (3, 6)))
    module = nn.LazyLinear(4, bias=bias)
    x = backend.asarray(data)
    if mode == "lazy-forward":  # lucid's initialisation, handed to torch
        y = _call(backend, module, x)
        reference.load_state_dict(
            {k: torch.from_numpy(np.array(to_numpy(v))) for k, v in module.state_dict().items()}
        )
    else:  # torch's weights materialise the lazy module
        module.to(backend.name, dtype="float64").load_state_dict(reference.state_dict())
        y = _call(backend, module, x)
    assert type(module) is nn.Linear and module.in_features == 6
    assert repr(module) == repr(reference)
    with torch.no_grad():
        expected = reference(torch.from_numpy(data)).numpy()
    assert_close(y, expected, backend=backend, dtype="float64")


# --- Dropout: what torch defines exactly (its masks are its own random stream) --------


@pytest.mark.parametrize(("p", "training"), [(0.0, True), (1.0, True), (0.7, False)])
def test_dropout_limits_match_torch(backend: Backend, p: float, training: bool) -> None:
    data = _input(LayerCase("Dropout", (), (3, 4)))
    expected = torch.nn.functional.dropout(torch.from_numpy(data), p, training).numpy()
    got = ops.dropout(backend.asarray(data, "float32"), p, training)
    assert_close(got, expected, backend=backend, dtype="float32")
