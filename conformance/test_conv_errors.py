"""Bad inputs to conv1d/2d/3d and to the convolution modules: one test per kind of mistake.

The rows mirror those of the transposed convolution (``tests/test_ops_errors.py``).
Each test asserts the exception type and that the message names the parameter, the
offending value and what is allowed, and -- for the ops -- that it is raised before
any computation (the ``no_computation`` fixture makes the algorithm itself fail) and
that torch rejects the same call too (where torch checks it at all).  Rows with arrays
run on every backend and for every rank.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

import lucid.nn as nn
import lucid.ops.conv as conv_module
from lucid.ops import conv1d, conv2d, conv3d
from lucid.testing import Backend

OPS = {1: conv1d, 2: conv2d, 3: conv3d}
TORCH_OPS = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d,
             3: torch.nn.functional.conv3d}  # fmt: skip
RANKS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])


@pytest.fixture
def no_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the op gets as far as computing anything."""

    def computing(*args: Any, **kwargs: Any) -> Any:
        msg = "the op started computing before rejecting the bad argument"
        raise AssertionError(msg)

    monkeypatch.setattr(conv_module, "_conv", computing)


@pytest.fixture
def arrays(backend: Backend, no_computation: None):
    """``make(shape, dtype='float32')``: a ``backend`` array of ones."""

    def make(shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return backend.asarray(np.ones(shape), dtype)

    return make


def shapes(ndim: int, *, c_in: int = 4, c_out: int = 6, size: int = 5, k: int = 3):
    """A valid input ``(1, c_in, size, ...)`` and weight ``(c_out, c_in, k, ...)`` shape."""
    return (1, c_in, *(size,) * ndim), (c_out, c_in, *(k,) * ndim)


def torch_rejects(ndim: int, x: tuple, w: tuple, b: tuple | None = None, **kwargs: Any) -> None:
    """torch.nn.functional.conv{ndim}d raises for the same call (float32 ones)."""
    tensors = [torch.ones(s) if s is not None else None for s in (x, w, b)]
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        TORCH_OPS[ndim](*tensors, **kwargs)


# --- the ops ---------------------------------------------------------------------------


@RANKS
@pytest.mark.parametrize("extra", [-1, 2], ids=["too-few-dims", "too-many-dims"])
def test_input_of_the_wrong_rank(arrays, ndim: int, extra: int) -> None:
    x, w = shapes(ndim)
    bad = (1,) * (extra + 1) + x[1:] if extra > 0 else x[2:]
    expected = rf"input must be {ndim + 2}-D .*or {ndim + 1}-D .*got {len(bad)}-D input of shape"
    with pytest.raises(ValueError, match=expected):
        OPS[ndim](arrays(bad), arrays(w))
    torch_rejects(ndim, bad, w)


@RANKS
def test_weight_of_the_wrong_rank(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    shown = re.escape(repr(w[:-1]))
    with pytest.raises(ValueError, match=rf"weight must be {ndim + 2}-D .*got shape {shown}"):
        OPS[ndim](arrays(x), arrays(w[:-1]))
    torch_rejects(ndim, x, w[:-1])


@RANKS
def test_input_channels_differ_from_the_weight(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    x = (1, 3, *x[2:])
    with pytest.raises(ValueError, match=r"input has 3 channels.*weight\.shape\[1\] \* groups = 4"):
        OPS[ndim](arrays(x), arrays(w))
    torch_rejects(ndim, x, w)


@RANKS
def test_out_channels_not_divisible_by_groups(arrays, ndim: int) -> None:
    x, w = shapes(ndim, c_in=1)
    x = (1, 4, *x[2:])  # 4 = weight.shape[1] * groups: only C_out = 6 is wrong
    expected = r"out_channels \(weight\.shape\[0\] = 6\) must be divisible by groups \(4\)"
    with pytest.raises(ValueError, match=expected):
        OPS[ndim](arrays(x), arrays(w), groups=4)
    torch_rejects(ndim, x, w, groups=4)


@RANKS
@pytest.mark.parametrize("groups", [0, -2])
def test_groups_not_positive(arrays, ndim: int, groups: int) -> None:
    x, w = shapes(ndim)
    with pytest.raises(ValueError, match=rf"groups must be a positive int, got {groups}"):
        OPS[ndim](arrays(x), arrays(w), groups=groups)
    torch_rejects(ndim, x, w, groups=groups)


@RANKS
def test_weight_with_an_empty_kernel_dimension(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    w = (*w[:-1], 0)
    kernel = (3,) * (ndim - 1) + (0,)
    shown = re.escape(repr(kernel)) if ndim > 1 else "0"
    with pytest.raises(ValueError, match=rf"kernel_size must be positive \(>= 1\), got {shown}"):
        OPS[ndim](arrays(x), arrays(w))
    torch_rejects(ndim, x, w)


@RANKS
@pytest.mark.parametrize("name", ["stride", "dilation"])
@pytest.mark.parametrize("value", [0, -1])
def test_stride_or_dilation_not_positive(arrays, ndim: int, name: str, value: int) -> None:
    x, w = shapes(ndim)
    with pytest.raises(ValueError, match=rf"{name} must be positive \(>= 1\), got {value}"):
        OPS[ndim](arrays(x), arrays(w), **{name: value})
    torch_rejects(ndim, x, w, **{name: value})


@RANKS
def test_negative_padding(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    padding = (1,) * (ndim - 1) + (-1,)
    shown = re.escape(repr(padding)) if ndim > 1 else "-1"
    with pytest.raises(ValueError, match=rf"^padding must be non-negative \(>= 0\), got {shown}"):
        OPS[ndim](arrays(x), arrays(w), padding=padding)
    torch_rejects(ndim, x, w, padding=padding)


@RANKS
@pytest.mark.parametrize("padding", ["full", "SAME", ""])
def test_unknown_string_padding(arrays, ndim: int, padding: str) -> None:
    x, w = shapes(ndim)
    expected = rf"padding='{padding}' is not supported; use 'same', 'valid', an int or a tuple"
    with pytest.raises(ValueError, match=expected):
        OPS[ndim](arrays(x), arrays(w), padding=padding)
    torch_rejects(ndim, x, w, padding=padding)


@RANKS
def test_same_padding_with_a_stride(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    stride = (1,) * (ndim - 1) + (2,)
    shown = re.escape(repr(stride))
    expected = rf"padding='same' is not supported for strided convolutions \(stride={shown}\)"
    with pytest.raises(ValueError, match=expected):
        OPS[ndim](arrays(x), arrays(w), padding="same", stride=stride)
    torch_rejects(ndim, x, w, padding="same", stride=stride)


@RANKS
def test_output_size_not_positive(arrays, ndim: int) -> None:
    # (2 + 2*0 - 1*(3 - 1) - 1) // 1 + 1 = 0 in the last dimension
    x, w = shapes(ndim)
    x = (*x[:-1], 2)
    shown = re.escape(repr((3,) * (ndim - 1) + (0,)))
    with pytest.raises(ValueError, match=rf"output would have spatial size {shown}"):
        OPS[ndim](arrays(x), arrays(w))
    torch_rejects(ndim, x, w)


@RANKS
@pytest.mark.parametrize("which", ["input", "weight", "bias"])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_non_floating_dtype(arrays, ndim: int, which: str, dtype: str) -> None:
    x, w = shapes(ndim)
    args = {"input": arrays(x), "weight": arrays(w), "bias": arrays((6,))}
    args[which] = arrays({"input": x, "weight": w, "bias": (6,)}[which], dtype)
    with pytest.raises(TypeError, match=rf"{which} must have a real floating dtype.*got .*{dtype}"):
        OPS[ndim](args["input"], args["weight"], args["bias"])


def test_torch_rejects_integer_weights() -> None:
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(
            torch.ones(1, 4, 5, 5), torch.ones(6, 4, 3, 3, dtype=torch.int32)
        )


@RANKS
@pytest.mark.parametrize("shape", [(5,), (7,), (6, 1)])
def test_bias_of_the_wrong_shape(arrays, ndim: int, shape: tuple[int, ...]) -> None:
    x, w = shapes(ndim)
    shown = re.escape(repr(shape))
    with pytest.raises(ValueError, match=rf"bias must have shape \(6,\) .*got {shown}"):
        OPS[ndim](arrays(x), arrays(w), arrays(shape))
    torch_rejects(ndim, x, w, shape)


@RANKS
@pytest.mark.parametrize("foreign", ["weight", "bias"])
def test_arrays_from_two_libraries(backend: Backend, arrays, ndim: int, foreign: str) -> None:
    x, w = shapes(ndim)
    args = {"input": arrays(x), "weight": arrays(w), "bias": arrays((6,))}
    other = torch if backend.name != "torch" else np
    args[foreign] = other.ones({"weight": w, "bias": (6,)}[foreign])
    expected = (
        rf"input and {foreign} come from different array libraries: input is a "
        rf"{type(args['input']).__module__.split('.')[0]}\.\w+, {foreign} is a "
        rf"{'torch.Tensor' if other is torch else 'numpy.ndarray'}"
    )
    with pytest.raises(TypeError, match=expected):
        OPS[ndim](args["input"], args["weight"], args["bias"])


@RANKS
@pytest.mark.parametrize("foreign", ["weight", "bias"])
def test_arrays_of_two_dtypes(arrays, ndim: int, foreign: str) -> None:
    x, w = shapes(ndim)
    args = {"input": arrays(x), "weight": arrays(w), "bias": arrays((6,))}
    args[foreign] = arrays({"weight": w, "bias": (6,)}[foreign], "float64")
    expected = (
        rf"input and {foreign} must have the same dtype, got input\.dtype=.*float32 and "
        rf"{foreign}\.dtype=.*float64"
    )
    with pytest.raises(TypeError, match=expected):
        OPS[ndim](args["input"], args["weight"], args["bias"])
    f64 = {"weight": torch.float64 if foreign == "weight" else torch.float32}
    b64 = torch.float64 if foreign == "bias" else torch.float32
    with pytest.raises(RuntimeError):
        TORCH_OPS[ndim](torch.ones(x), torch.ones(w, dtype=f64["weight"]), torch.ones(6, dtype=b64))


@RANKS
@pytest.mark.parametrize(
    ("value", "shown"), [(True, "bool True"), (1.5, "float 1.5"), ("2", "str '2'")]
)
def test_stride_that_is_not_an_int(arrays, ndim: int, value: object, shown: str) -> None:
    x, w = shapes(ndim)
    with pytest.raises(TypeError, match=rf"stride must be an int.*got {shown}"):
        OPS[ndim](arrays(x), arrays(w), stride=value)


@RANKS
def test_hyper_parameter_tuple_of_the_wrong_length(arrays, ndim: int) -> None:
    x, w = shapes(ndim)
    value = (1,) * (ndim + 1)
    shown = re.escape(repr(value))
    expected = rf"dilation must be an int or a tuple of {ndim} ints, got {shown}"
    with pytest.raises(ValueError, match=expected):
        OPS[ndim](arrays(x), arrays(w), dilation=value)
    torch_rejects(ndim, x, w, dilation=value)


# --- the modules -----------------------------------------------------------------------

MODULES = [
    f"{lazy}{kind}{ndim}d"
    for kind in ("Conv", "ConvTranspose")
    for ndim in (1, 2, 3)
    for lazy in ("", "Lazy")
]
EAGER = [name for name in MODULES if not name.startswith("Lazy")]
FORWARD = [name for name in MODULES if "Transpose" not in name]
TRANSPOSED = [name for name in MODULES if "Transpose" in name]


def build(name: str, **overrides: Any) -> nn.Module:
    """``name`` with in_channels=4 (eager only), out_channels=6, kernel_size=3 and overrides."""
    config: dict[str, Any] = {"in_channels": 4, "out_channels": 6, "kernel_size": 3, **overrides}
    if name.startswith("Lazy"):
        config.pop("in_channels")
    return getattr(nn, name)(**config)


def rank(name: str) -> int:
    return int(name[-2])


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize(("key", "value"), [("out_channels", 0), ("in_channels", -2)])
def test_module_channels_not_positive(name: str, key: str, value: int) -> None:
    if key == "in_channels" and name.startswith("Lazy"):
        pytest.skip("lazy modules take no in_channels")
    with pytest.raises(ValueError, match=rf"{key} must be a positive int, got {value}"):
        build(name, **{key: value})


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("key", ["out_channels", "in_channels"])
def test_module_channels_not_divisible_by_groups(name: str, key: str) -> None:
    if key == "in_channels" and name.startswith("Lazy"):
        pytest.skip("lazy modules take no in_channels")
    config = {"in_channels": 8, "out_channels": 8, key: 6, "groups": 4}
    with pytest.raises(ValueError, match=rf"{key} must be divisible by groups, got {key}=6"):
        build(name, **config)


@pytest.mark.parametrize("name", MODULES)
def test_module_groups_not_positive(name: str) -> None:
    with pytest.raises(ValueError, match=r"groups must be a positive int, got 0"):
        build(name, groups=0)


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("key", ["kernel_size", "stride", "dilation"])
def test_module_size_not_positive(name: str, key: str) -> None:
    value = (2,) * (rank(name) - 1) + (0,)
    shown = re.escape(repr(value)) if rank(name) > 1 else "0"
    with pytest.raises(ValueError, match=rf"{key} must be positive \(>= 1\), got {shown}"):
        build(name, **{key: value})


@pytest.mark.parametrize("name", MODULES)
def test_module_negative_padding(name: str) -> None:
    with pytest.raises(ValueError, match=r"padding must be non-negative \(>= 0\), got -1"):
        build(name, padding=-1)


@pytest.mark.parametrize("name", FORWARD)
def test_module_unknown_string_padding(name: str) -> None:
    with pytest.raises(ValueError, match=r"padding='full' is not supported; use 'same', 'valid'"):
        build(name, padding="full")


@pytest.mark.parametrize("name", TRANSPOSED)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_transposed_module_string_padding(name: str, padding: str) -> None:
    expected = rf"padding='{padding}': String padding is not supported for transposed"
    with pytest.raises(ValueError, match=expected):
        build(name, padding=padding)


@pytest.mark.parametrize("name", FORWARD)
def test_module_same_padding_with_a_stride(name: str) -> None:
    # torch raises here too; torch's *lazy* modules used to accept it (pytorch#95123)
    expected = r"padding='same' is not supported for strided convolutions \(stride=\(2"
    with pytest.raises(ValueError, match=expected):
        build(name, padding="same", stride=2)
    if not name.startswith("Lazy"):
        with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
            getattr(torch.nn, name)(4, 6, 3, padding="same", stride=2)


@pytest.mark.parametrize("name", FORWARD)
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "ZEROS", None])
def test_module_padding_mode_other_than_zeros(name: str, mode: object) -> None:
    expected = (
        rf"padding_mode={mode!r} is not supported: lucid implements only padding_mode='zeros'"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        build(name, padding_mode=mode)


@pytest.mark.parametrize("name", MODULES)
def test_module_bias_that_is_not_a_bool(name: str) -> None:
    with pytest.raises(TypeError, match=r"bias must be a bool, got int 1"):
        build(name, bias=1)


@pytest.mark.parametrize("name", MODULES)
def test_module_tuple_of_the_wrong_length(name: str) -> None:
    n = rank(name)
    with pytest.raises(ValueError, match=rf"kernel_size must be an int or a tuple of {n} ints"):
        build(name, kernel_size=(3,) * (n + 1))


@pytest.mark.parametrize("name", MODULES)
def test_module_integer_dtype(name: str) -> None:
    with pytest.raises(ValueError, match=r"dtype must be a real floating dtype, got 'int32'"):
        build(name, dtype="int32")


def module_on(backend: Backend, name: str, **overrides: Any) -> nn.Module:
    """A float32 module on ``backend``; lazy ones materialised from a valid input."""
    module = build(name, **overrides).to(backend.name, dtype="float32")
    if name.startswith("Lazy"):
        module(backend.asarray(np.ones((1, 4, *(5,) * rank(name))), "float32"))
    return module


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("extra", [-1, 2], ids=["too-few-dims", "too-many-dims"])
def test_module_input_of_the_wrong_rank(backend: Backend, name: str, extra: int) -> None:
    n = rank(name)
    shape = (
        (4, *(5,) * n)[-(n + extra + 1) :] if extra < 0 else (1,) * (extra + 1) + (4,) + (5,) * n
    )
    x = backend.asarray(np.ones(shape), "float32")
    expected = rf"{n + 2}-D .*or {n + 1}-D .*got {len(shape)}-D input"
    with pytest.raises(ValueError, match=expected):
        module_on(backend, name)(x)
    if name.startswith("Lazy"):  # and an unmaterialised lazy module stays lazy
        fresh = build(name)
        with pytest.raises(ValueError, match=expected):
            fresh(x)
        assert fresh.has_uninitialized_params()


@pytest.mark.parametrize("name", EAGER)
def test_module_input_channels_differ(backend: Backend, name: str) -> None:
    x = backend.asarray(np.ones((1, 3, *(5,) * rank(name))), "float32")
    with pytest.raises(ValueError, match=r"input has 3 channels"):
        module_on(backend, name)(x)


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("Lazy")])
def test_lazy_module_input_channels_not_divisible_by_groups(backend: Backend, name: str) -> None:
    module = build(name, groups=2)
    x = backend.asarray(np.ones((1, 3, *(5,) * rank(name))), "float32")
    with pytest.raises(ValueError, match=rf"{name} infers in_channels = 3 .*divisible by groups=2"):
        module(x)
    assert module.has_uninitialized_params() and module.in_channels is None


@pytest.mark.parametrize("name", MODULES)
def test_module_output_size_not_positive(backend: Backend, name: str) -> None:
    # forward: (2 - 2 - 1) // 1 + 1 = 0; transposed: (2 - 1) - 2*2 + 2 + 1 = 0
    options = {"padding": 2} if "Transpose" in name else {}
    module = module_on(backend, name, **options)
    x = backend.asarray(np.ones((1, 4, *(2,) * rank(name))), "float32")
    with pytest.raises(ValueError, match=r"output would have spatial size \(0"):
        module(x)


@pytest.mark.parametrize("name", MODULES)
def test_module_integer_input(backend: Backend, name: str) -> None:
    x = backend.asarray(np.ones((1, 4, *(5,) * rank(name))), "int32")
    with pytest.raises(TypeError, match=r"real floating input.*int32"):
        module_on(backend, name)(x)


@pytest.mark.parametrize("name", MODULES)
def test_module_input_from_another_library(backend: Backend, name: str) -> None:
    other = "torch" if backend.name != "torch" else "numpy"
    shape = (1, 4, *(5,) * rank(name))
    x = torch.ones(shape) if other == "torch" else np.ones(shape, dtype=np.float32)
    expected = rf"parameters live in {backend.name} \(float32.*input is {other} \(float32"
    with pytest.raises(TypeError, match=expected):
        module_on(backend, name)(x)


@pytest.mark.parametrize("name", MODULES)
def test_module_input_of_another_dtype(backend: Backend, name: str) -> None:
    x = backend.asarray(np.ones((1, 4, *(5,) * rank(name))), "float64")
    expected = rf"parameters live in {backend.name} \(float32.*input is {backend.name} \(float64"
    with pytest.raises(TypeError, match=expected):
        module_on(backend, name)(x)


@pytest.mark.parametrize("name", MODULES)
def test_module_state_dict_bias_of_the_wrong_shape(backend: Backend, name: str) -> None:
    n = rank(name)
    weight = (4, 6, *(3,) * n) if "Transpose" in name else (6, 4, *(3,) * n)
    state = {"weight": backend.asarray(np.ones(weight)), "bias": backend.asarray(np.ones(5))}
    module = build(name)
    with pytest.raises(RuntimeError, match=r"size mismatch for bias: .*\(5,\).*\(6,\)"):
        module.load_state_dict(state)
    if name.startswith("Lazy"):
        assert module.has_uninitialized_params() and module.in_channels is None


@pytest.mark.parametrize("name", [n for n in MODULES if n.startswith("Lazy")])
def test_lazy_module_state_dict_weight_of_the_wrong_rank(backend: Backend, name: str) -> None:
    n = rank(name)
    state = {"weight": backend.asarray(np.ones((6, 4, *(3,) * (n + 1)))),
             "bias": backend.asarray(np.ones(6))}  # fmt: skip
    module = build(name)
    with pytest.raises(RuntimeError, match=rf"weight for {name} must be {n + 2}-D"):
        module.load_state_dict(state)
    assert module.has_uninitialized_params() and module.in_channels is None
