"""Each formulation of the transposed convolution, forced on purpose, against torch.

The automatic choice only picks some formulations on some shapes; these tests force
every one of them on every backend, so none can rot unseen, and check the custom
gradients against autodiff through the forward.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from lucid.ops import _ct_forward, conv_transpose1d, conv_transpose2d, conv_transpose3d
from lucid.ops._autodiff import use_custom_grad
from lucid.ops._ct_forward import FORMULATIONS, choose_formulation, use_formulation
from lucid.ops._nonfinite import all_finite, checks_output
from lucid.ops._params import validate_conv_transpose_params
from lucid.ops._traits import gemm, take_in_bounds, traits
from lucid.testing import Backend, assert_close

F = torch.nn.functional
# The formulations that apply to every shape (``reshape`` needs taps that never overlap).
GENERAL = [f for f in FORMULATIONS if f != "reshape"]

_K4_S2_P1 = validate_conv_transpose_params(2, 4, stride=2, padding=1)

# (stride, dilation, kernel, groups, output_padding, padding, batch)
CONFIGS = [
    (1, 1, 3, 1, 0, 1, 2),
    (2, 1, 4, 1, 0, 1, 2),
    (3, 1, 3, 1, 2, 0, 1),
    (2, 2, 3, 2, 1, 1, 2),
    (3, 3, 2, 1, 2, 2, 1),
    (2, 1, 2, 1, 0, 0, 3),
    (2, 1, 2, 1, 1, 1, 1),
    (3, 2, 5, 1, 1, 4, 2),
    (3, 1, 2, 1, 0, 0, 1),
    (1, 3, 3, 1, 0, 2, 0),
    (2, 1, 2, 2, 1, 1, 2),  # grouped, stride == kernel: the grouped reshape
    # Taps that never overlap (reshape): dilated, past the last block, 1x1, grouped.
    (4, 2, 2, 1, 1, 1, 2),
    (5, 1, 3, 1, 4, 0, 1),  # output_padding reaches rows beyond every block
    (1, 1, 1, 1, 0, 0, 2),
    (7, 3, 2, 2, 0, 1, 1),
]


def _applies(formulation: str, s: int, d: int, k: int, op: int, p: int) -> bool:
    return formulation != "reshape" or s >= d * (k - 1) + 1


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_formulation_matches_torch(backend: Backend, formulation: str, config: tuple) -> None:
    s, d, k, g, op, p, n = config
    if not _applies(formulation, s, d, k, op, p):
        pytest.skip("reshape needs taps that never overlap")
    rng = np.random.default_rng(hash(config) % 2**32)
    x = rng.standard_normal((n, 2 * g, 5, 4))
    w = rng.standard_normal((2 * g, 3, k, k))
    b = rng.standard_normal(3 * g)
    want = F.conv_transpose2d(*(torch.tensor(a) for a in (x, w, b)), s, p, op, g, d).numpy()
    with use_formulation(formulation):
        got = conv_transpose2d(
            *(backend.asarray(a) for a in (x, w, b)),
            stride=s,
            padding=p,
            output_padding=op,
            groups=g,
            dilation=d,
        )
    assert_close(got, want, backend=backend, dtype="float64")


@pytest.mark.parametrize("gathered", [True, False], ids=["one-gather", "slices"])
@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_phase_windows_by_one_gather_or_by_slices_match_torch(
    backend: Backend, gathered: bool, config: tuple
) -> None:
    """``phase_channels_last`` builds a phase's windows from one gather where the traits
    say so (JAX) and from one slice per tap elsewhere: both ways on every backend."""
    s, d, k, g, op, p, n = config
    rng = np.random.default_rng(23)
    x, w = rng.standard_normal((max(n, 1), 2 * g, 5, 4)), rng.standard_normal((2 * g, 3, k, k))
    want = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, s, p, op, g, d).numpy()
    params = validate_conv_transpose_params(
        2, (k, k), stride=s, padding=p, output_padding=op, groups=g, dilation=d
    )
    known = replace(traits(backend.name), gathers_windows=gathered)

    def phase_channels_last(x: Any, w: Any) -> Any:
        out, name = tuple(want.shape[2:]), "phase_channels_last"
        return _ct_forward.forward(backend.xp, x, w, None, params, out, name, known)

    # One compiled program where the library compiles, as the op's own calls are.
    got = backend.library.compiled(phase_channels_last)(backend.asarray(x), backend.asarray(w))
    assert_close(got, want, backend=backend, dtype="float64")


@pytest.mark.parametrize("formulation", GENERAL)
def test_formulation_unbatched_1d_3d_float32(backend: Backend, formulation: str) -> None:
    rng = np.random.default_rng(3)
    x1, w1 = (
        rng.standard_normal((4, 6), dtype=np.float32),
        rng.standard_normal((4, 3, 3), dtype=np.float32),
    )
    x3 = rng.standard_normal((1, 4, 3, 4, 3), dtype=np.float32)
    w3 = rng.standard_normal((4, 1, 2, 3, 2), dtype=np.float32)
    want1 = F.conv_transpose1d(torch.tensor(x1), torch.tensor(w1), None, 2, 1, 1, 1, 2).numpy()
    want3 = F.conv_transpose3d(
        torch.tensor(x3), torch.tensor(w3), None, (2, 1, 3), (0, 1, 1), 0, 2
    ).numpy()
    with use_formulation(formulation):
        got1 = conv_transpose1d(
            backend.asarray(x1),
            backend.asarray(w1),
            stride=2,
            padding=1,
            output_padding=1,
            dilation=2,
        )
        got3 = conv_transpose3d(
            backend.asarray(x3), backend.asarray(w3), stride=(2, 1, 3), padding=(0, 1, 1), groups=2
        )
    assert_close(got1, want1, backend=backend, dtype="float32")
    assert_close(got3, want3, backend=backend, dtype="float32")


@pytest.mark.parametrize("formulation", GENERAL)
def test_formulation_propagates_inf_and_nan(backend: Backend, formulation: str) -> None:
    """Non-finite inputs reach the same outputs as torch's (``scatter``'s chunk ordering
    on JAX must not turn them into anything else)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 6, 5))
    x[0, 0, 1, 2], x[0, 1, 4, 0] = np.inf, np.nan
    w = rng.standard_normal((2, 3, 4, 4))
    want = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, 2, 1).numpy()
    with use_formulation(formulation):
        got = conv_transpose2d(backend.asarray(x), backend.asarray(w), stride=2, padding=1)
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-6, atol=1e-9)


