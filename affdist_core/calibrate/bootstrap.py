"""A linear calibration with the rows it was fitted on, and its bootstrap: the uncertainty of a calibrated score.

:class:`LinearCalibration` is ``ΔΔG = slope × score + intercept`` fitted by
:func:`affdist_core.calibrate.calibration.calibrate` on a calibration sample; :func:`bootstrap_lines` refits the
line on ``n_boot`` resamples of the calibration rows (drawn with replacement, default
:data:`DEFAULT_BOOTSTRAP`), so the sd of a prediction across resamples measures how much the calibration itself
is uncertain (used by :func:`affdist_core.marginalize.variants.predict_ddg`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from affdist_core.calibrate.calibration import CalibrationSample, calibrate
from affdist_core.common.checks import check_int
from affdist_core.common.names import AD_METHOD
from affdist_core.common.rng import RandomState, resolve_rng

DEFAULT_BOOTSTRAP = 200
"""Calibration resamples per prediction."""


def bootstrap_lines(x: np.ndarray, y: np.ndarray, n_boot: int = DEFAULT_BOOTSTRAP,
                    random_state: RandomState = 0) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``y ≈ slope × x + intercept`` refitted on ``n_boot`` bootstrap resamples.

    Args:
        x, y: (n,) float calibration scores and measured values (finite), n ≥ 3.
        n_boot: resamples (rows drawn with replacement, n each), default 200.
        random_state: seed / Generator; resample ``b`` uses the ``b``-th row of ``rng.integers(0, n, (n_boot, n))``.

    Returns:
        ``(slopes, intercepts)``, each (n_boot,) float64; NaN for a resample whose x values are all equal.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 3:
        raise ValueError(f"x, y: expected two arrays of the same shape (n,) with n >= 3, got {x.shape} and {y.shape}")
    n_boot = check_int("n_boot", n_boot, 2)
    rng = resolve_rng(random_state)
    slopes, intercepts = np.empty(n_boot), np.empty(n_boot)
    block = max(1, 4_000_000 // len(x))  # bound memory: block × n indices at a time
    for b0 in range(0, n_boot, block):
        idx = rng.integers(0, len(x), size=(min(block, n_boot - b0), len(x)))
        xs, ys = x[idx], y[idx]
        xc = xs - xs.mean(axis=1, keepdims=True)
        yc = ys - ys.mean(axis=1, keepdims=True)
        sxx = np.einsum("ij,ij->i", xc, xc)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(sxx > 0, np.einsum("ij,ij->i", xc, yc) / sxx, np.nan)
        slopes[b0 : b0 + len(idx)] = slope
        intercepts[b0 : b0 + len(idx)] = ys.mean(axis=1) - slope * xs.mean(axis=1)
    return slopes, intercepts


@dataclass(frozen=True)
class LinearCalibration:
    """A calibration ``ΔΔG = slope × score + intercept`` with the rows it was fitted on (for the bootstrap).

    Attributes:
        slope, intercept: the least-squares line (library units per score unit, library units).
        scores, measured: (m,) float64 uncalibrated scores and measured values of the calibration rows with a
            finite score.
        label: where it comes from (shown with the predictions), e.g. ``"stored (min(1000, 10%), seed 0)"``.
        units: the library's units (e.g. ``"RT"``).
    """

    slope: float
    intercept: float
    scores: np.ndarray = field(repr=False)
    measured: np.ndarray = field(repr=False)
    label: str = ""
    units: str = ""

    @classmethod
    def from_sample(cls, scores, measured, ids: Sequence[str], sample: CalibrationSample, label: str = "",
                    units: str = "") -> LinearCalibration:
        """Fit with :func:`affdist_core.calibrate.calibration.calibrate` on ``sample`` (scores, measured, ids (n,) as
        there) and keep the calibration rows."""
        fit, _ = calibrate(scores, measured, ids, sample, method=AD_METHOD)
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(measured, dtype=np.float64)
        rows = sample.mask(ids) & np.isfinite(x)
        return cls(fit.slope, fit.intercept, x[rows], y[rows], label or sample.rule, units)

    def predict(self, scores) -> np.ndarray:
        """``slope × scores + intercept``, float64, same shape."""
        return self.slope * np.asarray(scores, dtype=np.float64) + self.intercept

    def bootstrap(self, n_boot: int = DEFAULT_BOOTSTRAP, random_state: RandomState = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`bootstrap_lines` of the calibration rows: ``(slopes, intercepts)``, (n_boot,) each."""
        return bootstrap_lines(self.scores, self.measured, n_boot, random_state)


#: Resamples of the held-out rows in :func:`paired_rmse_difference`.
DEFAULT_PAIRED_BOOTSTRAP = 1000


def paired_rmse_difference(pred_a: np.ndarray, pred_b: np.ndarray, measured: np.ndarray,
                           n_boot: int = DEFAULT_PAIRED_BOOTSTRAP, random_state: RandomState = 0) -> dict:
    """RMSE(a) − RMSE(b) on the same rows, and its paired bootstrap over those rows.

    Args:
        pred_a, pred_b, measured: (n,) calibrated predictions of two methods and the measured values of the same
            held-out rows (rows where any of the three is not finite are dropped), n ≥ 3.
        n_boot: resamples (n rows drawn with replacement, the same rows for both methods), default 1000.
        random_state: seed / Generator.

    Returns:
        ``{"diff", "ci95": [lo, hi], "sd", "n", "n_boot"}``: the observed difference (library units; negative =
        ``a`` is closer), the 2.5 / 97.5 % percentiles and the sd of the resampled differences. ``a`` is better
        beyond the rows' sampling noise when ``hi < 0``.
    """
    a, b, y = (np.asarray(v, dtype=np.float64) for v in (pred_a, pred_b, measured))
    if not a.shape == b.shape == y.shape or a.ndim != 1:
        raise ValueError(f"pred_a, pred_b, measured: expected three arrays of one shape (n,), got {a.shape}, "
                         f"{b.shape} and {y.shape}")
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError(f"pred_a, pred_b, measured: expected at least 3 rows where all are finite, got {ok.sum()}")
    n_boot = check_int("n_boot", n_boot, 2)
    ea, eb = (a[ok] - y[ok]) ** 2, (b[ok] - y[ok]) ** 2
    n = len(ea)
    rng = resolve_rng(random_state)
    diffs = np.empty(n_boot)
    block = max(1, 4_000_000 // n)
    for b0 in range(0, n_boot, block):
        idx = rng.integers(0, n, size=(min(block, n_boot - b0), n))
        diffs[b0 : b0 + len(idx)] = np.sqrt(ea[idx].mean(axis=1)) - np.sqrt(eb[idx].mean(axis=1))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"diff": float(np.sqrt(ea.mean()) - np.sqrt(eb.mean())), "ci95": [float(lo), float(hi)],
            "sd": float(diffs.std(ddof=1)), "n": int(n), "n_boot": int(n_boot)}
