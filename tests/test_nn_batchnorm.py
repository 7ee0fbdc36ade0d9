"""BatchNorm's state: functional updates under jax.jit, moves, counts, lazy materialisation."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import backend_of, to_numpy
from lucid.testing import load_backend


def test_jit_returns_the_updated_module_and_leaves_the_argument_alone():
    jax = pytest.importorskip("jax")
    load_backend("jax")  # float64, as the suite runs JAX
    bn = nn.BatchNorm2d(3).to("jax", dtype="float64")
    x = jax.numpy.asarray(np.random.default_rng(0).standard_normal((4, 3, 2, 2)) + 2.0)
    step = jax.jit(lambda m, a: (m(a), m))
    _, updated = step(bn, x)
    assert np.asarray(bn.running_mean).tolist() == [0.0, 0.0, 0.0]  # the argument: untouched
    assert int(bn.num_batches_tracked) == 0
    assert np.all(np.asarray(updated.running_mean) > 0.1)
    assert int(updated.num_batches_tracked) == 1
    _, twice = step(updated, x)  # the returned module feeds the next step (same compilation)
    assert int(twice.num_batches_tracked) == 2


def test_closed_over_training_batchnorm_under_jit_is_a_clear_error():
    jax = pytest.importorskip("jax")
    bn = nn.BatchNorm1d(3).to("jax")
    x = jax.numpy.ones((4, 3), dtype="float32")
    with pytest.raises(TypeError, match=r"argument of the jitted function and be returned"):
        jax.jit(lambda a: bn(a))(x)
    assert int(bn.num_batches_tracked) == 0 and not isinstance(bn.running_mean, jax.core.Tracer)
    jax.jit(lambda a: bn.eval()(a))(x)  # eval mode reads the statistics only: fine


def test_grad_over_a_whole_model_needs_allow_int():
    jax = pytest.importorskip("jax")
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)).to("jax")
    x = jax.numpy.ones((4, 3), dtype="float32") * jax.numpy.arange(4.0, dtype="float32")[:, None]

    def loss(m):
        return (m(x) ** 2).sum()

    grads = jax.grad(loss, allow_int=True)(model)
    assert grads[0].weight.shape == (3, 3)


def test_torch_running_statistics_carry_no_graph():
    bn = nn.BatchNorm1d(2).to("torch")
    x = torch.randn(5, 2, requires_grad=True)
    bn(x).sum().backward()
    assert not bn.running_mean.requires_grad and bn.running_mean.grad_fn is None
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]


@pytest.mark.parametrize("target", ["torch", "jax", "array_api_strict"])
def test_to_moves_the_buffers(target):
    pytest.importorskip(target)
    load_backend(target)
    bn = nn.BatchNorm2d(4)
    bn.to(target, dtype="float64")
    for name, buffer in bn.named_buffers():
        assert backend_of(buffer) == target, name
    assert str(bn.running_var.dtype).endswith("float64")
    assert "int" in str(bn.num_batches_tracked.dtype)


def test_momentum_none_is_a_cumulative_average(backend):
    bn = nn.BatchNorm1d(1, momentum=None).to(backend.name, dtype="float64")
    means = []
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((6, 1)) + seed
        means.append(x.mean())
        bn(backend.asarray(x))
    assert abs(float(to_numpy(bn.running_mean)[0]) - np.mean(means)) < 1e-12
    assert int(to_numpy(bn.num_batches_tracked)) == 3
    # still a 0-d array of the backend, as torch keeps it (NumPy's 0-d + 1 is a scalar)
    assert backend_of(bn.num_batches_tracked) == backend.name
    assert bn.num_batches_tracked.ndim == 0


def test_lazy_batchnorm_under_jit_materializes_the_original():
    jax = pytest.importorskip("jax")
    lazy = nn.LazyBatchNorm2d()
    x = jax.numpy.ones((2, 5, 3, 3)) * jax.numpy.arange(2.0)[:, None, None, None]
    _, updated = jax.jit(lambda m, a: (m(a), m))(lazy, x)
    assert type(lazy) is nn.BatchNorm2d and lazy.num_features == 5
    assert int(lazy.num_batches_tracked) == 0  # the original: initial statistics, concrete
    assert int(updated.num_batches_tracked) == 1


def test_without_jax_x64_a_torch_checkpoint_ports_exactly(tmp_path):
    """A fresh process, as a user has it: JAX's 64-bit mode off (the test session turns it on)."""
    pytest.importorskip("jax")
    script = textwrap.dedent(f"""
        import numpy as np, torch
        from safetensors.torch import save_file
        import lucid, lucid.nn as nn
        torch.manual_seed(0)
        twin = torch.nn.BatchNorm2d(3)
        twin(torch.randn(4, 3, 2, 2) * 3)
        twin.eval()
        path = {str(tmp_path / "bn.safetensors")!r}
        save_file(twin.state_dict(), path)
        state = lucid.load(path, backend="jax")
        assert str(state["num_batches_tracked"].dtype) == "int32", state["num_batches_tracked"]
        model = nn.BatchNorm2d(3).eval().to("jax")
        model.load_state_dict(state)
        moved = nn.BatchNorm2d(3).eval()
        moved.load_state_dict(twin.state_dict())
        moved.to("jax")
        x = np.random.default_rng(0).standard_normal((2, 3, 2, 2)).astype(np.float32)
        want = twin(torch.from_numpy(x)).detach().numpy()
        for m in (model, moved):
            assert int(m.num_batches_tracked) == 1
            assert np.abs(np.asarray(m(lucid.asarray(x, backend="jax"))) - want).max() < 1e-5
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}  # (conftest sets it)
    root = pathlib.Path(__file__).parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, env=env
    )

    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_state_dict_keys_and_count_dtype_match_torch():
    mine, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert to_numpy(mine.num_batches_tracked).dtype == np.int64
    assert tuple(mine.num_batches_tracked.shape) == ()
    assert lucid.nn.BatchNorm2d(3, track_running_stats=False).running_mean is None
