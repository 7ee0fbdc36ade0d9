"""The cross-backend matrix. ``nox`` runs every test session and lint; ``nox -s bench`` benchmarks.

Each test session runs ``tests/``, ``conformance/`` and the doctests on one backend alone,
in a venv with lucid, that backend and the test dependencies; sessions that need the same
packages share one venv per nox run.  torch is the conformance reference, so every test
venv has it, always installed as ``torch==2.13.0``: that CPU build is on local disk here,
while an unpinned torch pulls a multi-GB CUDA build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "package"]
# virtualenv makes a venv in about 1 s against 7 s for the standard library's venv, and
# seeds a newer pip, which installed the test dependencies in 19 s against 27 s
# (BENCHMARKS.md, "Fresh-clone CI (session 10)").
nox.options.default_venv_backend = "virtualenv"

TORCH = "torch==2.13.0"
# Two workers; idle ones steal queued tests.  xdist's default hands out fixed batches,
# and the torch session's torch.compile tests then took twice as long (BENCHMARKS.md,
# "The test matrix").
XDIST = ("-n=2", "--dist=worksteal")
# The extras each backend's tests need: numpy is a core dependency, and
# array-api-strict and torch (the reference) come with `test`.
BACKEND_EXTRAS = {
    "numpy": "test",
    "array_api_strict": "test",
    "torch": "test",
    "jax": "test,jax,interop",
}


# lucid's wheel, built by the first session of this nox run that installs lucid and
# reused by the others: one isolated setuptools build per run instead of one per session.
_WHEEL: list[Path] = []


def lucid_wheel(session: nox.Session) -> Path:
    """The wheel of this checkout, built once per nox run."""
    if not _WHEEL:
        out = Path(session.create_tmp()) / "lucid-wheel"
        shutil.rmtree(out, ignore_errors=True)
        session.run("python", "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), ".")
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            session.error(f"expected one lucid wheel in {out}, got {[w.name for w in wheels]}")
        _WHEEL.extend(wheels)
    return _WHEEL[0]


def install_lucid(session: nox.Session, extras: str) -> None:
    # One resolve: the pinned torch meets the extras' `torch>=...`.
    session.install("--no-compile", TORCH, f"{lucid_wheel(session)}[{extras}]")
    compile_bytecode(session)


def compile_bytecode(session: nox.Session) -> None:
    """Byte-compile the venv's packages on every core.

    pip compiles on one core: 30 of the 45 s that installing torch takes (BENCHMARKS.md,
    "Fresh-clone CI (session 10)").  Skipping it instead would make every session compile
    what it imports, in each pytest worker, where PYTHONDONTWRITEBYTECODE is not set, and
    import from source every time where it is.
    """
    # An install step: it runs with --install-only and is skipped, like the installs,
    # with --no-install.  Exit status 1: a few files are written for newer Pythons
    # (torch's py312_intrinsics.py), which pip's own compilation skips too.
    venv = session.virtualenv.location  # type: ignore[attr-defined]
    session.run_install(
        "python", "-m", "compileall", "-q", "-j", "0", venv, success_codes=[0, 1], silent=True
    )


# Per set of extras, the Python of the first venv of this nox run that got them.  The
# numpy, array_api_strict and torch sessions need the same packages, so the later two
# run in the first one's venv instead of repeating its install and compilation (about
# 40 s each).
_PYTHONS: dict[str, str] = {}


def python_with_lucid(session: nox.Session, extras: str) -> str:
    """A Python with ``lucid[extras]`` installed: this session's or an earlier one's."""
    if extras not in _PYTHONS:
        install_lucid(session, extras)
        _PYTHONS[extras] = str(Path(session.bin) / "python")
    return _PYTHONS[extras]


@nox.session
@nox.parametrize("backend", list(BACKEND_EXTRAS))
def tests(session: nox.Session, backend: str) -> None:
    """tests/, conformance/ and doctests on one backend: ``nox -s "tests(backend='jax')"``."""
    python = python_with_lucid(session, BACKEND_EXTRAS[backend])
    # The sharding tests' simulated CPU devices (conftest.py sets the same when it can).
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"} if backend == "jax" else {}
    session.run(
        python,
        "-m",
        "pytest",
        f"--backend={backend}",
        *XDIST,
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env=env,
        external=True,  # the Python may be an earlier session's
    )


@nox.session
@nox.parametrize("backend", list(BACKEND_EXTRAS))
def fuzz(session: nox.Session, backend: str) -> None:
    """The differential fuzz against torch with a larger budget and a seed of your choice:
    ``nox -s fuzz -- --fuzz-seconds 600 --hypothesis-seed 1234`` (each failure prints a
    one-line reproducer)."""
    python = python_with_lucid(session, BACKEND_EXTRAS[backend])
    args = session.posargs or ["--fuzz-seconds=300"]
    session.run(
        python, "-m", "pytest", "conformance/test_fuzz.py", f"--backend={backend}", *XDIST,
        "-p", "no:cacheprovider", "-s", *args, external=True,
    )  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) over everything, mypy over the package."""
    # Nothing to byte-compile: ruff is a binary and mypy is compiled with mypyc.
    session.install("--no-compile", "ruff", "mypy", "numpy", "array-api-compat", "array-api-extra")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "lucid")


@nox.session
def package(session: nox.Session) -> None:
    """Build the wheel and sdist; install each alone in this venv and run the README quickstart."""
    session.install("build")
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    artifacts = sorted(dist.glob("*.whl")) + sorted(dist.glob("*.tar.gz"))
    if len(artifacts) != 2:
        session.error(f"expected one wheel and one sdist, got {[a.name for a in artifacts]}")
    for artifact in artifacts:
        session.install("--force-reinstall", str(artifact))
        session.run("python", ".ci/quickstart.py")
        session.run("python", "-m", "pip", "uninstall", "--yes", "lucid-nn")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite: lucid against the native ops, side by side."""
    install_lucid(session, "jax,bench")
    session.run("python", "-m", "benchmarks.layers", *session.posargs)
