"""Buffers as torch has them: registration, traversal, state dicts, ``.to()``, copies, pytrees."""

from __future__ import annotations

import copy
import pickle
import re

import array_api_compat
import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import to_numpy


class Stats(nn.Module):
    """A parameter, a float buffer, an int buffer, a non-persistent and an absent buffer."""

    def __init__(self, n=3):
        super().__init__()
        self.register_parameter("weight", lucid.ones(n))
        self.register_buffer("running_mean", lucid.zeros(n))
        self.register_buffer("count", lucid.asarray(0))
        self.register_buffer("scratch", lucid.zeros(2), persistent=False)
        self.register_buffer("absent", None)

    def forward(self, x):
        return (x - self.running_mean) * self.weight


class TorchStats(torch.nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("count", torch.tensor(0))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.register_buffer("absent", None)


def model():
    shared = Stats()
    return nn.Sequential(Stats(), nn.Sequential(nn.ReLU(), Stats(2)), shared, shared)


def torch_model():
    shared = TorchStats()
    return torch.nn.Sequential(
        TorchStats(), torch.nn.Sequential(torch.nn.ReLU(), TorchStats(2)), shared, shared
    )


def names(pairs):
    return [name for name, _ in pairs]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.named_buffers(),
        lambda m: m.named_buffers(prefix="net"),
        lambda m: m.named_buffers(recurse=False),
        lambda m: m.named_buffers(remove_duplicate=False),
        lambda m: m[1].named_buffers(prefix="1"),
        lambda m: m.named_parameters(remove_duplicate=False),
    ],
)
def test_traversal_matches_torch(call):
    assert names(call(model())) == names(call(torch_model()))


def test_buffers_and_state_dict_keys_match_torch():
    mine, theirs = model(), torch_model()
    assert len(list(mine.buffers())) == len(list(theirs.buffers())) == 9
    assert len(list(mine.buffers(recurse=False))) == 0
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert list(mine.state_dict(prefix="p.")) == list(theirs.state_dict(prefix="p."))
    assert "0.scratch" not in mine.state_dict()


def test_load_state_dict_loads_buffers_like_torch(backend):
    theirs = torch_model()
    for _name, buffer in theirs.named_buffers():
        buffer.add_(3 if buffer.dtype == torch.int64 else 0.5)
    mine = model().to(backend.name)
    assert repr(mine.load_state_dict(theirs.state_dict())) == "<All keys matched successfully>"
    for key, value in mine.state_dict().items():
        assert array_api_compat.array_namespace(value) is backend.xp
        np.testing.assert_array_equal(to_numpy(value), theirs.state_dict()[key].numpy())
    assert to_numpy(mine[0].count).dtype == np.int64
    np.testing.assert_array_equal(to_numpy(mine[0].scratch), np.zeros(2))  # not persistent


def test_missing_unexpected_and_size_mismatch_wording_matches_torch():
    sd = {k: v.clone() for k, v in torch_model().state_dict().items()}
    del sd["0.count"]
    sd["0.scratch"] = torch.zeros(2)  # not persistent: unexpected, as in torch
    theirs = torch_model().load_state_dict(sd, strict=False)
    mine = model().load_state_dict(sd, strict=False)
    assert mine.missing_keys == theirs.missing_keys == ["0.count"]
    assert mine.unexpected_keys == theirs.unexpected_keys == ["0.scratch"]
    sd["1.1.running_mean"] = torch.zeros(5)
    with pytest.raises(RuntimeError) as torch_error:
        torch_model().load_state_dict(sd)
    with pytest.raises(RuntimeError) as lucid_error:
        model().load_state_dict(sd)
    # lucid prints shapes as tuples, torch as torch.Size([...]); the words are the same.
    torch_text = re.sub(r"torch\.Size\(\[(\d+)\]\)", r"(\1,)", str(torch_error.value))
    assert str(lucid_error.value) == torch_text


