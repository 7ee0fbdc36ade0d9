"""lucid._backends: default backend selection, DeviceLike / DTypeLike parsing, conversions."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import lucid
import lucid.nn as nn
from lucid import _backends
from lucid.testing import available_backends

CREATABLE = [b for b in ("numpy", "jax", "torch") if b in available_backends()]


@pytest.fixture(autouse=True)
def _clean_default(monkeypatch):
    monkeypatch.delenv("LUCID_BACKEND", raising=False)
    lucid.set_default_backend(None)
    yield
    lucid.set_default_backend(None)


def _kind(x):
    return _backends.backend_of(x)


def test_default_is_numpy():
    assert lucid.get_default_backend() == "numpy"
    assert isinstance(lucid.zeros(2), np.ndarray)


@pytest.mark.parametrize("name", CREATABLE)
def test_set_default_backend(name):
    lucid.set_default_backend(name)
    assert lucid.get_default_backend() == name
    assert _kind(lucid.zeros(2, 3)) == name
    lucid.set_default_backend(None)
    assert _kind(lucid.zeros(2, 3)) == "numpy"


@pytest.mark.parametrize("name", CREATABLE)
def test_context_manager_nests_and_restores(name):
    with lucid.default_backend(name) as chosen:
        assert chosen == name
        assert _kind(lucid.ones(1)) == name
        with lucid.default_backend("numpy"):
            assert _kind(lucid.ones(1)) == "numpy"
        assert _kind(lucid.ones(1)) == name
    assert _kind(lucid.ones(1)) == "numpy"


def test_context_manager_restores_after_error():
    with pytest.raises(RuntimeError), lucid.default_backend("torch"):
        raise RuntimeError
    assert lucid.get_default_backend() == "numpy"


def test_context_is_local_to_its_thread():
    seen = []
    with lucid.default_backend("torch"):
        thread = threading.Thread(target=lambda: seen.append(lucid.get_default_backend()))
        thread.start()
        thread.join()
    assert seen == ["numpy"]


@pytest.mark.parametrize("name", CREATABLE)
def test_environment_variable(monkeypatch, name):
    monkeypatch.setenv("LUCID_BACKEND", name)
    assert lucid.get_default_backend() == name
    assert _kind(lucid.zeros(1)) == name
    lucid.set_default_backend("numpy")  # an explicit choice wins over the environment
    assert _kind(lucid.zeros(1)) == "numpy"


def test_bad_environment_variable(monkeypatch):
    monkeypatch.setenv("LUCID_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match=r"LUCID_BACKEND.*'numpy'.*'jax'.*'torch'"):
        lucid.zeros(1)


@pytest.mark.parametrize("bad", ["tensorflow", "Torch", "", None.__class__.__name__, 3])
def test_unknown_backend(bad):
    with pytest.raises(ValueError, match=r"must be one of .*'numpy', 'jax', 'torch'"):
        lucid.set_default_backend(bad)
    with pytest.raises(ValueError, match="must be one of"), lucid.default_backend(bad):
        pass
    with pytest.raises(ValueError, match="must be one of"):
        lucid.zeros(1, backend=bad)


# --- devices ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CREATABLE)
def test_cpu_device(name):
    x = lucid.zeros(2, device="cpu", backend=name)
    assert _backends.device_label(_device(x)) == "cpu"


def _device(x):
    import array_api_compat

    return array_api_compat.device(x)


def _has_gpu(name):
    if name == "torch":
        import torch

        return torch.cuda.is_available()
    if name == "jax":
        import jax

        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:
            return False
    return False


@pytest.mark.parametrize("name", CREATABLE)
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "gpu", "CUDA:0"])
def test_missing_gpu_is_a_clear_error(name, device):
    if _has_gpu(name):
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match=r"device=.* is not available"):
        lucid.zeros(2, device=device, backend=name)


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "cpu:", "mps0", 3.5])
def test_unknown_device(device):
    with pytest.raises(ValueError, match=r"unknown device .*accepted: None, 'cpu', 'cuda'"):
        lucid.zeros(2, device=device)


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_native_device_objects():
    import torch

    jax = pytest.importorskip("jax")
    t = lucid.zeros(2, device=torch.device("cpu"))  # a torch device selects torch
    assert _kind(t) == "torch"
    j = lucid.zeros(2, device=jax.devices("cpu")[0])
    assert _kind(j) == "jax"
    # a foreign CPU device means 'cpu' on the chosen backend
    n = lucid.zeros(2, device=torch.device("cpu"), backend="numpy")
    assert isinstance(n, np.ndarray)
    assert _backends.resolve_device("jax", torch.device("cpu")) == jax.devices("cpu")[0]


# --- dtypes ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CREATABLE)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_dtype_names(name, dtype):
    x = lucid.zeros(3, dtype=dtype, backend=name)
    assert _backends.dtype_name(x.dtype) == dtype


def test_dtype_objects():
    import torch

    assert lucid.zeros(1, dtype=np.float64).dtype == np.float64
    assert lucid.zeros(1, dtype=np.dtype("float16")).dtype == np.float16
    t = lucid.zeros(1, dtype=torch.float64)  # a torch dtype selects torch
    assert t.dtype == torch.float64
    assert lucid.zeros(1, dtype=torch.float64, backend="numpy").dtype == np.float64


@pytest.mark.parametrize("dtype", ["float", "f4", "float128", "torch.float32x", object()])
def test_unknown_dtype(dtype):
    with pytest.raises(ValueError, match=r"unknown dtype .*'float32'"):
        lucid.zeros(1, dtype=dtype)


def test_dtype_missing_from_backend():
    with pytest.raises(ValueError, match=r"'bfloat16' is not available"):
        lucid.zeros(1, dtype="bfloat16", backend="numpy")


# --- conversion ------------------------------------------------------------------------


@pytest.mark.parametrize("target", [*CREATABLE, "array_api_strict"])
def test_convert_between_backends(backend, target):
    if target not in available_backends():
        pytest.skip(f"{target} not installed")
    data = np.arange(6.0).reshape(2, 3)
    x = backend.asarray(data, dtype="float64")
    y = _backends.convert(x, target, dtype="float32")
    assert _kind(y) == target
    assert _backends.dtype_name(y.dtype) == "float32"
    np.testing.assert_array_equal(_backends.to_numpy(y), data.astype(np.float32))


def test_backend_of_ignores_non_arrays():
    assert _backends.backend_of([1.0]) is None


def test_no_framework_imported_unless_used():
    code = (
        "import sys, lucid, lucid.nn as nn\n"
        "m = nn.Sequential(nn.LazyConvTranspose2d(4, 3), nn.ReLU())\n"
        "y = m(lucid.randn(1, 2, 5, 5))\n"
        "m.load_state_dict(m.state_dict())\n"
        "names = ('jax', 'torch', 'array_api_strict', 'dask', 'cupy')\n"
        "print(sorted(k for k in names if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jax_float64_without_x64_is_a_clear_error():
    jax = pytest.importorskip("jax")
    with jax.enable_x64(False), pytest.raises(ValueError, match="jax_enable_x64"):
        lucid.zeros(2, dtype="float64", backend="jax")
    with jax.enable_x64(False):
        assert lucid.zeros(2, backend="jax").dtype == np.float32


# --- backend objects ---------------------------------------------------------------------


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jax_arrays_from_numpy_compile_nothing_and_own_their_data(caplog):
    """Every module and creation function makes JAX arrays from NumPy data: that runs no
    compiled program per new shape, and later changes to the NumPy data (a torch
    state dict's tensors, say) never reach the JAX array (JAX would alias small ones)."""
    jax = pytest.importorskip("jax")
    library = _backends.get("jax")
    sources = [np.zeros(n, np.float32) for n in (1, 5, 37, 100_003)]
    with jax.log_compiles(True), caplog.at_level("WARNING", logger="jax"):
        arrays = [library.from_numpy(a) for a in sources]
        arrays.append(library.from_numpy(np.zeros((3, 5)), dtype="float16"))
    assert not [r for r in caplog.records if r.getMessage().startswith("Compiling")]
    for source in sources:
        source[0] = 7.0
    assert [float(a[0]) for a in arrays[:-1]] == [0.0] * len(sources)
    assert arrays[-1].dtype == np.float16


def test_every_library_is_one_backend_object():
    from lucid._backends import _registry

    assert tuple(b.name for b in _registry.ALL) == lucid._backends.BACKENDS
    for backend in _registry.ALL:
        assert _backends.get(backend.name, checked=False) is backend
        assert repr(backend) == f"<lucid backend {backend.name!r}>"


def test_dask_arrays_are_detected_converted_and_convolved():
    da = pytest.importorskip("dask.array")
    data = np.random.default_rng(0).standard_normal((1, 3, 5, 5)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2, 3, 3)).astype(np.float32)
    x = da.from_array(data, chunks=(1, 3, 5, 5))
    assert _backends.backend_of(x) == "dask"
    assert _backends.namespace_name(_backends.namespace("dask")) == "dask"
    y = lucid.ops.conv_transpose2d(x, da.from_array(w), stride=2)
    assert _backends.backend_of(y) == "dask"
    np.testing.assert_allclose(
        _backends.to_numpy(y), lucid.ops.conv_transpose2d(data, w, stride=2), rtol=1e-6
    )
    moved = _backends.convert(x, "numpy", dtype="float64")
    assert isinstance(moved, np.ndarray) and moved.dtype == np.float64
    back = lucid.asarray(data, backend="dask")
    assert _backends.backend_of(back) == "dask"
    assert _backends.fresh_copy(back) is not back


