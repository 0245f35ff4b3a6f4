"""Expected and sampled ChIP-nexus read 5′-end counts from site occupancies.

ChIP-nexus digests each crosslinked fragment with λ exonuclease 5′→3′ until it hits the protein, so read
5′ ends pile up just upstream of a bound site on the + strand and just downstream on the − strand: two
sharp peaks a footprint apart (He et al. 2015, Nat Biotech). Here a site centred between bases c−1 and c
puts + strand 5′ ends at ``c − half_width − X`` and − strand 5′ ends at ``c − 1 + half_width + X``, where
X is an exponential stop distance (mean ``exo_stop_mean``) or, for a ``tail_fraction`` of incompletely
digested fragments, that plus an exponential of mean ``tail_mean``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import oaconvolve


@dataclass(frozen=True)
class FootprintKernel:
    """Distribution of read 5′ ends relative to a site centre ``c``: ``plus[i]`` is the probability of a
    + strand 5′ end at ``c + offsets[i]``; ``minus`` likewise. Each sums to 1. Shapes (2·extent+1,)."""

    offsets: np.ndarray
    plus: np.ndarray
    minus: np.ndarray


def footprint_kernel(
    half_width: int, exo_stop_mean: float, tail_fraction: float, tail_mean: float, extent: int | None = None
) -> FootprintKernel:
    """Discretised ChIP-nexus footprint (see module docstring)."""
    extent = extent or int(half_width + 6 * (exo_stop_mean + tail_mean) + 10)
    distance = np.arange(extent + 1, dtype=np.float64)  # X = 0, 1, 2, ...
    sharp = _discrete_exponential(distance, exo_stop_mean)
    tail = np.convolve(sharp, _discrete_exponential(distance, tail_mean))[: extent + 1]
    stop = (1 - tail_fraction) * sharp + tail_fraction * tail
    offsets = np.arange(-extent, extent + 1)
    plus = np.zeros(len(offsets))
    minus = np.zeros(len(offsets))
    plus_pos = -half_width - distance.astype(int)
    minus_pos = -1 + half_width + distance.astype(int)
    keep_p = plus_pos >= -extent
    keep_m = minus_pos <= extent
    plus[plus_pos[keep_p] + extent] = stop[keep_p]
    minus[minus_pos[keep_m] + extent] = stop[keep_m]
    return FootprintKernel(offsets, plus / plus.sum(), minus / minus.sum())


def _discrete_exponential(distance: np.ndarray, mean: float) -> np.ndarray:
    """P(X = d) for a geometric distribution on 0, 1, 2, … with the given mean (a point mass at 0 if 0)."""
    if mean <= 0:
        out = np.zeros_like(distance)
        out[0] = 1.0
        return out
    q = mean / (1.0 + mean)
    out = (1 - q) * q**distance
    return out / out.sum()


def spread_sites(weights: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve per-base site weights (L,) with a kernel centred at its middle: returns (L,) float64.

    Mass that would fall past a chromosome end is lost, as reads would be."""
    extent = (len(kernel) - 1) // 2
    full = oaconvolve(weights.astype(np.float64), kernel, mode="full")
    out = full[extent : extent + len(weights)]
    return np.clip(out, 0.0, None)


def gc_content(codes: np.ndarray, window: int) -> np.ndarray:
    """GC fraction in a ``window``-bp window centred on each base: (L,) float32 (N bases count as non-GC
    and are excluded from the denominator)."""
    is_gc = np.isin(codes, (1, 2)).astype(np.float64)
    is_base = (codes < 4).astype(np.float64)
    gc = centred_window_sum(is_gc, window)
    bases = centred_window_sum(is_base, window)
    return np.where(bases > 0, gc / np.maximum(bases, 1), 0.0).astype(np.float32)


def centred_window_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``values`` over a ``window``-bp window starting ``window // 2`` before each position (clipped
    at the ends): shape (L,), float64, via a cumulative sum."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(len(values))
    lo = np.clip(idx - window // 2, 0, len(values))
    hi = np.clip(idx - window // 2 + window, 0, len(values))
    return csum[hi] - csum[lo]


def gc_bias(gc: np.ndarray, optimum: float, sd: float) -> np.ndarray:
    """Relative sequencing efficiency of fragments of GC fraction ``gc``: exp(−(gc − optimum)² / 2sd²)."""
    return np.exp(-((gc - optimum) ** 2) / (2 * sd**2)).astype(np.float32)


def gaussian_bumps(length: int, centres: np.ndarray, heights: np.ndarray, sd: float) -> np.ndarray:
    """Sum of Gaussian bumps (unit area × height) at ``centres`` on a chromosome of ``length``: (length,)."""
    weights = np.zeros(length)
    np.add.at(weights, np.clip(centres, 0, length - 1), heights)
    extent = int(4 * sd)
    grid = np.arange(-extent, extent + 1)
    kernel = np.exp(-0.5 * (grid / sd) ** 2)
    return spread_sites(weights, kernel / kernel.sum())
