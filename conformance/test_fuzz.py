"""Differential fuzz: Hypothesis draws convolution calls, lucid must equal torch on each.

Beyond ``test_properties.py`` it draws forced formulations, non-finite and overflowing
values, empty batches, and non-contiguous, strided and broadcast (zero-stride) inputs,
for the forward and the transposed convolutions of every rank (see
:mod:`conformance._fuzz` for the data and the comparison).

The run is time-boxed: each test stops drawing new work after ``--fuzz-seconds``
(default 20 s: two tests on two workers, 40 CPU-seconds per backend, so that the whole
matrix stays within minutes; ``nox -s fuzz`` gives each test 300 s).
The normal matrix draws the same examples every run; ``nox -s fuzz -- --fuzz-seconds
600 --hypothesis-seed 1234`` explores longer from a seed of your choice.  A failure
prints its one-line reproducer (``python -m conformance._fuzz``).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, note, reject, seed, settings
from hypothesis import strategies as st

from lucid.ops._ct_forward import FORMULATIONS
from lucid.testing import Backend

from ._fuzz import LAYOUTS, VALUES, FuzzCase, NotApplicableError, check, reproducer


@st.composite
def fuzz_cases(draw: st.DrawFn, transposed: bool) -> FuzzCase:
    """A valid call of a forward or transposed convolution, torch's constraints included."""
    ndim = draw(st.sampled_from([1, 2, 3]))
    small = 3 if ndim == 3 else 6
    stride = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 4 if ndim < 3 else 3)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    if transposed:
        output_padding = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        )
    else:
        output_padding = (0,) * ndim
    size = tuple(draw(st.integers(1, small)) for _ in range(ndim))
    case = FuzzCase(
        transposed=transposed,
        ndim=ndim,
        batch=draw(st.sampled_from([2, 1, 0, None, 3])),
        groups=draw(st.integers(1, 3)),
        in_per_group=draw(st.integers(1, 3)),
        out_per_group=draw(st.integers(1, 3)),
        size=size,
        kernel=kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from(["float32", "float64"])),
        formulation=draw(st.sampled_from([None, *FORMULATIONS])) if transposed else None,
        values=draw(st.sampled_from(VALUES)),
        layout=draw(st.sampled_from(LAYOUTS)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )
    for n, k, s, p, op, d in zip(size, kernel, stride, padding, output_padding, dilation):
        out = (
            (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if transposed
            else ((n + 2 * p - d * (k - 1) - 1) // s + 1)
        )
        if out <= 0:
            reject()
    return case


# Hypothesis has no time budget of its own: the test runs it in rounds of this many
# examples, each round from the next seed, until the time box is spent.
ROUND = 8
ROUND_SETTINGS = settings(
    max_examples=ROUND,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.fixture
def budget(request: pytest.FixtureRequest) -> float:
    """The time at which the test draws no further examples."""
    return time.monotonic() + float(request.config.getoption("--fuzz-seconds"))


def _run(case: FuzzCase, backend: Backend, budget: float, ran: list[int]) -> None:
    if time.monotonic() > budget:
        return  # the time box is spent: the rest of this round is not run
    note(f"reproducer: {reproducer(case, backend.name)}")
    try:
        check(case, backend)
    except NotApplicableError:
        reject()
    ran.append(1)


@pytest.mark.parametrize("transposed", [True, False], ids=["transposed", "forward"])
def test_lucid_equals_torch_on_fuzzed_calls(
    request: pytest.FixtureRequest, backend: Backend, budget: float, transposed: bool
) -> None:
    # The same rounds every run unless --hypothesis-seed asks for others.
    first = int(request.config.getoption("--hypothesis-seed") or 0) * 1_000_003
    ran: list[int] = []
    rounds = 0
    while time.monotonic() < budget:

        @seed(first + rounds)
        @ROUND_SETTINGS
        @given(case=fuzz_cases(transposed))
        def fuzz(case: FuzzCase) -> None:
            _run(case, backend, budget, ran)

        fuzz()
        rounds += 1
    assert ran, "the time box ended before a single case ran"
    print(f"{backend.name}: {len(ran)} fuzzed {'transposed ' * transposed}convolutions")
