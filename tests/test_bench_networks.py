"""The network benchmarks build what they say, and lucid's network equals its native twin.

Smoke and agreement only; never how fast (that is the benchmark's job).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import networks
from benchmarks.networks import NETWORKS, Layer, build, check_agreement

pytest.importorskip("torch")


def _kinds(name: str) -> set[tuple[str, int, int]]:
    net = next(n for n in NETWORKS if n.name == name)
    return {(la.kind, la.kernel, la.stride) for la in net.layers}


def test_the_issue_networks_are_there_with_their_layers() -> None:
    names = {n.name for n in NETWORKS}
    assert {
        "vae-decoder",
        "dcgan-generator",
        "unet-decoder",
        "mask-upscaler",
        "vocoder-1d",
        "volume-decoder-3d",
    } == names
    assert {("up", 16, 8), ("up", 4, 2)} <= _kinds("vocoder-1d")
    assert ("up", 2, 2) in _kinds("mask-upscaler")
    rgb = next(n for n in NETWORKS if n.name == "vae-decoder").layers[-1]
    assert (rgb.kind, rgb.c_out) == ("up", 3)
    dims = {n.name: n.ndim for n in NETWORKS}
    assert dims["vocoder-1d"] == 1 and dims["volume-decoder-3d"] == 3
    assert all(n.batches["small"] < n.batches["realistic"] for n in NETWORKS)


@pytest.mark.parametrize("net", NETWORKS, ids=lambda n: n.name)
def test_declared_shapes_are_the_native_twins(net: networks.Network) -> None:
    fns = build("numpy", net, 1, "forward")
    y = fns["native"]()
    assert y.shape == net.shapes(1)[-1]
    check_agreement(fns)  # lucid on NumPy against torch's modules, same weights


def test_a_wrong_network_fails_the_agreement_check(monkeypatch) -> None:
    net = NETWORKS[0]
    fns = build("numpy", net, 1, "forward")
    fns["lucid"] = lambda: fns["native"]() * np.float32(1.01)
    with pytest.raises(AssertionError, match="disagree"):
        check_agreement(fns)


def test_flops_count_every_convolution() -> None:
    net = networks.Network("two", "", (2, 3), (Layer("up", 2, 4, 3, 2), Layer("conv", 4, 1, 3)))
    # up: 3 input pixels x 2 x 4 x 3 taps; conv: 5 outputs (7 - 3 + 1) x 4 x 1 x 3 taps
    assert net.flops(5) == 2 * 5 * (3 * 2 * 4 * 3 + 5 * 4 * 1 * 3)


def test_training_step_on_torch_returns_every_gradient() -> None:
    net = next(n for n in NETWORKS if n.name == "mask-upscaler")
    fns = build("torch", net, 1, "training")
    grads_lucid, grads_native = fns["lucid"](), fns["native"]()
    assert len(grads_lucid) == len(grads_native) == 2 * 4
    for a, b in zip(grads_lucid, grads_native):
        assert a.shape == b.shape


@pytest.mark.only_backend("jax", reason="the network under jax.jit")
def test_jax_runs_the_whole_network_under_one_jit() -> None:
    net = next(n for n in NETWORKS if n.name == "vocoder-1d")
    check_agreement(build("jax", net, 1, "forward"))
    grads = build("jax", net, 1, "training")["lucid"]()
    assert len(grads) == len(net.layers)


def test_cli_writes_rows_and_a_summary(tmp_path, capsys) -> None:
    out = tmp_path / "rows.json"
    argv = ["--backend", "numpy", "--networks", "mask-upscaler", "--batch", "small"]
    assert networks.main([*argv, "--repeat", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["network"], r["backend"], r["direction"]) for r in rows] == [
        ("mask-upscaler", "numpy", "forward")
    ]
    assert "| numpy | forward |" in capsys.readouterr().out


def test_unknown_network_is_named() -> None:
    with pytest.raises(ValueError, match="nosuch"):
        networks.select("vae-decoder,nosuch")


@pytest.mark.only_backend("jax", reason="jax.jit's compile time is a JAX measurement")
def test_jit_compile_benchmark_compiles_each_candidate_and_restores_lucid() -> None:
    """Each candidate of ``benchmarks.jit_compile`` is a compiled executable of the same
    network (lucid, lucid with the scatter stand-in, jax.lax), and the forced stand-in is
    gone afterwards."""
    from benchmarks.jit_compile import _compile_time
    from lucid.ops import conv_transpose

    net = networks.Network("two", "", (2, 3), (Layer("up", 2, 4, 3, 2), Layer("conv", 4, 1, 3)))
    chosen = conv_transpose.exact_formulation
    for direction in ("forward", "training"):
        runners = _compile_time(net, direction)
        assert set(runners) == {"lucid", "lucid, scatter stand-in", "jax.lax"}
        shapes = {name: str(run().out_info) for name, run in runners.items()}
        assert len(set(shapes.values())) == 1, shapes
    assert conv_transpose.exact_formulation is chosen