def test_reshape_propagates_inf_and_nan(backend: Backend) -> None:
    """The zeros that spread reshape's taps are added after the GEMM: they never meet an
    inf, so non-finite inputs stay where torch puts them."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 5, 4))
    x[0, 0, 1, 2], x[0, 1, 4, 0] = np.inf, np.nan
    w = rng.standard_normal((2, 3, 2, 2))
    want = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, 3, 1, 2, 1, 2).numpy()
    with use_formulation("reshape"):
        got = conv_transpose2d(
            backend.asarray(x),
            backend.asarray(w),
            stride=3,
            padding=1,
            output_padding=2,
            dilation=2,
        )
    np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-6, atol=1e-9)


@pytest.mark.only_backend("jax", reason="XLA's buffer assignment under jax.jit")
def test_scatter_keeps_one_chunk_of_taps_alive_under_jit(backend: Backend) -> None:
    """XLA's buffers for a very large layer: the accumulators and one chunk, not every tap.

    The benchmark's memory layer, compiled only (nothing is allocated).  Left to itself
    XLA schedules all 16 tap products before their accumulation: 2 GiB of temporaries,
    four times the output.
    """
    import jax

    n, c_in, c_out, size = 1, 64, 32, 1024
    assert choose_formulation((n, c_in, size, size), c_out, _K4_S2_P1, (2 * size,) * 2) == (
        "scatter"
    )
    spec = functools.partial(jax.ShapeDtypeStruct, dtype=backend.xp.float32)
    args = (spec((n, c_in, size, size)), spec((c_in, c_out, 4, 4)), spec((c_out,)))
    layer = jax.jit(functools.partial(conv_transpose2d, stride=2, padding=1))
    memory = layer.lower(*args).compile().memory_analysis()
    one_tap = n * c_out * size * size * 4  # one tap's product, float32 (1 chunk here)
    assert memory.output_size_in_bytes == n * c_out * (2 * size) ** 2 * 4
    assert memory.temp_size_in_bytes <= memory.output_size_in_bytes + 2 * one_tap


def test_reshape_refuses_shapes_it_cannot_compute() -> None:
    with use_formulation("reshape"), pytest.raises(ValueError, match="reshape"):
        conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 2, 3, 3)), stride=2)


@pytest.mark.parametrize("formulation", GENERAL)
@pytest.mark.parametrize("config", CONFIGS[:8], ids=str)
def test_custom_gradients_match_autodiff(backend: Backend, formulation: str, config: tuple) -> None:
    """The GEMM backward against torch's, and against autodiff through the forward."""
    if not backend.differentiable:
        pytest.skip("no autodiff")
    s, d, k, g, op, p, n = config
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, 2 * g, 4, 3))
    w = rng.standard_normal((2 * g, 3, k, k))
    b = rng.standard_normal(3 * g)
    kw = {"stride": s, "padding": p, "output_padding": op, "groups": g, "dilation": d}
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv_transpose2d(tx, tw, tb, s, p, op, g, d)
    gy = rng.standard_normal(tuple(y.shape))
    want = torch.autograd.grad(y, (tx, tw, tb), torch.tensor(gy))
    for custom in (True, False):
        with use_formulation(formulation), use_custom_grad(custom):
            got = _grads(backend, x, w, b, gy, kw)
        for g_got, g_want in zip(got, want):
            assert_close(g_got, g_want.numpy(), backend=backend, dtype="float64")


