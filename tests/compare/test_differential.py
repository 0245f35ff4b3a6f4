"""Differential specificity of two paralogs against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.compare.differential import (
    differential_metrics,
    differential_table,
    preference_matrices,
    shared_heldout,
    tail_indices,
)


def test_metrics_of_a_hand_computed_case():
    # measured d = a − b: [-2, -1, 0, 1, 2, 3, -3, 0.5, -0.5, 4]; predicted d̂ = [-1, -1, 1, 1, 1, 2, 1, 0, 0, 3]
    measured_a = np.array([0, 0, 1, 2, 2, 3, 0, 1, 0, 4.0])
    measured_b = np.array([2, 1, 1, 1, 0, 0, 3, 0.5, 0.5, 0])
    predicted_a = np.array([0, 0, 2, 1, 1, 2, 1, 0, 0, 3.0])
    predicted_b = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0.0])
    out = differential_metrics(measured_a, measured_b, predicted_a, predicted_b, tail_fraction=0.2)
    d = measured_a - measured_b
    d_hat = predicted_a - predicted_b
    assert out["n"] == 10 and out["n_tail"] == 2
    assert out["pearson"] == pytest.approx(np.corrcoef(d, d_hat)[0, 1])
    # errors d̂ − d: 1, 0, 1, 0, −1, −1, 4, −0.5, 0.5, −1 → squares sum to 21.5
    assert out["rmse"] == pytest.approx(np.sqrt(21.5 / 10))
    # lowest d: rows 6 (−3, predicted +1: wrong) and 0 (−2, −1: right); highest: 5 (3, 2) and 9 (4, 3): right
    assert out["sign_agreement_a"] == 0.5 and out["sign_agreement_b"] == 1.0
    assert out["sign_agreement"] == 0.75


def test_tails_and_non_finite_rows():
    low, high = tail_indices(np.array([5.0, np.nan, 1.0, 3.0, 2.0, 4.0]), 0.25)
    assert list(low) == [2] and list(high) == [0]  # 5 finite rows: floor(1.25) = 1 each
    out = differential_metrics([1, np.nan, 2, 3], [0, 0, 0, 0], [1, 1, 2, 3], [0, 0, 0, 0], 0.5)
    assert out["n"] == 3 and out["pearson"] == pytest.approx(1.0) and out["rmse"] == 0.0
    with pytest.raises(ValueError, match="tail_fraction"):
        tail_indices(np.arange(4.0), 0.7)
    with pytest.raises(ValueError, match="four arrays of one length"):
        differential_metrics([1, 2], [1, 2], [1], [1, 2])


def _rows(sequences, measured, heldout, **methods):
    return pd.DataFrame({"sequence": sequences, "measured": measured, "heldout": heldout, **methods})


def test_table_joins_on_sequences_held_out_by_both():
    a = _rows(["AAA", "ccc", "GGG", "TTT", "ACG"], [1.0, 2, 3, 4, 5], [True, True, True, False, True],
              AD=[1.0, 2, 3, 4, 5], jaspar=[0.0, 0, 0, 0, 0])
    b = _rows(["CCC", "AAA", "GGG", "TTT", "CGT"], [1.0, 0, 5, 0, 0], [True, True, True, True, False],
              AD=[1.0, 0, 5, 0, 0])
    joined = shared_heldout(a, b)
    assert list(joined["sequence"]) == ["AAA", "CCC", "GGG"]  # TTT: calibration row of a; ACG, CGT: one TF only
    table = differential_table(a, b, ["AD", "jaspar", "missing"], tail_fraction=0.4)
    assert list(table["method"]) == ["AD"]  # jaspar scored TF a only
    row = table.iloc[0]
    assert row["n"] == 3 and row["rmse"] == 0.0 and row["pearson"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="holds sequence AAA more than once"):
        shared_heldout(pd.concat([a, a.iloc[:1]]), b)
    with pytest.raises(ValueError, match=r"lacks columns \['heldout'\]"):
        shared_heldout(a.drop(columns="heldout"), b)


def test_preference_matrices_count_each_tail():
    sequences = ["ACGT", "ACGA", "TTTT", "GGGG", "CCCC", "AAAA"]
    difference = np.array([-3.0, -2.0, 0.0, 0.1, 2.0, 3.0])
    out = preference_matrices(sequences, difference, tail_fraction=1 / 3)
    np.testing.assert_allclose(out["a"][0], [1, 0, 0, 0])  # ACGT, ACGA: TF a prefers them
    np.testing.assert_allclose(out["a"][3], [0.5, 0, 0, 0.5])
    np.testing.assert_allclose(out["b"][:, 0], [0.5, 0.5, 0.5, 0.5])  # CCCC and AAAA
    np.testing.assert_allclose(out["b"][:, 1], [0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(out["a"].sum(axis=1), 1.0)
