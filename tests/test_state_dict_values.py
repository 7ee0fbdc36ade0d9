"""Bad values in a state dict are refused, named, and change nothing (eager and lazy modules)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid.nn as nn
from lucid._backends import to_numpy


def snapshot(module):
    return {k: np.array(to_numpy(v)) for k, v in module.state_dict().items()}


def good_state(module_factory):
    return {k: np.array(to_numpy(v)) for k, v in module_factory().state_dict().items()}


MODELS = {
    "conv": (lambda: nn.ConvTranspose2d(3, 2, 3), lambda: nn.LazyConvTranspose2d(2, 3)),
    "linear": (lambda: nn.Linear(3, 2), lambda: nn.LazyLinear(2)),
    "batchnorm": (lambda: nn.BatchNorm2d(3), lambda: nn.LazyBatchNorm2d()),
}


def bad_values(shape):
    return {
        "None": None,
        "object": np.full(shape, None, dtype=object),
        "complex": np.ones(shape, dtype=np.complex64),
        "bool": np.ones(shape, dtype=bool),
        "int": np.ones(shape, dtype=np.int32),
        "list": np.ones(shape).tolist(),
    }


CASES = [
    (model, lazy, key, kind)
    for model, (make, _) in MODELS.items()
    for lazy in (False, True)
    for key in ("weight", "bias")
    for kind in bad_values(())
]


@pytest.mark.parametrize(("model", "lazy", "key", "kind"), CASES)
def test_bad_value_is_named_and_changes_nothing(model, lazy, key, kind):
    make_eager, make_lazy = MODELS[model]
    state = good_state(make_eager)
    state[key] = bad_values(state[key].shape)[kind]
    module = make_lazy() if lazy else make_eager()
    before = snapshot(module)
    with pytest.raises(nn.StateDictError, match=f'"{key}"'):
        module.load_state_dict(state)
    assert snapshot(module).keys() == before.keys()
    for name, value in snapshot(module).items():
        np.testing.assert_array_equal(value, before[name])
    if lazy:
        assert module.has_uninitialized_params()


@pytest.mark.parametrize("lazy", [False, True])
def test_a_float_count_is_refused(lazy):
    state = good_state(MODELS["batchnorm"][0])
    state["num_batches_tracked"] = np.array(3.0)
    module = nn.LazyBatchNorm2d() if lazy else nn.BatchNorm2d(3)
    with pytest.raises(nn.StateDictError, match=r"num_batches_tracked.*integer"):
        module.load_state_dict(state)


def test_a_lazy_conv_does_not_invent_a_bias_for_none():
    weight = np.ones((3, 2, 3, 3), dtype=np.float32)
    lazy = nn.LazyConvTranspose2d(2, 3)
    with pytest.raises(nn.StateDictError, match='"bias"'):
        lazy.load_state_dict({"weight": weight, "bias": None})
    assert lazy.has_uninitialized_params()


def test_lazy_modules_materialize_from_good_state_dicts():
    for model, (make_eager, make_lazy) in MODELS.items():
        state = good_state(make_eager)
        lazy = make_lazy()
        lazy.load_state_dict(state)
        assert type(lazy) is type(make_eager()), model  # materialized: the eager class
        for key, value in snapshot(lazy).items():
            np.testing.assert_array_equal(value, state[key])