def test_failed_load_changes_no_buffer(backend):
    m = model().to(backend.name)
    sd = {k: backend.asarray(np.full(tuple(v.shape), 7), dtype="float32")
          for k, v in m.state_dict().items()}  # fmt: skip
    sd["2.running_mean"] = backend.asarray(np.zeros(4), dtype="float32")
    with pytest.raises(nn.StateDictError, match=r"size mismatch for 2\.running_mean"):
        m.load_state_dict(sd)
    assert all(not np.any(to_numpy(b) == 7) for b in m.buffers())


def test_torch_buffers_load_in_place_and_stay_plain_tensors():
    m = model().to("torch")
    buffer = m[0].running_mean
    m.load_state_dict(torch_model().state_dict())
    assert m[0].running_mean is buffer
    assert not isinstance(buffer, torch.nn.Parameter) and not buffer.requires_grad


def test_to_moves_buffers_and_casts_only_floating_ones(backend):
    m = model().to(backend.name)
    for b in m.buffers():
        assert array_api_compat.array_namespace(b) is backend.xp
    m.to(dtype="float64")
    assert str(m[0].running_mean.dtype).endswith("float64")
    assert str(m[0].scratch.dtype).endswith("float64")
    assert str(m[0].count.dtype).endswith("int64")
    m.to("numpy")
    assert all(isinstance(b, np.ndarray) for b in m.buffers())


def test_registration_errors_and_assignment():
    m = Stats()
    with pytest.raises(KeyError, match="'weight' already exists and is not a buffer"):
        m.register_buffer("weight", lucid.zeros(1))
    with pytest.raises(KeyError, match="'running_mean' already exists and is not a parameter"):
        m.register_parameter("running_mean", lucid.zeros(1))
    with pytest.raises(KeyError, match=r'without "\."'):
        m.register_buffer("a.b", lucid.zeros(1))
    with pytest.raises(TypeError, match="buffer name must be a str"):
        m.register_buffer(1, lucid.zeros(1))
    with pytest.raises(TypeError, match="buffer 'x' must be an array or None, got list"):
        m.register_buffer("x", [1.0])
    with pytest.raises(TypeError, match="persistent must be a bool"):
        m.register_buffer("x", lucid.zeros(1), persistent="no")
    with pytest.raises(TypeError, match="cannot assign str as buffer 'running_mean'"):
        m.running_mean = "zero"
    assert "x" not in m._buffers
    m.running_mean = lucid.ones(3)  # assignment replaces the buffer
    assert m.running_mean.tolist() == [1.0, 1.0, 1.0]
    m.register_buffer("scratch", lucid.zeros(2))  # re-registering may change persistence
    assert "scratch" in m.state_dict()
    del m.running_mean
    assert "running_mean" not in dict(m.named_buffers())

    class Early(nn.Module):
        def __init__(self):
            self.register_buffer("b", lucid.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign a buffer before Module\.__init__"):
        Early()


def test_copies_and_pickles_keep_buffers_and_persistence():
    m = model()
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m)), copy.copy(m)):
        assert list(clone.state_dict()) == list(m.state_dict())
        assert names(clone.named_buffers()) == names(m.named_buffers())
    shallow = copy.copy(m[0])
    shallow.register_buffer("extra", lucid.zeros(1), persistent=False)
    assert "extra" not in m[0]._buffers and "extra" not in m[0]._non_persistent_buffers


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_buffers_are_jax_pytree_leaves():
    jax = pytest.importorskip("jax")
    m = Stats().to("jax")
    leaves, _treedef = jax.tree_util.tree_flatten(m)
    assert len(leaves) == 4  # weight, running_mean, count, scratch (absent is None)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(m)[0]]
    assert paths == [".weight", ".running_mean", ".count", ".scratch"]
    moved = jax.tree_util.tree_map(lambda a: a + 1, m)
    assert moved.running_mean.tolist() == [1.0, 1.0, 1.0]
    assert list(moved.state_dict()) == list(m.state_dict())

    @jax.jit
    def shift(module, x):
        return module(x)

    x = jax.numpy.ones(3)
    assert shift(m, x).tolist() == [1.0, 1.0, 1.0]
    assert shift(moved, x).tolist() == [0.0, 0.0, 0.0]  # buffers are traced, not baked in
