"""Property-based conformance: Hypothesis draws configurations beyond the grids.

Contract: for any valid configuration (1-, 2- or 3-d; any groups up to 4, including
odd counts; strides and dilations up to 4; padding up to 3; output_padding anywhere
torch allows it; optional ``output_size``), lucid on every backend matches torch in
float64 (1e-12) and float32 (1e-5).  The ``lucid-ci`` profile (conftest.py) is
derandomized with 60 examples; ``LUCID_HYPOTHESIS_PROFILE=lucid-thorough`` explores.
"""

from __future__ import annotations

import os

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lucid.testing import Backend, assert_close

from ._grid import Case, output_spatial
from ._lucid import evaluate
from ._reference import assert_all, torch_reference

PROFILE = settings.get_profile(os.environ.get("LUCID_HYPOTHESIS_PROFILE", "lucid-ci"))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A valid transposed-convolution configuration, torch's constraints included."""
    ndim = draw(st.sampled_from([2, 1, 3]))
    per_dim = st.integers(1, 4)
    stride = tuple(draw(per_dim) for _ in range(ndim))
    dilation = tuple(draw(per_dim) for _ in range(ndim))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    kernel = tuple(draw(st.integers(1, 5 if ndim < 3 else 3)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    size = tuple(draw(st.integers(1, 8 if ndim < 3 else 4)) for _ in range(ndim))
    mode = draw(st.sampled_from(["none", "spatial", "full"]))
    extra = tuple(draw(st.integers(0, s - 1)) for s in stride) if mode != "none" else ()
    smallest = output_spatial(size, kernel, stride, padding, (0,) * ndim, dilation)
    case = Case(
        batch=draw(st.sampled_from([1, None, 0, 2, 3])),
        groups=draw(st.integers(1, 4)),
        in_per_group=draw(st.integers(1, 3)),
        out_per_group=draw(st.integers(1, 3)),
        input_size=size,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        bias=draw(st.booleans()),
        output_size_mode=mode,
        output_size_extra=extra,
        seed=draw(st.integers(0, 2**16)),
    )
    assume(all(n > 0 for n in case.output_spatial))
    assume(mode == "none" or all(n > 0 for n in smallest))
    return case


@PROFILE
@given(case=cases(), dtype=st.sampled_from(["float64", "float32"]))
def test_random_configurations_match_torch(backend: Backend, case: Case, dtype: str) -> None:
    def check(case: Case, y: object) -> None:
        assert_close(y, torch_reference(case).output, backend=backend, dtype=dtype)

    assert_all([case], evaluate([case], backend, dtype), check)
