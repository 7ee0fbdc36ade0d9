"""lucid inside PyTorch's machinery: torch.compile(fullgraph=True), torch.func, autocast.

These run in the torch session only: torch is installed in every session (it is the
conformance reference), but compiling is slow and says nothing about other backends.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as functional
from torch._dynamo.utils import counters

import lucid
import lucid.nn as nn
import lucid.ops as ops
from lucid.ops import _cost
from lucid.ops._ct_forward import FORMULATIONS, use_formulation
from lucid.testing import assert_close

pytestmark = pytest.mark.only_backend("torch", reason="PyTorch transforms run in the torch session")


@pytest.fixture(autouse=True)
def torch_session() -> None:
    torch._dynamo.reset()


def _tensors(seed: int, *shapes: tuple[int, ...]) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    return [torch.tensor(rng.standard_normal(s), dtype=torch.float32) for s in shapes]


def _compiled_matches_eager(fn, *arrays: torch.Tensor) -> None:
    """fullgraph compile (an error on any graph break): same output and gradients, and
    one graph for two calls (a traced call stores no plan: the graph guards on the plan
    cache, and the plan its first call stored made the second compile again)."""
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")

    def run(f) -> list[torch.Tensor]:
        args = [a.clone().requires_grad_() for a in arrays]
        y = f(*args)
        y.square().sum().backward()
        return [y.detach()] + [a.grad for a in args]

    counters.clear()
    got = run(compiled)
    run(compiled)
    assert counters["stats"]["unique_graphs"] == 1
    for got_one, want in zip(got, run(fn)):
        assert_close(got_one, want.numpy(), dtype="float32", rtol=1e-5)


CONV_TRANSPOSE = [(f, 2 if f == "reshape" else 4) for f in FORMULATIONS]


@pytest.mark.parametrize(("formulation", "k"), CONV_TRANSPOSE, ids=[f for f, _ in CONV_TRANSPOSE])
def test_compile_fullgraph_conv_transpose2d_every_formulation(formulation: str, k: int) -> None:
    pad = 0 if formulation == "reshape" else 1
    x, w, b = _tensors(0, (2, 4, 5, 6), (4, 3, k, k), (3,))
    with use_formulation(formulation):
        _compiled_matches_eager(lambda x, w, b: ops.conv_transpose2d(x, w, b, 2, pad), x, w, b)


def test_the_choices_table_lookup_is_called_not_traced_by_torch_compile() -> None:
    """The nearest-layer search runs on a layer's first compiled call; traced line by
    line it took seconds.  lucid marks it as ``torch.compiler.assume_constant_result``
    does, without importing torch: the mark must stay the one torch reads."""

    def probe() -> int:
        return 0

    torch.compiler.assume_constant_result(probe)
    assert vars(probe) and vars(probe).items() <= vars(_cost._corrections).items()


def test_compile_fullgraph_with_dynamic_batch_keeps_the_default_choice() -> None:
    """With a dynamic batch the planning sees symbolic sizes; the default choice and
    its result stay those of the eager call."""
    (w,) = _tensors(1, (16, 8, 4, 4))
    layer = torch.compile(
        lambda x, w: ops.conv_transpose2d(x, w, stride=2, padding=1),
        fullgraph=True,
        dynamic=True,
        backend="aot_eager",
    )
    for n in (2, 3):
        (x,) = _tensors(n, (n, 16, 9, 9))
        want = ops.conv_transpose2d(x, w, stride=2, padding=1)
        assert_close(layer(x, w), want.numpy(), dtype="float32", rtol=1e-5)


OPS = {
    "conv_transpose1d": (
        lambda x, w, b: ops.conv_transpose1d(x, w, b, stride=3),
        (2, 4, 7),
        (4, 3, 4),
    ),
    "conv_transpose3d": (
        lambda x, w, b: ops.conv_transpose3d(x, w, b, stride=2),
        (1, 4, 3, 3, 2),
        (4, 3, 3, 3, 3),
    ),
    "conv_transpose2d_stride1": (
        lambda x, w, b: ops.conv_transpose2d(x, w, b, dilation=2),
        (2, 4, 5, 5),
        (4, 3, 3, 3),
    ),
    "conv1d": (lambda x, w, b: ops.conv1d(x, w, b, padding="same"), (2, 4, 9), (3, 4, 3)),
    "conv2d": (
        lambda x, w, b: ops.conv2d(x, w, b, stride=2, padding=1),
        (2, 4, 7, 7),
        (3, 4, 3, 3),
    ),
    "conv3d": (lambda x, w, b: ops.conv3d(x, w, b, padding=1), (1, 4, 4, 3, 4), (3, 4, 3, 3, 3)),
}


@pytest.mark.parametrize("name", OPS)
def test_compile_fullgraph_every_op(name: str) -> None:
    op, x_shape, w_shape = OPS[name]
    _compiled_matches_eager(op, *_tensors(1, x_shape, w_shape, (3,)))


def test_compile_fullgraph_of_a_materialised_lazy_decoder_with_inductor() -> None:
    """The default backend compiles the whole module once its weights exist (here
    materialised by an eager call; a lazy first call compiles through ``to_torch``)."""
    model = nn.Sequential(
        nn.LazyConvTranspose2d(8, 4, stride=2, padding=1), nn.ReLU(),
        nn.LazyConv2d(3, 3, padding=1), nn.Tanh(),
    )  # fmt: skip
    (x,) = _tensors(2, (2, 6, 5, 5))
    model(x)
    compiled = torch.compile(model, fullgraph=True)
    y = compiled(x)
    assert model[0].in_channels == 6 and y.shape == (2, 3, 10, 10)
    y.square().sum().backward()
    assert model[0].weight.grad is not None
    assert_close(compiled(x).detach(), model(x).detach().numpy(), dtype="float32", rtol=1e-5)


def test_compile_materialises_a_lazy_module_on_its_first_call() -> None:
    """Without ``fullgraph`` the first call materialises eagerly (one graph break), with
    the weights an eager first call draws, connected to autograd; then it compiles."""
    (x,) = _tensors(5, (2, 6, 5, 5))
    outputs = []
    for compiled in (False, True):
        lucid.manual_seed(7)
        model = nn.Sequential(nn.LazyConvTranspose2d(4, 3, stride=2), nn.LazyBatchNorm2d())
        call = torch.compile(model, backend="aot_eager") if compiled else model
        counters.clear()
        y = call(x)
        # The initialisation runs unseen by the compiler, which compiled its functions
        # one by one before: 6 graphs on this first call here (BENCHMARKS.md,
        # "torch.compile: the plan cache and ``sys.modules``").
        assert counters["stats"]["unique_graphs"] <= 3
        y.square().sum().backward()
        assert model[0].weight.grad is not None and model[1].weight.grad is not None
        outputs.append((y.detach(), model[0].weight.detach(), call(x).detach()))
    for got, want in zip(*outputs):
        assert_close(got, want.numpy(), dtype="float32", rtol=1e-5)


def _lazy_decoder() -> nn.Module:
    return nn.Sequential(
        nn.LazyConvTranspose2d(8, 4, stride=2, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.LazyConv2d(3, 3, padding=1), nn.Flatten(), nn.LazyLinear(5), nn.LazyBatchNorm1d(),
    )  # fmt: skip


def test_compile_fullgraph_materialises_a_lazy_view_on_its_first_call() -> None:
    """``to_torch`` of a lazy model is a torch lazy module: its first compiled call
    (fullgraph, so no graph break) gives the weights, output, gradients and running
    statistics of an eager first call."""
    (x,) = _tensors(6, (2, 6, 5, 5))
    runs = []
    for compiled in (False, True):
        lucid.manual_seed(11)
        model = _lazy_decoder()
        view = nn.to_torch(model)
        assert isinstance(view, torch.nn.modules.lazy.LazyModuleMixin)
        call = torch.compile(view, fullgraph=True, backend="aot_eager") if compiled else view
        y = call(x)
        y.square().sum().backward()
        assert not isinstance(view, torch.nn.modules.lazy.LazyModuleMixin)
        state = {k: v.detach() for k, v in view.state_dict().items()}
        grads = {k: p.grad for k, p in view.named_parameters()}
        runs.append((y.detach(), state, grads))
    (y_eager, state_eager, grads_eager), (y_compiled, state_compiled, grads_compiled) = runs
    assert_close(y_compiled, y_eager.numpy(), dtype="float32", rtol=1e-5)
    assert state_compiled.keys() == state_eager.keys() and len(grads_eager) == 10
    torch.testing.assert_close(state_compiled, state_eager, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads_compiled, grads_eager, rtol=1e-4, atol=1e-5)


def test_compile_fullgraph_with_the_other_libraries_imported() -> None:
    """lucid asks every imported library's backend about each argument (a BatchNorm's
    momentum too); none of those checks may break the graph."""
    import array_api_strict  # noqa: F401  (in use, so its backend is asked)

    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).to("torch")
    (x,) = _tensors(8, (2, 3, 4, 4))
    _compiled_matches_eager(model, x)


def test_compile_fullgraph_of_an_unmaterialised_lucid_module_names_the_way_out() -> None:
    model = nn.Sequential(nn.LazyConvTranspose2d(4, 3), nn.ReLU())
    (x,) = _tensors(7, (1, 2, 3, 3))
    with pytest.raises(Exception, match=r"LazyConvTranspose2d .*compile lucid\.nn\.to_torch"):
        torch.compile(model, fullgraph=True, backend="aot_eager")(x)
    assert model[0].has_uninitialized_params()
    assert tuple(model(x).shape) == (1, 4, 5, 5)


@pytest.mark.parametrize(("formulation", "k"), CONV_TRANSPOSE, ids=[f for f, _ in CONV_TRANSPOSE])
def test_vmap_over_inputs_and_over_weights_every_formulation(formulation: str, k: int) -> None:
    """An ensemble (weights batched) and a batch of batches (inputs batched), also with a
    non-finite weight: formulations that write in place build their output without."""
    x, w = _tensors(9, (3, 2, 4, 5, 5), (4, 3, k, k))
    ws = torch.stack([w, -2 * w, w.clone().index_put_((torch.tensor(0),), torch.tensor(np.inf))])
    kw = {"stride": 2 if formulation != "reshape" else k}
    with use_formulation(formulation):
        over_x = torch.func.vmap(lambda xi: ops.conv_transpose2d(xi, ws[2], **kw))(x)
        over_w = torch.func.vmap(lambda wi: ops.conv_transpose2d(x[0], wi, **kw))(ws)
    for i in range(3):
        want_x = functional.conv_transpose2d(x[i], ws[2], **kw)
        want_w = functional.conv_transpose2d(x[0], ws[i], **kw)
        torch.testing.assert_close(over_x[i], want_x, equal_nan=True, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(over_w[i], want_w, equal_nan=True, rtol=1e-5, atol=1e-5)


def test_torch_func_transforms() -> None:
    x, w, b, dx = _tensors(3, (2, 3, 4, 4), (3, 2, 3, 3), (2,), (2, 3, 4, 4))
    kw = {"stride": 2, "padding": 1}

    def mine(x, w):
        return ops.conv_transpose2d(x, w, b, **kw)

    def theirs(x, w):
        return functional.conv_transpose2d(x, w, b, **kw)

    for transform in (
        lambda f: torch.func.grad(lambda x, w: f(x, w).sin().sum(), argnums=(0, 1))(x, w),
        lambda f: torch.func.vmap(lambda x: f(x, w))(x[:, None]),
        lambda f: torch.func.jacrev(lambda w: f(x[:1], w))(w),
        lambda f: torch.func.jvp(lambda x: f(x, w), (x,), (dx,)),
        lambda f: torch.func.vmap(torch.func.grad(lambda x: f(x[None], w).sum()))(x),
    ):
        for got, want in zip(torch.utils._pytree.tree_leaves(transform(mine)),
                             torch.utils._pytree.tree_leaves(transform(theirs))):  # fmt: skip
            assert_close(got.detach(), want.detach().numpy(), dtype="float32", rtol=1e-5)


@pytest.mark.parametrize("name", ["conv_transpose2d", "conv2d", "conv1d", "conv_transpose3d"])
def test_autocast_follows_torch_dtype_rules(name: str) -> None:
    rank = int(name[-2])
    x, w, b = _tensors(5, (2, 4, *(5,) * rank), (4, 4, *(3,) * rank), (4,))
    mine, theirs = getattr(ops, name), getattr(functional, name)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = mine(x, w, b), theirs(x, w, b)
        got64 = mine(x.double(), w.double(), b.double())  # float64 is never autocast
    assert got.dtype == want.dtype == torch.bfloat16
    assert got64.dtype == torch.float64
    # bfloat16 has 8 significant bits: the two sums round differently.
    assert_close(got.float(), want.float().numpy(), rtol=2e-2)


def test_explain_finds_one_graph_and_no_break() -> None:
    """One graph, and no guard on the keys of ``sys.modules``: lucid's checks for
    imported libraries are called, not traced (such guards cost 1.5-2 s per graph)."""
    x, w = _tensors(6, (1, 2, 3, 3), (2, 2, 2, 2))
    explained = torch._dynamo.explain(lambda x: ops.conv_transpose2d(x, w, stride=2))(x)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    guards = {(guard.create_fn_name(), guard.name) for guard in explained.out_guards}
    assert guards and not [n for kind, n in guards if kind == "DICT_KEYS_MATCH" and "sys" in n]


def test_compiled_non_finite_weights_mark_the_outputs_torch_marks() -> None:
    """Under torch.compile the finite-weight check is a torch.cond in the graph: an inf
    weight still reaches exactly the outputs torch's own op marks."""
    x, w, b = _tensors(7, (2, 4, 5, 6), (4, 3, 4, 4), (3,))
    with torch.no_grad():
        w[1, 2, 0, 3] = float("inf")
    compiled = torch.compile(
        lambda x, w, b: ops.conv_transpose2d(x, w, b, 2, 1), fullgraph=True, backend="aot_eager"
    )
    with torch.no_grad(), use_formulation("phase"):  # phase multiplies padding zeros
        got, want = compiled(x, w, b), functional.conv_transpose2d(x, w, b, 2, 1)
    for mark in (torch.isnan, torch.isposinf, torch.isneginf):
        assert torch.equal(mark(got), mark(want))
    finite = torch.isfinite(want)
    assert not finite.all()
    torch.testing.assert_close(got[finite], want[finite])
