"""The MACS-style peak caller on synthetic strand counts with known answers."""

from __future__ import annotations

import numpy as np
from scipy import stats

from affdist_core.simulate.reads import footprint_kernel, spread_sites
from affdist_core.simulate.peak_caller import call_peaks, estimate_strand_lag, poisson_log_sf


def _planted(n=200_000, sites=(20_000, 90_000, 150_000), reads=400, background=0.5, seed=0):
    rng = np.random.default_rng(seed)
    kernel = footprint_kernel(11, 2.5, 0.25, 40)
    weights = np.zeros(n)
    weights[list(sites)] = reads / 2
    plus = rng.poisson(spread_sites(weights, kernel.plus) + background / 2).astype(np.float32)
    minus = rng.poisson(spread_sites(weights, kernel.minus) + background / 2).astype(np.float32)
    return {"c": plus}, {"c": minus}


def test_finds_planted_sites_with_summits_near_the_centre():
    plus, minus = _planted()
    peaks, info = call_peaks(plus, minus)
    assert 18 <= info["strand_lag_bp"] <= 26  # the two 5′-end piles are ~2 × 11 bp apart
    assert len(peaks) == 3
    np.testing.assert_allclose(sorted(peaks["summit"]), [20_000, 90_000, 150_000], atol=5)
    assert (peaks["q_value"] > 5).all() and (peaks["signal"] > 5).all()
    assert ((peaks["start"] <= peaks["summit"]) & (peaks["summit"] < peaks["end"])).all()


def test_no_peaks_on_pure_poisson_background():
    rng = np.random.default_rng(3)
    plus = {"c": rng.poisson(0.5, 500_000).astype(np.float32)}
    minus = {"c": rng.poisson(0.5, 500_000).astype(np.float32)}
    peaks, _ = call_peaks(plus, minus)
    assert len(peaks) <= 1


def test_strand_lag_recovers_a_known_shift():
    rng = np.random.default_rng(5)
    plus = np.zeros(50_000)
    plus[rng.integers(100, 49_000, 200)] = 50
    minus = np.roll(plus, 37)
    assert estimate_strand_lag({"c": plus}, {"c": minus}) == 37


def test_poisson_log_sf_matches_scipy_and_stays_finite():
    k = np.array([0.0, 3, 10, 40])
    lam = np.array([1.0, 2, 5, 20])
    np.testing.assert_allclose(poisson_log_sf(k, lam), stats.poisson.logsf(k, lam))
    far = poisson_log_sf(np.array([20_000.0]), np.array([40.0]))
    assert np.isfinite(far).all() and far[0] < -1e4
