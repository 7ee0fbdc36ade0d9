"""conv_transpose1d and conv_transpose3d agree with torch on their smaller grids.

Contract: as for the 2-d grid (``test_conv_transpose2d.py``), against
``torch.nn.functional.conv_transpose1d`` / ``conv_transpose3d`` (or the module's
``forward(output_size=...)``) in float64, for float32 and float64 inputs.
"""

from __future__ import annotations

import pytest

from lucid.testing import Backend, assert_close

from ._grid import Case, chunks, grid_1d, grid_3d
from ._lucid import evaluate
from ._reference import assert_all, torch_reference

CHUNK = 25
CHUNKS = [
    pytest.param(cases, id=f"{ndim}d-cases{i * CHUNK}-{i * CHUNK + len(cases) - 1}")
    for ndim, grid in ((1, grid_1d()), (3, grid_3d()))
    for i, cases in enumerate(chunks(grid, CHUNK))
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cases", CHUNKS)
def test_nd_grid_matches_torch(backend: Backend, dtype: str, cases: tuple[Case, ...]) -> None:
    def check(case: Case, y: object) -> None:
        assert_close(y, torch_reference(case).output, backend=backend, dtype=dtype)

    assert_all(cases, evaluate(cases, backend, dtype), check)
