"""The formulation choice: the measured cost model by default, autotuning on request.

No test here times anything for its verdict: the default choice is checked to be the
cost model's argmin (deterministic, from shapes and stored coefficients), and the
autotune tests replace the timer where they need a known winner.
"""

from __future__ import annotations

import functools
import json
import math
import warnings

import numpy as np
import pytest

from lucid.ops import _autotune, _cost, _plans, autotune, conv_transpose2d
from lucid.ops._ct_forward import (
    EXACT_ON_NONFINITE,
    FALLBACK_ONLY,
    FORMULATIONS,
    candidates,
    choose_formulation,
    exact_formulation,
)
from lucid.ops._params import validate_conv_transpose_params
from lucid.ops._traits import traits
from lucid.ops.conv_transpose import _plan
from lucid.testing import Backend

K4_S2_P1 = validate_conv_transpose_params(2, 4, stride=2, padding=1)

# (x_shape, c_out, params, out_spatial): RGB and mask outputs, the suite's shapes, 1-D, 3-D.
LAYERS = [
    ((1, 32, 64, 64), 3, validate_conv_transpose_params(2, 3, padding=1), (64, 64)),
    ((8, 64, 56, 56), 1, validate_conv_transpose_params(2, 2, stride=2), (112, 112)),
    ((64, 256, 8, 8), 128, K4_S2_P1, (16, 16)),
    ((1, 4, 4, 4), 4, validate_conv_transpose_params(2, 3), (6, 6)),
    ((8, 128, 32, 32), 128, validate_conv_transpose_params(2, 3, 2, 1, 1, 32), (64, 64)),
    ((8, 64, 1024), 32, validate_conv_transpose_params(1, 16, stride=8, padding=4), (8192,)),
    ((2, 32, 8, 8, 8), 16, validate_conv_transpose_params(3, 4, stride=2, padding=1), (16,) * 3),
]


@pytest.fixture(autouse=True)
def _fresh_plans(monkeypatch, tmp_path):
    monkeypatch.setattr(_plans, "_PLANS", {})
    monkeypatch.setenv("LUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LUCID_AUTOTUNE", raising=False)


@pytest.mark.parametrize("backend_name", ["numpy", "torch", "jax", "array_api_strict"])
@pytest.mark.parametrize("layer", LAYERS, ids=lambda la: str(la[0]))
def test_default_choice_is_the_cost_models_argmin(backend_name: str, layer: tuple) -> None:
    x_shape, c_out, p, out = layer
    known = traits(backend_name)
    chosen = choose_formulation(x_shape, c_out, p, out, known)
    assert chosen == choose_formulation(x_shape, c_out, p, out, known)  # deterministic
    costs = {
        f: _cost.predict(known.cost_key, f, x_shape, c_out, p, out, known.fused_padded_adds)
        for f in candidates(x_shape, c_out, p, out, known)
    }
    assert costs[chosen] == min(costs.values())


def test_very_large_outputs_take_the_memory_lean_formulation() -> None:
    for name in ("numpy", "torch", "jax"):
        layer = ((1, 64, 1024, 1024), 32, K4_S2_P1, (2048, 2048))
        assert choose_formulation(*layer, traits(name)) == "scatter"


@pytest.mark.parametrize("layer", LAYERS, ids=lambda la: str(la[0]))
def test_the_non_finite_stand_in_is_exact_and_never_chosen_for_speed(layer: tuple) -> None:
    for name in ("numpy", "torch", "jax", "array_api_strict"):
        assert not set(FALLBACK_ONLY) & set(candidates(*layer, traits(name)))
    assert exact_formulation(*layer) in EXACT_ON_NONFINITE


def test_formulations_whose_windows_need_gigabytes_are_no_candidates() -> None:
    """A sweep layer: 2 input pixels, padding 10, a dilated 16x16 kernel.  ``phase``
    would stack 4 GiB of windows and ``shift`` 13 GiB of slices for 10 k outputs, so
    neither the choice nor autotune may run them; a decoder's layer keeps both."""
    wide = validate_conv_transpose_params(2, 16, padding=10, dilation=3)
    layer = ((14, 424, 1, 2), 1, wide, (26, 27))
    for name in ("numpy", "torch", "jax", "array_api_strict"):
        options = candidates(*layer, traits(name))
        assert not {"phase", "phase_channels_last", "shift"} & set(options), name
        assert {"scatter", "col2im"} <= set(options)
    decoder = ((8, 256, 32, 32), 128, K4_S2_P1, (64, 64))
    assert {"phase", "phase_channels_last", "shift"} <= set(candidates(*decoder))


