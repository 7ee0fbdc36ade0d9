"""Bad arguments to lucid.ops.conv_transpose2d: the right exception, a useful message.

One test per kind of bad input.  Each asserts the exception type, that the message
names the parameter and the offending value (``pytest.raises(..., match=...)``), and
that it is raised before any computation: the ``no_computation`` fixture replaces the
algorithm (``lucid.ops.conv_transpose._conv_transpose``) with a function that fails
the test if it is ever reached.  Rows that involve arrays run on every backend.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import lucid.ops.conv_transpose as conv_transpose_module
from lucid.ops import conv_transpose2d, conv_transpose_output_size
from lucid.testing import Backend


@pytest.fixture
def no_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the op gets as far as computing anything."""

    def computing(*args: Any, **kwargs: Any) -> Any:
        msg = "the op started computing before rejecting the bad argument"
        raise AssertionError(msg)

    monkeypatch.setattr(conv_transpose_module, "_conv_transpose", computing)


@pytest.fixture
def arrays(backend: Backend, no_computation: None):
    """``make(shape, dtype='float32')``: a ``backend`` array of ones."""

    def make(shape: tuple[int, ...], dtype: str = "float32") -> Any:
        return backend.asarray(np.ones(shape), dtype)

    return make


def good(arrays) -> tuple[Any, Any]:
    """A valid input (1, 4, 5, 5) and weight (4, 2, 3, 3)."""
    return arrays((1, 4, 5, 5)), arrays((4, 2, 3, 3))


@pytest.mark.parametrize("shape", [(4, 5), (1, 1, 4, 5, 5)], ids=["2-D", "5-D"])
def test_input_of_the_wrong_rank(arrays, shape: tuple[int, ...]) -> None:
    expected = rf"input must be 4-D .*or 3-D .*got {len(shape)}-D input of shape"
    with pytest.raises(ValueError, match=expected):
        conv_transpose2d(arrays(shape), arrays((4, 2, 3, 3)))


def test_weight_of_the_wrong_rank(arrays) -> None:
    with pytest.raises(ValueError, match=r"weight must be 4-D .*got shape \(4, 2, 3\)"):
        conv_transpose2d(arrays((1, 4, 5, 5)), arrays((4, 2, 3)))


def test_input_channels_differ_from_weight_shape_0(arrays) -> None:
    with pytest.raises(ValueError, match=r"input has 3 channels.*weight\.shape\[0\] = 4"):
        conv_transpose2d(arrays((1, 3, 5, 5)), arrays((4, 2, 3, 3)))


def test_channels_not_divisible_by_groups(arrays) -> None:
    x, w = arrays((1, 3, 5, 5)), arrays((3, 1, 3, 3))
    with pytest.raises(ValueError, match=r"input channels \(3\) must be divisible by groups \(2\)"):
        conv_transpose2d(x, w, groups=2)


@pytest.mark.parametrize("groups", [0, -2])
def test_groups_not_positive(arrays, groups: int) -> None:
    with pytest.raises(ValueError, match=rf"groups must be a positive int, got {groups}"):
        conv_transpose2d(*good(arrays), groups=groups)


@pytest.mark.parametrize("kernel", [(0, 3), (3, 0)])
def test_weight_with_an_empty_kernel_dimension(arrays, kernel: tuple[int, int]) -> None:
    shown = re.escape(repr(kernel))
    with pytest.raises(ValueError, match=rf"kernel_size must be positive .*got {shown}"):
        conv_transpose2d(arrays((1, 4, 5, 5)), arrays((4, 2, *kernel)))


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("stride", 0, "0"),
        ("stride", (1, -1), r"\(1, -1\)"),
        ("dilation", 0, "0"),
        ("dilation", (-1, 2), r"\(-1, 2\)"),
    ],
)
def test_stride_or_dilation_not_positive(arrays, name: str, value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=rf"{name} must be positive \(>= 1\), got {shown}"):
        conv_transpose2d(*good(arrays), **{name: value})


@pytest.mark.parametrize(("value", "shown"), [(-1, "-1"), ((0, -2), r"\(0, -2\)")])
def test_negative_padding(arrays, value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=rf"^padding must be non-negative .*got {shown}"):
        conv_transpose2d(*good(arrays), padding=value)


@pytest.mark.parametrize(("value", "shown"), [(-1, "-1"), ((-1, 0), r"\(-1, 0\)")])
def test_negative_output_padding(arrays, value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=rf"output_padding must be non-negative .*got {shown}"):
        conv_transpose2d(*good(arrays), stride=2, output_padding=value)


