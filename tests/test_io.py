"""lucid.save / lucid.load: safetensors round trips, other writers' files, atomicity, bad files."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as numpy_save_file
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import lucid
import lucid.nn as nn
from lucid._backends import backend_of, to_numpy
from lucid.testing import assert_close


def state(backend):
    rng = np.random.default_rng(0)
    return {
        "conv.weight": backend.asarray(rng.standard_normal((4, 3, 2, 2)), "float32"),
        "conv.bias": backend.asarray(rng.standard_normal(3), "float64"),
        "bn.num_batches_tracked": backend.asarray(np.array(7, dtype=np.int32)),
    }


def test_round_trip_on_every_backend(backend, tmp_path):
    path = tmp_path / "model.safetensors"
    original = state(backend)
    lucid.save(original, path)
    loaded = lucid.load(path, backend=backend.name, device="cpu")
    assert set(loaded) == set(original)
    for key, value in original.items():
        assert backend_of(loaded[key]) == backend.name
        assert to_numpy(loaded[key]).dtype == to_numpy(value).dtype
        assert tuple(loaded[key].shape) == tuple(value.shape)
        np.testing.assert_array_equal(to_numpy(loaded[key]), to_numpy(value))


def test_default_backend_is_used(tmp_path):
    path = tmp_path / "a.safetensors"
    lucid.save({"w": np.ones(2, np.float32)}, path)
    with lucid.default_backend("torch"):
        assert isinstance(lucid.load(path)["w"], torch.Tensor)
    assert isinstance(lucid.load(path)["w"], np.ndarray)


def test_metadata_holds_lucids_version(tmp_path):
    path = tmp_path / "a.safetensors"
    lucid.save({"w": np.ones(2, np.float32)}, path, metadata={"note": "hi"})
    with safe_open(path, framework="np") as file:
        meta = file.metadata()
    assert meta["lucid_version"] == lucid.__version__
    assert meta["note"] == "hi" and meta["format"] == "pt"


def test_torch_reads_lucids_file_and_lucid_reads_torchs(tmp_path):
    torch.manual_seed(0)
    reference = torch.nn.ConvTranspose2d(3, 2, 4, stride=2)
    theirs = tmp_path / "torch.safetensors"
    torch_save_file(reference.state_dict(), theirs)
    model = nn.ConvTranspose2d(3, 2, 4, stride=2)
    model.load_state_dict(lucid.load(theirs))
    for key, value in reference.state_dict().items():
        assert_close(to_numpy(model.state_dict()[key]), value.numpy())
    mine = tmp_path / "lucid.safetensors"
    lucid.save(model.state_dict(), mine)
    twin = torch.nn.ConvTranspose2d(3, 2, 4, stride=2)
    twin.load_state_dict(torch_load_file(mine))
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(twin.state_dict()[key], value)


def test_flax_and_numpy_writers_are_read(tmp_path):
    flax_io = pytest.importorskip("safetensors.flax")
    jnp = pytest.importorskip("jax.numpy")
    path = tmp_path / "flax.safetensors"
    flax_io.save_file({"kernel": jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)}, path)
    assert lucid.load(path)["kernel"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    numpy_save_file({"b": np.zeros(2)}, tmp_path / "np.safetensors")
    assert lucid.load(tmp_path / "np.safetensors", backend="jax")["b"].shape == (2,)


def test_loading_materializes_a_lazy_module(backend, tmp_path):
    torch.manual_seed(1)
    reference = torch.nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1)
    path = tmp_path / "ct.safetensors"
    torch_save_file(reference.state_dict(), path)
    lazy = nn.LazyConvTranspose2d(3, 3, stride=2, padding=1)
    lazy.load_state_dict(lucid.load(path, backend=backend.name))
    assert type(lazy) is nn.ConvTranspose2d and lazy.in_channels == 5
    x = np.random.default_rng(2).standard_normal((1, 5, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert_close(lazy(backend.asarray(x)), expected, backend=backend)


def test_pickle_checkpoints_get_a_conversion_recipe(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(ValueError, match="pickle-based") as info:
        lucid.load(path)
    assert "save_file" in str(info.value) and "weights_only=True" in str(info.value)
    legacy = tmp_path / "model.bin"
    torch.save(torch.nn.Linear(2, 2).state_dict(), legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="pickle-based"):
        lucid.load(legacy)


def test_corrupt_and_truncated_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.safetensors"
    lucid.save({"w": np.ones((10, 10), np.float32)}, good)
    data = good.read_bytes()
    for name, content in [("truncated", data[:-17]), ("garbage", b"not a checkpoint"),
                          ("empty", b""), ("header", data[:6])]:  # fmt: skip
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        with pytest.raises(ValueError, match="not a valid safetensors file"):
            lucid.load(bad)


def test_bad_entries_are_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match=r"'b'.*dtype object"):
        lucid.save({"a": np.ones(2), "b": np.array([None, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="'a' must be an array"):
        lucid.save({"a": None}, path)
    with pytest.raises(TypeError, match="state_dict"):
        lucid.save(nn.Linear(2, 2), path)  # type: ignore[arg-type]
    assert not path.exists() and os.listdir(tmp_path) == []


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "x.safetensors"
    lucid.save({"w": np.zeros(3, np.float32)}, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        lucid.save({"w": np.ones(3, np.float32)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.safetensors"]  # no temporary file left behind