def test_toeplitz_is_a_candidate_while_its_matrix_is_small() -> None:
    """Its matrix maps an image's input pixels to its output pixels: a depthwise k16
    layer on 11x10 pixels needs 6 M elements (a candidate), the decoder layer above
    ``256 * 128 * 1024 * 4096`` (not one)."""
    depthwise = validate_conv_transpose_params(2, 16, padding=5, groups=236)
    assert "toeplitz" in candidates((15, 236, 11, 10), 236, depthwise, (16, 15))
    assert "toeplitz" not in candidates((8, 256, 32, 32), 128, K4_S2_P1, (64, 64))


def test_the_non_finite_stand_in_of_a_very_large_layer_is_memory_lean() -> None:
    small = ((1, 8, 16, 16), 4, K4_S2_P1, (32, 32))
    large = ((1, 64, 1024, 1024), 32, K4_S2_P1, (2048, 2048))
    assert (exact_formulation(*small), exact_formulation(*large)) == ("gather", "scatter")


def test_stored_coefficients_cover_every_backend_and_formulation() -> None:
    for name in ("numpy", "torch", "jax"):
        coefs = _cost.coefficients(name)
        assert set(coefs) == set(FORMULATIONS) - set(FALLBACK_ONLY), name
        for values in coefs.values():
            assert len(values) == 3 and all(math.isfinite(v) and v >= 0 for v in values)
            assert any(v > 0 for v in values)


def test_stored_neighbours_are_measured_layers_of_every_backend() -> None:
    where = _cost.descriptor(*LAYERS[0][:3])
    for name in ("numpy", "torch", "jax"):
        table = _cost.neighbours(name)
        assert table is not None and len(table.at) >= 100, name
        assert all(len(at) == len(where) for at in table.at)
        assert all(v > 0 for v in table.scale)
        for ratios in table.log_ratio:
            assert set(ratios) <= set(_cost.coefficients(name)), name
            assert all(math.isfinite(v) for v in ratios.values())


def test_the_correction_follows_the_nearest_measured_layers() -> None:
    table = _cost.Neighbours(
        k=2,
        scale=(1.0, 1.0),
        at=((0.0, 0.0), (1.0, 0.0), (10.0, 0.0)),
        log_ratio=({"phase": 0.0}, {"phase": 1.5, "dense": 1.0}, {"phase": 9.0}),
    )
    # The two nearest of (0.2, 0): weights 1/0.7 and 1/1.3 on log ratios 0 and 1.5.
    want = math.exp(1.5 * (1 / 1.3) / (1 / 0.7 + 1 / 1.3))
    got = table.factors((0.2, 0.0), ["phase", "dense", "shift"])
    assert got["phase"] == pytest.approx(want)
    assert got["dense"] == pytest.approx(math.e)  # the one neighbour that timed it
    assert got["shift"] == 1.0  # timed by none: the model alone
    assert table.factors((0.2, 0.0), ["phase"], skip=0)["phase"] == pytest.approx(
        math.exp((1.5 / 1.3 + 9.0 / 10.3) / (1 / 1.3 + 1 / 10.3))
    )
    assert _cost.Neighbours.from_json(table.to_json()) == table


def test_features_grow_with_the_output_not_with_the_stride() -> None:
    small = validate_conv_transpose_params(2, 3, stride=4)
    huge = validate_conv_transpose_params(2, 3, stride=400)
    for f in ("reshape", "scatter", "col2im", "dense", "toeplitz"):
        ops_small = _cost.features(f, (1, 2, 2, 2), 2, small, (7, 7))[0]
        assert _cost.features(f, (1, 2, 2, 2), 2, huge, (403, 403))[0] == ops_small
    # The formulations that loop over the stride's phases are not candidates there.
    options = candidates((1, 2, 2, 2), 2, huge, (403, 403), traits("jax"))
    assert set(options) <= {"reshape", "col2im", "dense", "toeplitz"}
    assert "phase" in candidates((1, 2, 2, 2), 2, small, (7, 7), traits("jax"))


