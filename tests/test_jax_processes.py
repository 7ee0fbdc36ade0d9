"""JAX across processes: two processes on localhost run one data-parallel training step.

Each process (``tests/_processes/data_parallel_step.py``) joins a two-process JAX
cluster over a loopback coordinator with CPU collectives (gloo), holds half the batch
and computes the gradient of a lucid decoder's loss over the global batch; both must
equal the gradient one process computes on the whole batch.  The test starts and stops
both processes and is bounded in time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lucid.testing import load_backend

WORKER = Path(__file__).parent / "_processes" / "data_parallel_step.py"
TIMEOUT = 120


pytestmark = pytest.mark.only_backend("jax", reason="JAX processes: the jax session")


@pytest.fixture
def jax(request: pytest.FixtureRequest) -> Any:
    load_backend("jax")
    import jax

    return jax


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_processes_agree_with_one(jax: Any, tmp_path: Path) -> None:
    sys.path.insert(0, str(WORKER.parent))
    try:
        import data_parallel_step as worker
    finally:
        sys.path.remove(str(WORKER.parent))
    port = str(_free_port())
    env = {**os.environ, "XLA_FLAGS": "", "PYTHONPATH": str(Path(__file__).parents[1])}
    outs = [tmp_path / f"process{i}.npz" for i in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(i), port, str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i, out in enumerate(outs)
    ]
    try:
        logs = [p.communicate(timeout=TIMEOUT)[0].decode(errors="replace") for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, log in zip(processes, logs):
        assert p.returncode == 0, log[-3000:]

    model = worker.decoder().to("jax")
    value, grads = jax.value_and_grad(worker.loss)(model, jax.numpy.asarray(worker.batch()))
    want = [np.asarray(g) for g in jax.tree_util.tree_leaves(grads)]
    for out in outs:
        got = np.load(out)
        np.testing.assert_allclose(got["loss"], np.asarray(value), rtol=1e-5)
        assert len(got.files) == len(want) + 1
        for i, g in enumerate(want):
            np.testing.assert_allclose(got[f"g{i}"], g, rtol=1e-4, atol=1e-6)
