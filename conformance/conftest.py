"""Conformance-suite settings: the Hypothesis profiles.

``lucid-ci`` (the default) is derandomized, so every run and every
backend sees the same examples; ``LUCID_HYPOTHESIS_PROFILE=lucid-thorough`` draws many
fresh ones.  The tests apply the profile themselves (``@PROFILE`` in test_properties.py)
instead of loading it globally, so Hypothesis settings elsewhere are untouched.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# The backend fixture only returns a cached description of the backend, so reusing
# it across a test's examples is safe.
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
settings.register_profile("lucid-ci", derandomize=True, max_examples=60, **_COMMON)
settings.register_profile("lucid-thorough", max_examples=1000, **_COMMON)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-seconds",
        type=float,
        default=20.0,
        help="time box of each differential-fuzz test (conformance/test_fuzz.py)",
    )