def _grads(backend: Backend, x, w, b, gy, kw) -> tuple:
    if backend.name == "torch":
        args = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        return torch.autograd.grad(conv_transpose2d(*args, **kw), args, torch.tensor(gy))
    import jax
    import jax.numpy as jnp

    def loss(x, w, b):
        return jnp.vdot(conv_transpose2d(x, w, b, **kw), jnp.asarray(gy))

    return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*(jnp.asarray(a) for a in (x, w, b)))


#: Layers whose GEMMs have 2-8 output columns (few pixels): where PyTorch's traits run
#: the transposed product (``col2im``, ``gather`` and ``reshape``; the last only where
#: the taps never overlap, the k2 s2 layer).
FEW_COLUMNS = {
    "2 pixels": ((1, 6, 1, 2), (6, 5, 3, 3), {"stride": 2, "padding": 1}),
    "2x2 batch": ((2, 4, 2, 1), (4, 6, 4, 4), {"stride": 2, "padding": 1, "groups": 2}),
    "k2 s2, 3 pixels": ((1, 5, 1, 3), (5, 4, 2, 2), {"stride": 2}),
}
FEW_COLUMN_CASES = [
    (layer, f)
    for layer, (_, w_shape, kw) in FEW_COLUMNS.items()
    for f in FORMULATIONS
    if _applies(f, kw["stride"], 1, w_shape[-1], 0, 0)
]


@pytest.mark.parametrize(("layer", "formulation"), FEW_COLUMN_CASES, ids=str)
def test_gemms_with_few_columns_match_torch(backend: Backend, layer: str, formulation: str) -> None:
    """Forward and (where the backend differentiates) the custom gradients of layers
    whose GEMMs PyTorch's traits transpose, against torch's own op."""
    x_shape, w_shape, kw = FEW_COLUMNS[layer]
    rng = np.random.default_rng(17)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * kw.get("groups", 1))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv_transpose2d(tx, tw, tb, **kw)
    gy = rng.standard_normal(tuple(y.shape))
    with use_formulation(formulation):
        got = conv_transpose2d(*(backend.asarray(a) for a in (x, w, b)), **kw)
        assert_close(got, y.detach().numpy(), backend=backend, dtype="float64")
        if backend.differentiable:
            want = torch.autograd.grad(y, (tx, tw, tb), torch.tensor(gy))
            for g_got, g_want in zip(_grads(backend, x, w, b, gy, kw), want):
                assert_close(g_got, g_want.numpy(), backend=backend, dtype="float64")


@pytest.mark.parametrize(
    "shapes",
    [((5, 7), (7, 3)), ((2, 9, 4), (2, 4, 8)), ((3, 6, 2), (4, 1, 2, 5)), ((4, 3), (3, 2))],
    ids=str,
)
def test_the_transposed_gemm_is_the_product(backend: Backend, shapes: tuple) -> None:
    """``gemm`` with PyTorch's traits (the transposed product for 2-8 columns) equals
    ``a @ b`` on every backend, broadcast batch axes included."""
    rng = np.random.default_rng(19)
    a, b = (rng.standard_normal(shape) for shape in shapes)
    got = gemm(backend.xp, backend.asarray(a), backend.asarray(b), traits("torch"))
    assert_close(got, a @ b, backend=backend, dtype="float64")


@pytest.mark.only_backend("torch", reason="torch.autograd.gradcheck of the torch custom gradient")
def test_torch_custom_gradient_gradcheck() -> None:
    x = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)

    # fast_mode checks random projections of each Jacobian rather than every entry:
    # 0.3-0.4 s a formulation against 9-20 s, and a 1% error in one gradient still fails
    # it (BENCHMARKS.md, "torch.compile: the plan cache and ``sys.modules``").
    for formulation in GENERAL:
        with use_formulation(formulation):
            assert torch.autograd.gradcheck(f, (x, w, b), fast_mode=True)
            assert torch.autograd.gradgradcheck(f, (x, w, b), fast_mode=True)


