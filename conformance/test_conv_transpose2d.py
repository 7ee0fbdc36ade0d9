"""conv_transpose2d agrees with torch on the whole deterministic 2-d grid.

Contract: for every case of :func:`conformance._grid.grid_2d` and on every backend,
``lucid.ops.conv_transpose2d`` returns an array of the input's namespace and dtype,
of torch's shape, within ``max|y - ref| / max|ref| <= 1e-5`` (float32) or ``1e-12``
(float64) of ``torch.nn.functional.conv_transpose2d`` computed in float64.  Cases run
in chunks; a failing chunk lists every failing case.
"""

from __future__ import annotations

import pytest

from lucid.testing import Backend, assert_close

from ._grid import Case, chunks, grid_2d
from ._lucid import evaluate
from ._reference import assert_all, torch_reference

CHUNK = 25
CHUNKS = list(chunks(grid_2d(), CHUNK))
CHUNK_IDS = [f"cases{i * CHUNK}-{i * CHUNK + len(c) - 1}" for i, c in enumerate(CHUNKS)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", CHUNKS, ids=CHUNK_IDS)
def test_grid_matches_torch(backend: Backend, dtype: str, cases: tuple[Case, ...]) -> None:
    def check(case: Case, y: object) -> None:
        assert_close(y, torch_reference(case).output, backend=backend, dtype=dtype)

    assert_all(cases, evaluate(cases, backend, dtype), check)
