"""Dask arrays: every convolution computes blockwise, chunk for chunk, equal to NumPy.

The output keeps the input's batch chunks and follows its spatial chunks; each output
block comes from its input block and the halo the kernel needs, so the task graph
grows with the number of blocks and not with the kernel's taps.  The cluster test runs
a layer whose output is larger than any worker's memory on a ``LocalCluster``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from lucid import ops

da = pytest.importorskip("dask.array")

# Dask computes NumPy blocks: these run once, in the numpy session.
pytestmark = pytest.mark.only_backend("numpy", reason="Dask computes NumPy blocks")

TRANSPOSED = {1: ops.conv_transpose1d, 2: ops.conv_transpose2d, 3: ops.conv_transpose3d}
FORWARD = {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}

# (ndim, input shape, chunks, weight channels, kernel, hyper-parameters)
TRANSPOSED_CASES = [
    (2, (4, 3, 9, 8), (2, 3, 4, 3), (3, 2), 3, {"stride": 2, "padding": 1}),
    (
        2,
        (3, 4, 10, 7),
        (1, 2, 3, 3),
        (4, 3),
        (4, 2),
        {
            "stride": (3, 2),
            "padding": (2, 0),
            "dilation": (2, 1),
            "output_padding": (1, 0),
            "groups": 2,
        },
    ),
    (2, (2, 2, 5, 5), (1, 2, 2, 2), (2, 1), 1, {"stride": 4}),
    (1, (2, 3, 17), (1, 3, 5), (3, 4), 16, {"stride": 8, "padding": 4}),
    (3, (2, 2, 5, 4, 6), (1, 1, 2, 3, 4), (2, 2), 3, {"stride": (2, 1, 3), "padding": 1}),
    (2, (3, 7, 6), (3, 3, 2), (3, 2), 4, {"stride": 2, "padding": 1}),  # unbatched
]
FORWARD_CASES = [
    (2, (4, 3, 9, 8), (2, 3, 4, 3), (2, 3), 3, {"stride": 2, "padding": 1}),
    (
        2,
        (3, 4, 10, 7),
        (1, 2, 3, 3),
        (6, 2),
        (4, 2),
        {"stride": (3, 2), "padding": (2, 0), "dilation": (2, 1), "groups": 2},
    ),
    (2, (2, 2, 9, 9), (1, 2, 2, 2), (2, 2), 3, {"padding": "same"}),
    (1, (2, 3, 40), (1, 3, 7), (4, 3), 5, {"stride": 3, "padding": 4, "dilation": 2}),
    (3, (2, 2, 6, 5, 7), (1, 2, 2, 3, 4), (3, 2), 3, {"stride": 2, "padding": 1}),
]


def _arrays(shape, chunks, channels, kernel, hyper, ndim, transposed, rng):
    kernel = (kernel,) * ndim if isinstance(kernel, int) else kernel
    groups = hyper.get("groups", 1)
    weight = rng.standard_normal((*channels, *kernel))
    c_out = channels[1] * groups if transposed else channels[0]
    x = rng.standard_normal(shape)
    return x, da.from_array(x, chunks=chunks), weight, rng.standard_normal(c_out)


CASES = [(True, i) for i in range(len(TRANSPOSED_CASES))]
CASES += [(False, i) for i in range(len(FORWARD_CASES))]


@pytest.mark.parametrize(
    ("transposed", "index"), CASES, ids=[f"{'T' if t else 'F'}{i}" for t, i in CASES]
)
@pytest.mark.parametrize("weights", ["numpy", "dask"])
def test_chunked_input_equals_numpy_block_for_block(transposed, index, weights):
    ndim, shape, chunks, channels, kernel, hyper = (
        TRANSPOSED_CASES if transposed else FORWARD_CASES
    )[index]
    x, chunked, w, b = _arrays(
        shape, chunks, channels, kernel, hyper, ndim, transposed, np.random.default_rng(index)
    )
    op = (TRANSPOSED if transposed else FORWARD)[ndim]
    wb = (w, b) if weights == "numpy" else (da.from_array(w), da.from_array(b))
    y = op(chunked, *wb, **hyper)
    want = op(x, w, b, **hyper)
    assert isinstance(y, da.Array)
    batched = len(shape) == ndim + 2
    if batched:
        assert y.chunks[0] == chunked.chunks[0]  # the batch chunks are kept
    spatial = y.chunks[-ndim:]
    for axis, (out_chunks, in_chunks) in enumerate(zip(spatial, chunked.chunks[-ndim:])):
        # the input's spatial blocks, up to an edge block (and, for a strided forward
        # convolution, blocks that fall together in its smaller output)
        assert 1 <= len(out_chunks) <= len(in_chunks) + 1, (axis, out_chunks, in_chunks)
        if transposed:
            assert len(out_chunks) >= len(in_chunks) - 1, (axis, out_chunks, in_chunks)
    np.testing.assert_allclose(y.compute(), want, rtol=1e-12, atol=1e-12)


def _tasks(y) -> int:
    return len(dict(y.__dask_graph__()))


def test_graph_grows_with_blocks_not_taps():
    """Tasks per block depend on how many input chunks a block's halo reaches, not on
    the taps: measured 9 per block without crossing, 21 crossing into neighbours."""
    rng = np.random.default_rng(0)
    x = da.from_array(rng.standard_normal((4, 8, 32, 32)), chunks=(2, 8, 8, 8))

    def tasks(x, k):
        return _tasks(ops.conv_transpose2d(x, rng.standard_normal((8, 4, k, k)), stride=2))

    by_taps = {k: tasks(x, k) for k in (4, 8, 16)}
    assert by_taps[4] == by_taps[8] == by_taps[16]  # 16, 64 or 256 taps: one graph
    finer = x.rechunk((1, 8, 4, 4))  # eight times the blocks
    assert 7 < tasks(finer, 4) / by_taps[4] < 9.5


def test_blocks_beyond_every_input_are_zero_plus_bias():
    # With output_padding the last output rows receive no input: the bias alone.
    x = np.ones((1, 1, 4))
    w, b = np.ones((1, 1, 1)), np.array([0.5])
    y = ops.conv_transpose1d(da.from_array(x, chunks=(1, 1, 1)), w, b, stride=3, output_padding=2)
    np.testing.assert_array_equal(
        y.compute(), ops.conv_transpose1d(x, w, b, stride=3, output_padding=2)
    )


def reset_peak_memory() -> None:
    """Start the process's peak resident memory afresh (Linux's clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_memory() -> int:
    """The process's peak resident memory since :func:`reset_peak_memory`, in bytes."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux's /proc")
def test_cluster_upsamples_an_output_larger_than_any_worker():
    """2 workers, 1 thread and 400 MiB each; the output is 512 MiB of float32."""
    distributed = pytest.importorskip("distributed")
    limit = 400 * 2**20
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8, 128, 128)).astype(np.float32)
    w = (rng.standard_normal((8, 32, 4, 4)) / 8).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    started = time.monotonic()
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit=limit,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # the data on a worker, as a loaded data set would be, not inside the graph
        stored = da.from_delayed(client.scatter(x), x.shape, x.dtype)
        chunked = stored.rechunk((4, 8, 128, 128))
        y = ops.conv_transpose2d(chunked, w, b, stride=2, padding=1)
        assert y.nbytes == 512 * 2**20 and y.nbytes > limit
        client.run(reset_peak_memory)  # a forked worker inherits its parent's peak
        sums, squares = da.compute(y.sum(axis=(0, 2, 3)), (y * y).sum(axis=(0, 2, 3)))
        peaks = client.run(peak_memory)
    seconds = time.monotonic() - started
    want = ops.conv_transpose2d(x, w, b, stride=2, padding=1).astype(np.float64)
    np.testing.assert_allclose(sums, want.sum(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(squares, (want * want).sum(axis=(0, 2, 3)), rtol=1e-4)
    print(
        f"cluster: {seconds:.1f} s, peak RSS per worker "
        f"{', '.join(f'{p / 2**20:.0f} MiB' for p in peaks.values())} (limit {limit >> 20} MiB)"
    )
    assert all(peak < limit for peak in peaks.values())


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_convolution_modules_take_dask_input(rank):
    import lucid.nn as nn

    rng = np.random.default_rng(rank)
    x = rng.standard_normal((4, 3, *(6,) * rank)).astype(np.float32)
    chunked = da.from_array(x, chunks=(2, 3, *(3,) * rank))
    transposed = getattr(nn, f"ConvTranspose{rank}d")(3, 2, 4, stride=2, padding=1)
    forward = getattr(nn, f"Conv{rank}d")(2, 5, 3, padding=1)
    for module in (transposed, forward):  # NumPy parameters, a Dask input
        y = module(chunked if module is transposed else transposed(chunked))
        assert isinstance(y, da.Array)
        assert isinstance(module.weight, np.ndarray)
    np.testing.assert_allclose(y.compute(), forward(transposed(x)), rtol=1e-5, atol=1e-5)
    lazy = getattr(nn, f"LazyConvTranspose{rank}d")(2, 4, stride=2, padding=1)
    y = lazy(chunked)  # materialises NumPy parameters from the Dask input
    assert isinstance(lazy.weight, np.ndarray) and lazy.in_channels == 3
    np.testing.assert_allclose(y.compute(), lazy(x), rtol=1e-5, atol=1e-5)
    want = transposed(x)
    transposed.to("dask")  # Dask parameters work too
    assert isinstance(transposed.weight, da.Array)
    np.testing.assert_allclose(transposed(chunked).compute(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transposed", [True, False], ids=["transposed", "forward"])
def test_a_numpy_input_with_dask_weights_is_a_clear_type_error(transposed):
    """Dask weights need a Dask input (blocks come from the input), said before any work."""
    op = TRANSPOSED[2] if transposed else FORWARD[2]
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    w = da.ones((2, 2, 3, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="input and weight come from different array libraries"):
        op(x, w)


def _layers():
    """Every non-convolution layer of lucid.nn, each with its input's shape."""
    import lucid.nn as nn

    image = (4, 8, 6, 6)
    return {
        "Linear": (lambda: nn.Linear(6, 5), image),
        "LazyLinear": (lambda: nn.LazyLinear(5), image),
        "BatchNorm1d": (lambda: nn.BatchNorm1d(8), (4, 8, 10)),
        "BatchNorm2d": (lambda: nn.BatchNorm2d(8), image),
        "BatchNorm3d": (lambda: nn.BatchNorm3d(8, momentum=None), (2, 8, 4, 4, 4)),
        "LazyBatchNorm2d": (lambda: nn.LazyBatchNorm2d(), image),
        "GroupNorm": (lambda: nn.GroupNorm(4, 8), image),
        "LayerNorm": (lambda: nn.LayerNorm([6, 6]), image),
        "PixelShuffle": (lambda: nn.PixelShuffle(2), image),
        "PixelUnshuffle": (lambda: nn.PixelUnshuffle(2), image),
        "Upsample-nearest": (lambda: nn.Upsample(scale_factor=2), image),
        "Upsample-bilinear": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), image),
        "Dropout": (lambda: nn.Dropout(0.5), image),
        "Flatten": (lambda: nn.Flatten(), image),
        "Unflatten": (lambda: nn.Unflatten(1, (2, 4)), image),
        "Identity": (lambda: nn.Identity(), image),
        **{
            name: (getattr(nn, name), image)
            for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh")
        },
        "Softplus": (lambda: nn.Softplus(), image),
        "Hardtanh": (lambda: nn.Hardtanh(), image),
    }


