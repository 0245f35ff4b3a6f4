"""Choosing the AD read-out on the calibration rows: the read-out that carries the signal wins, a combination
only when its parts do, and too few rows (or no other read-out) keep counts."""

from __future__ import annotations

import numpy as np
import pytest

from affdist_core.calibrate.readout_choice import (
    COMPONENTS,
    MIN_CHOICE_ROWS,
    ReadoutChoice,
    available_readouts,
    choose_readout,
    counts_only,
)


def _data(seed: int = 0, n: int = 400, k: int = 2):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=n) for _ in range(k)], rng.normal(0, 0.3, n)


def test_the_informative_readout_is_picked():
    (a, b), noise = _data()
    assert choose_readout({"counts": a, "linear": b}, -2 * a + noise).picked == "counts"
    assert choose_readout({"counts": a, "linear": b}, 3 * b + noise).picked == "linear"
    both = choose_readout({"counts": a, "linear": b}, a - b + noise)
    assert both.picked == "combined"
    assert both.weights["counts"] == pytest.approx(1, abs=0.1) and both.weights["linear"] == pytest.approx(-1, abs=0.1)
    np.testing.assert_allclose(both.combine({"counts": a, "linear": b}),
                               both.weights["counts"] * a + both.weights["linear"] * b)
    assert both.cv_rmse["combined"] < min(both.cv_rmse["counts"], both.cv_rmse["linear"])
    assert np.isnan(both.cv_rmse["split"])  # no core/weak components: not a candidate
    assert "cross-validated" in both.rule and both.n_calibration == len(a)


def test_the_core_weak_split_is_picked_when_both_subsets_carry_signal():
    """Measured = core + 2·weak: only the split (or counts + split, with a useless counts) can fit it; the
    split's weights come back, and counts + split wins only when counts adds something."""
    (c, lin, core, weak), noise = _data(k=4)
    comps = {"counts": c, "linear": lin, "linear_core": core, "linear_weak": weak}
    split = choose_readout(comps, core + 2 * weak + noise)
    assert split.picked == "split"
    assert split.weights["linear_core"] == pytest.approx(1, abs=0.1)
    assert split.weights["linear_weak"] == pytest.approx(2, abs=0.1)
    assert split.weights["counts"] == 0 and split.weights["linear"] == 0
    np.testing.assert_allclose(split.combine(comps), split.weights["linear_core"] * core
                               + split.weights["linear_weak"] * weak)
    three = choose_readout(comps, c + core + 2 * weak + noise)
    assert three.picked == "counts_split" and three.weights["counts"] == pytest.approx(1, abs=0.1)
    assert available_readouts(comps) == ["counts", "linear", "combined", "split", "counts_split"]
    assert available_readouts({"counts": c, "linear_core": core}) == ["counts"]


def test_a_useless_second_readout_does_not_win_by_its_extra_parameter():
    """A combination always fits the calibration rows at least as well; cross-validation keeps it out when
    the other read-outs are noise (most seeds)."""
    wins = 0
    for s in range(20):
        (a, b, core, weak), noise = _data(s, 60, k=4)
        comps = {"counts": a, "linear": b, "linear_core": core, "linear_weak": weak}
        wins += choose_readout(comps, -2 * a + noise, seed=s).picked == "counts"
    assert wins >= 12


def test_counts_kept_without_a_choice_and_round_trip():
    (a, b), noise = _data(n=MIN_CHOICE_ROWS - 1)
    few = choose_readout({"counts": a, "linear": b}, 3 * b + noise)
    assert few.picked == "counts" and "calibration rows" in few.rule
    none = choose_readout({"counts": a, "linear": None}, a)
    assert none.picked == "counts" and none.weights == counts_only() and set(none.weights) == set(COMPONENTS)
    np.testing.assert_allclose(none.combine({"counts": a}), a)
    again = ReadoutChoice.from_dict(none.to_dict())
    assert again.picked == "counts" and again.weights == none.weights
    # a record written before the split existed reads with the new components at weight 0
    old = ReadoutChoice.from_dict({"picked": "linear", "weights": {"counts": 0.0, "linear": 1.0}})
    assert old.weights == {"counts": 0.0, "linear": 1.0, "linear_core": 0.0, "linear_weak": 0.0}
    with pytest.raises(ValueError, match="one per calibration row"):
        choose_readout({"counts": a[:-1], "linear": b}, a)
    with pytest.raises(ValueError, match="unknown read-out component"):
        choose_readout({"counts": a, "profile": b}, a)
    with pytest.raises(ValueError, match="counts read-out is required"):
        choose_readout({"linear": b}, a)
    with pytest.raises(ValueError, match="needs the 'linear'"):
        old.combine({"counts": a})
