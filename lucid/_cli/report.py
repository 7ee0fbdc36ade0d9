"""``python -m lucid report``: lucid's version, its dependencies and the installed backends."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys

import lucid
from lucid._backends import _registry

__all__ = ["main", "package_version", "print_environment"]


def package_version(dist: str) -> str:
    """The installed version of distribution ``dist``, or ``'not installed'``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def print_environment() -> None:
    print(f"lucid {lucid.__version__} on Python {platform.python_version()} ({platform.machine()})")
    for dist in ("numpy", "array-api-compat", "array-api-extra"):
        print(f"  {dist:<18} {package_version(dist)}")
    print("backends:")
    for backend in _registry.ALL:
        dist = backend.distribution.split("[")[0]
        state = package_version(dist) if backend.is_installed() else "not installed"
        print(f"  {backend.name:<18} {state}")


def main(argv: list[str] | None = None) -> int:
    """Print the environment; always 0."""
    parser = argparse.ArgumentParser(
        prog="python -m lucid report",
        description="Print lucid's version, its dependencies and the installed backends.",
    )
    parser.parse_args([] if argv is None else argv)
    print_environment()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
