"""``python -m lucid``: help for every command, errors that name the argument, honest reports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lucid._cli import COMMANDS, demo, self_check
from lucid._cli import main as cli


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "lucid", *args], capture_output=True, text=True, timeout=300
    )


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as stop:
        cli([name, "--help"])
    assert stop.value.code == 0
    assert f"python -m lucid {name}" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--frob"], ["report", "--frob"], ["demo", "--frob"]])
def test_an_unknown_argument_is_named(args, capsys):
    with pytest.raises(SystemExit) as stop:
        cli(args)
    assert stop.value.code == 2
    assert "unrecognized arguments: --frob" in capsys.readouterr().err


def test_an_unknown_command_is_named(capsys):
    with pytest.raises(SystemExit):
        cli(["frob"])
    assert "invalid choice: 'frob'" in capsys.readouterr().err


def test_report_lists_every_backend(capsys):
    assert cli(["report"]) == 0
    out = capsys.readouterr().out
    for name in ("numpy", "jax", "torch", "array_api_strict", "dask"):
        assert name in out


def test_self_check_explains_columns_and_spread(monkeypatch, capsys):
    monkeypatch.setattr(self_check, "available_backends", lambda: ("numpy", "torch"))
    assert self_check.main([]) == 0
    out = capsys.readouterr().out
    for column in ("rel err", "lucid ms", "native ms", "ratio"):
        assert f"  {column} " in out
    assert "x +-" in out and "self-check passed" in out


def test_self_check_without_torch_says_parity_was_not_checked(monkeypatch, capsys):
    monkeypatch.setattr(self_check, "available_backends", lambda: ("numpy",))
    assert self_check.main([]) == 0
    out = capsys.readouterr().out
    assert "parity was NOT checked" in out and "passed" not in out
    assert "not run" in out


def test_self_check_warns_when_the_machine_is_noisy(monkeypatch, capsys):
    monkeypatch.setattr(self_check, "available_backends", lambda: ("numpy",))
    monkeypatch.setattr(
        self_check, "_timing", lambda layer, backend: self_check.Timing(1, 1, 1, 0.9)
    )
    self_check.main([])
    assert "timings are noisy" in capsys.readouterr().out


def test_demo_claims_same_weights_only_across_backends(monkeypatch, capsys):
    monkeypatch.setattr(demo, "available_backends", lambda: ("numpy",))
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "same weights on every backend" not in out
    assert "not compared" in out
