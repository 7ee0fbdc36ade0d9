"""What every public convolution op does with things that are not arrays, absurd sizes
and empty channel counts: a clear error naming the argument, raised before any work.

The ``no_computation`` fixture replaces both algorithms with a function that fails the
test if reached, so "before any work" is checked, not assumed.  Empty channel counts are
refused as torch refuses them, except that torch's forward convolutions return a tensor
with no channels for an input with none; lucid refuses that too.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

import lucid.ops as ops
import lucid.ops.conv as conv_module
import lucid.ops.conv_transpose as conv_transpose_module
from lucid.testing import Backend

TRANSPOSED = {1: ops.conv_transpose1d, 2: ops.conv_transpose2d, 3: ops.conv_transpose3d}
FORWARD = {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}
TORCH = {
    (True, 1): torch.nn.functional.conv_transpose1d,
    (True, 2): torch.nn.functional.conv_transpose2d,
    (True, 3): torch.nn.functional.conv_transpose3d,
    (False, 1): torch.nn.functional.conv1d,
    (False, 2): torch.nn.functional.conv2d,
    (False, 3): torch.nn.functional.conv3d,
}
OPS = [(transposed, ndim) for transposed in (True, False) for ndim in (1, 2, 3)]
EACH_OP = pytest.mark.parametrize(
    ("transposed", "ndim"), OPS, ids=[f"{'T' if t else ''}conv{n}d" for t, n in OPS]
)


@pytest.fixture
def no_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    def computing(*args: Any, **kwargs: Any) -> Any:
        msg = "the op started computing before rejecting the bad argument"
        raise AssertionError(msg)

    monkeypatch.setattr(conv_module, "_conv", computing)
    monkeypatch.setattr(conv_transpose_module, "_conv_transpose", computing)


def op_of(transposed: bool, ndim: int):
    return (TRANSPOSED if transposed else FORWARD)[ndim]


def good_shapes(transposed: bool, ndim: int) -> tuple[tuple[int, ...], ...]:
    """Input, weight and bias shapes of a valid call (4 input, 6 output channels)."""
    weight = (4, 6) if transposed else (6, 4)
    return (2, 4, *(5,) * ndim), (*weight, *(3,) * ndim), (6,)


NOT_ARRAYS = [None, [[1.0, 2.0]], 1.5, "x", object()]
# bias=None is valid: it means no bias
BAD_ARGUMENTS = [
    (which, value)
    for which in ("input", "weight", "bias")
    for value in NOT_ARRAYS
    if not (which == "bias" and value is None)
]


@EACH_OP
@pytest.mark.parametrize(
    ("which", "value"), BAD_ARGUMENTS, ids=[f"{w}-{type(v).__name__}" for w, v in BAD_ARGUMENTS]
)
def test_non_array_argument_is_a_type_error(
    backend: Backend, no_computation: None, transposed: bool, ndim: int, which: str, value: Any
) -> None:
    shapes = dict(zip(("input", "weight", "bias"), good_shapes(transposed, ndim)))
    args = {name: backend.asarray(np.ones(shape), "float32") for name, shape in shapes.items()}
    args[which] = value
    shown = re.escape(f"builtins.{type(value).__name__}")
    with pytest.raises(TypeError, match=rf"^{which} must be an array .*got {shown}$"):
        op_of(transposed, ndim)(**args)


def test_every_public_convolution_is_covered() -> None:
    public = {name for name in ops.__all__ if name.startswith(("conv1d", "conv2d", "conv3d"))}
    public |= {name for name in ops.__all__ if re.fullmatch(r"conv_transpose\dd", name)}
    assert public == {op.__name__ for op in (*TRANSPOSED.values(), *FORWARD.values())}


@EACH_OP
@pytest.mark.parametrize(
    ("size", "shown"),
    [("unindexable", "more than the 4611686018427387904 elements"), ("petabytes", "of memory")],
)
def test_absurd_output_is_refused_before_allocating(
    backend: Backend, no_computation: None, transposed: bool, ndim: int, size: str, shown: str
) -> None:
    # petabytes: about 2**50 outputs, far beyond any machine's memory yet indexable
    stride = 10**30 if size == "unindexable" else 2 ** (48 // ndim)
    x, w, b = good_shapes(transposed, ndim)
    if not transposed:  # a forward convolution grows its output through padding
        kwargs = {"padding": stride}
        named = f"padding=(({stride}"
    else:
        kwargs = {"stride": stride}
        named = f"stride=({stride}"
    args = [backend.asarray(np.ones(s), "float32") for s in (x, w, b)]
    with pytest.raises(ValueError, match=r"the output would have shape \(2, 6, ") as raised:
        op_of(transposed, ndim)(*args, **kwargs)
    message = str(raised.value)
    assert shown in message and named in message and "GiB of float32" in message


@EACH_OP
@pytest.mark.parametrize("empty", ["in", "out"])
def test_empty_channels_behave_as_in_torch(
    backend: Backend, transposed: bool, ndim: int, empty: str
) -> None:
    x, w, b = good_shapes(transposed, ndim)
    channels = {"in": 4, "out": 6}
    channels[empty] = 0
    x = (2, channels["in"], *x[2:])
    w = (channels["in"], channels["out"]) if transposed else (channels["out"], channels["in"])
    w = (*w, *(3,) * ndim)
    b = (channels["out"],)
    data = [np.random.default_rng(0).standard_normal(s) for s in (x, w, b)]
    with pytest.raises(ValueError, match=r"needs input and output channels, got .*weight of shape"):
        op_of(transposed, ndim)(*(backend.asarray(d, "float64") for d in data))
    reference = TORCH[transposed, ndim]
    if transposed or empty == "out":
        with pytest.raises(RuntimeError):
            reference(*(torch.from_numpy(d) for d in data))
    else:  # torch answers with no channels at all, contradicting its weight's 6
        assert reference(*(torch.from_numpy(d) for d in data)).shape[1] == 0


# Every other public op, with the fewest further arguments it needs.
_OTHER_OPS: dict[str, Any] = {
    "linear": lambda a: ops.linear(a, np.ones((5, 4), np.float32)),
    "batch_norm": lambda a: ops.batch_norm(a, None, None, training=True),
    "batch_norm_stats": lambda a: ops.batch_norm_stats(a, np.zeros(3), np.ones(3)),
    "group_norm": lambda a: ops.group_norm(a, 1),
    "layer_norm": lambda a: ops.layer_norm(a, (4,)),
    "dropout": lambda a: ops.dropout(a, 0.5),
    "interpolate": lambda a: ops.interpolate(a, scale_factor=2),
    "pixel_shuffle": lambda a: ops.pixel_shuffle(a, 2),
    "pixel_unshuffle": lambda a: ops.pixel_unshuffle(a, 2),
}
for _name in ("relu", "leaky_relu", "gelu", "silu", "elu", "softplus", "hardtanh", "relu6"):
    _OTHER_OPS[_name] = getattr(ops, _name)
_OTHER_OPS["sigmoid"], _OTHER_OPS["tanh"] = ops.sigmoid, ops.tanh
_NOT_ARRAY_OPS = {"autotune", "use_custom_grad", "conv_transpose_output_size"}


def test_every_public_op_is_covered() -> None:
    convolutions = {op.__name__ for op in (*TRANSPOSED.values(), *FORWARD.values())}
    assert set(ops.__all__) == convolutions | set(_OTHER_OPS) | _NOT_ARRAY_OPS


@pytest.mark.parametrize("name", sorted(_OTHER_OPS))
@pytest.mark.parametrize("value", [None, [[1.0, 2.0]]], ids=["None", "list"])
def test_other_ops_name_a_non_array_input(name: str, value: Any) -> None:
    shown = re.escape(f"builtins.{type(value).__name__}")
    with pytest.raises(TypeError, match=rf"(^|: )input must be an array .*got {shown}$"):
        _OTHER_OPS[name](value)


def test_linear_names_a_missing_weight() -> None:
    with pytest.raises(TypeError, match=r"^weight must be an array .*got builtins.NoneType$"):
        ops.linear(np.ones((2, 4), np.float32), None)
