"""The CuPy backend object, as far as it can be checked without CuPy or a GPU.

Contract: ``'cupy'`` is a registered backend (one class, ``lucid/_backends/_cupy.py``);
without CuPy installed, asking for it by name is a ``ValueError`` that says what to
install; lucid never imports ``cupy`` itself; and detection routes only CuPy's own
arrays and devices to it, so NumPy arrays stay NumPy's even when ``cupy`` is imported.
The last check uses a stand-in ``cupy`` module (a class called ``ndarray`` and a
``cuda.Device``): it tests lucid's routing, not CuPy.  Conversions, copies, fills and
device placement on a real GPU are not tested here (no CuPy on the test machines).
"""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest

import lucid
from lucid import _backends
from lucid._backends._cupy import CupyBackend

CUPY_INSTALLED = importlib.util.find_spec("cupy") is not None


def test_cupy_is_one_registered_backend_object():
    backend = _backends.get("cupy", checked=False)
    assert isinstance(backend, CupyBackend)
    assert "cupy" in _backends.BACKENDS


@pytest.mark.skipif(CUPY_INSTALLED, reason="CuPy is installed here")
def test_asking_for_cupy_without_it_says_what_to_install():
    assert "cupy" not in _backends.installed()
    with pytest.raises(ValueError, match=r"'cupy' is not installed \(pip install cupy-cuda12x\)"):
        lucid.zeros(2, backend="cupy")


@pytest.fixture
def stand_in_cupy(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module called ``cupy`` with an ``ndarray`` class and ``cuda.Device``."""
    cupy = types.ModuleType("cupy")

    class ndarray:  # noqa: N801 (CuPy's name)
        pass

    class Device:
        def __init__(self, id: int = 0) -> None:
            self.id = id

    ndarray.__module__ = Device.__module__ = "cupy"
    cupy.ndarray = ndarray  # type: ignore[attr-defined]
    cupy.cuda = types.SimpleNamespace(Device=Device)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    return cupy


def test_detection_routes_only_cupy_arrays_and_devices_to_cupy(stand_in_cupy):
    backend = _backends.get("cupy", checked=False)
    assert backend.in_use()
    assert _backends.backend_of(stand_in_cupy.ndarray()) == "cupy"
    assert _backends.backend_of(np.zeros(2)) == "numpy"
    assert _backends.backend_of([1.0]) is None
    device = stand_in_cupy.cuda.Device(1)
    assert _backends.native_backend_of(device) == "cupy"
    assert backend.parse_device(device) == ("gpu", 1)
    assert _backends.native_backend_of("cuda:1") is None
