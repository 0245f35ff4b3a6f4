"""The paired bootstrap of an RMSE difference between two methods on the same held-out rows."""

from __future__ import annotations

import numpy as np
import pytest

from affdist_core.calibrate.bootstrap import paired_rmse_difference


def _naive(a, b, y, n_boot, seed):
    """One resample at a time, drawn the way the vectorised version draws them (one block)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n_boot, len(y)))
    return np.array([np.sqrt(np.mean((a[i] - y[i]) ** 2)) - np.sqrt(np.mean((b[i] - y[i]) ** 2)) for i in idx])


def test_matches_a_loop_over_resamples():
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    a, b = y + rng.normal(scale=0.5, size=200), y + rng.normal(scale=0.6, size=200)
    result = paired_rmse_difference(a, b, y, n_boot=300, random_state=7)
    diffs = _naive(a, b, y, 300, 7)
    assert result["ci95"] == pytest.approx(list(np.percentile(diffs, [2.5, 97.5])), abs=1e-12)
    assert result["sd"] == pytest.approx(diffs.std(ddof=1), abs=1e-12)
    exact = np.sqrt(np.mean((a - y) ** 2)) - np.sqrt(np.mean((b - y) ** 2))
    assert result["diff"] == pytest.approx(exact, abs=1e-12) and result["n"] == 200


def test_pairing_sees_a_small_real_difference():
    """Two methods sharing most of their error: the paired interval excludes 0 although each RMSE alone
    would vary across resamples by far more than the difference."""
    rng = np.random.default_rng(2)
    y = rng.normal(size=5000)
    shared = rng.normal(scale=1.0, size=5000)
    a = y + shared
    b = y + shared + rng.normal(scale=0.3, size=5000)
    result = paired_rmse_difference(a, b, y, n_boot=500)
    assert result["diff"] < 0 and result["ci95"][1] < 0
    same = paired_rmse_difference(a, a, y, n_boot=50)
    assert same["diff"] == 0 and same["ci95"] == [0.0, 0.0]


def test_noise_alone_is_not_a_win():
    rng = np.random.default_rng(3)
    y = rng.normal(size=400)
    wins = 0
    for k in range(20):
        a, b = y + rng.normal(size=400), y + rng.normal(size=400)  # equally good methods
        wins += paired_rmse_difference(a, b, y, n_boot=200, random_state=k)["ci95"][1] < 0
    assert wins <= 3  # a 95 % interval: about 1 in 40 by chance


def test_non_finite_rows_are_dropped_and_bad_input_is_named():
    y = np.arange(6, dtype=float)
    a = y + np.array([0.1, np.nan, 0.1, -0.1, 0.1, -0.1])
    assert paired_rmse_difference(a, y, y, n_boot=10)["n"] == 5
    with pytest.raises(ValueError, match="one shape"):
        paired_rmse_difference(a, y[:5], y)
    with pytest.raises(ValueError, match="at least 3"):
        paired_rmse_difference(np.full(6, np.nan), y, y)
