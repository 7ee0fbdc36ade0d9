"""``python -m lucid tune``: the fit recovers known coefficients, keeps the measured
layers that correct it, and is stored as data."""

from __future__ import annotations

import json

import numpy as np

from lucid.__main__ import main as lucid_main
from lucid._cli import tune
from lucid._cli._layers import generate
from lucid.ops._cost import COST_FILE, NEIGHBOURS_FILE, Neighbours

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


def test_the_table_keeps_each_layers_distance_from_the_fit(tmp_path) -> None:
    """Times 2x the model's on every layer: each kept log ratio is log 2, so a
    prediction anywhere is the model's times 2, and the choice is unchanged."""
    rows = _rows()
    for row in rows:
        row["formulations_s"] = {f: 2 * t for f, t in row["formulations_s"].items()}
    table = tune.neighbours_of(rows, TRUE)
    assert len(table.at) == len(rows) and table.k == tune.NEIGHBOURS
    for ratios in table.log_ratio:
        np.testing.assert_allclose(list(ratios.values()), np.log(2), rtol=1e-9)
    np.testing.assert_allclose(list(table.factors(table.at[0], TRUE).values()), 2.0, rtol=1e-9)
    assert tune.choice_quality(rows, {"torch": TRUE}, {"torch": table}) == {"torch": 1.0}


def test_the_correction_can_change_the_choice_where_the_model_is_wrong() -> None:
    """Where ``dense`` ran 100x slower than modelled, the table's pick avoids it."""
    rows = _rows()
    modelled = [min(r["formulations_s"], key=r["formulations_s"].get) for r in rows]
    for row in rows:
        row["formulations_s"]["dense"] *= 100
    assert tune.choice_quality(rows, {"torch": TRUE}) == {
        "torch": sum(m != "dense" for m in modelled) / len(rows)
    }
    table = tune.neighbours_of(rows, TRUE)
    assert tune.choice_quality(rows, {"torch": TRUE}, {"torch": table}) == {"torch": 1.0}


def test_tune_command_stores_the_measured_layers_beside_the_coefficients(tmp_path) -> None:
    timings, out = tmp_path / "rows.json", tmp_path / "costs.json"
    beside = tmp_path / "costs.neighbours.json"
    timings.write_text(json.dumps({"rows": _rows()}))
    beside.write_text(json.dumps({"neighbours": {"numpy": {"k": 1}}}))
    assert lucid_main(["tune", "--from-json", str(timings), "--output", str(out)]) == 0
    stored = json.loads(beside.read_text())["neighbours"]
    assert stored["numpy"] == {"k": 1}  # other backends are kept
    restored = Neighbours.from_json(stored["torch"])
    assert len(restored.at) == 40 and set(restored.log_ratio[0]) == set(TRUE)
    assert "neighbours" not in json.loads(out.read_text())
    for path in (out, beside):
        assert path.stat().st_mode & 0o044  # readable by others, as the package's files
    # The package's own pair follows the same naming.
    assert tune.neighbours_path(COST_FILE) == NEIGHBOURS_FILE
