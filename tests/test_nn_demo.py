"""The ``python -m lucid`` demo: a lazy decoder on every installed backend."""

from __future__ import annotations

from lucid._cli import demo
from lucid.testing import available_backends


def test_demo_runs_on_every_backend(capsys):

    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "(4, 128, 8, 8) -> (4, 64, 16, 16) -> (4, 32, 32, 32) -> (4, 3, 32, 32)" in out
    assert "ConvTranspose2d(128, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))" in out
    for name in available_backends():
        row = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert (
            "(4, 3, 32, 32)" in row and " ok " in row and row.rstrip().endswith(("ms", "(jax.jit)"))
        )
    assert "same weights on every backend: yes" in out


def test_demo_reports_a_mismatch(monkeypatch, capsys):

    import numpy as np

    original = demo.run_backend

    def broken(name):
        result = original(name)
        result["y"] = result["y"] + np.float32(0.1)
        return result

    monkeypatch.setattr(demo, "run_backend", broken)
    monkeypatch.setattr(demo, "available_backends", lambda: ("numpy",))
    assert demo.main() == 1
    assert "MISMATCH" in capsys.readouterr().out
