"""Smoke tests of ``python -m benchmarks.layers``: it runs and reports, never how fast."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import layers as bench
from benchmarks.cases import SUITE, Case, Product, matmul_layouts, select
from benchmarks.report import Row, summary_table, timing_table


def test_suite_has_the_documented_layers() -> None:
    names = {c.name for c in SUITE}
    assert {"vae", "dcgan", "unet", "same", "grouped", "dilated", "large", "tiny"} <= names
    vae = next(c for c in SUITE if c.name == "vae")
    assert (vae.n, vae.c_in, vae.c_out, vae.size, vae.kernel, vae.stride, vae.padding) == (
        4,
        128,
        64,
        (8, 8),
        4,
        2,
        1,
    )


def test_case_round_trips_through_json() -> None:
    case = SUITE[4]
    assert Case.from_json(json.loads(json.dumps(case.to_json()))) == case


def test_unknown_shape_is_named() -> None:
    with pytest.raises(ValueError, match="nosuch"):
        select("tiny,nosuch", quick=False)


def _product_flops(product: Product) -> float:
    """2*m*k*n per matrix of the broadcast batch, as ``numpy.matmul`` would compute."""
    (*batch_a, m, k), (*batch_b, k_b, n) = product
    assert k == k_b
    return 2.0 * math.prod(np.broadcast_shapes(tuple(batch_a), tuple(batch_b))) * m * k * n


_FLOOR_CASES = {c.name: c for c in SUITE}
_FLOOR_CASES["grouped-down"] = Case(
    "grouped-down", 2, 8, 12, (9, 9), 3, stride=2, padding=1, groups=4, op="conv2d"
)


@pytest.mark.parametrize("name", sorted(_FLOOR_CASES))
def test_every_matmul_layout_does_exactly_the_case_flops(name: str) -> None:
    case = _FLOOR_CASES[name]
    layouts = matmul_layouts(case)
    expected = {"columns", "channels-first"} if case.transposed else {"windows", "channels-first"}
    assert expected <= set(layouts) <= expected | {"phase"}
    for layout, products in layouts.items():
        assert sum(_product_flops(p) for p in products) == case.flops(), layout


def test_phase_layout_only_where_phases_split_taps_and_pixels_evenly() -> None:
    by_name = {c.name: c for c in SUITE}
    # k4 s2: four phases of four taps; 3-D: eight phases of eight taps.
    assert len(matmul_layouts(by_name["vae"])["phase"]) == 4
    assert len(matmul_layouts(by_name["volume-up"])["phase"]) == 8
    # k3 s2 (9 taps over 4 phases), and k3 s1 p0 (36 output pixels from 16 input ones).
    assert "phase" not in matmul_layouts(by_name["grouped"])
    assert "phase" not in matmul_layouts(by_name["tiny"])
    # Groups are a leading batch axis: 32 groups of 4 -> 4 channels.
    assert matmul_layouts(by_name["grouped"])["columns"] == [((32, 8192, 4), (32, 4, 36))]


def test_floor_column_is_a_dash_without_a_floor() -> None:
    common = dict(case="tiny", shape="N1", backend="torch", flops=1e6, matmul_gflops=1.0)
    rows = [
        Row(direction="forward", lucid_s=2.0, native_s=4.0, repeats=1, floor_s=1.0, **common),
        Row(direction="forward+backward", lucid_s=2.0, native_s=4.0, repeats=1, **common),
    ]
    forward, backward = timing_table(rows)[2:]
    assert "| **0.50** | 0.25 |" in forward
    assert "| **0.50** | — |" in backward
    assert rows[0].to_json()["floor_over_native"] == 0.25
    assert rows[1].to_json()["floor_over_native"] is None
    header, _, forward_sum, backward_sum = summary_table(rows)
    assert "geomean matmul floor / native" in header
    assert "| **0.50** | 0.25 |" in forward_sum and "| **0.50** | — |" in backward_sum


@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
def test_bench_cli_one_tiny_row(name: str, tmp_path, capsys) -> None:
    pytest.importorskip(name)
    out = tmp_path / "rows.json"
    md = tmp_path / "report.md"
    code = bench.main(
        [
            "--backend",
            name,
            "--shapes",
            "tiny",
            "--repeat",
            "1",
            "--no-memory",
            "--no-progress",
            "--json",
            str(out),
            "--markdown",
            str(md),
        ]
    )
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    assert {r["direction"] for r in rows} == (
        {"forward"} if name == "numpy" else {"forward", "forward+backward"}
    )
    assert all(r["backend"] == name and r["lucid_s"] > 0 and r["native_s"] > 0 for r in rows)
    for r in rows:
        floor = r["floor_over_native"]
        if r["direction"] == "forward":
            assert math.isfinite(floor) and floor > 0
            assert r["floor_layout"] in matmul_layouts(next(c for c in SUITE if c.name == "tiny"))
        else:
            assert floor is None and r["floor_s"] is None
    printed = capsys.readouterr().out
    assert "| tiny |" in printed and "geomean" in printed
    assert "matmul floor / native" in printed and "Matmul floor / native:" in printed
    backward_lines = [line for line in printed.splitlines() if "| forward+backward |" in line]
    assert all("| — |" in line for line in backward_lines)
    assert "Command: `python -m benchmarks.layers --backend" in md.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS via /proc")
def test_memory_worker_measures_a_fresh_process() -> None:
    from benchmarks.memory import measure_in_subprocess

    tiny = next(c for c in SUITE if c.name == "tiny")
    peaks = measure_in_subprocess("numpy", "lucid", [tiny], ["forward"])
    assert list(peaks) == ["tiny/forward"]
    assert peaks["tiny/forward"] is not None and peaks["tiny/forward"] >= 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS via /proc")
def test_memory_worker_runs_lucid_on_jax_eagerly() -> None:
    pytest.importorskip("jax", reason="the eager candidate is lucid on JAX")
    from benchmarks.memory import measure_in_subprocess

    tiny = next(c for c in SUITE if c.name == "tiny")
    peaks = measure_in_subprocess("jax", "lucid-eager", [tiny], ["forward"])
    assert peaks["tiny/forward"] is not None and peaks["tiny/forward"] >= 0


@pytest.mark.parametrize(
    "module",
    ["benchmarks.layers", "benchmarks.networks", "benchmarks.sweep", "benchmarks.conv_layout"],
)
def test_each_benchmark_runs_as_a_module(module: str) -> None:
    """``python -m benchmarks.<name>`` from the checkout reaches its ``main``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"usage: python -m {module}" in done.stdout


def test_conv_layout_times_both_layouts_and_leaves_the_rule_in_place() -> None:
    from benchmarks import conv_layout
    from lucid.ops import conv

    rule = conv.windows_channels_last
    layers = conv_layout.draw(seed=3, count=40)
    assert layers and layers == conv_layout.draw(seed=3, count=40)
    row = conv_layout.time_layer("numpy", (1, 2, 3, (8, 8), 3), 0.0, np.random.default_rng(0))
    assert conv.windows_channels_last is rule
    assert row["channels_last_ms"] > 0 and row["channels_first_ms"] > 0
    assert row["rule_over_faster"] >= 1.0 and row["channels_last_over_faster"] >= 1.0
    header, _, line = conv_layout.summary([row])
    assert "rule within 1.2x" in header and line.startswith("| numpy | 1 |")