@pytest.mark.parametrize("channels_last", [True, False], ids=["pixel-major", "channels-first"])
@pytest.mark.parametrize("config", CONFIGS[:8], ids=str)
def test_backward_gemms_match_torch_in_every_layout(
    backend: Backend, channels_last: bool, config: tuple, monkeypatch
) -> None:
    """The two-GEMM backward itself, on every backend, with one tap per column chunk.

    Layers in the conformance grid are small enough for one chunk; a chunk budget of
    one element forces a chunk per tap, so the accumulation across chunks is checked.
    """
    from lucid.ops import _ct_backward

    monkeypatch.setattr(_ct_backward, "_COLUMN_CHUNK", 1)
    s, d, k, g, op, p, n = config
    rng = np.random.default_rng(11)
    x = rng.standard_normal((max(n, 1), 2 * g, 4, 3))
    w = rng.standard_normal((2 * g, 3, k, k))
    kw = {"stride": s, "padding": p, "output_padding": op, "groups": g, "dilation": d}
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    y = F.conv_transpose2d(tx, tw, None, s, p, op, g, d)
    gy = rng.standard_normal(tuple(y.shape))
    want = torch.autograd.grad(y, (tx, tw), torch.tensor(gy))
    params = validate_conv_transpose_params(2, (k, k), **kw)

    def grads(x: Any, w: Any, gy: Any) -> tuple[Any, ...]:
        needs = (True, True, True)
        return _ct_backward.conv_transpose_grads(backend.xp, x, w, gy, params, needs, channels_last)

    # As one compiled program where the library compiles (jax.jit: one compilation
    # instead of one per operation); eager JAX gradients run in conformance/.
    got = backend.library.compiled(grads)(*(backend.asarray(a) for a in (x, w, gy)))
    for g_got, g_want in zip(got[:2], want):
        assert_close(g_got, g_want.numpy(), backend=backend, dtype="float64")
    assert_close(got[2], gy.sum(axis=(0, 2, 3)), backend=backend, dtype="float64")


NON_FINITE = {
    "inf-weight": lambda x, w, b: w.__setitem__((1, 2, 0, 3), np.inf),
    "nan-weight": lambda x, w, b: w.__setitem__((0, 0, 3, 3), np.nan),
    "neg-inf-bias": lambda x, w, b: b.__setitem__(1, -np.inf),
    "inf-meets-inf": lambda x, w, b: (
        w.__setitem__((0, 1, 0, 0), -np.inf),
        x.__setitem__((0, 0, 2, 2), np.inf),
    ),
    "overflowing-products": lambda x, w, b: (
        w.__setitem__((1, 0, 1, 2), 1e30),
        x.__setitem__((0, 1, 3, 1), 1e30),
    ),
}


#: Input and weight shapes of the non-finite tests (stride 2, padding 1): the check reads
#: the weight (and the input for ``toeplitz``) where the output is larger, and the fast
#: output where it is smaller (:mod:`lucid.ops._nonfinite`).
NON_FINITE_LAYERS = {
    "operands-checked": ((2, 2, 6, 5), (2, 3, 4, 4)),  # output (2, 3, 12, 10)
    "output-checked": ((2, 8, 4, 3), (8, 6, 4, 4)),  # output (2, 6, 8, 6)
}


def test_the_non_finite_layers_check_what_their_names_say() -> None:
    out = {"operands-checked": (2, 3, 12, 10), "output-checked": (2, 6, 8, 6)}
    for name, (x_shape, w_shape) in NON_FINITE_LAYERS.items():
        # the weight alone, and with the input (toeplitz): both one way
        modes = {
            checks_output(operands, out[name]) for operands in ((w_shape,), (w_shape, x_shape))
        }
        assert modes == {name == "output-checked"}, name


def test_the_finite_check_sees_each_kind_of_non_finite_value(backend: Backend) -> None:
    """The check reads sums: an inf, a NaN, or an inf and a -inf whose sum is NaN, in
    any of the checked arrays, reads as non-finite; finite arrays read as finite."""
    ones = np.ones((3, 4), dtype=np.float32)
    assert bool(all_finite(backend.xp, (backend.asarray(ones), backend.asarray(ones))))
    for values in ((np.inf,), (-np.inf,), (np.nan,), (np.inf, -np.inf)):
        marked = ones.copy()
        marked.reshape(-1)[[5, 9][: len(values)]] = values
        for checked in ((marked,), (ones, marked), (marked, ones)):
            arrays = tuple(backend.asarray(a) for a in checked)
            assert not bool(all_finite(backend.xp, arrays)), (values, len(checked))