@pytest.mark.parametrize(
    ("stride", "dilation", "output_padding"),
    [(2, 1, 2), (1, 2, 2), (2, 2, 3), ((1, 3), (1, 1), (0, 3))],
)
def test_output_padding_not_smaller_than_stride_or_dilation(
    arrays, stride: object, dilation: object, output_padding: object
) -> None:
    expected = r"output_padding must be smaller than either stride or dilation, got output_padding="
    with pytest.raises(ValueError, match=expected) as info:
        conv_transpose2d(
            *good(arrays), stride=stride, dilation=dilation, output_padding=output_padding
        )
    assert "stride=" in str(info.value) and "dilation=" in str(info.value)


def test_output_padding_smaller_than_the_dilation_only_is_allowed(backend: Backend) -> None:
    """torch's rule: smaller than stride *or* dilation (a control for the test above)."""
    x = backend.asarray(np.ones((1, 4, 5, 5)), "float32")
    w = backend.asarray(np.ones((4, 2, 3, 3)), "float32")
    y = conv_transpose2d(x, w, stride=1, dilation=3, output_padding=2)
    # (5 - 1) * 1 + 3 * (3 - 1) + 2 + 1
    assert tuple(y.shape) == (1, 2, 13, 13)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_string_padding(arrays, padding: str) -> None:
    expected = rf"padding='{padding}': String padding is not supported"
    with pytest.raises(ValueError, match=expected):
        conv_transpose2d(*good(arrays), padding=padding)


@pytest.mark.parametrize("output_size", [(7,), (7, 7, 7), (1, 2, 1, 7, 7)])
def test_output_size_of_the_wrong_length(arrays, output_size: tuple[int, ...]) -> None:
    expected = rf"output_size must have 2 or 4 elements \(got {len(output_size)}\)"
    with pytest.raises(ValueError, match=expected):
        conv_transpose2d(*good(arrays), output_size=output_size)


@pytest.mark.parametrize("output_size", [(10, 11), (11, 13), (1, 2, 11, 13)])
def test_output_size_out_of_range(arrays, output_size: tuple[int, ...]) -> None:
    # input 5x5, kernel 3, stride 2: from (5 - 1) * 2 + 3 = 11 to 11 + (2 - 1) = 12
    wanted = re.escape(str(output_size[-2:]))
    expected = (
        rf"output_size={wanted} is not reachable: valid sizes range from \(11, 11\) to \(12, 12\)"
    )
    with pytest.raises(ValueError, match=expected):
        conv_transpose2d(*good(arrays), stride=2, output_size=output_size)


def test_resulting_output_size_not_positive(arrays) -> None:
    # (1 - 1) * 1 - 2 * 2 + 1 * (3 - 1) + 0 + 1 = -1
    x, w = arrays((1, 4, 1, 5)), arrays((4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"output would have spatial size \(-1, 3\)"):
        conv_transpose2d(x, w, padding=2)


@pytest.mark.parametrize("which", ["input", "weight", "bias"])
def test_non_floating_dtype(arrays, which: str) -> None:
    shapes = {"input": (1, 4, 5, 5), "weight": (4, 2, 3, 3), "bias": (2,)}
    args = {name: arrays(shape) for name, shape in shapes.items()}
    args[which] = arrays(shapes[which], "int64")
    with pytest.raises(TypeError, match=rf"{which} must have a real floating dtype.*got .*int64"):
        conv_transpose2d(args["input"], args["weight"], args["bias"])


@pytest.mark.parametrize("shape", [(3,), (4,), (2, 1)])
def test_bias_of_the_wrong_shape(arrays, shape: tuple[int, ...]) -> None:
    shown = re.escape(repr(shape))
    with pytest.raises(ValueError, match=rf"bias must have shape \(2,\) .*got {shown}"):
        conv_transpose2d(*good(arrays), arrays(shape))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "bool True"), (1.5, "float 1.5"), (2.0, "float 2.0"), ((1, 2.0), "float 2.0")],
)
def test_bool_or_float_stride(arrays, value: object, shown: str) -> None:
    with pytest.raises(TypeError, match=rf"stride must be an int.*got {shown}"):
        conv_transpose2d(*good(arrays), stride=value)


@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"stride": 0}, ValueError, r"stride must be positive \(>= 1\), got 0"),
        ({"padding": "same"}, ValueError, "String padding is not supported"),
        ({"output_padding": 2, "stride": 2}, ValueError, "output_padding must be smaller"),
        ({"stride": True}, TypeError, "stride must be an int.*got bool True"),
    ],
)
def test_output_size_helper_rejects_the_same_arguments(
    kwargs: dict[str, object], error: type[Exception], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        conv_transpose_output_size((5, 5), 3, **kwargs)
