"""``lucid.nn.to_torch``: a lucid module where torch wants a ``torch.nn.Module``.

The view shares the lucid module's parameter and buffer dictionaries, so every check
here compares against plain lucid calls (or torch's own modules) with the same values.
"""

from __future__ import annotations

import numpy as np
import pytest

import lucid
import lucid.nn as nn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.only_backend("torch", reason="to_torch hands modules to torch")


def _decoder() -> nn.Module:
    lucid.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 4 * 3 * 3),
        nn.Unflatten(1, (4, 3, 3)),
        nn.ConvTranspose2d(4, 5, 4, stride=2, padding=1),
        nn.BatchNorm2d(5),
        nn.ReLU(),
        nn.ConvTranspose2d(5, 3, 3, padding=1),
    )


def _input(seed: int = 1) -> torch.Tensor:
    return torch.tensor(np.random.default_rng(seed).standard_normal((2, 6)), dtype=torch.float32)


def _randomized(named: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    values = {}
    for key, value in named.items():
        drawn = rng.standard_normal(tuple(value.shape))
        if key.endswith("running_var"):
            drawn = np.abs(drawn) + 0.5
        values[key] = torch.tensor(drawn, dtype=value.dtype) if value.is_floating_point() else value
    return values


def test_view_is_a_torch_module_with_lucids_names_and_arrays() -> None:
    lucid_model = _decoder()
    model = nn.to_torch(lucid_model)
    assert isinstance(model, torch.nn.Module)
    for kind in ("named_parameters", "named_buffers"):
        names = [n for n, _ in getattr(model, kind)()]
        assert names == [n for n, _ in getattr(lucid_model, kind)()], kind
    for (_, mine), (_, theirs) in zip(model.named_parameters(), lucid_model.named_parameters()):
        assert mine is theirs  # shared, not copied
    assert list(model.state_dict()) == list(lucid_model.state_dict())
    torch.testing.assert_close(model(_input()), lucid_model(_input()))


def test_functional_call_uses_the_given_values_and_leaves_the_module_alone() -> None:
    lucid_model = _decoder().eval()
    model = nn.to_torch(lucid_model)
    before = {k: v.clone() for k, v in lucid_model.state_dict().items()}
    values = _randomized(dict(model.state_dict()), seed=2)
    got = torch.func.functional_call(model, values, (_input(),))
    reference = _decoder().eval().to("torch")
    reference.load_state_dict(values)
    torch.testing.assert_close(got, reference(_input()))
    for key, value in lucid_model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0, msg=key)


def test_functional_call_in_training_returns_batchnorm_statistics_as_torch_does() -> None:
    """torch's BatchNorm updates the passed buffers; lucid's new ones land in the dict."""
    lucid.manual_seed(3)
    mine = nn.to_torch(nn.BatchNorm2d(3))
    theirs = torch.nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 5, 5)
    buffers = {}
    for name, module in (("lucid", mine), ("torch", theirs)):
        values = {k: v.clone() for k, v in module.state_dict().items()}
        torch.func.functional_call(module, values, (x,))
        buffers[name] = values
    assert int(mine.lucid_module.num_batches_tracked) == 0  # the module's own: untouched
    for key, value in buffers["torch"].items():
        torch.testing.assert_close(buffers["lucid"][key], value, msg=key)


def test_torch_func_grad_over_parameters_equals_autograd() -> None:
    lucid_model = _decoder()
    model = nn.to_torch(lucid_model)
    x = _input()
    params = dict(model.named_parameters())
    buffers = {k: v.clone() for k, v in model.named_buffers()}

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.func.functional_call(model, {**p, **buffers}, (x,)).square().mean()

    grads = torch.func.grad(loss)(params)
    lucid_model(x).square().mean().backward()
    for name, param in lucid_model.named_parameters():
        torch.testing.assert_close(grads[name], param.grad, msg=name)


def test_vmap_over_stacked_module_states_is_an_ensemble() -> None:
    models = [nn.to_torch(_decoder().eval()) for _ in range(3)]
    for seed, model in enumerate(models):
        model.load_state_dict(_randomized(dict(model.state_dict()), seed))
    with torch.no_grad():  # one member with a non-finite weight: its own formulation
        dict(models[1].named_parameters())["2.weight"][0, 0, 1, 1] = float("inf")
    params, buffers = torch.func.stack_module_state(models)

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.func.functional_call(models[0], (p, b), (_input(),))

    stacked = torch.func.vmap(one)(params, buffers)
    for i, model in enumerate(models):
        torch.testing.assert_close(stacked[i], model(_input()), equal_nan=True)


def test_a_torch_optimizer_on_the_view_trains_the_lucid_module() -> None:
    lucid_model = _decoder()
    model = nn.to_torch(lucid_model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = _input()
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = model(x).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    torch.testing.assert_close(lucid_model(x).square().mean(), model(x).square().mean())


def test_modes_pass_through_and_children_keep_their_own() -> None:
    lucid_model = _decoder()
    dict(lucid_model.named_children())["3"].eval()
    model = nn.to_torch(lucid_model)
    assert model.training and not model.get_submodule("3").training  # as converted
    model.eval()
    assert not any(m.training for m in lucid_model.modules())
    model.train()
    assert all(m.training for m in lucid_model.modules())


def test_a_lazy_module_materializes_through_the_view() -> None:
    lucid.manual_seed(4)
    lazy = nn.LazyConvTranspose2d(2, 3, stride=2)
    model = nn.to_torch(lazy)
    y = model(torch.ones(1, 5, 4, 4))
    assert tuple(y.shape) == (1, 2, 9, 9)
    assert tuple(dict(model.named_parameters())["weight"].shape) == (5, 2, 3, 3)
    y.sum().backward()
    assert lazy.weight.grad is not None


def test_compiled_view_matches_eager() -> None:
    torch._dynamo.reset()
    model = nn.to_torch(_decoder().eval())
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(_input()), model(_input()))


def test_to_torch_refuses_what_is_not_a_lucid_module() -> None:
    with pytest.raises(TypeError, match=r"to_torch expects a lucid\.nn\.Module, got Linear"):
        nn.to_torch(torch.nn.Linear(2, 2))
