"""One parametrized backend fixture for every test in tests/, conformance/ and the docs.

``pytest --backend numpy --backend jax`` (or ``LUCID_TEST_BACKENDS=numpy,jax``) selects
backends; a backend asked for by name that is not installed is an error, not a skip.
With neither, every installed backend runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


#: Simulated CPU devices for the data-parallel (sharding) tests of the jax session.
JAX_DEVICES = 4
_DEVICE_FLAG = f"--xla_force_host_platform_device_count={JAX_DEVICES}"


def pytest_configure(config: pytest.Config) -> None:
    config.lucid_backends = _selected(config)  # type: ignore[attr-defined]
    # XLA reads the flag once, when JAX starts; a JAX already started keeps its devices
    # and the sharding tests skip.  Only the jax session asks for it.
    flags = os.environ.get("XLA_FLAGS", "")
    if "jax" in config.lucid_backends and "jax" not in sys.modules and _DEVICE_FLAG not in flags:  # type: ignore[attr-defined]
        os.environ["XLA_FLAGS"] = f"{flags} {_DEVICE_FLAG}".strip()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Doctests that need flax run in the jax session (which installs it) only."""
    if collection_path.name in _JAX_ONLY_DOCTESTS:
        return "jax" not in config.lucid_backends  # type: ignore[attr-defined]
    return None


_JAX_ONLY_DOCTESTS = ("_nnx.py",)


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