@pytest.mark.only_backend("jax", reason="counts the equations of a jaxpr")
def test_huge_stride_traces_as_few_operations_as_a_small_one(backend: Backend) -> None:
    """Planning and tracing follow the output: the jaxpr of a stride-300 layer is no
    longer than a stride-3 one's (it once held prod(stride) Python entries)."""
    import jax

    x, w = backend.xp.ones((1, 2, 2, 2)), backend.xp.ones((2, 3, 3, 3))

    def equations(stride: int) -> int:
        f = functools.partial(conv_transpose2d, stride=stride)
        return len(jax.make_jaxpr(f)(x, w).eqns)

    assert equations(300) <= equations(3) + 2
    y = conv_transpose2d(x, w, stride=300)
    assert y.shape == (1, 3, 303, 303)
    assert float(backend.xp.sum(y)) == 2 * 4 * 9 * 3


def _layer_args(backend: Backend) -> tuple:
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.standard_normal((2, 8, 6, 6)).astype(np.float32))
    w = backend.asarray(rng.standard_normal((8, 4, 3, 3)).astype(np.float32))
    return x, w


def _plan_of(x, w, tune: bool):
    return _plan(x, w, None, 2, 0, 0, 1, 1, None, 2, autotune=tune)


def test_autotune_times_once_and_stores_the_winner(backend: Backend, monkeypatch) -> None:
    x, w = _layer_args(backend)
    timed: list[str] = []

    def fake_time(fn):
        fn()  # the candidate really runs
        timed.append("x")
        return 1.0 if len(timed) != 2 else 0.5  # the second candidate wins

    monkeypatch.setattr(_autotune, "_median_time", fake_time)
    c_out = w.shape[1]
    options = candidates(
        (2, 8, 6, 6), c_out, _plan_of(x, w, False).params, (13, 13), traits(backend.name)
    )
    plan = _plan_of(x, w, True)
    assert plan.formulation == options[1]
    assert len(timed) == len(options)
    table = json.loads(_autotune.cache_path().read_text())
    [(key, value)] = table.items()
    assert value == options[1]
    for part in ("lucid 0.1.0", backend.name, "float32", "(2, 8, 6, 6)", "(13, 13)"):
        assert part in key
    # Later plans read the cache: nothing is timed again.
    monkeypatch.setattr(_autotune, "_median_time", lambda fn: pytest.fail("timed again"))
    assert _plan_of(x, w, True).formulation == options[1]
    assert not list(_autotune.cache_path().parent.glob("*.tmp"))  # written atomically


def test_autotuned_results_equal_the_default_ones(backend: Backend) -> None:
    x, w = _layer_args(backend)
    default = conv_transpose2d(x, w, stride=2)
    with autotune():
        tuned = conv_transpose2d(x, w, stride=2)
    np.testing.assert_allclose(
        backend.to_numpy(tuned), backend.to_numpy(default), rtol=1e-5, atol=1e-5
    )


@pytest.mark.only_backend("jax", reason="jax.jit is a JAX transform")
def test_autotune_under_jit_times_compiled_candidates(backend: Backend) -> None:
    import jax

    x, w = _layer_args(backend)
    with autotune():
        y = jax.jit(functools.partial(conv_transpose2d, stride=2))(x, w)
    np.testing.assert_allclose(
        backend.to_numpy(y),
        backend.to_numpy(conv_transpose2d(x, w, stride=2)),
        rtol=1e-5,
        atol=1e-5,
    )
    [key] = json.loads(_autotune.cache_path().read_text())
    assert "traced" in key


def test_a_corrupt_cache_is_ignored_with_a_warning_and_rewritten(backend: Backend) -> None:
    x, w = _layer_args(backend)
    path = _autotune.cache_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with autotune(), pytest.warns(UserWarning, match="corrupt autotune cache"):
        y = conv_transpose2d(x, w, stride=2)
    assert y.shape == (2, 4, 13, 13)
    assert len(json.loads(path.read_text())) == 1


def test_environment_turns_autotune_on_and_the_context_off(monkeypatch) -> None:
    assert not _autotune.autotune_enabled()
    monkeypatch.setenv("LUCID_AUTOTUNE", "1")
    assert _autotune.autotune_enabled()
    with autotune(False):
        assert not _autotune.autotune_enabled()
    monkeypatch.setenv("LUCID_AUTOTUNE", "0")
    assert not _autotune.autotune_enabled()


def test_default_choice_never_times(backend: Backend, monkeypatch) -> None:
    monkeypatch.setattr(_autotune, "_median_time", lambda fn: pytest.fail("timed"))
    x, w = _layer_args(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conv_transpose2d(x, w, stride=2)
    assert not _autotune.cache_path().exists()


def test_autotune_rejects_a_non_bool() -> None:
    with pytest.raises(TypeError, match="bool"), autotune("yes"):  # type: ignore[arg-type]
        pass