@pytest.mark.skip_backend("array_api_strict", reason="array-api-strict has no float16")
def test_the_finite_check_of_half_precision_sums_in_float32(backend: Backend) -> None:
    """Finite float16 values whose float16 sum would overflow (4 * 60000 > 65504) still
    read as finite: the check would otherwise run the exact formulation for nothing."""
    large = backend.asarray(np.full((4,), 60000.0, dtype=np.float16))
    assert bool(all_finite(backend.xp, (large,)))
    assert not bool(all_finite(backend.xp, (large, backend.asarray(np.float16([np.inf])))))


@pytest.mark.parametrize("layer", list(NON_FINITE_LAYERS))
@pytest.mark.parametrize("case", list(NON_FINITE))
@pytest.mark.parametrize("formulation", [None, *GENERAL])
def test_non_finite_weights_mark_the_outputs_torch_marks(
    backend: Backend, formulation: str | None, case: str, layer: str
) -> None:
    """NaN exactly where torch has NaN, inf where it has inf, the rest close: a weight
    multiplied by the zeros of padding must not turn finite outputs NaN."""
    rng = np.random.default_rng(11)
    x_shape, w_shape = NON_FINITE_LAYERS[layer]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1]).astype(np.float32)
    NON_FINITE[case](x, w, b)
    want = F.conv_transpose2d(*(torch.tensor(a) for a in (x, w, b)), 2, 1).numpy()
    assert np.isfinite(want).any() and not np.isfinite(want).all()

    def run(x: Any, w: Any, b: Any) -> Any:
        if formulation is None:
            return conv_transpose2d(x, w, b, stride=2, padding=1)
        with use_formulation(formulation):
            return conv_transpose2d(x, w, b, stride=2, padding=1)

    results = [run(*(backend.asarray(a) for a in (x, w, b)))]
    if backend.name == "jax" and formulation is None:  # traced: decided when it runs
        import jax

        results.append(jax.jit(run)(*(backend.asarray(a) for a in (x, w, b))))
    for result in results:
        got = backend.to_numpy(result)
        for mark in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(mark(got), mark(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    "hyper",
    [(4, 2, 1), (3, 2, 1), (3, 1, 2), (5, 3, 2), (2, 4, 3), (16, 8, 1), (1, 1, 1)],
    ids=str,
)
def test_col2im_adds_the_taps_of_one_block_at_once(hyper: tuple[int, int, int]) -> None:
    """Per dimension one strided slice add per block of ``stride`` output rows that taps
    land in: ``k / s`` where the stride divides the kernel.  The cost model counts the
    same adds the formulation issues."""
    from lucid.ops._cost import _tap_blocks
    from lucid.ops._ct_geometry import tap_blocks

    k, s, d = hyper
    p = validate_conv_transpose_params(2, k, stride=s, dilation=d)
    blocks = tap_blocks(p)
    assert len(blocks) == _tap_blocks(p) == len({t * d // s for t in range(k)}) ** 2
    if d == 1 and k % s == 0:
        assert len(blocks) == (k // s) ** 2
    # Every tap is placed exactly once, at its own row and phase (first dimension).
    first_dim = {block[0][1]: block[0] for block in blocks}.values()
    placed = sorted(
        (t, first * s + phase)
        for taps, first, phases in first_dim
        for t, phase in zip(range(taps.start, taps.stop), range(*phases.indices(s)))
    )
    assert placed == [(t, t * d) for t in range(k)]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_take_in_bounds_gathers_what_the_standards_take_does(backend: Backend, axis: int) -> None:
    # Each backend's take of lucid's own tables (JAX's with mode="clip", which lowers to
    # a smaller program than its default) against NumPy's, eager and under the library's
    # compiler, with every position of the axis taken, the last one included, repeated.
    rng = np.random.default_rng(axis)
    values = rng.standard_normal((3, 4, 5)).astype(np.float32)
    size = values.shape[axis]
    index = np.concatenate([np.arange(size)[::-1], rng.integers(0, size, 7), [size - 1]])
    expected = np.take(values, index, axis=axis)
    xp = backend.xp
    known = traits(backend.name)
    a, i = backend.asarray(values), backend.asarray(index)
    eager = take_in_bounds(xp, a, i, axis, known)
    compiled = backend.library.compiled(lambda a, i: take_in_bounds(xp, a, i, axis, known))
    for taken in (eager, compiled(a, i)):
        np.testing.assert_array_equal(backend.to_numpy(taken), expected)
