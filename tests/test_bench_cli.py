"""Smoke tests of ``python -m lucid bench``: it runs and reports, never how fast."""

from __future__ import annotations

import json
import sys

import pytest

from lucid._cli import bench
from lucid._cli._bench_cases import SUITE, Case, select


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
    printed = capsys.readouterr().out
    assert "| tiny |" in printed and "geomean" in printed
    assert "Command: `python -m lucid bench --backend" in md.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS via /proc")
def test_memory_worker_measures_a_fresh_process() -> None:
    from lucid._cli._bench_memory import measure_in_subprocess

    tiny = next(c for c in SUITE if c.name == "tiny")
    peaks = measure_in_subprocess("numpy", "lucid", [tiny], ["forward"])
    assert list(peaks) == ["tiny/forward"]
    assert peaks["tiny/forward"] is not None and peaks["tiny/forward"] >= 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS via /proc")
def test_memory_worker_runs_lucid_on_jax_eagerly() -> None:
    pytest.importorskip("jax", reason="the eager candidate is lucid on JAX")
    from lucid._cli._bench_memory import measure_in_subprocess

    tiny = next(c for c in SUITE if c.name == "tiny")
    peaks = measure_in_subprocess("jax", "lucid-eager", [tiny], ["forward"])
    assert peaks["tiny/forward"] is not None and peaks["tiny/forward"] >= 0