LAYERS = _layers()


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_takes_dask_input_beside_numpy_parameters(name, training):
    """Same values as NumPy, a Dask output keeping the batch chunks, NumPy state kept."""
    import lucid

    make, shape = LAYERS[name]
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(shape).astype(np.float32)
    chunked = da.from_array(x, chunks=(2, *shape[1:2], *(max(1, s // 2) for s in shape[2:])))
    on_numpy, on_dask = make(), make()
    if not name.startswith("Lazy"):  # the same weights, and running statistics worth using
        on_numpy(rng.standard_normal(shape).astype(np.float32) + 1)
        on_dask.load_state_dict(on_numpy.state_dict())
    on_numpy.train(training), on_dask.train(training)
    lucid.manual_seed(3)
    want = on_numpy(x)
    lucid.manual_seed(3)
    y = on_dask(chunked)
    assert isinstance(y, da.Array)
    assert y.chunks[0] == chunked.chunks[0]
    np.testing.assert_allclose(y.compute(), want, rtol=1e-5, atol=1e-6)
    state, reference = on_dask.state_dict(), on_numpy.state_dict()
    assert state.keys() == reference.keys()
    for key, value in state.items():  # parameters and running statistics stay NumPy
        assert isinstance(value, np.ndarray), key
        np.testing.assert_allclose(value, reference[key], rtol=1e-5, atol=1e-6, err_msg=key)
