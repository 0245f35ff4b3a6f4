"""Numerical metrics (numpy): profile likelihoods and distances, and the one correlation rule of the package.

Correlation rule (every Pearson/Spearman in the package goes through :func:`pearson` / :func:`spearman`):
rows where either value is not finite are dropped; the result is NaN when fewer than
:data:`MIN_CORRELATION_ROWS` rows remain or either side is constant. Spearman is the Pearson correlation of
average ranks (ties share their mean rank, as ``scipy.stats.spearmanr``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln, log_softmax


def multinomial_nll(counts: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Full multinomial negative log-likelihood (nats) of ``counts`` under softmax(``logits``) over axis 1.

    ``counts``, ``logits``: (n, L, channels). Returns (n, channels), including the multinomial coefficient,
    so it is comparable between models and baselines."""
    counts = np.asarray(counts, dtype=np.float64)
    log_p = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    total = counts.sum(axis=1)
    log_coefficient = gammaln(total + 1) - gammaln(counts + 1).sum(axis=1)
    return -(log_coefficient + (counts * log_p).sum(axis=1))


def jensen_shannon_distance(p: np.ndarray, q: np.ndarray, axis: int = 1) -> np.ndarray:
    """Jensen–Shannon distance (base-2, in [0, 1]) between distributions along ``axis``; inputs are
    normalised first, all-zero slices give nan."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / p.sum(axis=axis, keepdims=True)
        q = q / q.sum(axis=axis, keepdims=True)
        m = 0.5 * (p + q)
        kl_pm = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=axis)
        kl_qm = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=axis)
    return np.sqrt(np.clip(0.5 * (kl_pm + kl_qm), 0.0, 1.0))


MIN_CORRELATION_ROWS = 3


def _finite_pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"correlation: expected two arrays of the same length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _pearson_finite(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < MIN_CORRELATION_ROWS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    return float(np.clip(xc @ yc / np.sqrt(float(xc @ xc) * float(yc @ yc)), -1.0, 1.0))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """(n,) float64 ranks 1..n of ``values``; ties get their average rank."""
    return pd.Series(np.asarray(values, dtype=np.float64)).rank(method="average").to_numpy(dtype=np.float64)


def pearson(x, y) -> float:
    """Pearson correlation of two (n,) arrays under the package's rule (see the module docstring)."""
    return _pearson_finite(*_finite_pairs(x, y))


def spearman(x, y) -> float:
    """Spearman correlation (Pearson of average ranks) of two (n,) arrays under the package's rule."""
    x, y = _finite_pairs(x, y)
    if len(x) < MIN_CORRELATION_ROWS:
        return float("nan")
    return _pearson_finite(average_ranks(x), average_ranks(y))


def correlations(predicted: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """``{"pearson", "spearman"}`` of two (n,) arrays under the package's rule."""
    return {"pearson": pearson(predicted, observed), "spearman": spearman(predicted, observed)}