@pytest.mark.only_backend("jax", reason="JAX's own machinery")
def test_jax_shardings_and_device_lists_are_placements():
    jax = pytest.importorskip("jax")
    sharding = jax.sharding.SingleDeviceSharding(jax.devices("cpu")[0])
    m = nn.ConvTranspose2d(2, 3, 3)
    assert m.to("jax", device=sharding).weight.sharding == sharding
    m.to(device=jax.devices())
    assert m.weight.devices() == set(jax.devices())
    assert _backends.native_backend_of(sharding) == "jax"
    assert _backends.parse_device(jax.devices()[:1]) == ("cpu", 0)  # one CPU: replicated on it
    if len(jax.devices()) > 1:  # the jax session simulates several (conftest.py)
        count = len(jax.devices())
        assert _backends.parse_device(jax.devices()) == (f"sharding over {count} cpu devices", None)
    with pytest.raises(ValueError, match="a jax Sharding or a list of jax devices"):
        nn.ConvTranspose2d(2, 3, 3).to(device="tpu")


def test_placement_hint_is_a_call_that_works(backend):
    m = nn.ConvTranspose2d(2, 3, 3, dtype="float64").to(backend.name)
    x = backend.asarray(np.zeros((1, 2, 4, 4)), dtype="float32")
    with pytest.raises(TypeError, match=r"\.to\(dtype='float32'\)") as error:
        m(x)
    call = re.search(r"\.to\((.*?)\) or", str(error.value)).group(1)
    assert eval(f"m.to({call})", {"m": m}) is m  # the hint, run as written
    assert m(x).shape == (1, 3, 6, 6)


@pytest.mark.only_backend("jax", reason="JAX's 64-bit mode")
def test_lucid_testing_leaves_jax_x64_alone():
    import os

    code = (
        "import jax\n"
        "from lucid.testing import load_backend\n"
        "load_backend('jax').asarray([1.0], dtype='float32')\n"
        "print(jax.config.read('jax_enable_x64'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
