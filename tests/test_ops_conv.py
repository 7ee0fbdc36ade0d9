"""lucid.ops.conv{1,2,3}d: the adjoint identity with conv_transpose, padding modes, errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from lucid import ops
from lucid.ops._params import conv_output_size, validate_conv_params
from lucid.testing import Backend

CONV = {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}
CONV_TRANSPOSE = {1: ops.conv_transpose1d, 2: ops.conv_transpose2d, 3: ops.conv_transpose3d}

# (ndim, input spatial, kernel, stride, padding, dilation, groups, c_in, c_out)
ADJOINT_CASES = [
    (1, (11,), (3,), (2,), (1,), (1,), 1, 3, 4),
    (1, (9,), (4,), (3,), (0,), (2,), 2, 4, 6),
    (2, (7, 9), (3, 2), (2, 1), (1, 0), (1, 2), 1, 2, 3),
    (2, (8, 8), (4, 4), (2, 2), (1, 1), (1, 1), 2, 4, 2),
    (2, (10, 7), (3, 3), (3, 2), (2, 1), (2, 1), 4, 8, 4),
    (3, (5, 6, 4), (2, 3, 2), (2, 1, 2), (0, 1, 1), (1, 1, 2), 1, 2, 3),
]


@pytest.mark.parametrize("case", ADJOINT_CASES, ids=lambda c: f"{c[0]}d-{c[1]}-k{c[2]}-s{c[3]}")
def test_conv_transpose_is_the_adjoint_of_conv(backend: Backend, case: tuple) -> None:
    """<conv(x, w), y> == <x, conv_transpose(y, w)> with matching parameters."""
    ndim, spatial, kernel, stride, padding, dilation, groups, c_in, c_out = case
    rng = np.random.default_rng(sum(spatial) + ndim)
    x = rng.standard_normal((2, c_in, *spatial))
    w = rng.standard_normal((c_out, c_in // groups, *kernel))
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    forward = CONV[ndim](backend.asarray(x), backend.asarray(w), **options)
    y = rng.standard_normal(tuple(forward.shape))
    back = CONV_TRANSPOSE[ndim](
        backend.asarray(y), backend.asarray(w), output_size=spatial, **options
    )
    assert tuple(back.shape) == x.shape
    lhs = float(np.sum(backend.to_numpy(forward) * y))
    rhs = float(np.sum(x * backend.to_numpy(back)))
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1.0)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_same_padding_keeps_the_spatial_size(backend: Backend, ndim: int) -> None:
    spatial = (7, 6, 5)[:ndim]
    x = backend.asarray(np.ones((1, 2, *spatial)))
    w = backend.asarray(np.ones((3, 2, *((4,) * ndim))))
    y = CONV[ndim](x, w, padding="same", dilation=2)
    assert tuple(y.shape) == (1, 3, *spatial)
    assert tuple(CONV[ndim](x, w, padding="valid").shape) == (1, 3, *(n - 3 for n in spatial))


def test_same_padding_puts_the_odd_zero_on_the_high_side(backend: Backend) -> None:
    # Kernel [1, 0]: output[i] = x[i - low]; with a total padding of 1, torch pads 0 low.
    x = backend.asarray(np.arange(1.0, 6.0)[None, None, :])
    w = backend.asarray(np.array([[[1.0, 0.0]]]))
    y = backend.to_numpy(ops.conv1d(x, w, padding="same"))
    np.testing.assert_array_equal(y[0, 0], [1.0, 2.0, 3.0, 4.0, 5.0])


def test_output_size_formula_matches_the_definition() -> None:
    # Independent count: the number of window starts that fit in the padded input.
    for n, k, s, pad, d in [(10, 3, 2, 1, 1), (7, 2, 3, 0, 2), (5, 5, 1, 2, 1)]:
        params = validate_conv_params(1, k, s, pad, d)
        starts = range(0, n + 2 * pad - d * (k - 1), s)
        assert conv_output_size((n,), params) == (len(starts),)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"padding": "same", "stride": 2}, ValueError, r"padding='same'.*strided.*stride=\(2, 2\)"),
        ({"padding": "full"}, ValueError, r"padding='full'.*'same', 'valid'"),
        ({"padding": -1}, ValueError, r"padding must be non-negative.*-1"),
        ({"stride": 0}, ValueError, r"stride must be positive.*0"),
        ({"dilation": (1, 0)}, ValueError, r"dilation must be positive.*\(1, 0\)"),
        ({"groups": 0}, ValueError, r"groups must be a positive int, got 0"),
        ({"groups": 3}, ValueError, r"out_channels \(weight.shape\[0\] = 4\).*groups \(3\)"),
        ({"stride": (1, 2, 3)}, ValueError, r"stride must be an int or a tuple of 2 ints"),
        ({"stride": 1.5}, TypeError, r"stride must be an int.*float 1.5"),
    ],
)
def test_bad_hyper_parameters_are_rejected(
    backend: Backend, kwargs: dict, error: type, pattern: str
) -> None:
    x = backend.asarray(np.ones((1, 2, 5, 5), dtype=np.float32))
    w = backend.asarray(np.ones((4, 2, 3, 3), dtype=np.float32))
    with pytest.raises(error, match=pattern):
        ops.conv2d(x, w, **kwargs)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape", "pattern"),
    [
        ((5, 5), (4, 2, 3, 3), None, r"input must be 4-D .* or 3-D .*got 2-D"),
        ((1, 1, 2, 5, 5), (4, 2, 3, 3), None, r"got 5-D input of shape \(1, 1, 2, 5, 5\)"),
        ((1, 3, 5, 5), (4, 2, 3, 3), None, r"input has 3 channels.*expects.*= 2"),
        ((1, 2, 5, 5), (4, 2, 3), None, r"weight must be 4-D.*got shape \(4, 2, 3\)"),
        ((1, 2, 5, 5), (4, 2, 3, 3), (3,), r"bias must have shape \(4,\).*got \(3,\)"),
        ((1, 2, 2, 2), (4, 2, 3, 3), None, r"output would have spatial size \(0, 0\)"),
    ],
)
def test_bad_shapes_are_rejected(
    backend: Backend, x_shape: tuple, w_shape: tuple, b_shape: tuple | None, pattern: str
) -> None:
    x = backend.asarray(np.ones(x_shape, dtype=np.float32))
    w = backend.asarray(np.ones(w_shape, dtype=np.float32))
    b = None if b_shape is None else backend.asarray(np.ones(b_shape, dtype=np.float32))
    with pytest.raises(ValueError, match=pattern):
        ops.conv2d(x, w, b)


def test_integer_input_is_rejected(backend: Backend) -> None:
    x = backend.asarray(np.ones((1, 2, 5, 5), dtype=np.int32))
    w = backend.asarray(np.ones((4, 2, 3, 3), dtype=np.int32))
    with pytest.raises(TypeError, match=r"input must have a real floating dtype.*int32"):
        ops.conv2d(x, w)


#: The forward convolution's formulations, each forced by :func:`_force`.
FORMULATIONS = ["channels-last", "channels-first", "products"]


def _force(monkeypatch: pytest.MonkeyPatch, formulation: str) -> None:
    from lucid.ops import _plans
    from lucid.ops import conv as conv_module

    products = formulation == "products"
    monkeypatch.setattr(conv_module, "products_first", lambda *_: products)
    layout = formulation == "channels-last"
    monkeypatch.setattr(conv_module, "windows_channels_last", lambda *_: layout)
    monkeypatch.setattr(_plans, "_PLANS", {})  # plans made before ran the real rules


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("groups", [1, 2], ids=["ungrouped", "grouped"])
def test_taps_in_several_chunks_give_the_same_result(
    backend: Backend, groups: int, formulation: str, monkeypatch
) -> None:
    """Large inputs take their taps a chunk at a time; force a few taps per chunk."""
    import dataclasses

    import torch

    from lucid.ops import conv as conv_module

    real = conv_module.traits
    monkeypatch.setattr(
        conv_module, "traits", lambda name: dataclasses.replace(real(name), min_column_chunk=1)
    )
    _force(monkeypatch, formulation)
    rng = np.random.default_rng(5)
    # 8 input channels, 2 outputs: the input bounds the budget to a few taps per chunk.
    x = rng.standard_normal((2, 8, 6, 6))
    w = rng.standard_normal((2, 8 // groups, 3, 3))
    want = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w), padding=1, groups=groups
    ).numpy()
    got = ops.conv2d(backend.asarray(x), backend.asarray(w), padding=1, groups=groups)
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-10, atol=1e-10)


def test_windows_go_channels_last_only_with_more_channels_than_an_output_row() -> None:
    from lucid.ops._traits import traits
    from lucid.ops.conv import windows_channels_last

    numpy_traits, jax_traits = traits("numpy"), traits("jax")
    k3 = validate_conv_params(2, 3, 1, 1)
    rule = functools.partial(windows_channels_last, k3)
    assert rule((256, 128), (16, 16), numpy_traits)
    assert not rule((3, 64), (128, 128), numpy_traits)  # an RGB input
    assert not rule((128, 3), (16, 16), numpy_traits)  # an RGB output
    assert not rule((16, 32), (16,), numpy_traits)  # as many as the row
    assert not rule((256, 128), (16, 16), jax_traits)  # XLA: channels-first
    grouped = validate_conv_params(2, 3, 1, 1, groups=2)
    assert not windows_channels_last(grouped, (256, 128), (16, 16), numpy_traits)
    # A 1x1 kernel reads the input in place channels-first; strided, it copies pixels.
    one_tap = validate_conv_params(2, 1, 1, 0)
    assert not windows_channels_last(one_tap, (256, 128), (16, 16), numpy_traits)
    strided = validate_conv_params(2, 1, 2, 0)
    assert windows_channels_last(strided, (256, 128), (16, 16), numpy_traits)


# (ndim, input spatial, kernel, stride, padding, dilation, groups, C_in, C_out, batch)
FORCED_CASES = [
    (2, (7, 6), (3, 2), (2, 1), (1, 1), (1, 1), 1, 5, 4, 2),
    (1, (13,), (5,), (3,), (4,), (2,), 1, 3, 2, 1),
    (2, (9, 8), (3, 3), (1, 2), (2, 0), (2, 1), 4, 8, 4, 3),
    (3, (5, 6, 4), (2, 3, 1), (1, 1, 2), (0, 1, 0), (1, 1, 1), 2, 4, 6, 1),
    (2, (6, 6), (1, 1), (1, 1), (0, 0), (1, 1), 1, 6, 1, 2),
]


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("case", FORCED_CASES, ids=str)
def test_every_formulation_matches_torch(
    backend: Backend, formulation: str, case: tuple, monkeypatch
) -> None:
    import torch

    nd, spatial, kernel, stride, padding, dilation, groups, c_in, c_out, n = case
    _force(monkeypatch, formulation)
    rng = np.random.default_rng(9)
    x, w, b = (
        rng.standard_normal((n, c_in, *spatial)),
        rng.standard_normal((c_out, c_in // groups, *kernel)),
        rng.standard_normal(c_out),
    )
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = getattr(torch.nn.functional, f"conv{nd}d")(*map(torch.tensor, (x, w, b)), **options)
    got = CONV[nd](*map(backend.asarray, (x, w, b)), **options)
    np.testing.assert_allclose(backend.to_numpy(got), want.numpy(), rtol=1e-10, atol=1e-10)


def test_products_first_where_they_are_fewer_than_the_windows() -> None:
    from lucid.ops.conv import products_first

    padded, out = (34, 34), (32, 32)  # a 32x32 input padded by one, k3 at stride 1
    assert products_first((64, 3), padded, out)  # an RGB output layer
    assert products_first((8, 1), padded, out)  # a mask
    assert not products_first((3, 64), padded, out)  # an RGB input layer
    assert not products_first((64, 64), padded, out)  # as many: the padding tips it
    # A stride shrinks the output, so the windows become the fewer.
    assert not products_first((64, 32), padded, (16, 16))
