"""lucid.ops.conv_transpose2d's own contract, on every backend.

Checked here: results equal a direct, loop-by-loop evaluation of the definition
(``y[n, o, i*s + k*d - p] += x[n, c, i] * w[c, o', k]``); the result has the input's
namespace, dtype and device; unbatched input gives unbatched output; an empty batch
works; ``output_size`` overrides ``output_padding``; ``conv_transpose_output_size``
agrees with the actual shapes and with torch's documented formula; arrays from two
libraries or of two dtypes are rejected with a ``TypeError`` naming both.

Autodiff (differentiable backends only, the one documented skip): a finite-difference
gradient check in float64 (``torch.autograd.gradcheck`` / ``jax.test_util.check_grads``)
and gradients equal to those of the direct definition.  JAX transforms (``jax.jit``,
``jax.vmap``) are JAX's own, so those two tests run on the JAX backend alone.
"""

from __future__ import annotations

import itertools
from typing import Any

import array_api_compat
import numpy as np
import pytest

from lucid.ops import (
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    conv_transpose_output_size,
)
from lucid.testing import Backend, assert_close, load_backend

DTYPES = ["float32", "float64"]


def direct_conv_transpose2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    output_padding: tuple[int, int] = (0, 0),
    groups: int = 1,
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """The definition, one multiply-add at a time, in float64 (small inputs only)."""
    n, c_in, h, wd = x.shape
    c_out_g, kh, kw = w.shape[1:]
    c_in_g = c_in // groups
    out_h, out_w = (
        (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        for size, s, p, d, k, op in zip(
            (h, wd), stride, padding, dilation, (kh, kw), output_padding
        )
    )
    y = np.zeros((n, c_out_g * groups, out_h, out_w))
    for c, o, i, j, a, e in itertools.product(
        range(c_in), range(c_out_g), range(h), range(wd), range(kh), range(kw)
    ):
        row = i * stride[0] + a * dilation[0] - padding[0]
        col = j * stride[1] + e * dilation[1] - padding[1]
        if 0 <= row < out_h and 0 <= col < out_w:
            out_channel = (c // c_in_g) * c_out_g + o
            y[:, out_channel, row, col] += x[:, c, i, j] * w[c, o, a, e]
    if b is not None:
        y += b[None, :, None, None]
    return y


# (x shape, w shape, groups, stride, padding, output_padding, dilation)
CONFIGS = {
    "plain": ((2, 3, 4, 5), (3, 2, 3, 3), 1, (1, 1), (0, 0), (0, 0), (1, 1)),
    "strided": ((1, 2, 3, 4), (2, 3, 2, 3), 1, (2, 3), (1, 0), (1, 2), (1, 1)),
    "grouped-dilated": ((2, 4, 3, 3), (4, 1, 3, 2), 2, (2, 1), (1, 1), (0, 1), (2, 2)),
    "op-from-dilation": ((1, 2, 2, 3), (2, 2, 2, 2), 1, (1, 2), (0, 1), (2, 1), (3, 2)),
}


def make_case(name: str, seed: int = 0, bias: bool = True) -> dict[str, Any]:
    x_shape, w_shape, groups, stride, padding, output_padding, dilation = CONFIGS[name]
    rng = np.random.default_rng(seed)

    def normal(shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32).astype(np.float64)

    return {
        "x": normal(x_shape),
        "w": normal(w_shape),
        "b": normal((w_shape[1] * groups,)) if bias else None,
        "kwargs": {
            "stride": stride,
            "padding": padding,
            "output_padding": output_padding,
            "groups": groups,
            "dilation": dilation,
        },
    }


def as_backend(backend: Backend, dtype: str, *arrays: np.ndarray | None) -> list[Any]:
    return [None if a is None else backend.asarray(a, dtype) for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_matches_the_direct_definition(backend: Backend, name: str, dtype: str) -> None:
    case = make_case(name)
    x, w, b = as_backend(backend, dtype, case["x"], case["w"], case["b"])
    y = conv_transpose2d(x, w, b, **case["kwargs"])
    expected = direct_conv_transpose2d(case["x"], case["w"], case["b"], **case["kwargs"])
    assert_close(y, expected, backend=backend, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_result_has_the_input_namespace_dtype_and_device(backend: Backend, dtype: str) -> None:
    case = make_case("grouped-dilated")
    x, w, b = as_backend(backend, dtype, case["x"], case["w"], case["b"])
    y = conv_transpose2d(x, w, b, **case["kwargs"])
    assert array_api_compat.array_namespace(y) is backend.xp
    assert y.dtype == backend.dtype(dtype)
    assert array_api_compat.device(y) == array_api_compat.device(x)
    if backend.name == "torch":
        assert y.device == x.device


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_input_gives_unbatched_output(backend: Backend, dtype: str) -> None:
    case = make_case("strided")
    sample = case["x"][0]
    x, w, b = as_backend(backend, dtype, sample, case["w"], case["b"])
    y = conv_transpose2d(x, w, b, **case["kwargs"])
    expected = direct_conv_transpose2d(sample[None], case["w"], case["b"], **case["kwargs"])[0]
    assert y.ndim == 3
    assert_close(y, expected, backend=backend, dtype=dtype)


def test_empty_batch_gives_an_empty_result_of_the_right_shape(backend: Backend) -> None:
    case = make_case("grouped-dilated")
    empty = np.zeros((0, *case["x"].shape[1:]))
    x, w, b = as_backend(backend, "float64", empty, case["w"], case["b"])
    y = conv_transpose2d(x, w, b, **case["kwargs"])
    expected = direct_conv_transpose2d(empty, case["w"], case["b"], **case["kwargs"])
    assert expected.shape == (0, 2, 7, 4)
    assert_close(y, expected, backend=backend, dtype="float64")


@pytest.mark.parametrize("full_rank", [False, True], ids=["spatial", "full-rank"])
def test_output_size_overrides_output_padding(backend: Backend, full_rank: bool) -> None:
    # stride 3: output sizes from the minimum to minimum + 2 are reachable
    case = make_case("plain")
    kwargs = {**case["kwargs"], "stride": (3, 3), "output_padding": (2, 2)}
    smallest = direct_conv_transpose2d(
        case["x"], case["w"], case["b"], **{**kwargs, "output_padding": (0, 0)}
    ).shape
    x, w, b = as_backend(backend, "float64", case["x"], case["w"], case["b"])
    for extra in [(0, 0), (1, 0), (2, 1)]:
        wanted = (smallest[2] + extra[0], smallest[3] + extra[1])
        size = (*smallest[:2], *wanted) if full_rank else wanted
        y = conv_transpose2d(x, w, b, **kwargs, output_size=size)
        expected = direct_conv_transpose2d(
            case["x"], case["w"], case["b"], **{**kwargs, "output_padding": extra}
        )
        assert expected.shape[2:] == wanted
        assert_close(y, expected, backend=backend, dtype="float64")


def torch_documented_size(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """H_out of the torch.nn.ConvTranspose2d documentation."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


@pytest.mark.parametrize("name", list(CONFIGS))
def test_output_size_helper_agrees_with_shapes_and_torch_formula(
    backend: Backend, name: str
) -> None:
    case = make_case(name)
    kw = case["kwargs"]
    spatial, kernel = case["x"].shape[2:], case["w"].shape[2:]
    helper = conv_transpose_output_size(
        spatial, kernel, kw["stride"], kw["padding"], kw["output_padding"], kw["dilation"]
    )
    formula = tuple(
        torch_documented_size(*args)
        for args in zip(
            spatial, kernel, kw["stride"], kw["padding"], kw["output_padding"], kw["dilation"]
        )
    )
    x, w = as_backend(backend, "float32", case["x"], case["w"])
    y = conv_transpose2d(x, w, None, **kw)
    assert helper == formula == tuple(y.shape[2:])


def test_output_size_helper_in_one_and_three_dimensions(backend: Backend) -> None:
    x1, w1 = as_backend(backend, "float32", np.ones((1, 2, 5)), np.ones((2, 3, 3)))
    y1 = conv_transpose1d(x1, w1, stride=2, padding=1, output_padding=1, dilation=2)
    size1 = conv_transpose_output_size((5,), 3, stride=2, padding=1, output_padding=1, dilation=2)
    assert size1 == (torch_documented_size(5, 3, 2, 1, 1, 2),) == tuple(y1.shape[2:])

    x3, w3 = as_backend(backend, "float32", np.ones((1, 2, 2, 3, 4)), np.ones((2, 1, 2, 1, 3)))
    y3 = conv_transpose3d(x3, w3, stride=(1, 2, 3), padding=(0, 0, 1))
    size3 = conv_transpose_output_size((2, 3, 4), (2, 1, 3), (1, 2, 3), (0, 0, 1))
    expected = tuple(
        torch_documented_size(n, k, s, p, 0, 1)
        for n, k, s, p in zip((2, 3, 4), (2, 1, 3), (1, 2, 3), (0, 0, 1))
    )
    assert size3 == expected == tuple(y3.shape[2:])


def _foreign(backend: Backend, a: np.ndarray) -> Any:
    """``a`` as an array of a library other than ``backend``'s."""
    other = "array_api_strict" if backend.name == "numpy" else "numpy"
    return load_backend(other).asarray(a, "float32")


@pytest.mark.parametrize("foreign", ["weight", "bias"])
def test_arrays_from_two_libraries_are_rejected(backend: Backend, foreign: str) -> None:
    case = make_case("plain")
    x, w, b = as_backend(backend, "float32", case["x"], case["w"], case["b"])
    if foreign == "weight":
        w = _foreign(backend, case["w"])
    else:
        b = _foreign(backend, case["b"])
    with pytest.raises(TypeError, match=rf"input.*{foreign}|{foreign}.*input") as info:
        conv_transpose2d(x, w, b)
    assert "different array libraries" in str(info.value)


def test_arrays_of_two_dtypes_are_rejected(backend: Backend) -> None:
    case = make_case("plain")
    (x,) = as_backend(backend, "float32", case["x"])
    (w,) = as_backend(backend, "float64", case["w"])
    with pytest.raises(TypeError, match=r"input.*float32.*weight.*float64"):
        conv_transpose2d(x, w)


# --- autodiff: differentiable backends only ---------------------------------------------


#: The backends that differentiate: the autodiff tests run there only.
autodiff_only = pytest.mark.only_backend("torch", "jax", reason="automatic differentiation")
#: jax.jit, jax.vmap and jax.jvp are JAX's.
jax_only = pytest.mark.only_backend("jax", reason="a JAX transform")


@autodiff_only
def test_finite_difference_gradient_check_in_float64(backend: Backend) -> None:
    case = make_case("grouped-dilated")
    case["x"] = case["x"][:1, :, :2, :]  # small: finite differences probe every entry
    x, w, b = as_backend(backend, "float64", case["x"], case["w"], case["b"])

    def op(x: Any, w: Any, b: Any) -> Any:
        return conv_transpose2d(x, w, b, **case["kwargs"])

    if backend.name == "torch":
        import torch

        args = tuple(a.requires_grad_(True) for a in (x, w, b))
        assert torch.autograd.gradcheck(op, args, eps=1e-6, atol=1e-8, rtol=1e-6)
    else:
        from jax.test_util import check_grads

        check_grads(op, (x, w, b), order=1, modes=["rev"], eps=1e-6, atol=1e-8, rtol=1e-6)


def _direct_gradients(
    case: dict[str, Any], cotangent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d(sum(y * g)) by the definition: y is linear in x (and in w), so probe unit vectors."""
    kw = case["kwargs"]

    def grad_of(name: str) -> np.ndarray:
        base = case[name]
        grad = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            unit = np.zeros_like(base)
            unit[index] = 1.0
            args = {"x": case["x"], "w": case["w"], name: unit}
            grad[index] = np.sum(
                direct_conv_transpose2d(args["x"], args["w"], None, **kw) * cotangent
            )
        return grad

    return grad_of("x"), grad_of("w"), cotangent.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
@autodiff_only
def test_gradients_equal_those_of_the_definition(backend: Backend, dtype: str) -> None:
    case = make_case("strided")
    y_shape = direct_conv_transpose2d(case["x"], case["w"], case["b"], **case["kwargs"]).shape
    cotangent = np.random.default_rng(1).standard_normal(y_shape).astype(np.float32)
    cotangent = cotangent.astype(np.float64)
    expected = _direct_gradients(case, cotangent)
    x, w, b, g = as_backend(backend, dtype, case["x"], case["w"], case["b"], cotangent)

    if backend.name == "torch":
        import torch

        leaves = [a.requires_grad_(True) for a in (x, w, b)]
        y = conv_transpose2d(*leaves, **case["kwargs"])
        grads = torch.autograd.grad((y * g).sum(), leaves)
    else:
        import jax
        import jax.numpy as jnp

        def loss(x: Any, w: Any, b: Any) -> Any:
            return jnp.sum(conv_transpose2d(x, w, b, **case["kwargs"]) * g)

        grads = jax.grad(loss, argnums=(0, 1, 2))(x, w, b)
    for got, want in zip(grads, expected):
        assert_close(got, want, backend=backend, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@jax_only
def test_jax_jit_equals_eager_and_the_definition(backend: Backend, dtype: str) -> None:
    import jax

    case = make_case("grouped-dilated")
    x, w, b = as_backend(backend, dtype, case["x"], case["w"], case["b"])
    expected = direct_conv_transpose2d(case["x"], case["w"], case["b"], **case["kwargs"])

    def op(x: Any, w: Any, b: Any) -> Any:
        return conv_transpose2d(x, w, b, **case["kwargs"])

    eager, jitted = op(x, w, b), jax.jit(op)(x, w, b)
    assert_close(eager, expected, backend=backend, dtype=dtype)
    assert_close(jitted, expected, backend=backend, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@jax_only
def test_jax_vmap_over_unbatched_inputs_equals_the_batched_call(
    backend: Backend, dtype: str
) -> None:
    import jax

    case = make_case("strided")
    x, w, b = as_backend(backend, dtype, case["x"], case["w"], case["b"])

    def op(x: Any) -> Any:
        return conv_transpose2d(x, w, b, **case["kwargs"])

    batched = op(x)
    mapped = jax.vmap(op)(x)
    expected = direct_conv_transpose2d(case["x"], case["w"], case["b"], **case["kwargs"])
    assert_close(mapped, expected, backend=backend, dtype=dtype)
    assert_close(batched, expected, backend=backend, dtype=dtype)


@jax_only
def test_forward_mode_autodiff_on_jax_with_custom_grads_off(backend: Backend) -> None:
    """jax.jvp needs the forward's own derivative: use_custom_grad(False) provides it."""
    import jax

    from lucid.ops import use_custom_grad

    rng = np.random.default_rng(7)
    x, dx = (backend.asarray(rng.standard_normal((1, 2, 3, 3))) for _ in range(2))
    w = backend.asarray(rng.standard_normal((2, 3, 2, 2)))
    with use_custom_grad(False):
        y, dy = jax.jvp(lambda x: conv_transpose2d(x, w, stride=2), (x,), (dx,))
    # Linear in x, so the tangent is the op applied to the tangent itself.
    assert_close(dy, backend.to_numpy(conv_transpose2d(dx, w, stride=2)), backend=backend)
    assert_close(y, backend.to_numpy(conv_transpose2d(x, w, stride=2)), backend=backend)
