"""The project's paralog analysis on two hand-made runs' calibrated predictions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from affdist_core.common.names import RunDir
from affdist_core.compare.differential import differential_metrics
from affdist_core.pipeline.paralogs_step import PARALOGS_FILE, write_paralogs


def _run(root, name, ids, measured, ad, jaspar, heldout):
    run = RunDir.at(root / name)
    run.compare.mkdir(parents=True)
    pd.DataFrame({"id": ids, "affinity_distillation": ad, "jaspar": jaspar, "measured": measured,
                  "heldout": heldout}).to_parquet(run.compare / "predictions.parquet")
    return root / name


def test_two_tfs_compared_on_shared_heldout_sequences(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    sequences = ["".join(rng.choice(list("ACGT"), 8)) for _ in range(n)]
    sequences = list(dict.fromkeys(sequences))
    n = len(sequences)
    library = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "sequence": sequences})
    heldout = np.arange(n) % 5 != 0  # the same calibration rows for both TFs
    m_a, m_b = rng.normal(size=n), rng.normal(size=n)
    ad_a, ad_b = m_a + rng.normal(0, 0.3, n), m_b + rng.normal(0, 0.3, n)
    run_a = _run(tmp_path, "pho4-lib_a", library["id"], m_a, ad_a, np.zeros(n), heldout)
    run_b = _run(tmp_path, "cbf1-lib_b", library["id"][::-1].to_numpy(), m_b[::-1], ad_b[::-1],
                 rng.normal(size=n), heldout[::-1])  # another row order: matched by sequence
    lonely = _run(tmp_path, "rtg3-lib_c", ["x"], [0.0], [0.0], [0.0], [True])
    results = write_paralogs([("Pho4", run_a, library), ("Cbf1", run_b, library),
                              ("Rtg3", lonely, pd.DataFrame({"id": ["x"], "sequence": ["TTTTTTTT"]}))])
    (entry,) = results["Pho4"]
    assert results["Cbf1"][0]["methods"] == entry["methods"] and results["Rtg3"] == []
    assert entry["n_shared"] == heldout.sum() and entry["same_calibration_rows"] is True
    ad = next(m for m in entry["methods"] if m["method"] == "affinity_distillation")
    expected = differential_metrics(m_a[heldout], m_b[heldout], ad_a[heldout], ad_b[heldout])
    for key in ("n", "pearson", "spearman", "rmse", "sign_agreement"):
        assert ad[key] == pytest.approx(expected[key]), key
    assert ad["pearson"] > 0.8
    assert set(entry["preferences"]) == {"measured", "affinity_distillation", "jaspar"}
    assert np.allclose(np.sum(entry["preferences"]["measured"]["Pho4"], axis=1), 1.0, atol=1e-3)
    written = json.loads((RunDir.at(run_b).analyses / PARALOGS_FILE).read_text())
    assert written[0]["tf_a"] == "Pho4" and written[0]["run_b"] == "cbf1-lib_b"
    shared = pd.read_parquet(RunDir.at(run_b).analyses / written[0]["table"])
    assert len(shared) == heldout.sum()
    np.testing.assert_allclose(shared["measured_diff"], shared["measured_a"] - shared["measured_b"])
    assert json.loads((RunDir.at(lonely).analyses / PARALOGS_FILE).read_text()) == []


def test_a_run_without_predictions_is_left_out(tmp_path, caplog):
    library = pd.DataFrame({"id": ["a"], "sequence": ["ACGT"]})
    (tmp_path / "empty").mkdir()
    assert write_paralogs([("Pho4", tmp_path / "empty", library)]) == {}
    assert "no predictions.parquet" in caplog.text
