"""A sample of the suite under XLA's default compiler options, in a process of its own.

Contract: the jax session compiles with XLA's older CPU emitters and
``jax_disable_most_optimizations`` (conftest.py), which users do not.  So a sample of the
conformance grids, the forced formulations and the compiled-memory check also runs, in
a fresh process, under XLA's defaults (``LUCID_TEST_XLA=default``), and every one of
its tests passes there; the process checks that it really ran with the defaults.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lucid.ops._ct_forward import FORMULATIONS
from lucid.testing import Backend

ROOT = Path(__file__).parents[1]
_K4_S2 = "(2, 1, 4, 1, 0, 1, 2)"
SAMPLE = (
    "conformance/test_xla_defaults.py::test_this_process_compiles_as_configured",
    "conformance/test_conv_transpose2d.py::test_grid_matches_torch[jax-cases250-274-float32]",
    "conformance/test_conv_forward.py::test_grid_matches_torch[jax-conv2d-cases0-29-float32]",
    "conformance/test_gradients.py::test_gradients_match_torch[jax-cases0-9-float64]",
    *(f"tests/test_ops_formulations.py::test_formulation_matches_torch[jax-{_K4_S2}-{f}]"
      for f in FORMULATIONS if f != "reshape"),  # reshape: taps that never overlap
    "tests/test_ops_formulations.py::test_scatter_keeps_one_chunk_of_taps_alive_under_jit[jax]",
)  # fmt: skip


@pytest.mark.only_backend("jax", reason="XLA's compiler options")
def test_this_process_compiles_as_configured(backend: Backend) -> None:
    import jax

    defaults = os.environ.get("LUCID_TEST_XLA") == "default"
    assert jax.config.read("jax_disable_most_optimizations") is not defaults
    flags = os.environ.get("XLA_FLAGS", "")
    assert "--xla_force_host_platform_device_count" in flags
    if defaults:
        assert "xla_cpu_use_fusion_emitters" not in flags


@pytest.mark.only_backend("jax", reason="XLA's compiler options")
def test_a_sample_passes_under_xlas_defaults(backend: Backend) -> None:
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if "fusion_emitters" not in f]
    env = {**os.environ, "LUCID_TEST_XLA": "default", "XLA_FLAGS": " ".join(flags)}
    env.pop("JAX_DISABLE_MOST_OPTIMIZATIONS", None)
    command = [sys.executable, "-m", "pytest", "--backend=jax", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, *SAMPLE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.fullmatch(rf"{len(SAMPLE)} passed in .*", summary), summary
