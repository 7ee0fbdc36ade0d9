"""The conformance grids are what they claim to be (no backend involved).

Contract: the 2-d grid has at least 500 distinct, valid cases; it holds every value of
every axis and every pair of values of every two axes (pairwise covering); it holds
every valid (stride, dilation, output_padding) combination of both dimensions; the
gradient subset, and the 1-d and 3-d grids, hold the cases that matter for them; and
all of it is deterministic.
"""

from __future__ import annotations

import itertools

import pytest

from ._grid import (
    AXES_2D,
    axis_value,
    gradient_grid_2d,
    grid_1d,
    grid_2d,
    grid_3d,
    valid_dimension_triples,
)


def test_grid_is_large_distinct_and_deterministic() -> None:
    grid = grid_2d()
    assert len(grid) >= 500
    assert len(set(grid)) == len(grid)
    assert grid == grid_2d()


@pytest.mark.parametrize("axis", list(AXES_2D))
def test_grid_covers_every_value_of_each_axis(axis: str) -> None:
    seen = {axis_value(case, axis) for case in grid_2d()}
    assert seen == set(AXES_2D[axis])


def test_grid_covers_every_pair_of_axis_values() -> None:
    grid = grid_2d()
    missing = {}
    for a, b in itertools.combinations(AXES_2D, 2):
        wanted = set(itertools.product(AXES_2D[a], AXES_2D[b]))
        seen = {(axis_value(case, a), axis_value(case, b)) for case in grid}
        if wanted - seen:
            missing[a, b] = sorted(wanted - seen, key=repr)
    assert not missing


def test_grid_has_every_valid_output_padding_in_both_dimensions() -> None:
    triples = valid_dimension_triples()
    assert len(triples) == 22  # sum over stride, dilation in 1..3 of max(stride, dilation)
    seen = {
        tuple((c.stride[i], c.dilation[i], c.output_padding[i]) for i in range(2))
        for c in grid_2d()
    }
    assert set(itertools.product(triples, triples)) <= seen


def test_grid_cases_are_valid_for_torch() -> None:
    for case in grid_2d() + grid_1d() + grid_3d():
        assert all(n > 0 for n in case.output_spatial), case
        for s, d, op in zip(case.stride, case.dilation, case.output_padding):
            assert op < s or op < d, case
        for s, extra in zip(case.stride, case.output_size_extra):
            assert 0 <= extra < s, case
        assert case.in_channels % case.groups == 0


def test_output_size_cases_override_a_nonzero_output_padding() -> None:
    with_size = [c for c in grid_2d() if c.output_size_mode != "none"]
    assert {c.output_size_mode for c in with_size} == {"spatial", "full"}
    assert {c.batch for c in with_size} == set(AXES_2D["batch"])
    assert any(c.output_padding != c.output_size_extra for c in with_size)


def test_gradient_subset_holds_the_cases_that_matter() -> None:
    cases = gradient_grid_2d()
    assert len(cases) >= 50
    assert set(cases) <= set(grid_2d())
    assert {c.groups for c in cases} == {1, 2, 4}
    assert {c.batch for c in cases} == {None, 0, 1, 3}
    assert {c.bias for c in cases} == {False, True}
    assert {c.output_size_mode for c in cases} == {"none", "spatial", "full"}
    assert any(max(c.dilation) == 3 for c in cases)
    assert any(max(c.stride) == 3 for c in cases)
    # output_padding allowed by the dilation only (not smaller than the stride)
    assert any(op >= s for c in cases for op, s in zip(c.output_padding, c.stride))


@pytest.mark.parametrize(("grid", "ndim"), [(grid_1d, 1), (grid_3d, 3)])
def test_nd_grids_cover_every_valid_triple(grid, ndim: int) -> None:
    cases = grid()
    assert len(cases) >= 60
    assert {c.ndim for c in cases} == {ndim}
    seen = {(c.stride[i], c.dilation[i], c.output_padding[i]) for c in cases for i in range(ndim)}
    assert seen == set(valid_dimension_triples())
    assert {c.batch for c in cases} == {None, 0, 1, 3}
    assert {c.output_size_mode for c in cases} == {"none", "spatial", "full"}
    assert {c.groups for c in cases} > {1}
