"""One parametrized backend fixture for every test in tests/, conformance/ and the docs.

``pytest --backend numpy --backend jax`` (or ``LUCID_TEST_BACKENDS=numpy,jax``) selects
backends; a backend asked for by name that is not installed is an error, not a skip.
With neither, every installed backend runs.
"""

from __future__ import annotations

import os

import pytest

from lucid.testing import BACKEND_NAMES, Backend, available_backends, load_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKEND_NAMES,
        help="run tests on this backend (repeatable); default: every installed backend",
    )


def _selected(config: pytest.Config) -> tuple[str, ...]:
    chosen = config.getoption("--backend") or [
        name for name in os.environ.get("LUCID_TEST_BACKENDS", "").split(",") if name
    ]
    if not chosen:
        return available_backends()
    unknown = [name for name in chosen if name not in BACKEND_NAMES]
    missing = [name for name in chosen if name not in available_backends()]
    if unknown or missing:
        raise pytest.UsageError(
            f"backends {unknown + missing} were requested but are not installed or unknown; "
            f"known: {BACKEND_NAMES}, installed: {available_backends()}"
        )
    return tuple(dict.fromkeys(chosen))


def pytest_configure(config: pytest.Config) -> None:
    config.lucid_backends = _selected(config)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str:
    return f"lucid backends: {', '.join(config.lucid_backends)}"  # type: ignore[attr-defined]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = metafunc.config.lucid_backends  # type: ignore[attr-defined]
        metafunc.parametrize("backend", names, indirect=True, ids=names)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend under test; see :class:`lucid.testing.Backend`."""
    return load_backend(request.param)


@pytest.fixture
def xp(backend: Backend):
    """The Array API namespace of the backend under test."""
    return backend.xp
