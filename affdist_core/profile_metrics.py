"""Numerical metrics of predicted profiles and counts (numpy; used by evaluation and tests)."""

from __future__ import annotations

import numpy as np
from scipy import stats
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


def correlations(predicted: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation of two (n,) arrays (nan if n < 3 or constant)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    if len(predicted) < 3 or np.ptp(predicted) == 0 or np.ptp(observed) == 0:
        return {"pearson": float("nan"), "spearman": float("nan")}
    return {
        "pearson": float(stats.pearsonr(predicted, observed).statistic),
        "spearman": float(stats.spearmanr(predicted, observed).statistic),
    }
