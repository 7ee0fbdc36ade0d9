"""One parametrized backend fixture for every test in tests/, conformance/ and the docs.

``pytest --backend numpy --backend jax`` (or ``LUCID_TEST_BACKENDS=numpy,jax``) selects
backends; a backend asked for by name that is not installed is an error, not a skip.
With neither, every installed backend runs.

Backend markers say, in one decorator with a reason, where a test does not apply (as
array-api-extra's ``skip_xp_backend``/``xfail_xp_backend`` do)::

    @pytest.mark.only_backend("jax", reason="jax.jit is a JAX transform")
    @pytest.mark.skip_backend("torch", reason="torch prints shapes as torch.Size")
    @pytest.mark.xfail_backend("array_api_strict", reason="...", strict=True)

On a test that takes the ``backend`` fixture they mark that backend's case; on one that
does not, ``only_backend`` skips it unless one of its backends is selected.  The test
configuration, not lucid, turns on JAX's 64-bit mode (torch-exact float64 checks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# float64 on JAX for every test (torch-exact checks at 1e-12), set before anything imports
# jax, by the test configuration rather than by lucid.testing (installing lucid changes
# nothing).  Subprocesses inherit it; a test of lucid's 32-bit defaults removes it.
os.environ["JAX_ENABLE_X64"] = "1"

import pytest

from lucid.testing import BACKEND_NAMES, Backend, available_backends, load_backend

_MARKERS = {
    "only_backend": "only_backend(*names, reason): run only on these backends",
    "skip_backend": "skip_backend(*names, reason): skip these backends",
    "xfail_backend": "xfail_backend(*names, reason, strict=True): expected to fail there",
}


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
#: XLA's older CPU emitters: the jax session compiles thousands of one-off programs,
#: and with these and ``jax_disable_most_optimizations`` it runs in half the time
#: (BENCHMARKS.md, "The JAX test session's compiler").  ``LUCID_TEST_XLA=default``
#: keeps XLA's defaults; conformance/test_xla_defaults.py runs a sample of the suite so.
FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"
XLA_DEFAULTS = os.environ.get("LUCID_TEST_XLA") == "default"


def _xla_accepts(flag: str) -> bool:
    """Whether this jaxlib knows ``flag``: XLA aborts the process on an unknown one."""
    probe = "import jax; jax.numpy.zeros(1).block_until_ready()"
    env = {**os.environ, "XLA_FLAGS": flag, "JAX_PLATFORMS": "cpu"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _configure_jax() -> None:
    """XLA's options for the jax session, set before anything imports jax (XLA reads
    them once, when JAX starts; a JAX already started keeps its own)."""
    flags = os.environ.get("XLA_FLAGS", "").split()
    wanted = [_DEVICE_FLAG]
    if not XLA_DEFAULTS:
        os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
        named = FAST_COMPILE_FLAG.split("=")[0]
        if not any(f.split("=")[0] == named for f in flags) and _xla_accepts(FAST_COMPILE_FLAG):
            wanted.append(FAST_COMPILE_FLAG)
    os.environ["XLA_FLAGS"] = " ".join(flags + [f for f in wanted if f not in flags])


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS.values():
        config.addinivalue_line("markers", line)
    config.lucid_backends = _selected(config)  # type: ignore[attr-defined]
    # Only the jax session asks; xdist's workers inherit the controller's environment.
    if "jax" in config.lucid_backends and "jax" not in sys.modules:  # type: ignore[attr-defined]
        _configure_jax()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Doctests that need flax run in the jax session (which installs it) only."""
    if collection_path.name in _JAX_ONLY_DOCTESTS:
        return "jax" not in config.lucid_backends  # type: ignore[attr-defined]
    return None


_JAX_ONLY_DOCTESTS = ("_nnx.py",)


def pytest_report_header(config: pytest.Config) -> str:
    return f"lucid backends: {', '.join(config.lucid_backends)}"  # type: ignore[attr-defined]


def _reason(mark: pytest.Mark) -> str:
    reason = mark.kwargs.get("reason")
    if not reason:
        msg = f"@pytest.mark.{mark.name}{mark.args} needs reason=..."
        raise pytest.UsageError(msg)
    return str(reason)


def _marks_for(name: str | None, selected: set[str], item: pytest.Item) -> list[Any]:
    """The skip/xfail marks for ``item``, run on backend ``name`` (``None``: no fixture)."""
    marks: list[Any] = []
    for mark in item.iter_markers():
        if mark.name not in _MARKERS:
            continue
        reason = _reason(mark)
        if mark.name == "only_backend":
            if name is None and not selected & set(mark.args):
                marks.append(pytest.mark.skip(reason=f"{reason} (not selected)"))
            elif name is not None and name not in mark.args:
                marks.append(pytest.mark.skip(reason=f"{reason} (not {name})"))
        elif name in mark.args and mark.name == "skip_backend":
            marks.append(pytest.mark.skip(reason=reason))
        elif name in mark.args and mark.name == "xfail_backend":
            marks.append(pytest.mark.xfail(reason=reason, strict=mark.kwargs.get("strict", True)))
    return marks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = metafunc.config.lucid_backends  # type: ignore[attr-defined]
        metafunc.parametrize("backend", names, indirect=True, ids=names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = set(config.lucid_backends)  # type: ignore[attr-defined]
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("backend") if callspec is not None else None
        for mark in _marks_for(name, selected, item):
            item.add_marker(mark)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend under test; see :class:`lucid.testing.Backend`."""
    return load_backend(request.param)


@pytest.fixture
def xp(backend: Backend):
    """The Array API namespace of the backend under test."""
    return backend.xp
