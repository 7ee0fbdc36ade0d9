"""Validated call plans are reused per signature, and never let a bad call through.

``lucid.ops`` validates a call once per signature (array types, shapes and dtypes,
hyper-parameters) and remembers the outcome.  Checked here, on every backend: a
repeated call skips validation; any change of shape, dtype, hyper-parameter,
``output_size`` or forced formulation validates afresh; values a key cannot represent
exactly (``True``, ``2.0``, NumPy integers) are validated on every call, so a bad one
is always rejected even after its well-typed twin was cached; a failed call stores
nothing.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

import lucid.ops as ops
import lucid.ops.conv as conv_module
import lucid.ops.conv_transpose as conv_transpose_module
from lucid.ops import _plans, conv2d, conv_transpose2d
from lucid.ops._autodiff import use_custom_grad
from lucid.ops._ct_forward import use_formulation
from lucid.testing import Backend


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of full validations, per op, on an empty plan cache."""
    monkeypatch.setattr(_plans, "_PLANS", {})
    counts = {"conv_transpose": 0, "conv": 0}
    for name, module in (("conv_transpose", conv_transpose_module), ("conv", conv_module)):
        original = module._plan

        def counted(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            counts[_name] += 1
            return _original(*args, **kw)

        monkeypatch.setattr(module, "_plan", counted)
    return counts


def _arrays(backend: Backend, *shapes: tuple[int, ...], dtype: str = "float32") -> list[Any]:
    rng = np.random.default_rng(0)
    return [backend.asarray(rng.standard_normal(s), dtype) for s in shapes]


def test_a_repeated_call_is_validated_once(backend: Backend, validations) -> None:
    x, w, w_conv = _arrays(backend, (2, 4, 5, 5), (4, 3, 3, 3), (3, 4, 3, 3))
    first = conv_transpose2d(x, w, stride=2, padding=1)
    again = conv_transpose2d(x, w, stride=2, padding=1)
    assert validations["conv_transpose"] == 1
    np.testing.assert_array_equal(backend.to_numpy(first), backend.to_numpy(again))
    conv2d(x, w_conv, padding="same")
    conv2d(x, w_conv, padding="same")
    assert validations["conv"] == 1


def test_every_change_of_signature_validates_afresh(backend: Backend, validations) -> None:
    x, w, x_other = _arrays(backend, (2, 4, 5, 5), (4, 3, 3, 3), (1, 4, 6, 5))
    (x64,) = _arrays(backend, (2, 4, 5, 5), dtype="float64")
    calls = [
        lambda: conv_transpose2d(x, w, stride=2),
        lambda: conv_transpose2d(x_other, w, stride=2),  # shape
        lambda: conv_transpose2d(x[0, ...], w, stride=2),  # unbatched
        lambda: conv_transpose2d(x, w, stride=(2, 1)),  # hyper-parameter
        lambda: conv_transpose2d(x, w, stride=2, output_size=(12, 12)),  # output_size
    ]
    shapes = [tuple(call().shape) for call in calls]
    assert shapes == [(2, 3, 11, 11), (1, 3, 13, 11), (3, 11, 11), (2, 3, 11, 7), (2, 3, 12, 12)]
    assert validations["conv_transpose"] == len(calls)
    with pytest.raises(TypeError, match="same dtype"):  # dtype: float64 input, float32 weight
        conv_transpose2d(x64, w, stride=2)


def test_a_value_no_key_can_hold_is_validated_every_time(backend: Backend, validations) -> None:
    x, w, w_conv = _arrays(backend, (1, 4, 5, 5), (4, 3, 3, 3), (3, 4, 3, 3))
    conv_transpose2d(x, w, stride=1)
    with pytest.raises(TypeError, match=r"stride must be an int.*, got bool True"):
        conv_transpose2d(x, w, stride=True)
    with pytest.raises(TypeError, match=r"stride must be an int.*, got float 1\.0"):
        conv_transpose2d(x, w, stride=1.0)
    conv2d(x, w_conv, groups=1)
    with pytest.raises(TypeError, match=r"groups must be an int, got bool True"):
        conv2d(x, w_conv, groups=True)
    conv_transpose2d(x, w, stride=np.int64(1))
    conv_transpose2d(x, w, stride=np.int64(1))
    # 1 cached int call, 2 rejected ones, 2 NumPy-int calls with no key.
    assert validations["conv_transpose"] == 5


def test_a_failed_call_stores_nothing(backend: Backend, validations) -> None:
    x, w = _arrays(backend, (1, 4, 5, 5), (4, 3, 3, 3))
    for _ in range(2):
        with pytest.raises(ValueError, match=r"output_size=.*is not reachable"):
            conv_transpose2d(x, w, stride=2, output_size=(20, 20))
    assert validations["conv_transpose"] == 2
    assert not _plans._PLANS


def test_a_forced_formulation_is_part_of_the_signature(backend: Backend, validations) -> None:
    x, w = _arrays(backend, (1, 4, 5, 5), (4, 3, 3, 3))
    conv_transpose2d(x, w, stride=2)
    with use_formulation("reshape"), pytest.raises(ValueError, match="reshape formulation needs"):
        conv_transpose2d(x, w, stride=2)


@pytest.mark.only_backend("jax", reason="a plan's compiled call keeps its first trace on JAX")
def test_turning_custom_gradients_off_reaches_a_planned_signature(
    backend: Backend, validations
) -> None:
    """``use_custom_grad(False)`` after a call of the same signature (and back): each
    setting traces its own program, so JAX's cache of the plan's jitted call cannot
    hand one setting the other's gradient rule."""
    import jax

    x, w = _arrays(backend, (1, 2, 4, 4), (2, 3, 3, 3))

    def custom_rules() -> int:
        traced = jax.make_jaxpr(functools.partial(conv_transpose2d, stride=2))(x, w)
        return str(traced).count("custom_jvp_call")

    eager = conv_transpose2d(x, w, stride=2)
    assert custom_rules() == 1
    with use_custom_grad(False):
        assert custom_rules() == 0
        np.testing.assert_allclose(conv_transpose2d(x, w, stride=2), eager, rtol=1e-6)
    assert custom_rules() == 1


def test_the_cache_is_bounded(backend: Backend, validations, monkeypatch) -> None:
    monkeypatch.setattr(_plans, "_MAX_PLANS", 3)
    x, w = _arrays(backend, (1, 4, 5, 5), (4, 3, 3, 3))
    for padding in range(5):
        conv_transpose2d(x, w, padding=padding % 2, stride=padding + 1)
    assert 0 < len(_plans._PLANS) <= 3


_COMPILATIONS: list[str] = []


def _compilations_of(call: Any, *inputs: Any) -> int:
    """How many XLA programs ``call(*inputs)`` compiles (inputs made beforehand)."""
    import jax

    if not _COMPILATIONS:
        jax.monitoring.register_event_duration_secs_listener(
            lambda event, _secs, **_: _COMPILATIONS.append(event)
        )
    jax.block_until_ready(inputs)
    start = len(_COMPILATIONS)
    jax.block_until_ready(call(*inputs))
    return _COMPILATIONS[start:].count("/jax/core/compile/backend_compile_duration")


@pytest.mark.only_backend("jax", reason="compiled eager calls are a JAX trait")
@pytest.mark.parametrize("op", [conv_transpose2d, conv2d], ids=["conv_transpose2d", "conv2d"])
def test_an_eager_jax_call_compiles_once_per_signature(backend: Backend, op: Any) -> None:
    """Operation by operation, a new shape compiled about 34 XLA programs (one per
    operation); now the plan's call is one program (beside, at most, two scalar
    conversions the first plan of a dtype makes), and a repeated call compiles none."""
    rng = np.random.default_rng(3)
    x, w = (backend.asarray(rng.standard_normal(s)) for s in ((2, 3, 7, 9), (3, 3, 3, 3)))
    b = backend.asarray(rng.standard_normal(3))
    call = functools.partial(op, stride=2, padding=1)
    counts = [_compilations_of(call, x, w, b), _compilations_of(call, x * 2.0, -w, b)]
    assert counts[0] <= 3 and counts[1] == 0, counts


_UNPLANNED = {
    "linear": lambda x, c, v, w: ops.linear(x, w),
    "batch_norm": lambda x, c, v, w: ops.batch_norm(x, c, v, c, c, training=True),
    "batch_norm_stats": lambda x, c, v, w: ops.batch_norm_stats(x, c, v, momentum=0.1),
    "group_norm": lambda x, c, v, w: ops.group_norm(x, 2, c, c),
    "layer_norm": lambda x, c, v, w: ops.layer_norm(x, (4, 4)),
    "interpolate": lambda x, c, v, w: ops.interpolate(x, scale_factor=2, mode="bilinear"),
    "pixel_shuffle": lambda x, c, v, w: ops.pixel_shuffle(x, 2),
}


@pytest.mark.only_backend("jax", reason="compiled eager calls are a JAX trait")
@pytest.mark.parametrize("name", list(_UNPLANNED))
def test_an_eager_jax_op_without_a_plan_compiles_once_per_signature(
    backend: Backend, name: str
) -> None:
    """Operation by operation these compiled 3 (pixel_shuffle) to 14 (bilinear
    interpolate) programs for a new shape."""
    rng = np.random.default_rng(4)
    x = backend.asarray(rng.standard_normal((2, 4, 4, 4)))
    c, v, w = (
        backend.asarray(a)
        for a in (rng.standard_normal(4), rng.random(4) + 0.5, rng.standard_normal((3, 4)))
    )
    counts = [_compilations_of(_UNPLANNED[name], x, c, v, w)]
    counts.append(_compilations_of(_UNPLANNED[name], x * 2.0, -c, v, w))
    assert counts[0] <= 2 and counts[1] == 0, counts


@pytest.mark.only_backend("jax", reason="compiled eager calls are a JAX trait")
def test_a_compiled_eager_call_is_keyed_by_exact_values(backend: Backend) -> None:
    """``eps=1`` and ``eps=True`` are equal in Python; only the first is valid, and its
    compiled program must not let the second through.  A failed call stores nothing."""
    x = backend.asarray(np.ones((2, 3, 4)))
    ops.batch_norm(x, None, None, training=True, eps=1)
    for _ in range(2):
        with pytest.raises(TypeError, match="eps must be a real number, got bool True"):
            ops.batch_norm(x, None, None, training=True, eps=True)
    with pytest.raises(ValueError, match="eps must be non-negative"):
        ops.batch_norm(x, None, None, training=True, eps=-1.0)
