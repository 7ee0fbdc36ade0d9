"""``python -m lucid tune``: the fit recovers known coefficients and is stored as data."""

from __future__ import annotations

import json

import numpy as np

from lucid.__main__ import main as lucid_main
from lucid._cli import tune
from lucid._cli._layers import generate

TRUE = {"phase": [2e-5, 1e-10, 2e-9], "scatter": [1e-5, 3e-10, 1e-9], "dense": [5e-6, 2e-10, 4e-9]}


def _rows() -> list[dict]:
    rows = []
    for case in generate(3, 40, max_gflop=0.05):
        row = {"case": case.to_json(), "backend": "torch", "formulations_s": {}}
        for name, coefs in TRUE.items():
            row["formulations_s"][name] = float(np.dot(coefs, tune._features(row, name)))
        rows.append(row)
    return rows


def test_fit_recovers_the_coefficients_that_made_the_times() -> None:
    coefs = tune.fit(_rows())["torch"]
    for name, want in TRUE.items():
        np.testing.assert_allclose(coefs[name], want, rtol=1e-3)
    assert tune.choice_quality(_rows(), {"torch": coefs}) == {"torch": 1.0}


def test_tune_command_writes_the_table_from_stored_timings(tmp_path, capsys) -> None:
    timings, out = tmp_path / "rows.json", tmp_path / "costs.json"
    timings.write_text(json.dumps({"rows": _rows()}))
    out.write_text(json.dumps({"coefficients": {"numpy": {"phase": [1.0, 1.0, 1.0]}}}))
    assert lucid_main(["tune", "--from-json", str(timings), "--output", str(out)]) == 0
    table = json.loads(out.read_text())["coefficients"]
    assert table["numpy"] == {"phase": [1.0, 1.0, 1.0]}  # other backends are kept
    assert set(table["torch"]) == set(TRUE)
    assert "within 1.2x of the fastest on 100%" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp"))
