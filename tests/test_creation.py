"""lucid.zeros / ones / full / empty / asarray / randn / rand on every backend."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import lucid
from lucid._backends import backend_of, dtype_name, to_numpy


def _on(backend, fn, *args, **kwargs):
    return fn(*args, backend=backend.name, **kwargs)


@pytest.mark.parametrize("fn", [lucid.zeros, lucid.ones, lucid.empty, lucid.randn, lucid.rand])
@pytest.mark.parametrize("shape", [(4, 128, 8, 8), (3,), (2, 0)])
def test_shape_as_varargs_or_tuple(backend, fn, shape):
    a = _on(backend, fn, *shape)
    b = _on(backend, fn, shape)
    assert array_api_compat.array_namespace(a) is backend.xp
    assert tuple(a.shape) == tuple(b.shape) == shape
    assert dtype_name(a.dtype) == "float32"  # torch's default on every backend


def test_values(backend):
    np.testing.assert_array_equal(
        backend.to_numpy(_on(backend, lucid.zeros, 2, 3)), np.zeros((2, 3))
    )
    np.testing.assert_array_equal(backend.to_numpy(_on(backend, lucid.ones, 2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(
        backend.to_numpy(_on(backend, lucid.full, (2, 2), 1.5)), np.full((2, 2), 1.5)
    )


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_dtype(backend, dtype):
    for fn in (lucid.zeros, lucid.ones, lucid.empty):
        assert dtype_name(_on(backend, fn, 2, dtype=dtype).dtype) == dtype
    assert _on(backend, lucid.zeros, 2, dtype=backend.dtype(dtype)).dtype == backend.dtype(dtype)


def test_default_backend_context(backend):
    with lucid.default_backend(backend.name):
        for x in (lucid.zeros(2), lucid.ones(2), lucid.empty(2), lucid.full(2, 1.0),
                  lucid.randn(2), lucid.rand(2), lucid.asarray([1.0, 2.0])):  # fmt: skip
            assert array_api_compat.array_namespace(x) is backend.xp


def test_device_cpu(backend):
    x = _on(backend, lucid.zeros, 2, device="cpu")
    assert array_api_compat.device(x) == array_api_compat.device(backend.asarray([0.0]))


@pytest.mark.parametrize(
    ("fill", "expected"), [(True, "bool"), (7, "int64"), (0.5, "float32"), (1 + 2j, "complex64")]
)
def test_full_dtype_follows_torch(backend, fill, expected):
    import torch

    assert str(torch.full((1,), fill).dtype) == f"torch.{expected}"  # the reference
    x = _on(backend, lucid.full, 3, fill)
    assert dtype_name(x.dtype) == expected
    assert backend.to_numpy(x).tolist() == [fill] * 3


def test_asarray_python_data(backend):
    import torch

    for data in ([1.0, 2.5], [[1, 2], [3, 4]], [True, False]):
        x = _on(backend, lucid.asarray, data)
        assert dtype_name(x.dtype) == str(torch.tensor(data).dtype).removeprefix("torch.")
        np.testing.assert_array_equal(backend.to_numpy(x), np.asarray(data))


def test_asarray_keeps_array_dtype_and_converts_backends(backend):
    data = np.arange(6.0).reshape(2, 3)
    for source in ("numpy", "torch", "jax", "array_api_strict"):
        from lucid.testing import available_backends, load_backend

        if source not in available_backends():
            continue
        original = load_backend(source).asarray(data)
        x = _on(backend, lucid.asarray, original)
        assert backend_of(x) == backend_of(backend.asarray(data))
        assert dtype_name(x.dtype) == "float64"
        np.testing.assert_array_equal(backend.to_numpy(x), data)
        y = _on(backend, lucid.asarray, original, dtype="float32")
        assert dtype_name(y.dtype) == "float32"


def test_asarray_of_torch_parameter_detaches():
    import torch

    p = torch.nn.Parameter(torch.ones(2))
    x = lucid.asarray(p, backend="numpy")
    assert isinstance(x, np.ndarray)
    np.testing.assert_array_equal(x, [1.0, 1.0])


@pytest.mark.parametrize("shape", [(-1,), (2.5,), ("3",), (True,), ((2, -3),)])
def test_bad_shapes(shape):
    with pytest.raises((TypeError, ValueError), match="shape must be non-negative ints"):
        lucid.zeros(*shape)


def test_seeded_random_is_the_same_on_every_backend(backend):
    lucid.manual_seed(123)
    x = _on(backend, lucid.randn, 3, 4)
    u = _on(backend, lucid.rand, 5)
    reference = np.random.default_rng(123)  # the one generator lucid documents
    np.testing.assert_array_equal(
        backend.to_numpy(x), reference.standard_normal((3, 4)).astype(np.float32)
    )
    np.testing.assert_array_equal(backend.to_numpy(u), reference.random(5).astype(np.float32))


def test_randn_float64(backend):
    lucid.manual_seed(5)
    x = _on(backend, lucid.randn, 4, dtype="float64")
    np.testing.assert_array_equal(backend.to_numpy(x), np.random.default_rng(5).standard_normal(4))
    assert backend_of(x) == backend_of(backend.asarray([0.0]))
    assert to_numpy(x).dtype == np.float64
