"""A MACS2-style peak caller for strand-specific ChIP-nexus 5′-end counts (no control track).

1. **Strand shift**: the lag ``d`` maximising the cross-correlation Σ plus[i]·minus[i+d] (lags 0..max_lag),
   summed over chromosomes, as MACS builds its fragment model; each strand is then shifted by d/2 toward
   the other, so bound sites become single peaks of the combined signal.
2. **Enrichment**: counts of the combined signal in a ``window``-bp window at every base, against a Poisson
   background λ = max(genome-wide rate, local rates over ``local_lambda_windows``) × window — MACS2's
   treatment-only local lambda.
3. **Regions**: bases with −log10 p ≥ ``min_log10p`` form runs; runs closer than ``merge_gap`` merge; runs
   shorter than ``min_length`` are dropped. The summit is the centre of the densest 11-bp stretch of the
   strand-merged signal within the run; the peak spans the run ± window/2. q-values: Benjamini–Hochberg over genome_size / window independent windows.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats
from scipy.signal import fftconvolve

from affdist_core.simulate.reads import centred_window_sum
from affdist_core.io.peaks import PEAK_COLUMNS

log = logging.getLogger(__name__)

SUMMIT_WINDOW = 11  # bp; the summit is the centre of the densest 11-bp stretch of the strand-merged signal


def estimate_strand_lag(plus: dict[str, np.ndarray], minus: dict[str, np.ndarray], max_lag: int = 200) -> int:
    """Lag (bp, ≥ 0) at which − strand 5′ ends best match + strand 5′ ends shifted downstream."""
    total = np.zeros(max_lag + 1)
    for chrom, p in plus.items():
        m = minus[chrom]
        if len(p) <= max_lag:
            continue
        p = p.astype(np.float64) - p.mean()
        m = m.astype(np.float64) - m.mean()
        full = fftconvolve(m, p[::-1], mode="full")  # index len(p)-1+lag ↔ Σ p[i] m[i+lag]
        total += full[len(p) - 1 : len(p) + max_lag]
    return int(np.argmax(total))


def combined_signal(plus: np.ndarray, minus: np.ndarray, lag: int) -> np.ndarray:
    """Strand-merged signal: + counts shifted right by lag//2, − counts shifted left by lag − lag//2."""
    shift_p, shift_m = lag // 2, lag - lag // 2
    out = np.zeros(len(plus), dtype=np.float64)
    out[shift_p:] += plus[: len(plus) - shift_p]
    out[: len(minus) - shift_m] += minus[shift_m:]
    return out


def call_peaks(
    plus: dict[str, np.ndarray],
    minus: dict[str, np.ndarray],
    window: int = 50,
    min_log10p: float = 5.0,
    local_lambda_windows: tuple[int, ...] = (1000, 5000, 10000),
    merge_gap: int = 50,
    min_length: int = 20,
    max_lag: int = 200,
) -> tuple[pd.DataFrame, dict]:
    """Call peaks on per-base strand counts (chromosome → (L,) arrays).

    Returns the peak table (columns :data:`affdist_core.io.peaks.PEAK_COLUMNS`, sorted by chromosome order
    and position, named ``peak_1``…) and a dict of caller statistics (lag, genome λ).
    """
    lag = estimate_strand_lag(plus, minus, max_lag)
    genome_size = sum(len(v) for v in plus.values())
    total = sum(float(plus[c].sum() + minus[c].sum()) for c in plus)
    genome_rate = total / max(genome_size, 1)
    n_tests = max(genome_size // window, 1)
    rows = []
    for chrom in plus:
        signal = combined_signal(plus[chrom], minus[chrom], lag)
        counts = centred_window_sum(signal, window)
        lam = np.full(len(signal), genome_rate * window)
        for size in local_lambda_windows:
            lam = np.maximum(lam, centred_window_sum(signal, size) / size * window)
        log10p = np.zeros(len(signal))
        candidates = np.flatnonzero(counts > lam)
        if len(candidates):
            log10p[candidates] = -poisson_log_sf(counts[candidates] - 1, lam[candidates]) / np.log(10)
        fine = centred_window_sum(signal, SUMMIT_WINDOW)
        rows.extend(_regions(chrom, counts, fine, lam, log10p, min_log10p, merge_gap, min_length, window))
    peaks = pd.DataFrame(rows, columns=["chrom", "start", "end", "summit", "signal", "p_value"])
    peaks = _add_q_values(peaks, n_tests)
    info = {"strand_lag_bp": lag, "genome_rate_per_bp": genome_rate, "n_tests": n_tests}
    log.info("called %d peaks (strand lag %d bp)", len(peaks), lag)
    return peaks[PEAK_COLUMNS], info


def poisson_log_sf(k: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """log P(X > k) for X ~ Poisson(lam), finite even where the tail underflows: there the bound
    log pmf(k+1) − log(1 − lam/(k+2)) (tight for k ≫ lam) replaces scipy's −inf."""
    out = stats.poisson.logsf(k, lam)
    bad = ~np.isfinite(out)
    if bad.any():
        kk, ll = k[bad] + 1, lam[bad]
        out[bad] = stats.poisson.logpmf(kk, ll) - np.log1p(-ll / (kk + 1))
    return out


def _regions(chrom, counts, fine, lam, log10p, threshold, merge_gap, min_length, window):
    above = np.flatnonzero(log10p >= threshold)
    if len(above) == 0:
        return []
    breaks = np.flatnonzero(np.diff(above) > merge_gap + 1)
    run_starts = np.r_[above[0], above[breaks + 1]]
    run_ends = np.r_[above[breaks], above[-1]] + 1
    out = []
    size = len(counts)
    for lo, hi in zip(run_starts, run_ends):
        if hi - lo < min_length:
            continue
        segment = fine[lo:hi]
        best = np.flatnonzero(segment == segment.max())
        summit = int(lo + best[len(best) // 2])
        start = max(0, int(lo) - window // 2)
        end = min(size, int(hi) + window // 2)
        out.append((chrom, start, end, summit, counts[summit] / lam[summit], log10p[summit]))
    return out


def _add_q_values(peaks: pd.DataFrame, n_tests: int) -> pd.DataFrame:
    """−log10 BH q-values of the summit p-values among ``n_tests`` windows; score = min(1000, 10·q)."""
    peaks = peaks.copy()
    if len(peaks) == 0:
        for col in ("q_value", "score", "name", "strand"):
            peaks[col] = pd.Series(dtype=float if col in ("q_value", "score") else object)
        return peaks
    log_p = -peaks["p_value"].to_numpy() * np.log(10)
    order = np.argsort(log_p)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    log_q = log_p + np.log(n_tests) - np.log(ranks)
    sorted_q = np.minimum.accumulate(log_q[order][::-1])[::-1]  # enforce monotone BH
    log_q[order] = sorted_q
    peaks["q_value"] = np.clip(-log_q / np.log(10), 0.0, None)
    peaks["score"] = np.minimum(1000, np.round(10 * peaks["q_value"])).astype(int)
    peaks["name"] = [f"peak_{i + 1}" for i in range(len(peaks))]
    peaks["strand"] = "."
    return peaks
