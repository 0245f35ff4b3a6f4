"""Choosing the AD read-out on the calibration rows: the read-out that carries the signal wins, the
combination only when both do, and too few rows keep counts."""

from __future__ import annotations

import numpy as np
import pytest

from affdist_core.calibrate.readout_choice import MIN_CHOICE_ROWS, ReadoutChoice, choose_readout


def _data(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return a, b, rng.normal(0, 0.3, n)


def test_the_informative_readout_is_picked():
    a, b, noise = _data()
    assert choose_readout(a, b, -2 * a + noise).picked == "counts"
    assert choose_readout(a, b, 3 * b + noise).picked == "linear"
    both = choose_readout(a, b, a - b + noise)
    assert both.picked == "combined"
    assert both.weights["counts"] == pytest.approx(1, abs=0.1) and both.weights["linear"] == pytest.approx(-1, abs=0.1)
    np.testing.assert_allclose(both.combine(a, b), both.weights["counts"] * a + both.weights["linear"] * b)
    assert both.cv_rmse["combined"] < min(both.cv_rmse["counts"], both.cv_rmse["linear"])
    assert "cross-validated" in both.rule and both.n_calibration == len(a)


def test_a_useless_second_readout_does_not_win_by_its_extra_parameter():
    """The combination always fits the calibration rows at least as well; cross-validation keeps it out when
    the second read-out is noise (most seeds)."""
    wins = sum(choose_readout(a, b, -2 * a + noise, seed=s).picked == "counts"
               for s, (a, b, noise) in ((s, _data(s, 60)) for s in range(20)))
    assert wins >= 14


def test_counts_kept_without_a_choice_and_round_trip():
    a, b, noise = _data(n=MIN_CHOICE_ROWS - 1)
    few = choose_readout(a, b, 3 * b + noise)
    assert few.picked == "counts" and "calibration rows" in few.rule
    none = choose_readout(a, None, a)
    assert none.picked == "counts" and none.weights == {"counts": 1.0, "linear": 0.0}
    np.testing.assert_allclose(none.combine(a, None), a)
    again = ReadoutChoice.from_dict(none.to_dict())
    assert again.picked == "counts" and again.weights == none.weights
    with pytest.raises(ValueError, match="one per calibration row"):
        choose_readout(a[:-1], b, a)
    with pytest.raises(ValueError, match="needs the linear"):
        ReadoutChoice("linear", {"counts": 0.0, "linear": 1.0}, {}, 0, "").combine(a, None)
